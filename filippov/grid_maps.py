"""A sweep table over a 2-D grid of initial states, put back on its grid.

:func:`filippov.sweep` over :func:`filippov.grid` points returns one row per run;
:func:`grid_map` turns one numeric column of such a table into an array indexed like the
grid, ready for an image (:func:`filippov.plot.arrival_time_map` draws it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from filippov._validation import FloatArray

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd

__all__ = ["grid_map"]


def grid_map(table: pd.DataFrame, value: str) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The column ``value`` of a sweep over a 2-D grid, as an array over that grid.

    Parameters
    ----------
    table : pandas.DataFrame
        A table from :func:`filippov.sweep` over :func:`filippov.grid` points of a 2-D
        state: columns ``x0_0``, ``x0_1`` and ``value``, one run per grid point.
    value : str
        A numeric column; missing values (a run that never arrived, or failed) give NaN.

    Returns
    -------
    xs : ndarray, shape (nx,)
        The distinct first coordinates, increasing.
    ys : ndarray, shape (ny,)
        The distinct second coordinates, increasing.
    values : ndarray, shape (ny, nx)
        ``values[iy, ix]`` is the column of the run started at ``(xs[ix], ys[iy])``.

    Raises
    ------
    ValueError
        When the table is not one run per point of a 2-D grid, or ``value`` is not a
        numeric column of it.

    Examples
    --------
    >>> import pandas as pd
    >>> from filippov.grid_maps import grid_map
    >>> table = pd.DataFrame({"x0_0": [0.0, 1.0, 0.0, 1.0], "x0_1": [0.0, 0.0, 2.0, 2.0],
    ...                       "t_stationary": [1.0, 2.0, None, 4.0]})
    >>> xs, ys, values = grid_map(table, "t_stationary")
    >>> xs.tolist(), ys.tolist(), values.tolist()
    ([0.0, 1.0], [0.0, 2.0], [[1.0, 2.0], [nan, 4.0]])
    """
    columns = list(getattr(table, "columns", []))
    for name in ("x0_0", "x0_1"):
        if name not in columns:
            raise ValueError(
                f"`table` must be a sweep table with a column {name!r}. Got columns {columns}."
            )
    if "x0_2" in columns:
        raise ValueError("`table` must come from a sweep of 2-D states. Got more coordinates.")
    if not isinstance(value, str) or value not in columns:
        raise ValueError(f"`value` must name a column of `table`. Got {value!r} instead.")
    px = table["x0_0"].to_numpy(dtype=float)
    py = table["x0_1"].to_numpy(dtype=float)
    xs, ys = np.unique(px), np.unique(py)
    # (distinct points too: a run given twice and one missing made the right count, and
    # the second overwrote the first while the missing one was drawn as never arrived)
    points = len(np.unique(np.column_stack([px, py]), axis=0))
    if len(xs) < 2 or len(ys) < 2 or len(xs) * len(ys) != len(table) or points != len(table):
        raise ValueError(
            "`table` must hold one run per point of a 2-D grid (from `filippov.grid`). Got "
            f"{len(table)} runs at {points} distinct points over {len(xs)} x {len(ys)} "
            "distinct coordinates instead."
        )
    try:
        shown = table[value].to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        raise ValueError(f"`value` must name a numeric column. Got {value!r} instead.") from None
    values = np.full((len(ys), len(xs)), np.nan)
    values[np.searchsorted(ys, py), np.searchsorted(xs, px)] = shown
    return xs, ys, values
