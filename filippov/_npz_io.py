"""The library's result files: plain ``.npz`` archives with a checksum, read without pickles.

:meth:`filippov.solution.FilippovSolution.save` and
:meth:`filippov.schemes.DiscreteTrajectory.save` write :func:`npz_bytes`: the archive
:func:`numpy.savez` makes (uncompressed members), whose zip comment holds the SHA-256 of
every byte before the digest itself. Any tool reads such a file as an ordinary npz (the zip
comment is part of the format); :func:`read_npz` checks the digest first, so a truncated or
damaged file is refused as such, including damage zip's own CRCs do not cover (timestamps,
header fields), and it never unpickles: object arrays are refused, whatever the file holds.

Every failure to read is a :class:`ValueError` naming the file and what is wrong (empty,
not an npz archive, truncated, corrupted, a pickle or object array); a missing file stays
:class:`FileNotFoundError` and an unreadable one the :class:`OSError` the system gives.

Both result types write through :func:`save_npz` (:func:`atomic_write_bytes`): a temporary
file beside the target, flushed and fsynced, then moved into place with :func:`os.replace`
and the folder fsynced, so an interrupted save never leaves a partial file at the target.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import secrets
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: Start of the zip comment of a file written by :func:`npz_bytes`; 64 hex digits follow.
_TAG = b"filippov-sha256:"
_COMMENT_LEN = len(_TAG) + 64
#: Signature and size of zip's end-of-central-directory record (without its comment).
_EOCD = b"PK\x05\x06"
_EOCD_LEN = 22
_ZIP_MAGIC = b"PK\x03\x04"


class FileFormatError(ValueError):
    """A result file that cannot be read; the message names the file and the problem."""


def npz_bytes(arrays: Mapping[str, NDArray[Any]]) -> bytes:
    """The ``.npz`` archive of ``arrays``, its zip comment the SHA-256 of what precedes it.

    Why the digest: zip checks member data by CRC but not its headers or the directory, so
    a damaged byte there can go unnoticed or surface as an obscure error; one digest over
    the whole file turns every kind of damage into one clear message.
    """
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # type: ignore[arg-type]
    raw = buf.getvalue()
    if raw[-_EOCD_LEN : -_EOCD_LEN + 4] != _EOCD or raw[-2:] != b"\0\0":  # pragma: no cover
        raise RuntimeError(
            "numpy.savez wrote an archive that does not end in a plain zip end record"
        )
    head = raw[:-2] + _COMMENT_LEN.to_bytes(2, "little") + _TAG
    return head + hashlib.sha256(head).hexdigest().encode("ascii")


def _fail(path: Path, what: str, problem: str) -> FileFormatError:
    return FileFormatError(f"`path` must be a {what} file. Got {str(path)!r}, which {problem}.")


def read_npz(path: Path, what: str) -> dict[str, NDArray[Any]]:
    """Every array of the ``.npz`` file ``path``, checked; ``what`` names the file kind.

    Raises
    ------
    FileFormatError
        (a :class:`ValueError`) The file is empty, not an npz archive, truncated, damaged
        (digest or CRC mismatch), compressed, or holds an object (pickled) array.
    OSError
        The file cannot be read.
    """
    raw = path.read_bytes()
    if not raw:
        raise _fail(path, what, "is empty")
    if not raw.startswith(_ZIP_MAGIC):
        if raw.startswith(b"\x93NUMPY"):
            raise _fail(path, what, "is a single .npy array, not an .npz archive")
        if raw[:1] == b"\x80":
            raise _fail(path, what, "is a pickle, which filippov never loads")
        raise _fail(path, what, "is not an .npz (zip) archive")
    signed_at = len(raw) - _EOCD_LEN - _COMMENT_LEN
    if signed_at >= 0 and raw[signed_at : signed_at + 4] == _EOCD:
        digest_at = len(raw) - 64
        head, digest = raw[:digest_at], raw[digest_at:]
        if (
            raw[digest_at - len(_TAG) : digest_at] != _TAG
            or int.from_bytes(raw[signed_at + 20 : signed_at + 22], "little") != _COMMENT_LEN
            or hashlib.sha256(head).hexdigest().encode("ascii") != digest
        ):
            raise _fail(path, what, "is corrupted (its checksum does not match: damaged or edited)")
    elif raw[-_EOCD_LEN : -_EOCD_LEN + 4] != _EOCD:
        # Files without a digest (other writers, filippov before it signed its files) end in
        # a comment-free end record; anything else lost its end.
        raise _fail(path, what, "is truncated or corrupted (no zip end record)")
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            for info in archive.infolist():
                # filippov writes stored members; refusing compressed ones also rules out
                # decompression bombs.
                if info.compress_type != zipfile.ZIP_STORED:
                    raise _fail(path, what, f"has a compressed member {info.filename!r}")
        arrays: dict[str, NDArray[Any]] = {}
        with np.load(io.BytesIO(raw), allow_pickle=False) as data:
            for key in data.files:
                arrays[key] = np.array(data[key])
    except FileFormatError:
        raise
    except Exception as exc:
        # Why so broad: zipfile, zlib, struct and numpy's format reader each raise their own
        # types on damaged input (BadZipFile, error, KeyError, ValueError, EOFError, ...);
        # all of them mean the same thing to the caller.
        if "allow_pickle" in str(exc):
            raise _fail(
                path, what, "holds an object (pickled) array, which filippov never loads"
            ) from exc
        raise _fail(path, what, f"is truncated or corrupted ({type(exc).__name__}: {exc})") from exc
    return arrays


@contextmanager
def contents_of(path: Path, what: str) -> Iterator[None]:
    """Turn errors while building objects from a file's arrays into :class:`FileFormatError`.

    An archive that passed :func:`read_npz` but whose entries are missing, of the wrong
    shape or inconsistent (a foreign npz, a hand-made file) fails somewhere in the
    constructors with a ``KeyError``, ``IndexError``, ``TypeError`` or ``ValueError``.
    """
    try:
        yield
    except FileFormatError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise _fail(
            path, what, f"has missing or inconsistent contents ({type(exc).__name__}: {exc})"
        ) from exc


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and durably; returns ``path``.

    The bytes go to a hidden temporary file in the same folder (created exclusively), are
    flushed and fsynced, and the file replaces ``path`` with :func:`os.replace`; then the
    folder is fsynced (best effort) so that the rename survives a crash. An interrupted
    write removes its temporary file and leaves an existing ``path`` intact.

    Raises
    ------
    OSError
        The folder does not exist or cannot be written; ``filename`` is ``path`` (never
        the temporary file).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = atomic_write_bytes(pathlib.Path(d) / "a.bin", b"abc")
    ...     p.read_bytes(), sorted(q.name for q in pathlib.Path(d).iterdir())
    (b'abc', ['a.bin'])
    """
    directory = path.parent
    while True:
        tmp = directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666
            )
        except FileExistsError:  # pragma: no cover - 48 random bits collided
            continue
        except OSError as exc:
            # Name the destination, not the hidden temporary file next to it.
            raise type(exc)(exc.errno, exc.strerror, str(path)) from exc
        break
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)
    return path


def save_npz(path: Path, arrays: Mapping[str, NDArray[Any]]) -> Path:
    """Write :func:`npz_bytes` of ``arrays`` to ``path`` with :func:`atomic_write_bytes`."""
    return atomic_write_bytes(path, npz_bytes(arrays))


def _fsync_directory(directory: Path) -> None:
    """Best-effort fsync of a directory so a completed rename survives a crash."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
