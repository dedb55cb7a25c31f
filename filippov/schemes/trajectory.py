"""The result of a discrete run: iterates, flow times and per-step diagnostics.

A plain data module (numpy and the foundation modules only): the driver
:func:`filippov.schemes.run` builds a :class:`DiscreteTrajectory`, ``comparison`` reads it.
Its :class:`~filippov.Status` codes and ``stats`` keys are those of a
:class:`~filippov.FilippovSolution` (:mod:`filippov._status`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._npz_io import contents_of, read_npz, save_npz
from .._status import Status, make_stats
from .._validation import input_path, output_path, preview, require_int

__all__ = ["ITERATE_DIAGNOSTICS", "STEP_DIAGNOSTICS", "DiscreteTrajectory"]

#: Diagnostics recorded at every iterate ``x_k``, ``k = 0, ..., n_steps`` (length ``n_steps + 1``).
ITERATE_DIAGNOSTICS: tuple[str, ...] = ("t", "f", "grad_norm", "grad_norm2")
#: Diagnostics recorded for every step ``x_k -> x_{k+1}`` (length ``n_steps``); schemes may add more.
STEP_DIAGNOSTICS: tuple[str, ...] = (
    "step",
    "flips",
    "freezes",
    "two_hit",
    "face_size",
    "face_curvature",
)

_META_KEY = "__metadata__"
_DIAG_PREFIX = "diag__"
_FORMAT = "filippov.DiscreteTrajectory/2"
#: Version 1 files (filippov before the shared :class:`~filippov.Status`) used their own
#: codes: -1 max_steps, -2 non-finite, -3 failed step. They load with the codes mapped.
_FORMAT_V1 = "filippov.DiscreteTrajectory/1"
_V1_STATUS = {
    2: Status.CALLBACK,
    1: Status.STATIONARY,
    0: Status.FINISHED,
    -1: Status.MAX_STEPS,
    -2: Status.NON_FINITE,
    -3: Status.INTEGRATION_FAILED,
}
#: The codes a discrete run ends with (see :class:`DiscreteTrajectory`).
_STATUSES = (
    Status.CALLBACK,
    Status.STATIONARY,
    Status.FINISHED,
    Status.INTEGRATION_FAILED,
    Status.NON_FINITE,
    Status.MAX_STEPS,
)


def _as_float(value: Any, name: str) -> NDArray[np.float64]:
    """``value`` as a float64 array (no copy when it is one), or a ``TypeError`` naming it."""
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"`{name}` must be an array of real numbers. Got {preview(value)} instead."
        ) from None


def _as_counts(value: Any, name: str) -> NDArray[np.int64]:
    """``value`` as an int64 array of whole numbers, or an error naming it."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "iu":
        return value.astype(np.int64, copy=False)
    arr = _as_float(value, name)
    if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
        raise ValueError(f"`{name}` must hold whole numbers. Got {preview(arr)} instead.")
    return arr.astype(np.int64)


class DiscreteTrajectory:
    r"""Iterates of a discretization together with their flow times and diagnostics.

    Arrays are time-major. For a single run (``x0`` of shape ``(n,)``) and a run saving
    every iterate (``save_every=1``, the default):

    ==========================  ==========================  =====================================
    attribute                   shape                       meaning
    ==========================  ==========================  =====================================
    ``x``                       ``(n_steps + 1, n)``        iterates :math:`x_0, \dots, x_N`
    ``t``                       ``(n_steps + 1,)``          flow times :math:`t_k=\sum_{j<k}\eta_j`
    ``k``                       ``(n_steps + 1,)``          iteration number of each row of ``x``
    ``diagnostics["f"]``        ``(n_steps + 1,)``          :math:`f(x_k)`
    ``diagnostics["step"]``     ``(n_steps,)``              step sizes :math:`\eta_k`
    ==========================  ==========================  =====================================

    A batched run (``x0`` of shape ``(m, n)``, ``m`` initial points advanced together)
    inserts the batch axis after the time axis: ``x`` is ``(n_saved, m, n)``, ``t`` is
    ``(n_saved, m)`` (every point has its own flow time; a point that reached ``t_final``
    stays put with zero steps until the others arrive) and every diagnostic gains a
    trailing ``m`` axis. With ``save_every = s > 1`` only iterates ``k = 0, s, 2s, ...``
    and the last one are kept in ``x``; ``t`` and ``k`` always align with ``x``, while
    ``diagnostics`` keep every iterate and step.

    Diagnostics (``diagnostics`` maps a name to an array):

    * per iterate, length ``n_steps + 1``: ``"t"`` (flow time), ``"f"`` (objective value),
      ``"grad_norm"`` (dual norm :math:`\|g_k\|_*` of the scheme's geometry, e.g.
      :math:`\|g_k\|_1` for SignGD), ``"grad_norm2"`` (:math:`\|g_k\|_2`);
    * per step, length ``n_steps``: ``"step"`` (:math:`\eta_k`), ``"flips"`` (number of
      coordinates with :math:`g_{k+1,i}\,g_{k,i} < 0`), ``"freezes"`` (coordinates whose
      step was undone), ``"two_hit"`` (new two-hit sliding detections),
      ``"face_size"`` (:math:`|A_k|`, the active face of the step: :math:`A_k = \{i :
      g_{k,i} \ne 0\}`, or the numerical face :math:`\{i : |g_{k,i}| > \tau\}` of a
      :class:`~filippov.schemes.FaceAware` step; for :class:`~filippov.schemes.ASGD` the
      gradient is the one at the extrapolated point :math:`y_k`),
      ``"face_curvature"`` (:math:`\sum_{i\in A_k} L_i`, NaN when no separable
      smoothness bound is available), plus scheme-specific counters such as
      ``"restarts"`` (ASGD, restarted Signum), ``"tie_breaks"`` (greedy coordinate descent),
      ``"tracking"`` (sliding-track) or ``"inner_iterations"`` (implicit step).

    Runs made with ``diagnostics=False`` keep only ``"t"`` and ``"step"``.

    Parameters
    ----------
    x : ndarray, shape (n_saved, n) or (n_saved, m, n)
        Saved iterates.
    t : ndarray, shape (n_saved,) or (n_saved, m)
        Flow times of the saved iterates.
    k : ndarray of int, shape (n_saved,)
        Iteration numbers of the saved iterates.
    diagnostics : mapping of str to ndarray
        Per-iterate and per-step diagnostics (see above).
    status : int or Status
        A code of :class:`~filippov.Status`, the vocabulary of
        :class:`~filippov.FilippovSolution`: 0 (``FINISHED``, ``n_steps`` done or
        ``t_final`` reached); 1 (``STATIONARY``, gradient exactly zero); 2 (``CALLBACK``,
        stopped by the callback); -1 (``INTEGRATION_FAILED``, a step failed, e.g. the
        implicit solve did not converge); -3 (``NON_FINITE``, a non-finite value met);
        -6 (``MAX_STEPS``, ``max_steps`` exhausted before ``t_final``). Failures keep the
        partial trajectory.
    message : str
        Human-readable reason for stopping.
    metadata : mapping, optional
        JSON-serializable description of the run (scheme, step policy, objective, counts:
        ``nfev`` / ``njev`` / ``nhev`` are evaluations of f, its gradient and its Hessian).

    Attributes
    ----------
    stats : mapping of str to int
        Read-only counters with the keys of a :class:`~filippov.FilippovSolution`'s
        ``stats`` (:data:`filippov._status.STATS_KEYS`): ``nfev`` counts evaluations of the
        field of the flow, here the gradient (``metadata["njev"]``), ``njev`` those of its
        Jacobian, the Hessian (``metadata["nhev"]``), ``n_steps`` the steps; the selection,
        LU and event counters are 0.

    Raises
    ------
    TypeError
        An argument of the wrong type: ``x``, ``t`` or ``k`` not numeric, ``diagnostics``
        not a mapping of str to arrays, ``status`` not an integer, ``message`` not a
        string, ``metadata`` not a mapping.
    ValueError
        Shapes that do not match, ``k`` not whole numbers, an unknown ``status``.

    Examples
    --------
    >>> import numpy as np
    >>> import filippov as fp
    >>> from filippov.objectives import separable_quadratic
    >>> obj = separable_quadratic([1.0, 2.0], [0.0, 0.0])
    >>> traj = fp.schemes.SignGD(step=0.25).run(obj, [1.0, -0.6], n_steps=8)
    >>> traj.x.shape, traj.t.shape, traj.diagnostics["step"].shape
    ((9, 2), (9,), (8,))
    >>> float(traj.t[-1])
    2.0
    >>> traj.x[3]
    array([0.25, 0.15])
    """

    def __init__(
        self,
        x: NDArray[np.float64],
        t: NDArray[np.float64],
        k: NDArray[np.int64],
        diagnostics: Mapping[str, NDArray[Any]],
        *,
        status: int = 0,
        message: str = "",
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self.x = _as_float(x, "x")
        self.t = _as_float(t, "t")
        self.k = _as_counts(k, "k")
        if self.x.ndim not in (2, 3):
            raise ValueError(
                "`x` must have shape (n_saved, n) or (n_saved, m, n). "
                f"Got shape {self.x.shape} instead."
            )
        if self.t.shape != self.x.shape[:-1]:
            raise ValueError(
                f"`t` must have shape {self.x.shape[:-1]} to match `x`. "
                f"Got shape {self.t.shape} instead."
            )
        if self.k.shape != self.x.shape[:1]:
            raise ValueError(
                f"`k` must have shape {self.x.shape[:1]} to match `x`. "
                f"Got shape {self.k.shape} instead."
            )
        if not isinstance(diagnostics, Mapping) or not all(
            isinstance(name, str) for name in diagnostics
        ):
            raise TypeError(
                "`diagnostics` must be a mapping of str to arrays. "
                f"Got {preview(diagnostics)} instead."
            )
        self.diagnostics: dict[str, NDArray[Any]] = {}
        for name, value in diagnostics.items():
            arr = np.asarray(value)
            if arr.dtype.kind not in "biuf":
                raise TypeError(
                    f"`diagnostics[{name!r}]` must be a numeric array. "
                    f"Got {preview(value)} instead."
                )
            self.diagnostics[name] = arr
        code = require_int(status, "status")
        if code not in _STATUSES:
            known = ", ".join(f"{int(s)} ({s.name})" for s in _STATUSES)
            raise ValueError(f"`status` must be one of {known}. Got {status!r} instead.")
        self.status = Status(code)
        if not isinstance(message, str):
            raise TypeError(f"`message` must be a string. Got {message!r} instead.")
        self.message = message
        if metadata is not None and not isinstance(metadata, Mapping):
            raise TypeError(f"`metadata` must be a mapping or None. Got {metadata!r} instead.")
        self.metadata: dict[str, Any] = dict(metadata or {})

    def __eq__(self, other: object) -> bool:
        """Equal arrays (NaN equal to NaN), diagnostics, status, message and metadata: a
        pickled or saved and loaded copy equals the original (stranger fuzz fz14: it
        compared unequal, by identity, where the README promises equal objects).

        Examples
        --------
        >>> import pickle
        >>> from filippov.objectives import slope
        >>> from filippov.schemes import SignGD
        >>> traj = SignGD(step=0.1).run(slope(0.5), [1.0, 1.0], n_steps=3)
        >>> pickle.loads(pickle.dumps(traj)) == traj
        True
        """
        if not isinstance(other, DiscreteTrajectory):
            return NotImplemented
        return (
            _same(self.x, other.x)
            and _same(self.t, other.t)
            and _same(self.k, other.k)
            and _same(self.diagnostics, other.diagnostics)
            and self.status == other.status
            and self.message == other.message
            and _same(self.metadata, other.metadata)
        )

    __hash__ = None  # type: ignore[assignment]

    # ------------------------------------------------------------------ shape helpers
    @property
    def batched(self) -> bool:
        """Whether this is a batched run (``x`` has a batch axis)."""
        return self.x.ndim == 3

    @property
    def n(self) -> int:
        """State dimension."""
        return int(self.x.shape[-1])

    @property
    def m(self) -> int | None:
        """Number of initial points of a batched run (``None`` for a single run)."""
        return int(self.x.shape[1]) if self.batched else None

    @property
    def n_steps(self) -> int:
        """Number of steps taken."""
        return int(self.k[-1])

    @property
    def success(self) -> bool:
        """``status >= 0``."""
        return self.status >= 0

    @property
    def stats(self) -> Mapping[str, int]:
        """Counters with the keys of :attr:`FilippovSolution.stats
        <filippov.FilippovSolution.stats>` (read-only; see the class doc).

        Examples
        --------
        >>> import filippov as fp
        >>> from filippov.objectives import separable_quadratic
        >>> traj = fp.schemes.SignGD(step=0.25).run(separable_quadratic([1.0], [0.0]), [1.0],
        ...                                         n_steps=2)
        >>> traj.stats["n_steps"], traj.stats["n_events"]
        (2, 0)
        """
        meta = self.metadata
        return make_stats(
            {
                "nfev": int(meta.get("njev") or 0),
                "njev": int(meta.get("nhev") or 0),
                "n_steps": self.n_steps,
            }
        )

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Pickles of earlier versions hold the plain int codes of format 1.
        if not isinstance(state.get("status"), Status):
            state["status"] = _V1_STATUS[int(state["status"])]
        self.__dict__.update(state)

    @property
    def x_final(self) -> NDArray[np.float64]:
        """Last iterate, shape ``(n,)`` or ``(m, n)``."""
        return self.x[-1]

    @property
    def t_end(self) -> NDArray[np.float64] | float:
        """Flow time of the last iterate (an array of shape ``(m,)`` when batched)."""
        return self.t[-1] if self.batched else float(self.t[-1])

    def _diag(self, name: str) -> NDArray[Any]:
        try:
            return self.diagnostics[name]
        except KeyError:
            raise AttributeError(
                f"This trajectory has no diagnostic {name!r} (run with diagnostics=True). "
                f"Available: {sorted(self.diagnostics)}."
            ) from None

    @property
    def f(self) -> NDArray[np.float64]:
        """Objective values at every iterate, shape ``(n_steps + 1,)`` or ``(n_steps + 1, m)``."""
        return self._diag("f")

    @property
    def step(self) -> NDArray[np.float64]:
        """Step sizes, shape ``(n_steps,)`` or ``(n_steps, m)``."""
        return self._diag("step")

    @property
    def grad_norm(self) -> NDArray[np.float64]:
        """Dual norm of the gradient at every iterate."""
        return self._diag("grad_norm")

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        batch = f", m={self.m}" if self.batched else ""
        scheme = self.metadata.get("scheme", "?")
        return (
            f"DiscreteTrajectory(scheme={scheme}, n_steps={self.n_steps}, n={self.n}{batch}, "
            f"status={self.status})"
        )

    def _repr_html_(self) -> str:
        """Notebook display: the summary table and, in 2-D, a small inline plot of the iterates."""
        from .._html import trajectory_html

        return trajectory_html(self)

    def to_dataframe(self, table: str = "iterates") -> Any:
        """One table of the run as a tidy pandas DataFrame (needs pandas).

        Parameters
        ----------
        table : {"iterates", "steps"}, default "iterates"
            ``"iterates"``: one row per saved iterate (``k``, ``t``, ``x0, x1, ...`` and the
            per-iterate diagnostics at ``k``); ``"steps"``: one row per step
            (``step_index`` and the per-step diagnostics). Batched runs are in long format
            with a ``batch`` column.

        Returns
        -------
        pandas.DataFrame
            With ``status``, ``message``, ``scheme`` and ``objective`` in ``df.attrs``.

        Examples
        --------
        >>> import filippov as fp
        >>> from filippov.objectives import separable_quadratic
        >>> obj = separable_quadratic([1.0, 4.0], [0.0, 0.0])
        >>> traj = fp.schemes.SignGD(step=0.25).run(obj, [1.0, -1.0], n_steps=3)
        >>> traj.to_dataframe()[["k", "t", "x0", "x1"]]
           k     t    x0    x1
        0  0  0.00  1.00 -1.00
        1  1  0.25  0.75 -0.75
        2  2  0.50  0.50 -0.50
        3  3  0.75  0.25 -0.25
        """
        from ..export import trajectory_to_dataframe

        return trajectory_to_dataframe(self, table)

    def to_xarray(self) -> Any:
        """The run as an xarray Dataset (needs xarray).

        ``x`` has dimensions ``(k, coord)`` (``(k, batch, coord)`` for a batched run) with the
        saved iteration numbers as coordinate ``k``, and ``t`` the flow times along ``k``;
        per-iterate diagnostics run along ``iterate`` (every iterate, ``t_all`` for the flow
        times) and per-step ones along ``step_index``. ``status``, ``message``, ``scheme`` and
        ``objective`` are attributes; it writes to netCDF as it is.

        Returns
        -------
        xarray.Dataset
        """
        from ..export import trajectory_to_xarray

        return trajectory_to_xarray(self)

    def summary(self) -> str:
        """A short multi-line text summary of the run.

        Examples
        --------
        >>> import filippov as fp
        >>> from filippov.objectives import separable_quadratic
        >>> obj = separable_quadratic([1.0], [0.0])
        >>> print(fp.schemes.SignGD(step=0.5).run(obj, [1.0], n_steps=4).summary())
        ... # doctest: +ELLIPSIS
        DiscreteTrajectory: SignGD(step=Constant(0.5)) on ...
        """
        lines = [
            f"DiscreteTrajectory: {self.metadata.get('scheme', '?')} on "
            f"{self.metadata.get('objective', '?')}",
            f"  steps      : {self.n_steps}   (saved {self.x.shape[0]} iterates)",
            f"  shape      : x {self.x.shape}, t {self.t.shape}",
            f"  status     : {self.status} ({self.message})",
        ]
        t_end = np.atleast_1d(self.t[-1])
        lines.append(f"  flow time  : {float(t_end.min()):.6g} .. {float(t_end.max()):.6g}")
        if "f" in self.diagnostics:
            f_end = np.atleast_1d(self.diagnostics["f"][-1])
            lines.append(
                f"  f          : {float(np.min(self.diagnostics['f'][0])):.6g} -> "
                f"{float(f_end.min()):.6g} .. {float(f_end.max()):.6g}"
            )
        for name in ("flips", "freezes", "two_hit", "restarts", "tie_breaks"):
            if name in self.diagnostics:
                lines.append(f"  {name:<11}: {int(np.sum(self.diagnostics[name]))} in total")
        return "\n".join(lines)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the trajectory to one ``.npz`` file (arrays plus JSON metadata).

        The write is atomic and durable (:func:`filippov._npz_io.save_npz`, as for a
        :class:`~filippov.FilippovSolution`): the data go to a temporary file in the target
        directory, are fsynced, and the file then replaces ``path`` with
        :func:`os.replace`. Arrays round-trip bit for bit.

        Parameters
        ----------
        path : str or path-like
            Target file, in an existing folder (not a folder itself); written as given (no
            suffix is appended).

        Returns
        -------
        pathlib.Path
            The path written.

        Raises
        ------
        TypeError, ValueError
            ``path`` is not a path, is empty or names a folder.
        OSError
            The folder does not exist or cannot be written; ``filename`` is ``path``
            (never the temporary file).

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> import filippov as fp
        >>> from filippov.objectives import separable_quadratic
        >>> traj = fp.schemes.SignGD(step=0.1).run(
        ...     separable_quadratic([1.0, 3.0], [0.0, 1.0]), [1.0, 0.0], n_steps=20)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = traj.save(os.path.join(d, "run.npz"))
        ...     back = fp.schemes.DiscreteTrajectory.load(p)
        >>> bool(np.array_equal(back.x, traj.x)) and back.metadata == traj.metadata
        True
        """
        target = output_path(path, "path")
        meta = {
            "format": _FORMAT,
            "status": int(self.status),
            "message": self.message,
            "metadata": self.metadata,
            "diagnostics": sorted(self.diagnostics),
        }
        arrays: dict[str, NDArray[Any]] = {"x": self.x, "t": self.t, "k": self.k}
        for name, value in self.diagnostics.items():
            arrays[_DIAG_PREFIX + name] = value
        blob = json.dumps(meta, allow_nan=True, sort_keys=True).encode("utf-8")
        arrays[_META_KEY] = np.frombuffer(blob, dtype=np.uint8)
        return save_npz(target, arrays)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> DiscreteTrajectory:
        """Read a trajectory written by :meth:`save`.

        Parameters
        ----------
        path : str or path-like
            File written by :meth:`save`.

        Returns
        -------
        DiscreteTrajectory

        Raises
        ------
        TypeError, ValueError
            ``path`` is not a path, is empty or names a folder; the file cannot be read as
            a trajectory (the message names the file and the problem): empty, truncated,
            corrupted (every file :meth:`save` writes carries a SHA-256 of its bytes), not
            written by :meth:`save`, of a newer format version, or holding an object array
            (files are read with ``allow_pickle=False``: nothing in them is executed).
            Format 1 files (earlier versions, with their own status codes) load with the
            codes mapped to :class:`~filippov.Status`.
        FileNotFoundError
            ``path`` does not exist.

        Examples
        --------
        See :meth:`save`.
        """
        source = input_path(path, "path")
        data = read_npz(source, "filippov trajectory")
        if _META_KEY not in data:
            raise ValueError(
                f"`path` must be a file written by DiscreteTrajectory.save. "
                f"Got {str(source)!r} (no metadata record) instead."
            )
        try:
            meta = json.loads(data[_META_KEY].astype(np.uint8).tobytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, TypeError, ValueError) as exc:
            raise ValueError(
                f"`path` must be a file written by DiscreteTrajectory.save. Got {str(source)!r} "
                "with an unreadable metadata record instead."
            ) from exc
        found = meta.get("format") if isinstance(meta, dict) else None
        if found not in (_FORMAT, _FORMAT_V1):
            prefix, _, version = str(found).rpartition("/")
            newer = prefix == _FORMAT.rpartition("/")[0] and version.isdigit()
            raise ValueError(
                f"`path` must hold format {_FORMAT!r}. Got {found!r} in {str(source)!r} instead"
                + (" (written by a newer filippov?)." if newer else ".")
            )
        with contents_of(source, "filippov trajectory"):
            diagnostics = {name: data[_DIAG_PREFIX + name] for name in meta["diagnostics"]}
            status = meta["status"]
            if found == _FORMAT_V1:
                status = _V1_STATUS[status]
            return cls(
                data["x"],
                data["t"],
                data["k"],
                diagnostics,
                status=status,
                message=meta["message"],
                metadata=meta["metadata"],
            )


def _same(a: Any, b: Any) -> bool:
    """Whether two values of a trajectory (arrays, mappings, sequences, scalars) are equal,
    arrays by value and NaN equal to NaN."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a_arr, b_arr = np.asarray(a), np.asarray(b)
        if a_arr.shape != b_arr.shape or a_arr.dtype.kind != b_arr.dtype.kind:
            return False
        return bool(np.array_equal(a_arr, b_arr, equal_nan=a_arr.dtype.kind in "fc"))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(u, v) for u, v in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True  # (NaN)
    return bool(a == b)
