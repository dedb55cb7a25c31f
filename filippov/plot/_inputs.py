"""Argument checks and run handling shared by the drawing functions of :mod:`filippov.plot`.

Each check raises the library's usual ``TypeError`` / ``ValueError`` naming the argument.
A *run* is what the drawing functions accept as a trajectory: a
:class:`~filippov.solution.FilippovSolution`, discrete iterates (anything with an array
attribute ``x`` of shape ``(k, n)`` or ``(k, m, n)``, e.g. a
:class:`~filippov.schemes.DiscreteTrajectory`) or a plain array ``(k, n)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, TypeGuard

import numpy as np
from numpy.typing import ArrayLike

from filippov._validation import FloatArray, require_int

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes

    from filippov.schemes.trajectory import DiscreteTrajectory
    from filippov.solution import FilippovSolution

    #: What :func:`filippov.plot.trajectory` draws.
    Run: TypeAlias = FilippovSolution | DiscreteTrajectory | ArrayLike
    #: One run, a sequence of runs, or a mapping label -> run.
    Runs: TypeAlias = Run | Sequence[Run] | Mapping[str, Run]


def check_axes(ax: object) -> None:
    """Raise a ``TypeError`` unless ``ax`` is None or a matplotlib Axes."""
    if ax is None:
        return
    from matplotlib.axes import Axes as _Axes

    if not isinstance(ax, _Axes):
        raise TypeError(f"`ax` must be a matplotlib Axes or None. Got {type(ax).__name__} instead.")


def axes_or_new(ax: Axes | None, projection: str | None = None) -> Axes:
    """Return ``ax`` or the axes of a new pyplot figure (so galleries can scrape it)."""
    if ax is not None:
        check_axes(ax)
        return ax
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(6.4, 5.2) if projection is None else (6.4, 6.0))
    return fig.add_subplot(projection=projection)


def flag(value: object, name: str) -> bool:
    """Validate a boolean option (``True``/``False``, numpy bools included)."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"`{name}` must be True or False. Got {value!r} instead.")
    return bool(value)


def choice(value: object, name: str, options: Sequence[str]) -> str:
    """Validate one of a fixed set of strings."""
    if not isinstance(value, str) or value not in options:
        choices = ", ".join(repr(o) for o in options)
        raise ValueError(f"`{name}` must be one of {choices}. Got {value!r} instead.")
    return value


def optional_text(value: object, name: str) -> str | None:
    """Validate an optional string (a label or a title)."""
    if value is not None and not isinstance(value, str):
        raise TypeError(f"`{name}` must be a string or None. Got {type(value).__name__} instead.")
    return value


def text_list(value: object, name: str) -> list[str] | None:
    """Validate an optional sequence of strings (legend labels)."""
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Sequence | np.ndarray):
        raise TypeError(f"`{name}` must be a sequence of strings. Got {value!r} instead.")
    items = list(value)
    if not all(isinstance(v, str) for v in items):
        raise TypeError(f"`{name}` must be a sequence of strings. Got {value!r} instead.")
    return items


def indices(value: object, name: str, n: int, length: int | None = None) -> tuple[int, ...]:
    """Validate a sequence of distinct component indices in ``[0, n)``."""
    if isinstance(value, str) or not isinstance(value, Sequence | np.ndarray):
        raise TypeError(f"`{name}` must be a sequence of integers. Got {value!r} instead.")
    items = list(np.asarray(value).ravel()) if isinstance(value, np.ndarray) else list(value)
    out = tuple(require_int(v, name) for v in items)
    if not out:
        raise ValueError(f"`{name}` must name at least one component. Got {value!r} instead.")
    if length is not None and len(out) != length:
        raise ValueError(f"`{name}` must hold {length} indices. Got {value!r} instead.")
    if any(not 0 <= d < n for d in out) or len(set(out)) != len(out):
        raise ValueError(
            f"`{name}` must hold distinct indices in [0, {n}) (the state has {n} components). "
            f"Got {value!r} instead."
        )
    return out


# ------------------------------------------------------------------------------ runs


def is_solution(obj: object) -> TypeGuard[FilippovSolution]:
    """A Filippov solution (or anything with ``segments`` and ``events``)."""
    return hasattr(obj, "segments") and hasattr(obj, "events")


def is_discrete(obj: object) -> TypeGuard[DiscreteTrajectory]:
    """Discrete iterates: an attribute ``x`` holding an array ``(k, n)`` or ``(k, m, n)``."""
    x = getattr(obj, "x", None)
    return x is not None and not callable(x) and np.ndim(x) in (2, 3)


def path_array(run: object) -> FloatArray:
    """A plain path ``(k, n)`` of finite numbers, or a ``TypeError`` naming ``run``."""
    try:
        X = np.asarray(run, dtype=float)
    except (TypeError, ValueError):
        X = np.empty((0,))
    if X.ndim != 2 or X.shape[1] == 0:
        raise TypeError(
            "`run` must be a FilippovSolution, a discrete trajectory (with .x) or an array "
            f"of shape (k, n). Got {type(run).__name__} of shape {X.shape} instead."
        )
    if not np.all(np.isfinite(X)):
        raise ValueError("`run` must be finite. Got a path with NaN or inf instead.")
    return X


def run_dimension(run: Run) -> int:
    """The state dimension of a run accepted by :func:`filippov.plot.trajectory`."""
    if is_solution(run):
        return int(run.n if hasattr(run, "n") else np.asarray(run.x).shape[1])
    if is_discrete(run):
        return int(np.asarray(run.x).shape[-1])
    return int(path_array(run).shape[1])


def run_label(run: object, default: str) -> str:
    """The scheme description a discrete run carries in its metadata, else ``default``."""
    meta = getattr(run, "metadata", None)
    if isinstance(meta, Mapping) and meta.get("scheme"):
        return str(meta["scheme"])
    return default


def run_items(runs: Runs, labels: Sequence[str] | None) -> list[tuple[str, Run]]:
    """``[(label, run), ...]`` from one run, a sequence of runs or a mapping label -> run."""
    items: list[tuple[str, Any]]
    if isinstance(runs, Mapping):
        items = [(str(k), v) for k, v in runs.items()]
    elif (
        is_solution(runs) or is_discrete(runs) or (isinstance(runs, np.ndarray) and runs.ndim == 1)
    ):
        items = [("", runs)]
    elif isinstance(runs, Sequence) and runs and all(np.isscalar(v) for v in runs):
        items = [("", np.asarray(runs, dtype=float))]
    elif isinstance(runs, Iterable) and not isinstance(runs, str | bytes):
        items = [("", r) for r in runs]
    else:
        raise TypeError(
            f"`runs` must be a run, a sequence of runs or a mapping label -> run. "
            f"Got {type(runs).__name__} instead."
        )
    if not items:
        raise ValueError(f"`runs` must hold at least one run. Got {runs!r} instead.")
    if labels is not None:
        checked = text_list(labels, "labels")
        assert checked is not None
        if len(checked) != len(items):
            raise ValueError(
                f"`labels` must have one entry per run ({len(items)}). Got {len(checked)} instead."
            )
        items = [(lab, r) for lab, (_, r) in zip(checked, items, strict=True)]
    out = []
    for k, (lab, r) in enumerate(items):
        if not lab:
            lab = run_label(r, "Filippov solution" if is_solution(r) else f"run {k}")
        out.append((lab, r))
    return out
