"""Sweeps: many runs of :func:`~filippov.engine.solve`, a scheme or :func:`~filippov.comparison.compare`
over the product of axes, with one table row per run.

A phase portrait is hundreds of trajectories, an arrival-time map is 10⁴–10⁶ initial
states, a convergence study is step sizes × schemes × problem instances. :func:`sweep`
runs such a product on an existing execution engine — a ``concurrent.futures`` executor
(a local process pool by default) or a ``dask.distributed`` client — in chunks, and
returns a pandas ``DataFrame``: the inputs of each run and what came out of it.

pandas (and pyarrow for parquet files, tqdm for the progress bar, dask for clusters) are
optional dependencies, installed by ``pip install "filippov[sweep]"`` and imported only
here, when a sweep runs.

Determinism. Each run depends only on its own inputs (its problem instance is built
from its own parameter values and seed; no random state is shared between runs), so a
sweep gives the same table whatever the executor, the number of workers and the chunk
size: chunking decides only where a run is computed.

Reliability. A run that fails (negative status) or raises becomes a row with its status
and message (status :data:`STATUS_RAISED` and the exception's text for a run that
raised); with ``out=`` every finished chunk is written to its own file (written under a
temporary name, fsynced, then renamed, so a file present is a file complete) next to a
manifest, and a sweep started again with the same ``out`` runs only the chunks that are
missing (a chunk file that cannot be read is computed again, with a warning naming it).
The manifest identifies the sweep by its inputs and by the code that computes them (the
bytecode of the user's factory and functions, the library versions): an edited factory
is another sweep, refused, never served the old chunks.

Parameter names must not be column names of the table (``t_end``, ``f_final``, ``band``
…): such a parameter is refused, since the output would overwrite its value in the rows.
"""

from __future__ import annotations

import dataclasses
import dis
import functools
import hashlib
import importlib.util
import inspect
import io
import itertools
import json
import math
import os
import pickle
import sys
import threading
import types
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from filippov._npz_io import atomic_write_bytes
from filippov._scheme_flows import RELAY_OF_CONSTRAINT, flow_mismatch
from filippov._validation import (
    FloatArray,
    as_float_array,
    as_limits,
    preview,
    require_finite,
    require_flag,
    require_int,
)
from filippov.comparison import compare
from filippov.engine import solve
from filippov.objectives import Objective
from filippov.schemes import DiscreteTrajectory, Scheme
from filippov.solution import EVENT_KINDS, FilippovSolution
from filippov.systems import FilippovSystem, steepest_descent_flow

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd

__all__ = ["STATUS_RAISED", "check_param_names", "grid", "read_table", "sweep"]

#: Status of a run that raised an exception (its ``message`` holds the exception).
STATUS_RAISED = -10

_KINDS = ("solve", "scheme", "compare")
_FORMATS = ("parquet", "csv")
_MANIFEST = "manifest.json"
#: 2: the fingerprint describes the problem's code and the library versions (version 1
#: digested the pickled problem, in which a function is only its name).
_MANIFEST_VERSION = 2
#: Largest default chunk: ~0.1-1 s of millisecond runs, small enough to keep every worker
#: busy until the end and to lose little work to an interruption.
_MAX_CHUNK = 500
#: Chunks per worker aimed at by the default chunk size (load balance vs task overhead).
_CHUNKS_PER_WORKER = 8
_SOLVE_OPTIONS = frozenset(inspect.signature(solve).parameters) - {"system", "x0", "t_span"}
_SCHEME_OPTIONS = frozenset({"max_steps", "save_every", "diagnostics"})


# ------------------------------------------------------------------------- the grid helper
def grid(*limits: tuple[float, float], num: int | Sequence[int] = 50) -> FloatArray:
    """Initial states on a regular grid, one per row, the first coordinate varying fastest.

    Parameters
    ----------
    *limits : (float, float)
        ``(low, high)`` of each coordinate, both ends included.
    num : int or sequence of int, default 50
        Points per coordinate (one number for all, or one per coordinate).

    Returns
    -------
    ndarray, shape (prod(num), len(limits))
        The grid points, in the order of ``numpy.meshgrid(..., indexing="xy")`` raveled:
        for two coordinates, row ``j * num_x + i`` is ``(x_i, y_j)``.

    Examples
    --------
    >>> from filippov.sweeps import grid
    >>> grid((0.0, 1.0), (-1.0, 1.0), num=(2, 3))
    array([[ 0., -1.],
           [ 1., -1.],
           [ 0.,  0.],
           [ 1.,  0.],
           [ 0.,  1.],
           [ 1.,  1.]])
    """
    if not limits:
        raise ValueError("`limits` must name at least one coordinate range. Got none instead.")
    lims = [as_limits(lim, f"limits[{i}]") for i, lim in enumerate(limits)]
    if isinstance(num, str) or not isinstance(num, Iterable):
        num = [num] * len(lims)
    counts = list(num)
    if len(counts) != len(lims):
        raise ValueError(
            f"`num` must be one number or one per coordinate ({len(lims)}). "
            f"Got {len(counts)} numbers instead."
        )
    counts = [require_int(c, "num", 2) for c in counts]
    axes = [np.linspace(lo, hi, c) for (lo, hi), c in zip(lims, counts, strict=True)]
    # meshgrid's "xy" order for the first two coordinates: x fastest, as images are stored.
    mesh = np.meshgrid(*axes[::-1], indexing="ij")[::-1]
    return np.column_stack([m.ravel() for m in mesh])


# ------------------------------------------------------------------------- the run plan
@dataclass
class _Plan:
    """Everything a worker needs to compute any run of the sweep (pickled once)."""

    problem: Any
    factory: bool
    kind: str
    x0: FloatArray  # every initial state (main process) or only the first (workers)
    n_x0: int
    params: list[dict[str, Any]]
    param_names: tuple[str, ...]
    norms: tuple[str | None, ...]
    steps: tuple[float | None, ...]
    seeds: tuple[int | None, ...]
    t_span: tuple[float, float]
    solve_options: dict[str, Any]
    scheme: Scheme | None
    scheme_options: dict[str, Any]
    check_derivatives: bool
    keep_solutions: bool
    param_dtypes: dict[str, str] = field(default_factory=dict)
    _instances: OrderedDict[int, Any] = field(default_factory=OrderedDict, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_instances"] = OrderedDict()  # a cache, never sent
        return state

    @property
    def n_runs(self) -> int:
        return self.n_instances * self.n_x0

    @property
    def n_instances(self) -> int:
        return len(self.params) * len(self.norms) * len(self.steps) * len(self.seeds)

    def axes_of(self, instance: int) -> tuple[int, int, int, int]:
        """Indices (params, norm, step, seed) of a problem instance (seed varies fastest)."""
        rest, i_seed = divmod(instance, len(self.seeds))
        rest, i_step = divmod(rest, len(self.steps))
        i_param, i_norm = divmod(rest, len(self.norms))
        return i_param, i_norm, i_step, i_seed

    def columns(self) -> dict[str, str]:
        """Column names and dtypes of the table, fixed by the plan alone."""
        n = self.x0.shape[1]
        cols: dict[str, str] = {"run": "int64"}
        cols.update({f"x0_{i}": "float64" for i in range(n)})
        for name in self.param_names:
            cols[name] = self.param_dtypes[name]
        if self.norms != (None,):
            cols["norm"] = "str"
        if self.steps != (None,):
            cols["step"] = "float64"
        if self.seeds != (None,):
            cols["seed"] = "int64"
        cols.update(_output_columns(self.kind, n, self.keep_solutions))
        return cols

    def fingerprint(self) -> tuple[str, list[str]]:
        """A digest of everything that defines the runs, to recognise the same sweep on
        resume, and what in it could not be verified (see :class:`_Identity`)."""
        ident = _Identity()
        desc = {
            "environment": _environment(),
            "kind": self.kind,
            "problem": ident.digest(self.problem, "problem"),
            "params": ident.digest(self.params, "params"),
            "norms": list(self.norms),
            "steps": list(self.steps),
            "seeds": list(self.seeds),
            "t_span": list(self.t_span),
            "solve_options": ident.digest(self.solve_options, "solve_options"),
            "scheme": ident.digest(self.scheme, "scheme"),
            "scheme_options": ident.digest(self.scheme_options, "scheme_options"),
            "check_derivatives": self.check_derivatives,
            "x0": ident.digest(np.ascontiguousarray(self.x0, dtype=float), "x0"),
        }
        h = hashlib.sha256(json.dumps(desc, sort_keys=True).encode())
        return h.hexdigest(), sorted(set(ident.unverified))


def check_param_names(names: Iterable[str], run: str = "solve") -> None:
    """Refuse parameter names that are also columns of the table of a ``run`` sweep
    (the output would overwrite the parameter's value in every row).

    Raises
    ------
    ValueError
        Naming the clashing parameters and every reserved name.
    """
    reserved = _reserved_names(run)
    clash = [n for n in names if n in reserved or n.startswith(_RESERVED_PREFIXES)]
    if clash:
        raise ValueError(
            f"`params` names must not be columns of the {run!r} sweep table, whose values "
            f"would overwrite them. Got {clash}. Reserved: {', '.join(reserved)} and the "
            f"prefixes {', '.join(p + '*' for p in _RESERVED_PREFIXES)}."
        )


def _param_dtype(values: list[Any]) -> str:
    if all(isinstance(v, bool | np.bool_) for v in values):
        return "bool"
    if all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in values):
        return "int64"
    if all(isinstance(v, int | float | np.integer | np.floating) for v in values):
        return "float64"
    return "str"


def _require_int64(values: Sequence[Any], name: str) -> None:
    """Refuse integers that the table's int64 column cannot hold (pandas raised an
    ``OverflowError`` naming no parameter, after the first chunk had been computed)."""
    info = np.iinfo(np.int64)
    big = [v for v in values if not info.min <= int(v) <= info.max]
    if big:
        raise ValueError(
            f"`{name}` must hold integers that fit in 64 bits (their table column is "
            f"int64). Got {big} instead; pass such values as strings (or floats)."
        )


def _param_value(value: Any, dtype: str) -> Any:
    return repr(value) if dtype == "str" and not isinstance(value, str) else value


def _count_column(kind: str) -> str:
    return "n_" + kind.replace("-", "_")


def _output_columns(kind: str, n: int, keep_solutions: bool) -> dict[str, str]:
    """The columns a run of ``kind`` writes (after the inputs), and their dtypes."""
    cols: dict[str, str] = {"status": "int64", "message": "str"}
    if kind in ("solve", "compare"):
        cols.update(
            {
                "method": "str",
                "t_end": "float64",
                "t_sliding_entry": "float64",
                "t_stationary": "float64",
                "sliding_duration": "float64",
                "n_events": "Int64",
            }
        )
        cols.update({_count_column(k): "Int64" for k in EVENT_KINDS})
    if kind == "scheme":
        cols.update({"n_steps": "Int64", "t_end": "float64"})
    cols.update({f"xf_{i}": "float64" for i in range(n)})
    cols["f_final"] = "float64"
    if kind == "compare":
        cols.update(
            {
                "scheme_status": "Int64",
                "scheme_message": "str",
                "n_steps": "Int64",
                "tracking_error": "float64",
                "final_error": "float64",
                "band": "float64",
                "events_agree": "boolean",
            }
        )
    if keep_solutions:
        cols["solution"] = "object"
    return cols


def _reserved_names(kind: str) -> list[str]:
    """Names a parameter may not take: the columns of a ``kind`` sweep other than the
    parameters (derived from :func:`_output_columns`, so that the two cannot drift apart;
    ``x0_*``, ``xf_*`` and ``n_*`` are refused as prefixes)."""
    # (the input columns besides x0_* and the parameters: see _Plan.columns)
    names = {"run", "norm", "step", "seed", *_output_columns(kind, 0, keep_solutions=True)}
    return sorted(n for n in names if not n.startswith(_RESERVED_PREFIXES))


#: Prefixes of the columns that come one per coordinate or per event kind.
_RESERVED_PREFIXES = ("x0_", "xf_", "n_")


# ------------------------------------------------------------------------- sweep identity
class _Identity:
    """A digest of everything that defines a sweep's computation, for resuming from ``out``.

    ``pickle`` stores a function (and a class) by its qualified name only, so a digest of
    the pickled problem does not change when the user edits the factory between two runs
    of a script: the old chunks would come back as the new sweep's results. Here a plain
    Python function of the user's own code (``__main__``, or a module that is not an
    installed package) is described by what it computes: its bytecode, constants (nested
    code included), defaults, closure cell contents and the module-level names its code
    reads (recursively: a helper it calls is described the same way); a class of the
    user's code by its methods; a user module it reads by its source file and the current
    values of the attributes the code names (set at run time, they are not in the file). Functions and
    classes of installed packages (and of filippov) go by name: the package versions and
    the digest of filippov's sources are part of the identity (:func:`_environment`).

    What cannot be described (an object that neither pickles nor is a plain function,
    e.g. a closure over a lock, a C extension object) is named in :attr:`unverified`: the
    digest cannot tell whether it changed, so a resume needs ``force_resume=True``.
    Line numbers and file names are left out, so that moving a function in its file or
    editing another part of the script does not void the chunks already computed.
    """

    def __init__(self) -> None:
        self.unverified: list[str] = []
        self._cache: dict[int, str] = {}
        self._keep: list[Any] = []  # what is cached by id stays alive (ids are reused)
        self._active: set[int] = set()

    def digest(self, value: Any, where: str = "problem") -> str:
        key = id(value)
        if key in self._cache:
            return self._cache[key]
        if key in self._active:  # a function reaching itself (recursion, methods)
            return "recursive:" + _qualified_name(value)
        self._active.add(key)
        try:
            text = self._describe(value, where)
        finally:
            self._active.discard(key)
        out = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        self._cache[key] = out
        self._keep.append(value)
        return out

    def _describe(self, value: Any, where: str) -> str:
        if value is None or isinstance(value, bool | int | float | complex | str | bytes):
            return f"{type(value).__name__}:{value!r}"
        if isinstance(value, np.ndarray) and value.dtype != object:
            data = hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()
            return f"ndarray:{value.dtype.str}:{value.shape}:{data}"
        if type(value) in (list, tuple):
            items = [self.digest(v, where) for v in value]
            return f"{type(value).__name__}:{items}"
        if type(value) is dict:
            pairs = [(self.digest(k, where), self.digest(v, where)) for k, v in value.items()]
            return f"dict:{pairs}"
        if type(value) in (set, frozenset):  # pickle's order follows string hashing
            return f"set:{sorted(self.digest(v, where) for v in value)}"
        if isinstance(value, types.CodeType):
            return self._code(value, where)
        if isinstance(value, types.ModuleType):
            return self._module(value, where)
        if isinstance(value, types.FunctionType) and not _by_name(value):
            return self._function(value, where)
        if isinstance(value, type) and _is_user_code(value.__module__):
            return self._class(value, where)
        return self._pickled(value, where)

    def _pickled(self, value: Any, where: str) -> str:
        """Pickle ``value`` with the functions, classes and modules inside it described."""
        buf = io.BytesIO()
        pickler = _IdentityPickler(buf, self, where)
        try:
            pickler.dump(value)
        except Exception as exc:
            self.unverified.append(
                f"{where}: {_qualified_name(value)} ({type(exc).__name__}: {exc})"
            )
            return "unverified:" + _qualified_name(value)
        return "pickle:" + hashlib.sha256(buf.getvalue()).hexdigest()

    def _function(self, fn: types.FunctionType, where: str) -> str:
        name = _qualified_name(fn)
        where = f"{where} -> {name}"
        cells = []
        for var, cell in zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=False):
            try:
                contents = cell.cell_contents
            except ValueError:  # a cell not yet filled
                cells.append((var, "empty"))
                continue
            cells.append((var, self.digest(contents, f"{where} (closure variable {var!r})")))
        reads = []
        names = _global_names(fn.__code__)
        for var in sorted(names):
            if var in fn.__globals__:
                value = fn.__globals__[var]
                reads.append((var, self.digest(value, f"{where} (global {var!r})")))
                reads.extend(self._module_values(value, names, f"{where} (global {var!r})"))
        # (modules imported inside the function: not in its globals, and a user module's
        # constants changed there returned the old chunks)
        for mod in sorted(_imported_names(fn.__code__)):
            module = sys.modules.get(mod)
            if module is not None:
                reads.append((mod, self.digest(module, f"{where} (import {mod!r})")))
                reads.extend(self._module_values(module, names, f"{where} (import {mod!r})"))
            else:  # (not imported yet: the factory runs after the identity is taken)
                reads.append((mod, self._unloaded_module(mod, f"{where} (import {mod!r})")))
        parts = (
            name,
            self._code(fn.__code__, where),
            self.digest(fn.__defaults__, where),
            self.digest(fn.__kwdefaults__, where),
            cells,
            reads,
        )
        return f"function:{parts}"

    def _module_values(self, module: Any, names: set[str], where: str) -> list[tuple[str, str]]:
        """The current values of the attributes ``names`` of a user module a function
        reads (``config.SCALE``): a module is described by its source file, but a script
        may set its attributes at run time (``config.SCALE = 3.0``) without changing that
        file, and the old chunks came back for the new value."""
        if not isinstance(module, types.ModuleType) or not _is_user_code(module.__name__):
            return []
        attrs = vars(module)
        return [
            (f"{module.__name__}.{name}", self.digest(attrs[name], f"{where}.{name}"))
            for name in sorted(names)
            if name in attrs and not name.startswith("__")
        ]

    def _code(self, code: types.CodeType, where: str) -> str:
        consts = [self.digest(c, where) for c in code.co_consts]
        parts = (
            code.co_argcount,
            code.co_posonlyargcount,
            code.co_kwonlyargcount,
            code.co_flags,
            code.co_code.hex(),
            code.co_names,
            code.co_varnames,
            code.co_freevars,
            code.co_cellvars,
            consts,
        )
        return f"code:{parts}"

    def _class(self, cls: type, where: str) -> str:
        where = f"{where} -> class {_qualified_name(cls)}"
        members = []
        for key, member in vars(cls).items():
            if isinstance(member, staticmethod | classmethod):
                member = member.__func__
            if isinstance(member, property):
                member = (member.fget, member.fset, member.fdel)
            elif key.startswith("__") and not isinstance(member, types.FunctionType):
                continue  # __dict__, __weakref__, __module__, dataclass bookkeeping
            members.append((key, self.digest(member, where)))
        bases = [self.digest(b, where) for b in cls.__bases__]
        return f"class:{_qualified_name(cls)}:{bases}:{members}"

    def _unloaded_module(self, name: str, where: str) -> str:
        """A module not imported yet, by its source file (found without importing it),
        or by name and version where that file is installed (as `_is_user_code` decides
        for an imported one, so that both give the same digest)."""
        try:
            spec = importlib.util.find_spec(name)
            origin = spec.origin if spec is not None else None
            path = Path(origin).resolve() if origin and origin != "built-in" else None
            installed = name.split(".")[0] == "filippov" or (
                path is not None and any(path.is_relative_to(r) for r in _installed_roots())
            )
            if installed or origin == "built-in":
                return f"module:{name}:{_package_version(name)}"
            source = path.read_bytes() if path is not None else None
        except (ImportError, ValueError, OSError):
            source = None
        if source is None:
            self.unverified.append(f"{where}: module {name} (its source cannot be found)")
            return f"module:{name}:unverified"
        return f"module:{name}:{hashlib.sha256(source).hexdigest()}"

    def _module(self, module: types.ModuleType, where: str) -> str:
        name = module.__name__
        if not _is_user_code(name):
            return f"module:{name}:{_package_version(name)}"
        path = getattr(module, "__file__", None)
        try:
            source = Path(path).read_bytes() if path else None
        except OSError:
            source = None
        if source is None:
            self.unverified.append(f"{where}: module {name} (its source cannot be read)")
            return f"module:{name}:unverified"
        return f"module:{name}:{hashlib.sha256(source).hexdigest()}"


class _IdentityPickler(pickle.Pickler):
    """A pickler that hands functions, classes and modules to :class:`_Identity`."""

    def __init__(self, file: io.BytesIO, identity: _Identity, where: str) -> None:
        super().__init__(file, protocol=4)
        self._identity = identity
        self._where = where

    def reducer_override(self, obj: Any) -> Any:
        if (
            isinstance(obj, types.CodeType | types.ModuleType)
            or (isinstance(obj, types.FunctionType) and not _by_name(obj))
            or (isinstance(obj, type) and _is_user_code(obj.__module__))
            or type(obj) in (set, frozenset)  # (not always reached: pickle's fast paths)
        ):  # (not always reached: pickle's fast paths)
            return (str, (self._identity.digest(obj, self._where),))
        return NotImplemented


def _qualified_name(value: Any) -> str:
    name = getattr(value, "__qualname__", None)
    if not isinstance(name, str):
        return f"a {type(value).__module__}.{type(value).__qualname__}"
    return f"{getattr(value, '__module__', None) or '?'}.{name}"


def _by_name(fn: types.FunctionType) -> bool:
    """Whether a function is identified by its name: code of an installed package or of
    filippov (versioned), reachable from its module under its qualified name (pickle
    cannot store a lambda or a nested function by name: those are described by value)."""
    if _is_user_code(fn.__module__) or "<" in fn.__qualname__:
        return False
    target: Any = sys.modules.get(fn.__module__)
    for part in fn.__qualname__.split("."):
        target = getattr(target, part, None)
    return target is fn


def _imported_names(code: types.CodeType) -> set[str]:
    """The modules a code object (and the code nested in it) imports itself."""
    names = {str(i.argval) for i in dis.get_instructions(code) if i.opname == "IMPORT_NAME"}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _imported_names(const)
    return names


def _global_names(code: types.CodeType) -> set[str]:
    """The names a code object (and the code nested in it) may read from its globals."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


@functools.cache
def _installed_roots() -> tuple[Path, ...]:
    import site
    import sysconfig

    paths = {sysconfig.get_paths().get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    paths.update(site.getsitepackages() if hasattr(site, "getsitepackages") else ())
    paths.add(site.getusersitepackages() if hasattr(site, "getusersitepackages") else None)
    return tuple(Path(p).resolve() for p in paths if p)


@functools.lru_cache(maxsize=1024)
def _is_user_code(module_name: str | None) -> bool:
    """Whether a module is the user's own code (described by value), not an installed
    package, the standard library or filippov (identified by name and version)."""
    if not module_name or module_name == "__main__":
        return True
    if module_name.split(".")[0] == "filippov":
        return False
    module = sys.modules.get(module_name)
    path = getattr(module, "__file__", None)
    if module is None or path is None:  # built in, or not imported (a pickled name)
        return module is None
    resolved = Path(path).resolve()
    return not any(resolved.is_relative_to(root) for root in _installed_roots())


@functools.lru_cache(maxsize=256)
def _package_version(module_name: str) -> str:
    top = module_name.split(".")[0]
    version = getattr(sys.modules.get(top), "__version__", None)
    if isinstance(version, str):
        return version
    try:
        from importlib.metadata import version as dist_version

        return dist_version(top)
    except Exception:
        return f"python {sys.version_info.major}.{sys.version_info.minor}"


@functools.lru_cache(maxsize=1)
def _environment() -> dict[str, str]:
    """Versions that define the computation: filippov (its version and the digest of its
    sources, so that a development tree changed between two runs counts as another
    filippov), Python and the numerical libraries it runs on."""
    root = Path(__file__).resolve().parent  # this module is filippov/sweeps.py
    # (read from sys.modules: an import of the package would cross the layers upward)
    version = getattr(sys.modules.get("filippov"), "__version__", "?")
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    env = {
        "filippov": f"{version} sources {h.hexdigest()}",
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
    }
    for name in ("numpy", "scipy", "sympy"):
        try:
            from importlib.metadata import version as dist_version

            env[name] = dist_version(name)
        except Exception:
            env[name] = "absent"
    return env


# ------------------------------------------------------------------------- one run
def _instance(plan: _Plan, instance: int) -> tuple[FilippovSystem | None, Objective | None]:
    """Build (or fetch from this process's cache) the system and objective of an instance.

    The derivative check runs here, once per instance, at the sweep's first initial
    state: the same point whatever the chunking, so the outcome cannot depend on it.
    """
    with _LOCK:  # Dask workers may run several chunks of one plan in threads
        cache = plan._instances
        if instance in cache:
            cache.move_to_end(instance)
            built = cache[instance]
        else:
            try:
                built = _build(plan, instance)
            except Exception as exc:
                built = exc  # kept, so that every run of the instance reports it
            cache[instance] = built
            while len(cache) > 8:  # instances are contiguous in run order: a few suffice
                cache.popitem(last=False)
    if isinstance(built, BaseException):
        raise built.with_traceback(None)  # no traceback growing with every run
    return built


def _build(plan: _Plan, instance: int) -> tuple[FilippovSystem | None, Objective | None]:
    i_param, i_norm, _, i_seed = plan.axes_of(instance)
    problem = plan.problem
    if plan.factory:
        kwargs = dict(plan.params[i_param])
        if plan.seeds[i_seed] is not None:
            kwargs["seed"] = plan.seeds[i_seed]
        problem = problem(**kwargs)
    norm = plan.norms[i_norm]
    if plan.kind != "solve" and plan.scheme is not None:
        norm = plan.scheme.norm_name
    if isinstance(problem, Objective):
        objective: Objective | None = problem
        system = steepest_descent_flow(problem, norm or "linf")
    elif isinstance(problem, FilippovSystem):
        if plan.norms != (None,):
            raise ValueError(
                "`norms` applies to objectives (it picks the steepest-descent flow); the "
                f"problem built a FilippovSystem ({problem.name!r}) instead."
            )
        system, objective = problem, problem.objective
    else:
        raise TypeError(
            "`problem` must be an Objective, a FilippovSystem, or a callable returning one. "
            f"Got {type(problem).__name__} instead."
        )
    if plan.kind != "solve" and objective is None:
        raise TypeError(
            f"a {plan.kind!r} sweep runs a scheme on an objective; the problem "
            f"{system.name!r} has none."
        )
    if plan.check_derivatives and objective is not None:
        x_check = plan.x0[0]
        check = objective.check_derivatives(x_check, n_directions=2, dense=False)
        if not check.ok:
            raise ValueError(
                f"{check} at x0 = {preview(x_check)} (checked once per problem instance, at "
                "the sweep's first initial state)."
            )
    return system, objective


def _run_one(plan: _Plan, run: int, x0: FloatArray) -> dict[str, Any]:
    """The row of run ``run``: its inputs and its summaries (never raises an Exception)."""
    instance = run // plan.n_x0
    i_param, i_norm, i_step, i_seed = plan.axes_of(instance)
    row: dict[str, Any] = {"run": run}
    row.update({f"x0_{i}": float(v) for i, v in enumerate(x0)})
    dtypes = plan.param_dtypes
    row.update({n: _param_value(plan.params[i_param][n], dtypes[n]) for n in plan.param_names})
    if plan.norms != (None,):
        row["norm"] = plan.norms[i_norm]
    if plan.steps != (None,):
        row["step"] = plan.steps[i_step]
    if plan.seeds != (None,):
        row["seed"] = plan.seeds[i_seed]
    try:
        system, objective = _instance(plan, instance)
        assert system is not None
        # Objectives were checked once per instance; general systems are checked by solve.
        check = plan.check_derivatives and objective is None
        if plan.kind == "solve":
            sol = solve(system, x0, plan.t_span, check_derivatives=check, **plan.solve_options)
            row.update(_solution_summary(sol, objective))
            kept: Any = sol
        else:
            assert plan.scheme is not None and objective is not None
            scheme = plan.scheme
            step = plan.steps[i_step]
            if step is not None:
                scheme = scheme.with_step(step)
            traj = scheme.run(
                objective,
                x0,
                t_final=plan.t_span[1] - plan.t_span[0],
                check_derivatives=False,
                **plan.scheme_options,
            )
            if plan.kind == "scheme":
                row.update(_trajectory_summary(traj, objective))
                kept = traj
            else:
                sol = solve(system, x0, plan.t_span, check_derivatives=False, **plan.solve_options)
                row.update(_solution_summary(sol, objective))
                row.update(_comparison_summary(traj, sol, system))
                kept = (traj, sol)
    except Exception as exc:
        row["status"] = STATUS_RAISED
        row["message"] = f"{type(exc).__name__}: {exc}"
        kept = None
    if plan.keep_solutions:
        row["solution"] = kept
    return row


def _solution_summary(sol: FilippovSolution, objective: Objective | None) -> dict[str, Any]:
    counts = sol.counts
    t_entry = next((e.t for e in sol.events if e.kind in ("sliding-entry", "tie-entry")), None)
    t_stat = next((e.t for e in sol.events if e.kind == "stationary"), None)
    sliding = sum(s.t1 - s.t0 for s in sol.segments if s.kind in ("sliding", "tie"))
    xf = sol.x[-1]
    out: dict[str, Any] = {
        "status": sol.status,
        "message": sol.message,
        "method": sol.method,
        "t_end": float(sol.t[-1]),
        "t_sliding_entry": math.nan if t_entry is None else float(t_entry),
        "t_stationary": math.nan if t_stat is None else float(t_stat),
        "sliding_duration": float(sliding),
        "n_events": len(sol.events),
    }
    out.update({_count_column(k): v for k, v in counts.items()})
    out.update({f"xf_{i}": float(v) for i, v in enumerate(xf)})
    out["f_final"] = math.nan if objective is None else _safe_f(objective, xf)
    return out


def _trajectory_summary(traj: DiscreteTrajectory, objective: Objective) -> dict[str, Any]:
    xf = np.asarray(traj.x[-1], dtype=float)
    out: dict[str, Any] = {
        "status": traj.status,
        "message": traj.message,
        "n_steps": int(traj.k[-1]),
        "t_end": float(traj.t[-1]),
    }
    out.update({f"xf_{i}": float(v) for i, v in enumerate(xf)})
    out["f_final"] = _safe_f(objective, xf)
    return out


def _comparison_summary(
    traj: DiscreteTrajectory, sol: FilippovSolution, system: FilippovSystem
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "scheme_status": traj.status,
        "scheme_message": traj.message,
        "n_steps": int(traj.k[-1]),
    }
    rep = compare(traj, sol, system=system)
    out.update(
        tracking_error=rep.sup_error_inf,
        final_error=rep.final_error_inf,
        band=math.nan if rep.band is None else rep.band,
        events_agree=rep.events_agree,
    )
    return out


def _safe_f(objective: Objective, x: FloatArray) -> float:
    try:
        return float(objective.f(x))
    except (ValueError, FloatingPointError):
        return math.nan  # a non-finite end state of a failed run


# ------------------------------------------------------------------------- workers
#: Plans already unpickled in this process, by digest (a from_expr objective re-derives
#: its formulas when unpickled: once per worker, not once per chunk).
_PLANS: OrderedDict[str, _Plan] = OrderedDict()
#: Guards the caches (plans, problem instances) against worker threads.
_LOCK = threading.RLock()


def _run_chunk(
    payload: bytes, digest: str, start: int, x0: FloatArray, caller: int
) -> pd.DataFrame:
    """Worker entry point: the table of runs ``start, start + 1, …`` from the states ``x0``
    (one row each; sent with the chunk, so a task carries O(chunk) data, not the grid).
    The table is built here, in parallel, and travels back column by column.

    ``caller`` is the id of the process that runs the sweep: a worker in another process
    limits its BLAS to one thread while it computes; a thread of the caller's process
    does not (the caller limited the whole process once, around the whole sweep)."""
    with _LOCK:
        plan = _PLANS.get(digest)
        if plan is None:
            plan = pickle.loads(payload)
            _PLANS[digest] = plan
            while len(_PLANS) > 4:
                _PLANS.popitem(last=False)
    # One BLAS thread per worker: the workers already fill the cores, and several BLAS
    # threads in each of them fight over the same cores (measured with 2 workers on 2
    # cores: the event-path sweep ran 1.12x the serial throughput with the default
    # threads).
    with _one_blas_thread(os.getpid() != caller):
        rows = [_run_one(plan, start + i, x) for i, x in enumerate(x0)]
    return _frame(rows, plan.columns())


#: The BLAS limit of this process shared by the threads that need it: (holders, limiter).
_BLAS_HOLDERS: list[Any] = [0, None]


@contextmanager
def _one_blas_thread(active: bool = True) -> Iterator[None]:
    """Limit this process's BLAS to one thread while at least one holder is inside.

    threadpoolctl's limits are process-wide: threads that each entered
    ``threadpool_limits(1)`` and left in another order restored each other's saved
    values, leaving the process at one thread for good. Here the first holder saves and
    limits, the last one restores, so the setting before the first is the one after the
    last, however the holders overlap.
    """
    if not active:
        yield
        return
    from threadpoolctl import threadpool_limits

    with _LOCK:
        if _BLAS_HOLDERS[0] == 0:
            _BLAS_HOLDERS[1] = threadpool_limits(limits=1)
        _BLAS_HOLDERS[0] += 1
    try:
        yield
    finally:
        with _LOCK:
            _BLAS_HOLDERS[0] -= 1
            if _BLAS_HOLDERS[0] == 0:
                _BLAS_HOLDERS[1].restore_original_limits()
                _BLAS_HOLDERS[1] = None


def _dumps(plan: _Plan) -> bytes:
    """Pickle the plan once, before anything is submitted (cloudpickle when installed, so
    that lambdas and functions of ``__main__`` travel too). The initial states travel with
    their chunks; the plan keeps the first one, where derivatives are checked."""
    plan = dataclasses.replace(plan, x0=plan.x0[:1])
    try:
        import cloudpickle

        dumps: Callable[[Any], bytes] = cloudpickle.dumps
        how = "cloudpickle"
    except ImportError:  # pragma: no cover - cloudpickle comes with dask
        dumps = pickle.dumps
        how = "pickle (cloudpickle is not installed)"
    try:
        return dumps(plan)
    except Exception as exc:
        raise TypeError(
            f"the sweep's problem cannot be sent to worker processes: {how} failed with "
            f"{type(exc).__name__}: {exc}. Build the problem from library constructors or "
            "module-level functions, or run in this process with executor='serial'."
        ) from exc


def _is_dask_client(obj: Any) -> bool:
    return type(obj).__module__.split(".")[0] == "distributed" and hasattr(obj, "get_executor")


def _resolve_executor(executor: Any, workers: int | None) -> tuple[Executor | None, bool, int]:
    """(executor or None for serial, whether we own it, number of workers)."""
    if executor is None or (isinstance(executor, str) and executor == "serial"):
        return None, False, 1
    if isinstance(executor, str) and executor == "process":
        n = workers if workers is not None else (os.cpu_count() or 1)
        # The platform's default start method (a fork on Linux: workers start at once and
        # scripts need no `if __name__ == "__main__"` guard), except once JAX is loaded:
        # forking a process that runs JAX's threads can deadlock, so its workers come
        # from a fork server (or are spawned where there is none).
        import multiprocessing

        context = None
        if "jax" in sys.modules:
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context(
                "forkserver" if "forkserver" in methods else "spawn"
            )
        return ProcessPoolExecutor(max_workers=n, mp_context=context), True, n
    if isinstance(executor, Executor):
        n = getattr(executor, "_max_workers", None) or workers or os.cpu_count() or 1
        return executor, False, int(n)
    if _is_dask_client(executor):
        n = sum(executor.nthreads().values()) or 1
        return executor.get_executor(pure=False), False, int(n)
    raise TypeError(
        "`executor` must be 'process', 'serial', None, a concurrent.futures.Executor or a "
        f"dask.distributed.Client. Got {executor!r} instead."
    )


# ------------------------------------------------------------------------- tables
def _frame(rows: list[dict[str, Any]], columns: Mapping[str, str]) -> pd.DataFrame:
    """Rows as a DataFrame with the plan's columns and dtypes, whatever the rows hold."""
    import pandas as pd

    data: dict[str, Any] = {}
    for name, dtype in columns.items():
        values = [row.get(name) for row in rows]
        if dtype == "object":
            data[name] = pd.Series(values, dtype=object)
        elif dtype == "str":
            data[name] = pd.Series(values, dtype="str")
        elif dtype == "float64":
            data[name] = pd.Series([math.nan if v is None else v for v in values], dtype="float64")
        else:
            data[name] = pd.Series(values, dtype=dtype)
    return pd.DataFrame(data)


def _conform(df: pd.DataFrame, columns: Mapping[str, str]) -> pd.DataFrame:
    """Cast a table read from a file to the plan's dtypes (CSV loses them: a chunk whose
    messages are all missing reads back as floats)."""
    out = df.copy()
    for name, dtype in columns.items():
        if name in out.columns and dtype != "object":
            out[name] = out[name].astype(dtype)
    return out


#: dtypes of the columns every sweep table may hold (parameters keep what was read).
_KNOWN_DTYPES: dict[str, str] = {
    "run": "int64",
    "status": "int64",
    "message": "str",
    "method": "str",
    "norm": "str",
    "step": "float64",
    "seed": "int64",
    "n_events": "Int64",
    "n_steps": "Int64",
    "scheme_status": "Int64",
    "scheme_message": "str",
    "events_agree": "boolean",
    **{_count_column(k): "Int64" for k in EVENT_KINDS},
}


def _write_atomic(df: pd.DataFrame, path: Path, fmt: str) -> None:
    """Write ``df`` to ``path`` so that the file, when present, is complete and durable:
    serialised in memory (a chunk is at most a few hundred rows), then written by
    :func:`filippov._npz_io.atomic_write_bytes` (a temporary file in the same folder,
    fsynced, renamed over ``path``, the folder fsynced): without the fsync a crash soon
    after the rename can leave an empty chunk file behind the final name."""
    if fmt == "parquet":
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        data = buf.getvalue()
    else:
        data = df.to_csv(index=False).encode("utf-8")
    atomic_write_bytes(path, data)


def _read_chunk(
    path: Path, fmt: str, columns: Mapping[str, str], runs: tuple[int, int]
) -> pd.DataFrame:
    """The chunk file ``path`` of runs ``runs[0]`` to ``runs[1] - 1``, checked.

    Raises
    ------
    ValueError
        Naming the file, when it cannot be read (empty, truncated, damaged) or does not
        hold exactly those runs with the sweep's columns.
    """
    try:
        df = _conform(_read(path, fmt, columns), columns)
    except Exception as exc:  # pyarrow's and pandas' errors have no common base
        raise ValueError(
            f"the chunk file {path} cannot be read ({type(exc).__name__}: {exc})"
        ) from exc
    lo, hi = runs
    missing = [c for c in columns if c not in df.columns]
    if missing or list(df["run"]) != list(range(lo, hi)):
        what = f"lacks the columns {missing}" if missing else f"does not hold runs {lo}-{hi - 1}"
        raise ValueError(f"the chunk file {path} {what}")
    return df


def _read(path: Path, fmt: str, columns: Mapping[str, str]) -> pd.DataFrame:
    import pandas as pd

    if fmt == "parquet":
        return pd.read_parquet(path)
    return _read_csv(path, columns)


def _read_csv(path: Path, columns: Mapping[str, str]) -> pd.DataFrame:
    """``read_csv`` that gives back what ``to_csv`` wrote: floats exactly (pandas < 3 needs
    asking; 3 deprecates it), and the text of the ``columns`` of dtype ``"str"`` as text.

    Only an empty field is missing: pandas' default missing markers also take the strings
    ``"None"``, ``"NA"``, ``"nan"``, ``"null"`` … for missing values, and its type
    inference reads a string parameter ``"007"`` as the integer 7, so a resumed CSV sweep
    gave another table than the same sweep run at once. (An empty string and a missing
    value are both written as an empty field: CSV cannot tell them apart, parquet can.)
    """
    import pandas as pd

    text = {name: "str" for name, dtype in columns.items() if dtype == "str"}
    kwargs: dict[str, Any] = {"keep_default_na": False, "na_values": [""], "dtype": text}
    if int(pd.__version__.split(".")[0]) < 3:
        kwargs["float_precision"] = "round_trip"
    return pd.read_csv(path, **kwargs)


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a sweep table: a ``.parquet`` or ``.csv`` file, or a sweep's ``out`` folder.

    Parameters
    ----------
    path : str or path-like
        A file written by ``DataFrame.to_parquet`` / ``to_csv`` from a sweep table, or the
        folder given as ``out=`` to :func:`sweep` (its chunks are read and concatenated,
        finished chunks only).

    Returns
    -------
    pandas.DataFrame
        Rows sorted by ``run``; counts and statuses as integers again when read from CSV.
        Only an empty CSV field is read as missing (strings such as ``"None"`` or
        ``"NA"`` stay strings). A CSV file written by ``to_csv`` does not record the
        dtypes of the parameter columns (pandas infers them; parquet files and ``out``
        folders keep them) nor tell an empty string from a missing value.

    Examples
    --------
    >>> import tempfile, os
    >>> import filippov as fp
    >>> from filippov.objectives import slope
    >>> table = fp.sweep(slope(0.5), [[0.6, 0.1], [1.0, 1.0]], t_span=(0, 20),
    ...                  executor="serial")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     table.to_csv(os.path.join(tmp, "t.csv"), index=False)
    ...     back = read_table(os.path.join(tmp, "t.csv"))
    >>> back["t_stationary"].tolist() == table["t_stationary"].tolist()
    True
    """
    import pandas as pd

    p = Path(os.fspath(path))
    if p.is_dir():
        manifest = _load_manifest(p)
        if manifest is None:
            raise ValueError(f"`path` must be a sweep folder with a {_MANIFEST}. Got {p}.")
        fmt = manifest["format"]
        columns = manifest["columns"]
        parts = []
        for f in sorted(p.glob(f"chunk-*.{fmt}")):
            try:
                parts.append(_conform(_read(f, fmt, columns), columns))
            except Exception as exc:  # pyarrow's and pandas' errors have no common base
                raise ValueError(
                    f"the chunk file {f} cannot be read ({type(exc).__name__}: {exc}); "
                    "run the sweep again with the same `out` to compute it again (or "
                    "delete the file to read the other chunks)."
                ) from exc
        if not parts:
            raise ValueError(f"the sweep folder {p} holds no finished chunk yet.")
        df = pd.concat(parts, ignore_index=True)
    elif p.suffix == ".parquet":
        df = pd.read_parquet(p)
    elif p.suffix == ".csv":
        df = _conform(_read_csv(p, _KNOWN_DTYPES), _KNOWN_DTYPES)
    else:
        raise ValueError(f"`path` must end in .parquet or .csv, or be a folder. Got {p}.")
    return df.sort_values("run", kind="stable").reset_index(drop=True)


def _load_manifest(folder: Path) -> dict[str, Any] | None:
    path = folder / _MANIFEST
    if not path.exists():
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(
            f"the sweep manifest {path} is damaged ({exc}); the chunks next to it cannot "
            "be identified: give a new folder, or delete this one to start again."
        ) from None
    if not isinstance(data, dict):
        raise ValueError(f"the sweep manifest {path} is damaged (not a JSON object).")
    return data


def _write_manifest(folder: Path, data: Mapping[str, Any]) -> None:
    atomic_write_bytes(folder / _MANIFEST, json.dumps(data, indent=2).encode("utf-8"))


# ------------------------------------------------------------------------- validation
def _axis(values: Any, name: str) -> tuple[Any, ...]:
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise TypeError(f"`{name}` must be a sequence of values. Got {values!r} instead.")
    out = tuple(values)
    if not out:
        raise ValueError(f"`{name}` must hold at least one value. Got an empty sequence.")
    return out


def _options(value: Any, name: str, allowed: frozenset[str]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"`{name}` must be a mapping of option names. Got {value!r} instead.")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise TypeError(
            f"`{name}` must hold only {', '.join(sorted(allowed))}. Got {', '.join(unknown)}."
        )
    return dict(value)


def _plan(
    problem: Any,
    x0: ArrayLike,
    *,
    t_span: tuple[float, float],
    params: Mapping[str, Sequence[Any]] | None,
    norms: Sequence[str] | None,
    steps: Sequence[float] | None,
    seeds: Sequence[int] | None,
    run: str,
    scheme: Scheme | None,
    solve_options: Mapping[str, Any] | None,
    scheme_options: Mapping[str, Any] | None,
    check_derivatives: bool,
    keep_solutions: bool,
) -> _Plan:
    if run not in _KINDS:
        raise ValueError(f"`run` must be one of {', '.join(map(repr, _KINDS))}. Got {run!r}.")
    factory = not isinstance(problem, Objective | FilippovSystem)
    if factory and not callable(problem):
        raise TypeError(
            "`problem` must be an Objective, a FilippovSystem, or a callable returning one. "
            f"Got {type(problem).__name__} instead."
        )
    X = require_finite(as_float_array(x0, "x0"), "x0")
    if X.ndim == 1:
        X = X[None, :]
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(
            f"`x0` must be one initial state (n,) or several, one per row (k, n). "
            f"Got shape {X.shape} instead."
        )
    if isinstance(t_span, str) or not (isinstance(t_span, Sequence) and len(t_span) == 2):
        raise TypeError(f"`t_span` must be a pair (t0, t_end). Got {t_span!r} instead.")
    try:
        span = (float(t_span[0]), float(t_span[1]))
    except (TypeError, ValueError):
        raise TypeError(f"`t_span` must hold two numbers. Got {t_span!r} instead.") from None
    if not (np.isfinite(span).all() and span[0] < span[1]):
        raise ValueError(f"`t_span` must be finite with t0 < t_end. Got {t_span!r} instead.")
    param_grid: list[dict[str, Any]] = [{}]
    names: tuple[str, ...] = ()
    if params:
        if not factory:
            raise ValueError(
                "`params` needs a problem factory (a callable taking the parameters as "
                "keywords); `problem` is a ready object."
            )
        if not isinstance(params, Mapping):
            raise TypeError(f"`params` must be a mapping name -> values. Got {params!r}.")
        names = tuple(params)
        check_param_names(names, run)
        values = [_axis(params[n], f"params[{n!r}]") for n in names]
        param_grid = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]
    if run != "solve":
        if not isinstance(scheme, Scheme):
            raise TypeError(f"`scheme` must be a Scheme for run={run!r}. Got {scheme!r}.")
        if norms is not None:
            raise ValueError(
                f"`norms` must be None for run={run!r}: the flow is the one the scheme "
                f"discretizes ({scheme.norm_name!r})."
            )
        if span[0] != 0.0:
            raise ValueError(f"`t_span` must start at 0 for run={run!r}. Got {t_span!r}.")
        if run == "compare" and scheme.flow != "steepest-descent":
            # The compared flow is a steepest-descent flow (of the scheme's norm, or the
            # problem's own with an objective): GD's gradient flow is none of them, and
            # every run would raise it (GD against the l2 flow: errors of the speed).
            why = flow_mismatch(
                type(scheme).__name__,
                scheme.norm_name,
                scheme.flow,
                RELAY_OF_CONSTRAINT.get(scheme.norm_name, scheme.norm_name),
                "the flow run='compare' compares it with",
            )
            raise ValueError(f"`scheme` is {why}")
        if run == "scheme" and solve_options:
            # (refused as `norms` is: taken silently, a run="scheme" sweep with
            # solve_options={"method": "events"} ran as without them; stranger fuzz fz14)
            raise ValueError(
                "`solve_options` apply to run='solve' or run='compare' only (run='scheme' "
                "solves no flow)."
            )
    elif scheme is not None or steps is not None:
        raise ValueError("`scheme` and `steps` apply to run='scheme' or run='compare' only.")
    elif scheme_options:
        raise ValueError(
            "`scheme_options` apply to run='scheme' or run='compare' only (run='solve' runs "
            "no scheme)."
        )
    norm_axis: tuple[str | None, ...] = (None,)
    if norms is not None and isinstance(problem, FilippovSystem):
        # (a factory's systems are known only when built: each run's row says it then)
        raise ValueError(
            "`norms` applies to objectives (it picks the steepest-descent flow); `problem` "
            f"is a FilippovSystem ({problem.name!r}), whose flow is fixed: pass its "
            "objective instead, or leave `norms` out."
        )
    if norms is not None:
        norm_axis = _axis(norms, "norms")
        bad = [n for n in norm_axis if n not in ("linf", "l1", "l2")]
        if bad:
            raise ValueError(f"`norms` must hold 'linf', 'l1' or 'l2'. Got {bad} instead.")
    step_axis: tuple[float | None, ...] = (None,)
    if steps is not None:
        step_values = [float(s) for s in _axis(steps, "steps")]
        if not all(np.isfinite(s) and s > 0 for s in step_values):
            raise ValueError(f"`steps` must be positive numbers. Got {step_values}.")
        step_axis = tuple(step_values)
    seed_axis: tuple[int | None, ...] = (None,)
    if seeds is not None:
        if not factory:
            raise ValueError("`seeds` needs a problem factory taking a `seed` keyword.")
        seed_axis = tuple(require_int(s, "seeds", 0) for s in _axis(seeds, "seeds"))
        _require_int64([s for s in seed_axis if s is not None], "seeds")
    param_dtypes = {n: _param_dtype([p[n] for p in param_grid]) for n in names}
    for n, dtype in param_dtypes.items():
        if dtype == "int64":
            _require_int64([p[n] for p in param_grid], f"params[{n!r}]")
    return _Plan(
        problem=problem,
        factory=factory,
        kind=run,
        x0=X,
        n_x0=len(X),
        params=param_grid,
        param_names=names,
        norms=norm_axis,
        steps=step_axis,
        seeds=seed_axis,
        t_span=span,
        solve_options=_options(
            solve_options, "solve_options", _SOLVE_OPTIONS - {"check_derivatives"}
        ),
        scheme=scheme,
        scheme_options=_options(scheme_options, "scheme_options", _SCHEME_OPTIONS),
        check_derivatives=require_flag(check_derivatives, "check_derivatives"),
        keep_solutions=require_flag(keep_solutions, "keep_solutions"),
        param_dtypes=param_dtypes,
    )


# ------------------------------------------------------------------------- the sweep
def sweep(
    problem: Objective | FilippovSystem | Callable[..., Objective | FilippovSystem],
    x0: ArrayLike,
    *,
    t_span: tuple[float, float],
    params: Mapping[str, Sequence[Any]] | None = None,
    norms: Sequence[str] | None = None,
    steps: Sequence[float] | None = None,
    seeds: Sequence[int] | None = None,
    run: str = "solve",
    scheme: Scheme | None = None,
    solve_options: Mapping[str, Any] | None = None,
    scheme_options: Mapping[str, Any] | None = None,
    check_derivatives: bool = True,
    keep_solutions: bool = False,
    executor: Any = "process",
    workers: int | None = None,
    chunk_size: int | None = None,
    out: str | os.PathLike[str] | None = None,
    table_format: str = "parquet",
    progress: bool | None = None,
    force_resume: bool = False,
) -> pd.DataFrame:
    r"""Run :func:`~filippov.engine.solve`, a scheme, or both and :func:`~filippov.comparison.compare`,
    over the product of axes; one table row per run.

    The runs are the product, in this order (the last varying fastest), of the parameter
    combinations (``params``, itself a product), ``norms``, ``steps``, ``seeds`` and the
    initial states ``x0``; column ``run`` numbers them ``0, 1, …`` in that order.

    Parameters
    ----------
    problem : Objective, FilippovSystem or callable
        What to run. An :class:`~filippov.objectives.Objective` runs its steepest-descent
        flow (under each of ``norms``, default ``"linf"``); a
        :class:`~filippov.systems.FilippovSystem` runs as is; a callable is a *factory*
        called once per problem instance with the parameter values as keywords (and
        ``seed=`` when ``seeds`` is given), returning either. Library constructors (e.g.
        :func:`filippov.objectives.slope` with ``params={"a": [...]}``) make good factories.
    x0 : array_like, shape (n,) or (k, n)
        Initial states, one per row (e.g. from :func:`grid`).
    t_span : (float, float)
        Time span of every run (must start at 0 for ``run="scheme"`` / ``"compare"``,
        where the scheme runs to flow time ``t_span[1]``).
    params : mapping of str to sequence, optional
        Values of the factory's keyword arguments; every combination is an instance.
    norms : sequence of {"linf", "l1", "l2"}, optional
        Steepest-descent geometries (objectives with ``run="solve"`` only).
    steps : sequence of float, optional
        Step sizes given to ``scheme.with_step`` (``run="scheme"`` / ``"compare"``).
    seeds : sequence of int, optional
        Passed to the factory as ``seed=``: the only randomness of a run is the one its
        own seed gives, so results never depend on executor or chunking.
    run : {"solve", "scheme", "compare"}
        ``"solve"``: the Filippov solution. ``"scheme"``: ``scheme.run(objective, x0,
        t_final=t_span[1])``. ``"compare"``: both, and the tracking error of the iterates.
    scheme : Scheme, optional
        The discretization for ``run="scheme"`` / ``"compare"``.
    solve_options, scheme_options : mapping, optional
        Keyword arguments of :func:`~filippov.engine.solve` (``method``, ``rtol``,
        ``max_events``, …) and of :meth:`Scheme.run` (``max_steps``, ``save_every``,
        ``diagnostics``).
    check_derivatives : bool, default True
        Check an objective's gradient and Hessian against finite differences once per
        problem instance, at the first initial state (instead of once per run); an
        instance that fails has every run in the table with status :data:`STATUS_RAISED`
        and a message naming the derivative. General systems are checked by ``solve``.
    keep_solutions : bool, default False
        Add a column ``solution`` holding each run's
        :class:`~filippov.solution.FilippovSolution` (``"solve"``),
        :class:`~filippov.schemes.DiscreteTrajectory` (``"scheme"``) or both as a pair
        (``"compare"``). Not with ``out`` (tables on disk hold summaries only).
    executor : "process", "serial", None, concurrent.futures.Executor or dask.distributed.Client
        Where the chunks run. ``"process"`` (default): a ``ProcessPoolExecutor`` with
        ``workers`` processes (default: one per CPU), made and shut down here.
        ``"serial"`` or ``None``: in this process. An ``Executor`` you made (it is left
        running). A ``dask.distributed.Client`` (local or remote cluster): its
        ``get_executor()``. The problem is pickled once before anything is submitted
        (with cloudpickle when installed); a problem that cannot be pickled is a
        ``TypeError`` naming the reason.
    workers : int, optional
        Processes of the default pool.
    chunk_size : int, optional
        Runs per task. Default: about eight chunks per worker, at most 500 runs each. A
        resumed sweep keeps the chunk size it was started with.
    out : path, optional
        A folder (made when missing) where each finished chunk is written as its own
        ``chunk-NNNNNN.parquet`` (or ``.csv``) next to ``manifest.json``. Started again
        with the same folder and the same inputs, the sweep runs only the missing chunks;
        a folder holding another sweep is a ``ValueError``. The same inputs include the
        code of the problem: a factory (or an objective's functions) of your own code is
        recognised by its bytecode, constants, defaults, closure and the module-level
        values it reads, not by its name, so an edited factory is another sweep;
        library code is recognised by the versions of filippov (and of its sources),
        Python, NumPy, SciPy and SymPy.
    table_format : {"parquet", "csv"}
        File format of the chunks in ``out``.
    progress : bool, optional
        Show a tqdm progress bar; default: only when stderr is a terminal.
    force_resume : bool, default False
        Reuse the chunks in ``out`` although part of the problem cannot be verified to
        be unchanged (an object that neither pickles nor is a plain function, such as a
        closure over a lock: a resume is refused with a message naming it unless this is
        given). Never overrides a difference that was detected.

    Returns
    -------
    pandas.DataFrame
        One row per run, sorted by ``run``. Inputs: ``run``, ``x0_0 … x0_{n-1}``, one
        column per parameter, ``norm``, ``step``, ``seed`` (the axes given). Outputs of a
        solution: ``status``, ``message``, ``method``, ``t_end`` (last time reached),
        ``t_sliding_entry`` (first sliding or tie entry, NaN if none), ``t_stationary``
        (arrival at a Filippov equilibrium, NaN if none), ``sliding_duration`` (time on
        sliding and tie segments), ``n_events`` and ``n_<kind>`` per event kind,
        ``xf_0 …`` (final state), ``f_final``. A scheme run: ``status``, ``message``,
        ``n_steps``, ``t_end``, ``xf_*``, ``f_final``. A comparison adds to the
        solution's columns ``scheme_status``, ``scheme_message``, ``n_steps``,
        ``tracking_error`` (sup-norm of ``x_k − x(t_k)`` over the run), ``final_error``,
        ``band`` (chattering band, NaN when the flow never slides) and ``events_agree``.
        ``attrs["sweep"]`` records the chunk size, the chunks run here and those read
        back from ``out``.

    Raises
    ------
    TypeError, ValueError
        Bad inputs, a problem that cannot be pickled for the workers, an ``out`` folder
        of another sweep (or of one that cannot be verified, without ``force_resume``);
        never for a run that fails (its row says why).

    Examples
    --------
    Arrival times of the sign flow of the slope example from three initial states and two
    slopes, in this process:

    >>> import filippov as fp
    >>> from filippov.objectives import slope
    >>> table = fp.sweep(slope, [[0.6, 0.1], [-7.0, 0.5], [1.5, -4.5]], t_span=(0, 20),
    ...                  params={"a": [0.5, 2.0]}, executor="serial")
    >>> table[["a", "x0_0", "status", "t_stationary", "n_sliding_entry"]]
         a  x0_0  status  t_stationary  n_sliding_entry
    0  0.5   0.6       1      3.100000                2
    1  0.5  -7.0       1      5.500000                2
    2  0.5   1.5       1      3.000000                2
    3  2.0   0.6       1      ...
    ...
    """
    import pandas as pd

    plan = _plan(
        problem,
        x0,
        t_span=t_span,
        params=params,
        norms=norms,
        steps=steps,
        seeds=seeds,
        run=run,
        scheme=scheme,
        solve_options=solve_options,
        scheme_options=scheme_options,
        check_derivatives=check_derivatives,
        keep_solutions=keep_solutions,
    )
    if workers is not None:
        workers = require_int(workers, "workers", 1)
    if chunk_size is not None:
        chunk_size = require_int(chunk_size, "chunk_size", 1)
    if out is not None and not isinstance(out, str | os.PathLike):
        raise TypeError(f"`out` must be a folder path or None. Got {out!r} instead.")
    if table_format not in _FORMATS:
        raise ValueError(
            f"`table_format` must be 'parquet' or 'csv'. Got {table_format!r} instead."
        )
    if keep_solutions and out is not None:
        raise ValueError("`keep_solutions` cannot be combined with `out` (files hold summaries).")
    show = sys.stderr.isatty() if progress is None else require_flag(progress, "progress")
    columns = plan.columns()
    n_runs = plan.n_runs

    # Resume: the manifest fixes the chunk size and identifies the sweep.
    folder: Path | None = None
    done: dict[int, pd.DataFrame] = {}
    manifest: dict[str, Any] | None = None
    if out is not None:
        folder = Path(os.fspath(out))
        folder.mkdir(parents=True, exist_ok=True)
        manifest = _load_manifest(folder)
    fingerprint, unverified = plan.fingerprint() if folder is not None else ("", [])
    if manifest is not None:
        if manifest.get("format_version") != _MANIFEST_VERSION:
            raise ValueError(
                f"`out` ({folder}) holds the chunks of a sweep written by another filippov "
                "version, whose inputs cannot be compared with this one's; give a new "
                "folder, or delete this one to start again."
            )
        if manifest.get("fingerprint") != fingerprint or manifest.get("n_runs") != n_runs:
            raise ValueError(
                f"`out` ({folder}) holds the chunks of another sweep (different inputs, "
                "problem code or filippov/numerical library versions); give a new folder, "
                "or delete this one to start again."
            )
        if unverified:
            what = "; ".join(unverified)
            if not force_resume:
                raise ValueError(
                    f"`out` ({folder}) holds chunks that cannot be verified to come from "
                    f"this sweep: the code of {what} cannot be read, so a change to it "
                    "would go unnoticed. Pass force_resume=True to reuse the chunks if you "
                    "are sure it did not change; otherwise give a new folder."
                )
            warnings.warn(
                f"reusing the chunks in {folder} with force_resume=True: whether {what} "
                "changed since they were computed is not verified.",
                UserWarning,
                stacklevel=2,
            )
        if chunk_size is not None and chunk_size != manifest["chunk_size"]:
            raise ValueError(
                f"`chunk_size` must be {manifest['chunk_size']} to resume the sweep in {folder}."
                f" Got {chunk_size} instead."
            )
        chunk_size = int(manifest["chunk_size"])
        table_format = str(manifest["format"])
    if folder is not None and table_format == "csv":
        # CSV writes an empty string and a missing value alike (an empty field): a
        # parameter "" would come back from the chunk files as missing, and a resumed
        # sweep would differ from the same sweep run at once.
        empty = [
            n
            for n in plan.param_names
            if any(isinstance(p[n], str) and not p[n] for p in plan.params)
        ]
        if empty:
            raise ValueError(
                f"`params` {empty} hold the empty string, which CSV chunk files cannot tell "
                "from a missing value; use table_format='parquet' or another value."
            )

    serial = executor is None or (isinstance(executor, str) and executor == "serial")
    # Checked before any worker starts: a problem that cannot travel is a TypeError now.
    payload = b"" if serial else _dumps(plan)
    ex, owned, n_workers = _resolve_executor(executor, workers)
    try:
        if chunk_size is None:
            chunk_size = max(
                1, min(_MAX_CHUNK, math.ceil(n_runs / (_CHUNKS_PER_WORKER * n_workers)))
            )
        chunk_size = require_int(chunk_size, "chunk_size", 1)
        n_chunks = math.ceil(n_runs / chunk_size)
        if folder is not None:
            if manifest is None:
                _write_manifest(
                    folder,
                    {
                        "format_version": _MANIFEST_VERSION,
                        "fingerprint": fingerprint,
                        "unverified": unverified,
                        "n_runs": n_runs,
                        "chunk_size": chunk_size,
                        "n_chunks": n_chunks,
                        "format": table_format,
                        "columns": columns,
                    },
                )
            for stale in folder.glob(".chunk-*.tmp"):
                stale.unlink()  # a write cut short by an interruption
            for c in range(n_chunks):
                path = folder / f"chunk-{c:06d}.{table_format}"
                if path.exists():
                    runs = (c * chunk_size, min(n_runs, (c + 1) * chunk_size))
                    try:
                        done[c] = _read_chunk(path, table_format, columns, runs)
                    except ValueError as exc:
                        # (left in place: the recomputed chunk replaces it atomically)
                        warnings.warn(f"{exc}; computing it again.", UserWarning, stacklevel=2)
        todo = [c for c in range(n_chunks) if c not in done]
        bounds = {c: (c * chunk_size, min(n_runs, (c + 1) * chunk_size)) for c in todo}
        results: dict[int, pd.DataFrame] = {}

        def finish(c: int, df: pd.DataFrame) -> None:
            if folder is not None:
                _write_atomic(df, folder / f"chunk-{c:06d}.{table_format}", table_format)
            results[c] = df

        bar = _progress_bar(n_runs, show)
        bar.update(sum(len(df) for df in done.values()))
        try:
            if ex is None:
                for c in todo:
                    lo, hi = bounds[c]
                    rows = [_run_one(plan, r, plan.x0[r % plan.n_x0]) for r in range(lo, hi)]
                    finish(c, _frame(rows, columns))
                    bar.update(hi - lo)
            else:
                digest = hashlib.sha256(payload).hexdigest()
                # Workers that may be threads of this process (a thread pool, a Dask
                # client of an in-process cluster) share its BLAS: limited once here for
                # the whole sweep, and restored exactly afterwards (see _run_chunk).
                in_process = not isinstance(ex, ProcessPoolExecutor)
                caller = os.getpid()
                with _one_blas_thread(in_process):
                    futures: dict[Future[pd.DataFrame], int] = {
                        ex.submit(_run_chunk, payload, digest, lo, _states(plan, lo, hi), caller): c
                        for c in todo
                        for lo, hi in [bounds[c]]
                    }
                    try:
                        from concurrent.futures import as_completed

                        for fut in as_completed(futures):
                            c = futures[fut]
                            finish(c, fut.result())
                            bar.update(bounds[c][1] - bounds[c][0])
                    finally:
                        for fut in futures:
                            fut.cancel()
        finally:
            bar.close()
    finally:
        if owned and ex is not None:
            ex.shutdown(wait=True, cancel_futures=True)

    parts = [results[c] if c in results else done[c] for c in range(n_chunks)]
    table = pd.concat(parts, ignore_index=True) if parts else _frame([], columns)
    table.attrs["sweep"] = {
        "n_runs": n_runs,
        "chunk_size": chunk_size,
        "chunks_run": sorted(results),
        "chunks_read": sorted(done),
        "kind": plan.kind,
        "n": int(plan.x0.shape[1]),
    }
    return table


def _states(plan: _Plan, start: int, stop: int) -> FloatArray:
    """The initial states of runs ``start`` to ``stop - 1`` (x0 varies fastest)."""
    return plan.x0[np.arange(start, stop) % plan.n_x0]


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, show: bool) -> Any:
    if not show:
        return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm comes with the [sweep] extra
        return _NoBar()
    return tqdm(total=total, unit="run", desc="sweep", smoothing=0.1)
