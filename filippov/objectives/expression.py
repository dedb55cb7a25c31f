"""Objectives from formula strings: the safe expression parser and :meth:`Objective.from_expr`.

A formula is parsed with :mod:`ast` and walked against a whitelist (numbers, the declared
names, ``pi``, ``+ - * / **``, unary signs and one-argument calls to
:data:`ALLOWED_FUNCTIONS`); the sympy expression is built node by node, so the string is
never passed to ``eval``, ``exec`` or ``sympify``. Limits keep parsing and differentiation
bounded: the length of the string, the depth of its syntax tree, the size of exact numeric
powers, the exponents of the variables and the nesting of operations on them.
:func:`from_expr` (bound to the class as :meth:`Objective.from_expr`) differentiates the
expression symbolically and compiles value, gradient and Hessian to numpy.
"""

from __future__ import annotations

import ast
import functools
import keyword
import unicodedata
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from filippov._lazy import LazyMapping, LazyModule
from filippov._validation import FloatArray

from ._checks import check_name, finite_scalar, pd_solve

if TYPE_CHECKING:
    import sympy

    from .base import Objective
else:
    # Imported on first use: sympy only when an expression is parsed (it costs ~0.3 s).
    sympy = LazyModule("sympy")

__all__ = ["ALLOWED_FUNCTIONS", "from_expr", "parse_expression"]


def _allowed_functions() -> dict[str, Any]:
    from sympy.codegen.cfunctions import expm1 as _sympy_expm1
    from sympy.codegen.cfunctions import log1p as _sympy_log1p

    return {
        "exp": sympy.exp,
        "log": sympy.log,
        "log1p": _sympy_log1p,
        "expm1": _sympy_expm1,
        "sqrt": sympy.sqrt,
        "sin": sympy.sin,
        "cos": sympy.cos,
        "tan": sympy.tan,
        "sinh": sympy.sinh,
        "cosh": sympy.cosh,
        "tanh": sympy.tanh,
        "asin": sympy.asin,
        "acos": sympy.acos,
        "atan": sympy.atan,
        "asinh": sympy.asinh,
        "acosh": sympy.acosh,
        "atanh": sympy.atanh,
        "arcsin": sympy.asin,
        "arccos": sympy.acos,
        "arctan": sympy.atan,
        "arcsinh": sympy.asinh,
        "arccosh": sympy.acosh,
        "arctanh": sympy.atanh,
        "erf": sympy.erf,
    }


ALLOWED_FUNCTIONS: Mapping[str, Any] = LazyMapping(_allowed_functions)
"""Functions :meth:`Objective.from_expr` accepts (smooth on their domains), by name."""

_NONSMOOTH_FUNCTIONS = frozenset(
    {
        "abs", "Abs", "fabs", "absolute", "sign", "sgn", "signum", "max", "min", "Max",
        "Min", "maximum", "minimum", "amax", "amin", "floor", "ceil", "ceiling", "round",
        "trunc", "Heaviside", "heaviside", "relu", "clip", "Piecewise", "hinge",
    }
)  # fmt: skip

_CONSTANTS: Mapping[str, Any] = LazyMapping(lambda: {"pi": sympy.pi})

_MAX_EXPR_CHARS = 20_000
_MAX_POWER_BITS = 4096  # exact integer/rational powers larger than this are refused
#: Deepest syntax tree accepted (nested calls, operators, unary signs); Python's parser
#: itself stops at 200 nested parentheses.
_MAX_SYNTAX_DEPTH = 100
#: Largest |exponent| of a power of a variable: x**1000 already overflows for |x| > 2.1.
_MAX_EXPONENT = 1000
#: Deepest nesting of operations that involve a variable (each call, power, product and
#: sum counts), in the expression sympy builds. The Hessian of a depth-d composition has
#: O(d**3) terms: sympy took 0.7 s at sin nested 32 deep, 25 s at 80 and > 65 s at 120.
_MAX_FORMULA_DEPTH = 32

_BINOPS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
}
_REFUSED_BINOPS: dict[type[ast.operator], str] = {
    ast.FloorDiv: "floor division `//` is not allowed",
    ast.Mod: "the modulo operator `%` is not allowed",
    ast.MatMult: "matrix multiplication `@` is not allowed",
    ast.BitXor: "`^` is bitwise xor, not a power (use `**`)",
    ast.BitAnd: "bitwise `&` is not allowed",
    ast.BitOr: "bitwise `|` is not allowed",
    ast.LShift: "shift `<<` is not allowed",
    ast.RShift: "shift `>>` is not allowed",
}
_REFUSED_NODES: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access is not allowed",
    ast.Subscript: "subscripts are not allowed",
    ast.Lambda: "lambda functions are not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "generator expressions are not allowed",
    ast.Compare: "comparisons are not allowed (the objective is a number, not a boolean)",
    ast.BoolOp: "boolean operators `and`/`or` are not allowed",
    ast.IfExp: "conditional expressions are not allowed (objectives must be smooth)",
    ast.NamedExpr: "assignment expressions `:=` are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.FormattedValue: "f-strings are not allowed",
    ast.Starred: "starred arguments are not allowed",
    ast.Await: "`await` is not allowed",
    ast.Yield: "`yield` is not allowed",
    ast.YieldFrom: "`yield` is not allowed",
    ast.Slice: "slices are not allowed",
}
_NON_SCALAR_NODES: dict[type[ast.AST], str] = {
    ast.Tuple: "a tuple",
    ast.List: "a list",
    ast.Set: "a set",
    ast.Dict: "a dict",
}


def _snippet(source: str, node: ast.AST) -> str:
    seg = ast.get_source_segment(source, node) or type(node).__name__
    seg = " ".join(seg.split())
    return seg if len(seg) <= 40 else seg[:37] + "..."


class _SympyBuilder:
    """Walk a parsed expression against the whitelist, building the sympy expression."""

    def __init__(self, source: str, symbols: Mapping[str, Any]) -> None:
        self.source = source
        self.symbols = symbols

    def fail(self, reason: str, node: ast.AST) -> ValueError:
        return ValueError(
            f"`expr` must be a smooth scalar formula: {reason}. "
            f"Got `{_snippet(self.source, node)}` in {self.source!r} instead."
        )

    def build(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.BinOp):
            return self.binop_chain(node)
        if isinstance(node, ast.UnaryOp):
            return self.unaryop(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        for kind, what in _NON_SCALAR_NODES.items():
            if isinstance(node, kind):
                raise ValueError(
                    f"`expr` must be a single scalar expression. Got {what} "
                    f"`{_snippet(self.source, node)}` instead."
                )
        for kind, what in _REFUSED_NODES.items():
            if isinstance(node, kind):
                raise self.fail(what, node)
        raise self.fail(f"`{type(node).__name__}` syntax is not allowed", node)

    def constant(self, node: ast.Constant) -> Any:
        value = node.value
        if isinstance(value, bool):
            raise self.fail("booleans are not allowed", node)
        if isinstance(value, int):
            return sympy.Integer(value)
        if isinstance(value, float):
            if not np.isfinite(value):
                raise self.fail("non-finite numbers are not allowed", node)
            return sympy.Float(value)
        if isinstance(value, complex):
            raise self.fail("complex numbers are not allowed", node)
        if isinstance(value, (str, bytes)):
            raise self.fail("strings are not allowed", node)
        raise self.fail(f"the constant {value!r} is not allowed", node)

    def name(self, node: ast.Name) -> Any:
        ident = node.id
        if ident in self.symbols:
            return self.symbols[ident]
        if ident in _CONSTANTS:
            return _CONSTANTS[ident]
        if ident in ALLOWED_FUNCTIONS or ident in _NONSMOOTH_FUNCTIONS:
            raise self.fail(f"`{ident}` is a function; call it, e.g. `{ident}(x)`", node)
        declared = ", ".join(self.symbols) or "(none)"
        raise ValueError(
            f"`expr` contains the unknown symbol `{ident}`. Declared variables and "
            f"parameters: {declared} (plus the constant `pi`)."
        )

    def binop_chain(self, node: ast.BinOp) -> Any:
        # Left-deep chains (a + b + c + ...) are folded iteratively so long sums do not
        # recurse once per term.
        chain: list[tuple[ast.operator, ast.AST]] = []
        left: ast.AST = node
        while isinstance(left, ast.BinOp):
            chain.append((left.op, left.right))
            left = left.left
        chain.reverse()
        for op, _ in chain:
            if type(op) in _REFUSED_BINOPS:
                raise self.fail(_REFUSED_BINOPS[type(op)], node)
            if type(op) not in _BINOPS:  # pragma: no cover - every ast operator is listed
                raise self.fail(f"the operator `{type(op).__name__}` is not allowed", node)
        ops = {type(op) for op, _ in chain}
        first = self.build(left)
        if ops <= {ast.Add, ast.Sub}:
            terms = [first]
            for op, right in chain:
                term = self.build(right)
                terms.append(term if isinstance(op, ast.Add) else -term)
            return sympy.Add(*terms)
        if ops == {ast.Mult}:
            return sympy.Mul(first, *(self.build(right) for _, right in chain))
        acc = first
        for op, right in chain:
            rhs = self.build(right)
            if isinstance(op, ast.Add):
                acc = acc + rhs
            elif isinstance(op, ast.Sub):
                acc = acc - rhs
            elif isinstance(op, ast.Mult):
                acc = acc * rhs
            elif isinstance(op, ast.Div):
                acc = acc / rhs
            else:
                acc = self.power(acc, rhs, node)
        return acc

    def power(self, base: Any, exponent: Any, node: ast.AST) -> Any:
        if exponent.is_Number and base.free_symbols and abs(exponent) > _MAX_EXPONENT:
            raise self.fail(
                f"exponents of a variable must be at most {_MAX_EXPONENT} in magnitude "
                "(a larger power overflows for almost every x)",
                node,
            )
        if base.is_Rational and exponent.is_Integer:
            bits = abs(int(exponent)) * (int(base.p).bit_length() + int(base.q).bit_length())
            if bits > _MAX_POWER_BITS:
                raise self.fail(
                    "numeric powers this large are not allowed (they would be computed exactly)",
                    node,
                )
        return sympy.Pow(base, exponent)

    def unaryop(self, node: ast.UnaryOp) -> Any:
        if isinstance(node.op, ast.USub):
            return -self.build(node.operand)
        if isinstance(node.op, ast.UAdd):
            return self.build(node.operand)
        raise self.fail(f"the unary operator `{type(node.op).__name__}` is not allowed", node)

    def call(self, node: ast.Call) -> Any:
        func = node.func
        if not isinstance(func, ast.Name):
            what = (
                "attribute access is not allowed"
                if isinstance(func, ast.Attribute)
                else "only named functions can be called"
            )
            raise self.fail(what, node)
        fname = func.id
        if fname in _NONSMOOTH_FUNCTIONS:
            raise ValueError(
                f"`expr` uses `{fname}`, which is not smooth; objectives must be smooth (C²) "
                "because their gradient and Hessian are derived symbolically. A non-smooth "
                "term belongs in the norm of the flow (e.g. steepest_descent_flow(obj, "
                f"norm='l1')), not in f. Got {self.source!r} instead."
            )
        if fname not in ALLOWED_FUNCTIONS:
            raise self.fail(
                f"calling `{fname}` is not allowed "
                f"(allowed functions: {', '.join(sorted(ALLOWED_FUNCTIONS))})",
                node,
            )
        if node.keywords:
            raise self.fail("keyword arguments are not allowed", node)
        if len(node.args) != 1:
            raise self.fail(f"`{fname}` takes exactly 1 argument, not {len(node.args)}", node)
        return ALLOWED_FUNCTIONS[fname](self.build(node.args[0]))


def parse_expression(expr: str, symbols: Mapping[str, Any]) -> Any:
    """Parse a formula string into a sympy expression without evaluating any code.

    The string is parsed with ``ast.parse(..., mode="eval")`` and every node is checked
    against a whitelist: numeric literals, names in ``symbols`` (and ``pi``), the binary
    operators ``+ - * / **``, unary ``+``/``-`` and single-argument calls to
    :data:`ALLOWED_FUNCTIONS`. The sympy expression is built from the tree directly.

    Parameters
    ----------
    expr : str
        The formula.
    symbols : mapping of str to sympy.Symbol
        The names the formula may use.

    Returns
    -------
    sympy.Expr

    Raises
    ------
    ValueError
        If the formula is malformed, uses anything outside the whitelist, is not a single
        scalar, or contains complex, infinite or out-of-range constants.
    TypeError
        If ``expr`` is not a string.

    Examples
    --------
    >>> import sympy
    >>> from filippov.objectives import parse_expression
    >>> x = sympy.Symbol("x")
    >>> parse_expression("exp(-x**2) + 2*x", {"x": x})
    2*x + exp(-x**2)
    """
    if not isinstance(expr, str):
        raise TypeError(f"`expr` must be a string. Got {type(expr).__name__} {expr!r} instead.")
    if len(expr) > _MAX_EXPR_CHARS:
        raise ValueError(
            f"`expr` must be at most {_MAX_EXPR_CHARS} characters. Got {len(expr)} instead."
        )
    if not expr.strip():
        raise ValueError("`expr` must be a non-empty formula. Got an empty string instead.")
    try:
        tree = ast.parse(expr.strip(), mode="eval")
        depth = _syntax_depth(tree.body)
        if depth > _MAX_SYNTAX_DEPTH:
            raise ValueError(
                f"`expr` must be nested at most {_MAX_SYNTAX_DEPTH} levels deep. Got an "
                f"expression nested {depth} levels deep instead."
            )
        result = _SympyBuilder(expr.strip(), symbols).build(tree.body)
    except SyntaxError as exc:
        raise ValueError(
            f"`expr` must be a valid Python-syntax formula. Got {expr!r} instead ({exc.msg})."
        ) from None
    except (RecursionError, MemoryError):
        raise ValueError(
            f"`expr` must be nested at most {_MAX_SYNTAX_DEPTH} levels deep. Got an "
            f"expression of {len(expr)} characters nested too deeply to parse instead."
        ) from None
    _check_constants(expr, result)
    return result


def _preview_text(text: str) -> str:
    """``repr`` of ``text``, shortened to 80 characters."""
    return repr(text) if len(text) <= 80 else repr(text[:77] + "...")


def _syntax_depth(root: ast.AST) -> int:
    """Depth of a syntax tree as :class:`_SympyBuilder` recurses into it, without recursion.

    The left operand of a binary operator does not count: left-deep chains (long sums)
    are folded iteratively. The walk stops one level past the limit.
    """
    deepest = 0
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > _MAX_SYNTAX_DEPTH:
            continue
        if isinstance(node, ast.BinOp):
            stack.append((node.left, depth))
            stack.append((node.right, depth + 1))
        else:
            stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _formula_depth(expr: Any, variables: set[Any]) -> int:
    """Deepest nesting of sympy operations that involve one of ``variables``.

    Iterative, and each shared subexpression is visited once (sympy builds a DAG).
    """
    depth: dict[Any, int] = {}
    stack = [(expr, False)]
    while stack:
        node, done = stack.pop()
        if node in depth:
            continue
        if not node.args or not (node.free_symbols & variables):
            depth[node] = 0
        elif done:
            depth[node] = 1 + max(depth[a] for a in node.args)
        else:
            stack.append((node, True))
            stack.extend((a, False) for a in node.args if a not in depth)
    return depth[expr]


def _check_constants(source: str, result: Any) -> None:
    if result.has(sympy.I, sympy.zoo, sympy.oo, -sympy.oo, sympy.nan):
        raise ValueError(
            "`expr` must be real and finite; it simplifies to something complex or infinite "
            f"(e.g. a division by zero or log of a negative number). Got {source!r} instead."
        )
    for atom in result.atoms(sympy.Number):
        try:
            ok = bool(np.isfinite(float(atom)))
        except (OverflowError, TypeError):
            ok = False
        if not ok:
            raise ValueError(
                f"`expr` must only contain constants representable as floats. Got {source!r} "
                "instead (a constant overflows)."
            )


def _check_hidden_kinks(
    source: str, expr: Any, variables: Sequence[Any] = (), values: Mapping[Any, float] | None = None
) -> None:
    """Refuse a fractional power of something that vanishes like a power of ``|u|``: a
    kink the function whitelist does not see.

    ``(u**k)**p`` with ``k`` even is ``|u|**(k p)`` (``(u**2)**(1/2)`` is ``|u|``): C² at
    ``u = 0`` only when ``k p`` is an even integer or at least 2. So is ``(c₁ L₁**k₁ + … +
    c_j L_j**k_j)**p`` near a common zero of affine forms ``L_i`` of the ``variables``
    (``c_i > 0``, ``k_i`` even, ``k`` the least of them) when the ``L_i`` are multiples of
    one form; with independent forms (``sqrt(x**2 + y**2)``, a cone at the origin) it is C²
    there only when ``k p > 2``. ``values`` gives the parameters' values (``sqrt(x**2 + a)`` with
    ``a = 0`` is ``|x|``). Other kinks (a zero of a base that is no such sum) are not read
    off the formula: the flows then stop with a failure status, not silently.
    """
    for node in sympy.preorder_traversal(expr):
        if not isinstance(node, sympy.Pow):
            continue
        p = node.exp.xreplace(values) if values else node.exp
        # (an integer value written as a float, 1.0 or a parameter's 1, is an integer
        # power: sympy's Float(1.0).is_integer is not True)
        if not p.is_number or p.is_integer or float(p).is_integer():
            continue
        rank, verb = 1, "is"
        if isinstance(node.base, sympy.Pow):
            k, u = node.base.exp, node.base.base
            if not (k.is_Integer and k.is_even):
                continue
        else:
            found = _vanishing_order(node.base, variables, values)
            if found is None:
                continue
            k, u, rank = found
            verb = "behaves like"
        a = float(k * p)
        # One form: |L|^a, smooth when a is an even integer. Several independent ones:
        # a homogeneous function of degree a that is no polynomial (p is not an integer),
        # whose second derivatives are of degree a - 2: continuous at the zero only if a > 2
        # (sqrt(x**4 + y**4) has degree 2 and is not C² at the origin).
        even = a.is_integer() and int(a) % 2 == 0
        if (rank == 1 and a < 2.0 and not even) or (rank > 1 and a <= 2.0):
            like = f"|{u}|^{a:g}" if rank == 1 else f"‖({', '.join(map(str, u))})‖^{a:g}"
            where = f"{u} = 0" if rank == 1 else " = ".join(map(str, u)) + " = 0"
            raise ValueError(
                f"`expr` must be smooth (C²): `{node}` {verb} {like}, not twice "
                f"differentiable where {where}. Got {source!r} instead."
            )


def _vanishing_order(
    base: Any, variables: Sequence[Any], values: Mapping[Any, float] | None
) -> tuple[Any, Any, int] | None:
    """``(k, forms, rank)`` when ``base`` is ``c₁ L₁**k₁ + … + c_j L_j**k_j`` with numbers
    ``c_i > 0``, even ``k_i`` (``k`` their least) and affine forms ``L_i`` of ``variables``
    that vanish together (``forms``: the ``L_i``, or the one form when their linear parts
    have rank 1); else None."""
    if not variables:
        return None
    base = base.xreplace(values) if values else base
    forms, orders = [], []
    for term in sympy.Add.make_args(base):
        coeff, rest = term.as_coeff_Mul()
        if not (coeff.is_number and coeff.is_positive and isinstance(rest, sympy.Pow)):
            return None
        L, k = rest.base, rest.exp
        if not (k.is_Integer and k.is_even and k > 0 and L.free_symbols <= set(variables)):
            return None
        if not L.free_symbols or not L.is_polynomial(*variables):
            return None
        if sympy.Poly(L, *variables).total_degree() != 1:
            return None
        forms.append(L)
        orders.append(k)
    if not forms or sympy.linsolve(forms, *variables) == sympy.S.EmptySet:
        return None
    rank = sympy.linear_eq_to_matrix(forms, *variables)[0].rank()
    return min(orders), (forms[0] if rank == 1 else forms), rank


def _check_derived(source: str, exprs: Sequence[Any]) -> None:
    """Refuse derivatives that left the smooth, real, elementary world."""
    # (with the functions the derivatives of tanh are written in: see `_tanh_sech`)
    allowed = {
        *ALLOWED_FUNCTIONS.values(),
        _tanh_sech(),
        sympy.sech,
        *_inverse_functions_factored(),
    }
    for e in exprs:
        _check_constants(source, e)
        for fn in e.atoms(sympy.Function):
            if fn.func not in allowed:
                raise ValueError(
                    f"`expr` must be twice differentiable in closed form; its derivatives "
                    f"involve `{fn.func.__name__}`. Got {source!r} instead."
                )
        if e.has(sympy.Derivative):
            raise ValueError(
                f"`expr` must be twice differentiable in closed form. Got {source!r} instead."
            )


def check_declared_names(variables: Any) -> list[str]:
    """The declared variable names, checked (identifiers, no function or constant names,
    none repeated): also for `filippov.stewart_system`'s expression strings."""
    if isinstance(variables, str) or not isinstance(variables, Sequence):
        raise TypeError(
            f"`variables` must be a list of names such as ['x', 'y']. Got {variables!r} instead."
        )
    names = [_check_identifier(v, "variables") for v in variables]
    if not names:
        raise ValueError("`variables` must name at least one variable. Got [] instead.")
    if len(set(names)) != len(names):
        raise ValueError(f"`variables` must not repeat a name. Got {list(variables)!r} instead.")
    return names


def _check_identifier(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"`{what}` must contain only strings. Got {value!r} instead.")
    # Python normalizes identifiers (NFKC) when parsing, so compare normalized names.
    name = unicodedata.normalize("NFKC", value)
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"`{what}` must contain valid identifiers. Got {value!r} instead.")
    if name in ALLOWED_FUNCTIONS or name in _NONSMOOTH_FUNCTIONS or name in _CONSTANTS:
        raise ValueError(
            f"`{what}` must not reuse a function or constant name. Got {value!r} instead."
        )
    return name


def check_params(params: Any, var_names: Sequence[str]) -> dict[str, float]:
    """The parameters as ``{name: float}``, checked (identifiers, finite numbers, no name
    of a variable in ``var_names``, which the parameter would replace)."""
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise TypeError(f"`params` must be a dict of name -> number. Got {params!r} instead.")
    out: dict[str, float] = {}
    for key, value in params.items():
        name = _check_identifier(key, "params")
        if name in var_names:
            raise ValueError(
                f"`params` must not reuse a variable name. Got {key!r} in both instead."
            )
        if name in out:
            raise ValueError(f"`params` must not repeat a name. Got {key!r} twice instead.")
        out[name] = finite_scalar(value, f"params[{key!r}]")
    return out


@functools.cache
def _tanh_sech() -> type:
    """``tanh`` whose derivative is written ``sech(u)**2``, not sympy's ``1 - tanh(u)**2``.

    In floating point ``1 - tanh(u)**2`` cancels to the rounding of 1 once ``|u|`` passes
    a few units: relative error ``eps·cosh²u`` (1e-5 at ``u = 13.7``), and exactly 0 from
    ``|u| ≈ 19`` on, where ``sech²`` is still 1e-16 and more -- a gradient entry of
    ``tanh(x - 30)`` at ``x = 0`` was 0 instead of 3.5e-26, which a sign flow reads as at
    rest (as the library's network and log-cosh loss, fixed the same way). ``sech``
    compiles to ``1/cosh`` (see `_exact_float_printer`): no cancellation, and 0 where
    ``cosh`` overflows.
    Used for differentiating only (``Objective.expr`` keeps sympy's ``tanh``); the class
    is named ``tanh`` so that it prints, and compiles, as ``numpy.tanh``."""

    class tanh(sympy.tanh):  # (named so: the printer looks functions up by class name)
        def fdiff(self, argindex: int = 1) -> Any:
            return sympy.sech(self.args[0]) ** 2

    return tanh


@functools.cache
def _inverse_functions_factored() -> tuple[type, type, type]:
    """``asin``, ``acos`` and ``atanh`` whose derivatives are written with ``(1 − u)(1 + u)``,
    not sympy's ``1 − u**2``.

    Near ``u = ±1`` the square loses its last bits before the difference is taken: with
    ``1 − |u| = δ`` the relative error of ``1 − u**2`` is about ``δ/2`` for ``δ`` below
    1e-8 (the ``δ²`` that does not fit), up to ~1e-9 (4.5e-10 measured on ``atanh'`` at
    ``δ = 9e-10``); ``1 − u`` is exact there (Sterbenz), and the factored form is exact to
    rounding (2e-16). Used for differentiating only, as `_tanh_sech`; each class is named
    as the function it replaces so that it prints as numpy's."""

    def factored(u: Any) -> Any:
        return (1 - u) * (1 + u)

    class asin(sympy.asin):  # (named so: the printer looks functions up by class name)
        def fdiff(self, argindex: int = 1) -> Any:
            return 1 / sympy.sqrt(factored(self.args[0]))

    class acos(sympy.acos):
        def fdiff(self, argindex: int = 1) -> Any:
            return -1 / sympy.sqrt(factored(self.args[0]))

    class atanh(sympy.atanh):
        def fdiff(self, argindex: int = 1) -> Any:
            return 1 / factored(self.args[0])

    return asin, acos, atanh


@functools.cache
def _exact_float_printer() -> type:
    from sympy.printing.numpy import SciPyPrinter

    class _ExactFloatPrinter(SciPyPrinter):
        """SciPy/NumPy printer that writes float constants with full (repr) precision,
        and ``sech`` as ``1/cosh``."""

        def _print_Float(self, expr: Any) -> str:
            return repr(float(expr))

        def _print_sech(self, expr: Any) -> str:
            # (sympy's printer rewrites sech in exponentials, and rewrites its argument
            # with it: sin(u) became complex exponentials, x**12 exp(12 log x), NaN for
            # x < 0. 1/cosh is 0 where cosh overflows, as sech² underflows there.)
            cosh = self._module_format(self._module + ".cosh")
            return f"(1/{cosh}({self._print(expr.args[0])}))"

    return _ExactFloatPrinter


def _cse_with_private_names(exprs: Any) -> Any:
    # sympy's default `cse` names its subexpressions Symbol("x0"), Symbol("x1"), ...: equal,
    # as sympy symbols, to a user's variables of the same names, which `dummify` then
    # rewrites to the arguments -- every derivative of f(x0, x1, ...) came out wrong (sympy
    # issue 25043). Dummy symbols compare equal to nothing else and print with a private,
    # unique name.
    return sympy.cse(
        exprs, symbols=sympy.numbered_symbols(prefix="_cse", cls=sympy.Dummy), list=False
    )


def _lambdify(args: Sequence[Any], expr: Any) -> Callable[..., Any]:
    # The arguments as dummies of private names: lambdify puts each argument's name into
    # the generated code's namespace, where a variable called `numpy` or `scipy` took the
    # place of the module the code calls (numpy.sqrt of a Symbol: AttributeError).
    private = [sympy.Dummy(f"arg{k}") for k in range(len(args))]
    swap = dict(zip(args, private, strict=True))
    expr = [e.xreplace(swap) for e in expr] if isinstance(expr, list) else expr.xreplace(swap)
    return sympy.lambdify(
        private,
        expr,
        modules=["scipy", "numpy"],
        printer=_exact_float_printer(),
        cse=_cse_with_private_names,
        dummify=True,
    )


# --------------------------------------------------------------------------------------


def from_expr(
    cls: type[Objective],
    expr: str,
    variables: Sequence[str],
    params: Mapping[str, float] | None = None,
    *,
    name: str | None = None,
) -> Objective:
    """An objective from a formula string, differentiated symbolically.

    The string is parsed with :mod:`ast` and walked against a whitelist -- numbers,
    the declared variables and parameters, the constant ``pi``, ``+ - * / **``, unary
    ``+``/``-`` and calls (one positional argument) to the functions in
    :data:`ALLOWED_FUNCTIONS`. The sympy expression is built node by node; the string is
    never passed to ``eval``, ``exec`` or ``sympify``. Gradient and Hessian are derived
    with sympy and lambdified to numpy (with common-subexpression elimination);
    floating-point literals and parameter values are used exactly.

    Parameters
    ----------
    expr : str
        Formula in Python syntax, e.g. ``"0.5*(x - a*y)**2 + 0.5*(y + 3)**2"``.
    variables : sequence of str
        Names of the coordinates ``x[0], x[1], ...``, in order.
    params : mapping of str to float, optional
        Named constants (finite reals); names must differ from the variables.
    name : str, optional
        Label; defaults to the expression.

    Returns
    -------
    Objective

    Raises
    ------
    ValueError
        For syntax errors, unknown symbols, disallowed syntax (attribute access,
        subscripts, lambdas, comprehensions, comparisons, strings, keyword arguments,
        non-whitelisted calls such as ``__import__``), non-smooth functions (``abs``,
        ``sign``, ``max``, ``min``, ...) and ``|u|`` in disguise (``sqrt(u**2)``,
        ``(u**4)**0.25``: an even power under a fractional one that is not twice
        differentiable where ``u = 0``), non-scalar expressions (tuples, lists) and
        constants that are complex, infinite or too large. Also for formulas past
        the limits that keep parsing and differentiation bounded: more than 20 000
        characters, a syntax tree more than 100 levels deep, exact numeric powers
        of more than 4096 bits, exponents of a variable above 1000 in magnitude, and
        operations on the variables nested more than 32 deep.
    TypeError
        If ``expr`` is not a string, ``variables`` not a sequence of strings, or a
        parameter value not a real number.

    Examples
    --------
    >>> from filippov.objectives import Objective
    >>> obj = Objective.from_expr("x**2 + 3*y**2", variables=["x", "y"])
    >>> obj.grad([1, 1])
    array([2., 6.])
    >>> obj = Objective.from_expr(
    ...     "0.5*(x - a*y)**2 + 0.5*(y + 3)**2", variables=["x", "y"], params={"a": 0.5}
    ... )
    >>> obj.hess([0.0, 0.0])
    array([[ 1.  , -0.5 ],
           [-0.5 ,  1.25]])
    """
    var_names = check_declared_names(variables)
    param_values = check_params(params, var_names)
    symbols = {nm: sympy.Symbol(nm) for nm in (*var_names, *param_values)}
    f_expr = parse_expression(expr, symbols)
    unused = [nm for nm in param_values if symbols[nm] not in f_expr.free_symbols]
    if unused:
        # (not an error: a dict of parameters may be shared between expressions; but a
        # sweep over such a parameter repeats one run, and a user who meant to use it
        # should hear of it)
        warnings.warn(
            f"`params` {unused} do not occur in `expr` {_preview_text(expr)} (after "
            "simplification); their values change nothing.",
            UserWarning,
            stacklevel=2,
        )
    xs = [symbols[v] for v in var_names]
    _check_hidden_kinks(
        expr, f_expr, xs, {symbols[nm]: sympy.Float(v) for nm, v in param_values.items()}
    )
    depth = _formula_depth(f_expr, set(xs))
    if depth > _MAX_FORMULA_DEPTH:
        raise ValueError(
            f"`expr` must nest operations on the variables at most {_MAX_FORMULA_DEPTH} "
            f"deep (calls, powers, products and sums; the size of the symbolic Hessian "
            f"grows like the cube of the depth). Got depth {depth} in "
            f"{_preview_text(expr)} instead; pass such a function as callables "
            "(Objective(f, grad, hess))."
        )
    ps = [symbols[p] for p in param_values]
    n = len(xs)
    # Float literals stand in as symbols while differentiating and compiling, and are
    # passed in as values: sympy's arithmetic on Float coefficients (assumption queries
    # at every product) made a logistic loss of 8 terms in 8 variables take 23 s to
    # differentiate, against 3 s with symbols; the values used are the same doubles.
    literals = sorted(f_expr.atoms(sympy.Float), key=lambda c: float(c))
    stand_ins = [sympy.Dummy(f"c{k}") for k in range(len(literals))]
    f_sym = f_expr.xreplace(dict(zip(literals, stand_ins, strict=True)))
    f_sym = f_sym.replace(sympy.tanh, _tanh_sech())  # (its derivative as sech²)
    for inverse in _inverse_functions_factored():  # (theirs with (1 − u)(1 + u))
        f_sym = f_sym.replace(getattr(sympy, inverse.__name__), inverse)
    grad_exprs = [sympy.diff(f_sym, xi) for xi in xs]
    upper = [(i, j) for i in range(n) for j in range(i, n)]
    hess_exprs = [sympy.diff(grad_exprs[i], xs[j]) for i, j in upper]
    back = dict(zip(stand_ins, literals, strict=True))
    _check_derived(expr, [f_expr, *(e.xreplace(back) for e in (*grad_exprs, *hess_exprs))])

    args = [*xs, *ps, *stand_ins]
    f_num = _lambdify(args, f_sym)
    g_num = _lambdify(args, grad_exprs)
    h_num = _lambdify(args, hess_exprs)
    pvals = (*param_values.values(), *(float(c) for c in literals))
    rows = np.array([i for i, _ in upper], dtype=int)
    cols = np.array([j for _, j in upper], dtype=int)

    def f(x: FloatArray) -> Any:
        with np.errstate(all="ignore"):
            return f_num(*x, *pvals)

    def grad(x: FloatArray) -> FloatArray:
        with np.errstate(all="ignore"):
            return np.array(g_num(*x, *pvals), dtype=float).reshape(n)

    def hess(x: FloatArray) -> FloatArray:
        with np.errstate(all="ignore"):
            vals = np.array(h_num(*x, *pvals), dtype=float).reshape(len(upper))
        H = np.empty((n, n))
        H[rows, cols] = vals
        H[cols, rows] = vals
        return H

    def grad_batch(X: FloatArray) -> FloatArray:
        m = X.shape[0]
        with np.errstate(all="ignore"):
            comps = g_num(*X.T, *pvals)
        return np.column_stack(
            [np.broadcast_to(np.asarray(c, dtype=float), (m,)) for c in comps]
        ).reshape(m, n)

    def f_batch(X: FloatArray) -> FloatArray:
        # (the formula itself at every row: a batched driver's closed-form ½xᵀHx + bᵀx + c
        # of a quadratic given centred, (x − 1e4)²/2, cancelled to −3e-8 near its
        # minimizer; review rv9)
        with np.errstate(all="ignore"):
            return np.broadcast_to(np.asarray(f_num(*X.T, *pvals), dtype=float), (X.shape[0],))

    # A formula of degree <= 2 is a quadratic: keep (H, b, c) so that its flows take the
    # engine's exact path (every second derivative is then free of the variables).
    quadratic = None
    minimizer = None
    if all(not (h.free_symbols & set(xs)) for h in hess_exprs):
        zero = np.zeros(n)
        H0, b0, c0 = hess(zero), grad(zero), float(f(zero))
        if np.all(np.isfinite(H0)) and np.all(np.isfinite(b0)) and np.isfinite(c0):
            quadratic = (H0, b0, c0)
            minimizer = pd_solve(H0, -b0)
    obj = cls._build(
        f=f,
        grad=grad,
        hess=hess,
        hvp=None,
        grad_batch=grad_batch,
        f_batch=f_batch,
        n=n,
        name=check_name(expr.strip() if name is None else name),
        quadratic=quadratic,
        minimizer=minimizer,
    )
    obj.expr = f_expr.xreplace({symbols[p]: sympy.Float(v) for p, v in param_values.items()})
    return obj._with_recipe(cls.from_expr, expr, var_names, param_values, name=obj.name)
