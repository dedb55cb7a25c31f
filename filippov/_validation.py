"""Input validation shared by every layer.

Messages follow one pattern, "`name` must be <what>. Got <what it was> instead.", so a
user always learns which argument was wrong and how.
"""

from __future__ import annotations

import errno
import numbers
import os
import sys
import sysconfig
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


class NonFiniteError(ValueError, FloatingPointError):
    """A value that must be finite is NaN or infinite.

    It is a ``ValueError`` (bad input) and a ``FloatingPointError`` (bad arithmetic) at once:
    validation code catches the former, and the engine catches the latter to stop a run
    cleanly with the partial solution when a user function returns NaN mid-integration.
    """


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
#: The prefix of this package's files (with the separator: a user's ``filippov_demo.py``
#: beside the package is not the package's).
_PACKAGE_PREFIX = os.path.join(_PACKAGE_DIR, "")


def user_stacklevel() -> int:
    """The ``stacklevel`` for :func:`warnings.warn`, called by the function that warns,
    that points at the first frame outside this package: the user's line, however deep
    in the engine the warning is raised (a fixed level points inside filippov when the
    call depth varies, as in a path's generator)."""
    level = 1
    frame = sys._getframe(1)  # the function that warns: stacklevel 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_PREFIX):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def preview(value: Any, limit: int = 60) -> str:
    text = (
        np.array2string(np.asarray(value), threshold=8, edgeitems=3)
        if _is_arraylike(value)
        else repr(value)
    )
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_arraylike(value: Any) -> bool:
    try:
        if np.iscomplexobj(value):
            return False  # (not real numbers: the caller's message says so)
        np.asarray(value, dtype=float)
    except (TypeError, ValueError):  # (ragged nesting too: shown by its repr)
        return False
    return True


def real_values(value: Any, name: str) -> FloatArray:
    """``value`` (a user function's result) as a float64 array; a ``TypeError`` naming
    ``name`` if it holds complex numbers (NumPy would drop their imaginary parts with a
    warning only), or if it is ``None`` (NumPy reads that as NaN: a function without its
    ``return`` then showed as a shape or non-finite error)."""
    if value is None:
        raise TypeError(
            f"`{name}` must return an array of real numbers. Got None instead (a function "
            "without `return`?)."
        )
    _refuse_complex(value, name)
    return np.asarray(value, dtype=float)


def _refuse_complex(value: Any, name: str) -> None:
    """A ``TypeError`` naming ``name`` if ``value`` holds complex numbers."""
    # (an array's dtype directly: `np.iscomplexobj` costs more, on every evaluation)
    if isinstance(value, np.ndarray):
        complex_values = value.dtype.kind == "c"
    else:
        try:
            complex_values = np.iscomplexobj(value)
        except (TypeError, ValueError) as exc:  # (ragged nesting: numpy's own message)
            raise TypeError(
                f"`{name}` must be an array of real numbers. Got {preview(value)} instead "
                "(not a regular array: its rows differ in length?)."
            ) from exc
    if complex_values:
        raise TypeError(
            f"`{name}` must be an array of real numbers. Got complex values "
            f"{preview(value)} instead."
        )


def as_float_array(value: ArrayLike, name: str) -> FloatArray:
    """Convert ``value`` to a float64 array or raise a ``TypeError`` naming ``name``
    (complex numbers included: see `real_values`)."""
    _refuse_complex(value, name)
    if isinstance(value, (str, bytes)) or np.asarray(value).dtype.kind in "US":
        # (numpy would parse them: "1e3" as 1000.0; text is never a number here)
        raise TypeError(f"`{name}` must be an array of real numbers. Got {preview(value)} instead.")
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"`{name}` must be an array of real numbers. Got {preview(value)} instead."
        ) from exc
    return arr


def require_finite(arr: FloatArray, name: str) -> FloatArray:
    """Raise ``ValueError`` if ``arr`` holds NaN or inf; return it unchanged otherwise."""
    # Hot path (every gradient of every scheme step): one reduction instead of an
    # elementwise mask. A sum is finite when every entry is; if it is not (a NaN or inf,
    # or an overflow of huge finite entries) the exact elementwise check decides.
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.add.reduce(arr, axis=None)
    if np.isfinite(total) or np.all(np.isfinite(arr)):
        return arr
    raise NonFiniteError(f"`{name}` must be finite. Got {preview(arr)} instead.")


def as_vector(value: ArrayLike, name: str, n: int | None = None) -> FloatArray:
    """Validate a finite 1-D float vector, optionally of length ``n``.

    Scalars are accepted as vectors of length one.
    """
    arr = as_float_array(value, name)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(
            f"`{name}` must be a 1-D vector. Got an array of shape {arr.shape} instead."
        )
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"`{name}` must have length {n}. Got length {arr.shape[0]} instead.")
    return require_finite(arr, name)


def as_matrix(
    value: ArrayLike, name: str, shape: tuple[int | None, int | None] | None = None
) -> FloatArray:
    """Validate a finite 2-D float matrix, optionally of a given shape (``None`` = any)."""
    arr = as_float_array(value, name)
    if arr.ndim != 2:
        raise ValueError(
            f"`{name}` must be a 2-D matrix. Got an array of shape {arr.shape} instead."
        )
    if shape is not None:
        for axis, want in enumerate(shape):
            if want is not None and arr.shape[axis] != want:
                raise ValueError(
                    f"`{name}` must have shape {tuple('*' if s is None else s for s in shape)}. "
                    f"Got shape {arr.shape} instead."
                )
    return require_finite(arr, name)


def as_square_matrix(value: ArrayLike, name: str, n: int | None = None) -> FloatArray:
    """Validate a finite square matrix (of size ``n`` when given)."""
    arr = as_matrix(value, name)
    if arr.shape[0] != arr.shape[1]:
        raise ValueError(f"`{name}` must be square. Got shape {arr.shape} instead.")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"`{name}` must have shape ({n}, {n}). Got shape {arr.shape} instead.")
    return arr


def require_symmetric(arr: FloatArray, name: str, rtol: float = 1e-10) -> FloatArray:
    """Raise ``ValueError`` unless ``arr`` is symmetric to relative tolerance ``rtol``."""
    scale = max(1.0, float(np.max(np.abs(arr)))) if arr.size else 1.0
    asym = float(np.max(np.abs(arr - arr.T))) if arr.size else 0.0
    if asym > rtol * scale:
        raise ValueError(
            f"`{name}` must be symmetric. Got max |{name} - {name}.T| = {asym:.3g} instead."
        )
    return arr


def _is_real_scalar(value: Any) -> bool:
    """A real number (Python or numpy, or a 0-d real array), but not a bool or a string."""
    if isinstance(value, bool | np.bool_ | str | bytes):
        return False
    if isinstance(value, numbers.Real):
        return True
    return isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf"


def as_real(value: Any, name: str) -> float:
    """Validate a finite real number (not a bool or a string) and return it as a float.

    Raises ``TypeError`` for anything that is not a real number and ``ValueError`` for
    NaN or inf, both naming ``name``.
    """
    if not _is_real_scalar(value):
        raise TypeError(f"`{name}` must be a real number. Got {value!r} instead.")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"`{name}` must be finite. Got {value!r} instead.")
    return v


def require_positive(value: float, name: str) -> float:
    """Raise ``ValueError`` unless ``value`` is a finite number > 0.

    A value that is not a real number (a string, a bool, ``None``) is a ``TypeError``.
    """
    if not _is_real_scalar(value):
        raise TypeError(f"`{name}` must be a positive number. Got {value!r} instead.")
    v = float(value)
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"`{name}` must be a positive finite number. Got {value!r} instead.")
    return v


def require_positive_limit(value: float, name: str) -> float:
    """Raise ``ValueError`` unless ``value`` is a number > 0, ``inf`` allowed (a limit that
    may be absent); a value that is not a real number is a ``TypeError``."""
    if not _is_real_scalar(value):
        raise TypeError(f"`{name}` must be a number > 0. Got {value!r} instead.")
    v = float(value)
    if not v > 0:  # (NaN too)
        raise ValueError(f"`{name}` must be > 0 (inf: no limit). Got {value!r} instead.")
    return v


def require_non_negative(value: float, name: str) -> float:
    """Raise ``ValueError`` unless ``value`` is a finite number >= 0 (``TypeError`` if not a
    real number)."""
    if not _is_real_scalar(value):
        raise TypeError(f"`{name}` must be a non-negative number. Got {value!r} instead.")
    v = float(value)
    if not np.isfinite(v) or v < 0:
        raise ValueError(f"`{name}` must be a non-negative finite number. Got {value!r} instead.")
    return v


def require_relative_tolerance(value: float, name: str) -> float:
    """Raise unless ``value`` is a relative tolerance: a finite number in ``[0, 1)``
    (``TypeError`` if not a real number)."""
    v = require_non_negative(value, name)
    if v >= 1.0:
        raise ValueError(f"`{name}` must be a small relative tolerance < 1. Got {value!r} instead.")
    return v


def require_int(value: Any, name: str, minimum: int | None = None) -> int:
    """Validate an integer (Python or numpy, not a bool or a float), at least ``minimum``.

    Raises ``TypeError`` for a non-integer and ``ValueError`` below ``minimum``, naming
    ``name``.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer. Got {value!r} instead.")
    v = int(value)
    if minimum is not None and v < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}. Got {value!r} instead.")
    return v


def require_unit_interval(value: Any, name: str) -> float:
    """``value`` as a float in [0, 1) (momentum and averaging factors); ``TypeError`` for
    a non-number (booleans included), ``ValueError`` outside the interval."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be a number in [0, 1). Got {value!r} instead.")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be a number in [0, 1). Got {value!r} instead.") from None
    if not 0.0 <= v < 1.0:
        raise ValueError(f"`{name}` must lie in [0, 1). Got {value!r} instead.")
    return v


def require_flag(value: Any, name: str) -> bool:
    """Validate a flag: ``True`` or ``False`` (a numpy bool too, not ``0``/``1`` or ``None``).

    Raises ``TypeError`` naming ``name`` for anything else.
    """
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"`{name}` must be True or False. Got {value!r} instead.")
    return bool(value)


def require_callable(value: Any, name: str, what: str = "a callable") -> Any:
    """Raise ``TypeError`` naming ``name`` unless ``value`` is callable; return it."""
    if not callable(value):
        raise TypeError(f"`{name}` must be {what}. Got {type(value).__name__} instead.")
    return value


#: Largest |limit| of a plot window: squared distances and quadratic objective values on
#: its grid must stay finite (1e100² = 1e200 < 1.8e308).
MAX_LIMIT = 1e100
#: Smallest width of a window relative to its magnitude: room for a grid of a few hundred
#: distinct floats with many ulps between neighbours.
MIN_RELATIVE_WIDTH = 1e-9


def as_limits(lim: Any, name: str) -> tuple[float, float]:
    """Validate a plot window ``(low, high)``: finite, increasing, drawable in floating point.

    Raises ``ValueError`` naming ``name`` for anything else, including windows beyond
    ``±MAX_LIMIT`` and windows narrower than ``MIN_RELATIVE_WIDTH`` times their magnitude.
    """
    try:
        lo, hi = (float(v) for v in lim)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a pair (low, high). Got {lim!r} instead.") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"`{name}` must be finite with low < high. Got {lim!r} instead.")
    big = max(abs(lo), abs(hi))
    if big > MAX_LIMIT:
        raise ValueError(
            f"`{name}` must lie within ±{MAX_LIMIT:g} (squared distances on a wider window "
            f"overflow). Got {lim!r} instead."
        )
    if hi - lo <= MIN_RELATIVE_WIDTH * big:
        raise ValueError(
            f"`{name}` must be wider than {MIN_RELATIVE_WIDTH:g} times its magnitude "
            f"(a narrower window has too few distinct floats for a grid). Got {lim!r} instead."
        )
    return lo, hi


def output_path(path: Any, name: str, *, make_parents: bool = False) -> Path:
    """Check a destination file before anything is computed for it.

    Parameters
    ----------
    path : str or path-like
        The file to be written.
    name : str
        The argument's name, for the messages.
    make_parents : bool, default False
        Whether the caller creates missing parent folders; then the nearest existing
        ancestor must be a writable folder instead of the parent itself.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    TypeError
        ``path`` is not a string or path-like.
    ValueError
        ``path`` is empty, ends in a separator or is an existing folder.
    OSError
        The folder that would hold it does not exist (``FileNotFoundError``), is not a
        folder, or is not writable; ``filename`` is ``path`` itself.
    """
    text = _path_text(path, name)
    seps = (os.sep, os.altsep) if os.altsep else (os.sep,)
    out = Path(text)
    if text.endswith(seps) or out.is_dir():
        raise ValueError(f"`{name}` must name a file, not a folder. Got {text!r} instead.")
    folder = out.parent
    if make_parents:
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
    if not folder.exists():
        raise FileNotFoundError(errno.ENOENT, f"folder {str(out.parent)!r} does not exist", text)
    if not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"{str(folder)!r} is not a folder", text)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, f"folder {str(folder)!r} is not writable", text)
    return out


def _path_text(path: Any, name: str) -> str:
    """``path`` as a non-blank string, or a ``TypeError``/``ValueError`` naming ``name``."""
    if not isinstance(path, str | os.PathLike):
        raise TypeError(
            f"`{name}` must be a file path (str or path-like). Got {type(path).__name__} instead."
        )
    text = os.fspath(path)
    if not isinstance(text, str):
        text = os.fsdecode(text)
    if not text.strip():
        raise ValueError(f"`{name}` must name a file. Got {text!r} instead.")
    return text


def input_path(path: Any, name: str) -> Path:
    """Check a source file before opening it.

    Parameters
    ----------
    path : str or path-like
        The file to be read.
    name : str
        The argument's name, for the messages.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    TypeError
        ``path`` is not a string or path-like.
    ValueError
        ``path`` is empty or an existing folder.
    FileNotFoundError
        ``path`` does not exist; ``filename`` is ``path`` itself.
    """
    text = _path_text(path, name)
    out = Path(text)
    if out.is_dir():
        raise ValueError(f"`{name}` must name a file, not a folder. Got {text!r} instead.")
    if not out.exists():
        raise FileNotFoundError(errno.ENOENT, "no such file", text)
    return out


#: Index sets: a sequence of ints or an integer array (what numpy's set routines return).
IndexLike = Sequence[int] | NDArray[np.integer[Any]]


class UserFunctionError(RuntimeError):
    """A user's function raised an exception that is not a numerical failure (a
    ``KeyError``, ``TypeError``, ``IndexError``, ``AssertionError`` …).

    The engine ends a run with status −1 and keeps the partial solution when one is raised
    mid-run, as for a numerical failure; at the start, :func:`filippov.solve` raises a
    ``ValueError`` that names the start. The user's exception is chained
    (``__cause__``), and the message names the function and the line that raised.
    """


#: A user's function's exceptions that pass through `UserFunction` unchanged: the
#: numerical failures and bad values the engine already ends a run on (``ValueError``,
#: ``np.linalg.LinAlgError`` among them, ``ArithmeticError``, ``RuntimeError``), and
#: ``MemoryError``, which no run should turn into a status.
_PASSED_THROUGH = (ValueError, ArithmeticError, RuntimeError, MemoryError)


class UserFunction:
    """A user's callable as the engine calls it: any exception other than the numerical
    failures of `_PASSED_THROUGH` is raised again as a :class:`UserFunctionError`.

    Why: the engine keeps the partial solution of a run for the exceptions it knows to be
    failures of the computation. A ``KeyError`` raised by a user's ``grad`` at ``t = 500``
    propagated out of :func:`filippov.solve` instead, and the 500 units of time computed
    before it were lost. Only the user's own callables are wrapped (the library's are not),
    so an exception of filippov's own code still propagates as the bug it is.

    Examples
    --------
    >>> def grad(x):
    ...     return {"a": x}["b"]
    >>> UserFunction(grad, "grad")(1.0)
    Traceback (most recent call last):
    ...
    filippov._validation.UserFunctionError: `grad` raised KeyError: 'b' (in grad, ...)
    """

    __slots__ = ("function", "label")

    def __init__(self, function: Any, label: str) -> None:
        self.function = function
        self.label = label

    def __call__(self, *args: Any) -> Any:
        try:
            return self.function(*args)
        except _PASSED_THROUGH as exc:
            if isinstance(exc, MemoryError) or _printable(exc):
                raise
            # A numerical failure whose own ``__str__`` raises: every handler of the
            # engine formats the exception into its message, and the ``__str__``'s error
            # escaped `solve` from there, the run lost (a ValueError subclass with a
            # lookup in its ``__str__``). Raised again with a message that can be read.
            raise self._failure(exc) from exc
        except Exception as exc:
            raise self._failure(exc) from exc

    def _failure(self, exc: BaseException) -> UserFunctionError:
        """The error that names this function, ``exc`` and the user's line it came from."""
        return UserFunctionError(
            f"`{self.label}` raised {type(exc).__name__}: {_text_of(exc)}{_raised_where(exc)}"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (UserFunction, (self.function, self.label))

    def __repr__(self) -> str:
        return f"UserFunction({self.function!r}, {self.label!r})"


def _printable(exc: BaseException) -> bool:
    """Whether ``str(exc)`` returns (see `_text_of`)."""
    try:
        str(exc)
    except Exception:
        return False
    return True


def _text_of(exc: BaseException) -> str:
    """``str(exc)``, or a placeholder when the exception's own ``__str__`` raises.

    Why: the message is built while the user's exception is handled; an ``__str__`` that
    raises (a ``KeyError`` from a lookup in it, say) escaped `UserFunction` in its place,
    out of :func:`filippov.solve` and losing the run, or, a ``RuntimeError`` there, ended
    the run with a message naming neither the function nor its exception.
    """
    try:
        return str(exc)
    except Exception as inner:
        return f"<str() of the exception raised {type(inner).__name__}>"


def _raised_where(exc: BaseException) -> str:
    """`` (in NAME, FILE:LINE)`` of the innermost frame of ``exc``'s traceback in the user's
    own code (not this package's, the standard library's or an installed package's, such
    as numpy's, where the user's call went wrong): the line the user looks for, since a
    run that ends on it keeps a message, not the traceback."""
    where = fallback = ""
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        here = f" (in {code.co_name}, {os.path.basename(code.co_filename)}:{tb.tb_lineno})"
        if not code.co_filename.startswith(_NOT_USER_CODE):
            where = here
        elif not fallback and not code.co_filename.startswith(_PACKAGE_PREFIX):
            fallback = here  # (the function called: a user's package installed itself)
        tb = tb.tb_next
    return where or fallback


#: Where code that is not the user's lives: this package, the standard library and the
#: installed packages (see `_raised_where`).
_NOT_USER_CODE = tuple(
    {_PACKAGE_PREFIX}
    | {
        os.path.join(path, "")
        for key in ("stdlib", "platstdlib", "purelib", "platlib")
        if (path := sysconfig.get_paths().get(key))
    }
)


def user_function(function: Any, label: str) -> Any:
    """``function`` wrapped as a :class:`UserFunction`; returned as it is when it is
    ``None``, wrapped already, or filippov's own (a function, method or callable object
    of this package's modules: the library's objectives, a flow's ``∇f``, an affine map),
    whose exceptions are bugs to propagate and whose hot paths need no call layer more."""
    if function is None or isinstance(function, UserFunction):
        return function
    module = getattr(function, "__module__", None)
    if isinstance(module, str) and (module == "filippov" or module.startswith("filippov.")):
        return function
    return UserFunction(function, label)
