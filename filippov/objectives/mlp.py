r"""A one-hidden-layer tanh network with softmax cross-entropy, as an :class:`Objective`.

The smallest neural-network objective on which seed paper 1's claims about deep learning
(Adam behaves like sign descent with momentum; network Hessians are concentrated on their
diagonal with :math:`\lambda_{\max} \gg \lambda_{\mathrm{avg}}`) can be checked with
exact second derivatives. Gradient by backpropagation, Hessian-vector product by
Pearlmutter's R-operator (forward-over-reverse differentiation written out by hand: the
library has no automatic differentiation dependency, and the network is small enough for
the formulas to be read and checked). The dense Hessian, and blocks of its rows, come
from its closed form (Gauss–Newton part plus the residuals' second-order part); the
R-operator checks it entry by entry in the tests.

Parameters are packed in one vector ``x = [W1.ravel(), b1, W2.ravel(), b2]`` with
``W1`` of shape ``(hidden, n_features)`` and ``W2`` of shape ``(n_classes, hidden)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from filippov._validation import (
    FloatArray,
    as_matrix,
    require_finite,
    require_int,
    require_non_negative,
)

from .base import Objective

__all__ = ["MLPLoss", "mlp_classifier", "mlp_init"]

# Directions per R-operator block in `MLPLoss.hess_rows`: the block holds a few
# (k, m, hidden) arrays, about 15 MB each for the digits data and k = 64.
_BLOCK = 64
#: Numbers of the softmax-weighted Jacobian `MLPLoss._assembled_rows` holds at a time
#: (its samples are taken in chunks of this over ``c·n``).
_JACOBIAN_CHUNK = 1 << 20


def _n_params(n_features: int, hidden: int, n_classes: int) -> int:
    return hidden * n_features + hidden + n_classes * hidden + n_classes


class MLPLoss:
    """The network's loss and its derivatives, the callables of :func:`mlp_classifier`.

    Module level, so that the objective pickles (with its bound methods). Pickles made
    before :mod:`filippov.objectives` became a package name it ``filippov._mlp._MLP``.
    """

    def __init__(
        self,
        X: FloatArray,
        labels: NDArray[np.intp],
        n_classes: int,
        hidden: int,
        weight_decay: float,
    ) -> None:
        self.X = X
        self.labels = labels
        self.m, self.d = X.shape
        self.h = hidden
        self.c = n_classes
        self.lam = weight_decay
        self.n = _n_params(self.d, hidden, n_classes)
        self.Y = np.zeros((self.m, n_classes))
        self.Y[np.arange(self.m), labels] = 1.0
        self._cache: tuple[bytes, tuple[FloatArray, ...]] | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_cache"] = None
        return state

    def unpack(self, x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        d, h, c = self.d, self.h, self.c
        i = h * d
        W1 = x[:i].reshape(h, d)
        b1 = x[i : i + h]
        i += h
        W2 = x[i : i + c * h].reshape(c, h)
        b2 = x[i + c * h :]
        return W1, b1, W2, b2

    def forward(self, x: FloatArray) -> tuple[FloatArray, ...]:
        """Activations ``A``, probabilities ``P``, per-sample losses, ``tanh'`` of the
        hidden pre-activations and the residuals ``P − Y`` (one-hot ``Y``) at ``x``.

        The driver asks for ``grad`` and ``f`` at the same point in a row: the last forward
        pass is kept (keyed by the bytes of ``x``) so the pair costs one pass.
        """
        key = x.tobytes()
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        W1, b1, W2, b2 = self.unpack(x)
        pre = self.X @ W1.T + b1
        A = np.tanh(pre)
        # tanh' = sech² = 4a/(1 + a)² with a = e^{−2|z|}: 1 − tanh² cancels to 0 for a
        # saturated unit (|z| ≳ 18), and a gradient entry that should be 3.6e-18 was 0,
        # which a sign flow reads as "at rest" (as `_logcosh_second` of the library)
        a = np.exp(-2.0 * np.abs(pre))
        slope = 4.0 * a / (1.0 + a) ** 2
        Z = A @ W2.T + b2
        top = Z.argmax(axis=1)
        rows = np.arange(self.m)
        Z -= Z[rows, top][:, None]  # log-sum-exp shift: exp never overflows
        E = np.exp(Z)
        S = E.sum(axis=1)
        P = E / S[:, None]
        # A well-classified sample has P_y = 1 − δ with δ tiny: log S and P_y − 1 taken as
        # written cancel to the rounding of 1 (δ = 8.5e-17 at a margin of 37 gave a loss
        # and a gradient entry of exactly 0, which a sign flow reads as at rest). Both from
        # the sums of the other classes' terms instead: log S = log1p(Σ_{k≠top} E_k)
        # (E_top = 1), P_y − 1 = −Σ_{k≠y} E_k / S.
        others = E.copy()
        others[rows, top] = 0.0
        losses = np.log1p(others.sum(axis=1)) - Z[rows, self.labels]
        others = E.copy()
        others[rows, self.labels] = 0.0
        residual = P.copy()
        residual[rows, self.labels] = -others.sum(axis=1) / S
        out = (A, P, losses, slope, residual)
        self._cache = (key, out)
        return out

    def _tanh_slope(self, x: FloatArray) -> FloatArray:
        """``tanh'`` of the hidden pre-activations at ``x`` (from the forward pass)."""
        return self.forward(x)[3]

    def f(self, x: FloatArray) -> float:
        losses = self.forward(x)[2]
        return float(np.mean(losses)) + 0.5 * self.lam * float(x @ x)

    def grad(self, x: FloatArray) -> FloatArray:
        _, _, W2, _ = self.unpack(x)
        A, _, _, _, residual = self.forward(x)
        D2 = residual / self.m  # ∂loss/∂Z
        D1 = (D2 @ W2) * self._tanh_slope(x)  # ∂loss/∂(pre-activation)
        g = np.concatenate(
            [(D1.T @ self.X).ravel(), D1.sum(axis=0), (D2.T @ A).ravel(), D2.sum(axis=0)]
        )
        return g + self.lam * x

    def hvp_block(self, x: FloatArray, V: FloatArray) -> FloatArray:
        """``∇²f(x) V`` for the columns of ``V`` (shape ``(n, k)``), by the R-operator.

        Every intermediate of :meth:`grad` is differentiated along each direction
        ``v = (V1, c1, V2, c2)``: ``R(·) = d/dt (·)(x + t v)`` at ``t = 0``.
        """
        d, h, c, m = self.d, self.h, self.c, self.m
        k = V.shape[1]
        _, _, W2, _ = self.unpack(x)
        A, P, _, S, residual = self.forward(x)  # (S: tanh')
        D2 = residual / m
        DA = D2 @ W2
        i = h * d
        V1 = V[:i].T.reshape(k * h, d)
        c1 = V[i : i + h].T  # (k, h)
        i += h
        V2 = V[i : i + c * h].T.reshape(k, c, h)
        c2 = V[i + c * h :].T  # (k, c)
        # forward pass, differentiated
        RZ1 = (self.X @ V1.T).reshape(m, k, h).transpose(1, 0, 2) + c1[:, None, :]
        RA = S * RZ1  # (k, m, h)
        RZ2 = RA @ W2.T + (A @ V2.reshape(k * c, h).T).reshape(m, k, c).transpose(1, 0, 2)
        RZ2 += c2[:, None, :]
        # Softmax Jacobian, R(P) = P ∘ (R(Z) − Pᵀ R(Z)), with R(Z) taken relative to the
        # top class's entry first (an offset that changes nothing in exact arithmetic):
        # otherwise the top class's R(Z) − Pᵀ R(Z), δ-small for a well-classified sample,
        # cancels to the rounding of R(Z) (the curvature came out half its value).
        top = np.argmax(P, axis=1)
        RZ2 -= RZ2[:, np.arange(m), top][:, :, None]
        RP = P * (RZ2 - np.sum(P * RZ2, axis=2, keepdims=True))
        RD2 = RP / m
        # backward pass, differentiated
        RgW2 = RD2.transpose(0, 2, 1) @ A + D2.T @ RA
        Rgb2 = RD2.sum(axis=1)
        RDA = RD2 @ W2 + D2 @ V2
        RD1 = RDA * S - 2.0 * DA * A * RA
        RgW1 = (RD1.transpose(0, 2, 1).reshape(k * h, m) @ self.X).reshape(k, h * d)
        Rgb1 = RD1.sum(axis=1)
        out = np.concatenate([RgW1, Rgb1, RgW2.reshape(k, c * h), Rgb2], axis=1).T
        return out + self.lam * V

    def hvp(self, x: FloatArray, v: FloatArray) -> FloatArray:
        return self.hvp_block(x, v.reshape(-1, 1))[:, 0]

    def hess_rows(self, x: FloatArray, rows: NDArray[np.intp]) -> FloatArray:
        """Rows ``rows`` of the Hessian (it is symmetric: its rows are its columns).

        Either that many Hessian-vector products (the R-operator on a block of
        directions) or the Hessian's closed form (:meth:`_assembled_rows`), whichever
        :meth:`_assembly_pays` says is cheaper: the continuation path's sliding blocks of a
        network ask for tens of rows at a time, and on few classes the closed form gives
        them for the price of a few products.
        """
        if self._assembly_pays(rows.size):
            return self._assembled_rows(x, rows)
        # (blocks of _BLOCK directions: the R-operator holds a few (k, m, hidden) arrays)
        out = np.empty((rows.size, self.n))
        for j in range(0, rows.size, _BLOCK):
            part = rows[j : j + _BLOCK]
            E = np.zeros((self.n, part.size))
            E[part, np.arange(part.size)] = 1.0
            out[j : j + part.size] = self.hvp_block(x, E).T
        return out

    def hess(self, x: FloatArray) -> FloatArray:
        H = self.hess_rows(x, np.arange(self.n))
        return 0.5 * (H + H.T)  # exact up to rounding: symmetrize the rounding away

    def _assembly_pays(self, k: int) -> bool:
        """Whether :meth:`_assembled_rows` is cheaper than ``k`` R-operator products.

        A cost model in nanoseconds fitted on one machine (AMD EPYC, one BLAS thread) to
        nine networks from (m, d, c, h) = (150, 4, 3, 8) to (3000, 30, 10, 8),
        (1797, 64, 10, 16) and (1000, 200, 2, 8), 1 to n rows: its choice was within 1.5×
        of the faster route on all 66 timings. The closed form builds the
        softmax-weighted Jacobian, ``m·c·n`` numbers, and takes a Gram product of ``k`` of
        its columns; a product's arrays are ``(m, h)`` and ``(m, c)`` per direction, its
        matrix products ``m·h·d`` and ``m·h·c``. Only the speed depends on the choice:
        both are exact to rounding (the tests compare them entry by entry).
        """
        m, c, n, h, d = self.m, self.c, self.n, self.h, self.d
        jacobian = float(m * c * n)
        assembled = 1.95 * jacobian + k * (0.0345 * jacobian + 0.08 * m * (d + 1)) + 90e3
        products = k * (5.96 * m * h + 0.0608 * m * h * d + 1.26 * m * h * c + 2825.0) + 30e3
        return assembled < products

    def _unit_layout(self) -> NDArray[np.intp]:
        """Positions of the packed parameters in the *unit-major* order used by
        :meth:`_assembled_rows`: there ``W1[j]`` and ``b1[j]`` are adjacent
        (``j·(d + 1) + k``, with ``k = d`` the bias), so that the input-side block of the
        Hessian is block-diagonal by hidden unit; ``W2`` and ``b2`` keep their places."""
        d, h = self.d, self.h
        unit = np.empty(self.n, dtype=np.intp)
        j, k = np.divmod(np.arange(h * d), d)
        unit[: h * d] = j * (d + 1) + k
        unit[h * d : h * d + h] = np.arange(h) * (d + 1) + d
        unit[h * d + h :] = np.arange(h * d + h, self.n)
        return unit

    def _assembled_rows(self, x: FloatArray, rows: NDArray[np.intp]) -> FloatArray:
        r"""Rows ``rows`` of the Hessian from its closed form.

        With logits ``z_i = W2 a_i + b2``, ``a_i = tanh(W1 x_i + b1)``, residuals
        ``r_i = p_i − y_i`` and the softmax curvature ``Q_i = diag(p_i) − p_i p_iᵀ``,

        .. math:: \nabla^2 f = \frac1m \sum_i \Bigl(J_i^\top Q_i J_i
                  + \sum_c r_{ic} \nabla^2 z_{ic}\Bigr) + \lambda I,
                  \qquad J_i = \partial z_i / \partial x.

        The Gauss–Newton part is one Gram product of the rows
        ``√p_ic (J_ic − Σ_c' p_ic' J_ic')``: ``J_iᵀ Q_i J_i`` written as the variance of
        the Jacobian's rows under ``p_i``, a sum of squares. Written as
        ``Σ_c p_ic J_icᵀ J_ic − (J_iᵀ p_i)(J_iᵀ p_i)ᵀ`` it would be the difference of two
        terms of size ``|J_i|²``, and a well-classified sample's curvature, of the size of
        its small probabilities, would be lost to their rounding. The
        second-order part touches only ``(W1[j], b1[j])`` with itself (through
        ``tanh'' = −2 tanh · tanh'``) and with ``W2[:, j]`` (through ``tanh'``). Samples are
        taken in chunks so the Jacobian never holds more than about a million numbers.
        """
        d, h, c, m, n = self.d, self.h, self.c, self.m, self.n
        du = d + 1  # a hidden unit's inputs, with its bias
        unit = self._unit_layout()
        at = unit[rows]  # the rows, in the unit-major order
        _, _, W2, _ = self.unpack(x)
        A, P, _, S, residual = self.forward(x)  # (S: tanh')
        D2 = residual / m
        out = np.zeros((rows.size, n))
        chunk = max(1, _JACOBIAN_CHUNK // (c * n))
        for start in range(0, m, chunk):
            i = slice(start, min(start + chunk, m))
            k = i.stop - i.start
            Xb = np.empty((k, du))
            Xb[:, :d] = self.X[i]
            Xb[:, d] = 1.0
            J = np.zeros((k, c, n))
            # ∂z_ic/∂W1[j, l] = W2[c, j] tanh'(pre_ij) x̃_il (x̃ with the bias input 1)
            J[:, :, : h * du] = (
                (W2[None, :, :] * S[i][:, None, :])[:, :, :, None] * Xb[:, None, None, :]
            ).reshape(k, c, h * du)
            # ∂z_ic/∂W2[c', j] = δ_cc' a_ij, ∂z_ic/∂b2[c'] = δ_cc'
            second = J[:, :, h * du :]
            for cls in range(c):
                second[:, cls, cls * h : (cls + 1) * h] = A[i]
                second[:, cls, c * h + cls] = 1.0
            Pb = P[i]
            J -= np.einsum("kc,kcn->kn", Pb, J)[:, None, :]
            J *= np.sqrt(Pb)[:, :, None]
            Jf = J.reshape(k * c, n)
            out += Jf[:, at].T @ Jf
        out /= m
        # The second-order part. C[j, l, c] = Σ_i r_ic tanh'(pre_ij) x̃_il / m pairs
        # (W1[j, l] or b1[j]) with W2[c, j]; T[j] = Σ_i e_ij tanh''(pre_ij) x̃_i x̃_iᵀ / m,
        # e = r W2 / m, pairs W1[j]/b1[j] with itself.
        Xt = np.empty((m, du))
        Xt[:, :d] = self.X
        Xt[:, d] = 1.0
        C = (Xt.T @ (S[:, :, None] * D2[:, None, :]).reshape(m, h * c)).reshape(du, h, c)
        C = C.transpose(1, 0, 2)
        inside = at < h * du  # rows of W1 / b1
        W2_pos = h * du + np.arange(c)[:, None] * h + np.arange(h)[None, :]  # (c, h)
        if np.any(inside):
            rj, rl = np.divmod(at[inside], du)
            # (row (j, l) of T[j]: Σ_i curv_ij x̃_il x̃_i, only the rows asked for)
            curv = (D2 @ W2)[:, rj] * (-2.0 * A[:, rj] * S[:, rj])
            sub = out[inside]
            own = rj[:, None] * du + np.arange(du)[None, :]
            sub[np.arange(rj.size)[:, None], own] += (curv * Xt[:, rl]).T @ Xt
            sub[np.arange(rj.size)[:, None], W2_pos[:, rj].T] += C[rj, rl, :]
            out[inside] = sub
        in_W2 = (at >= h * du) & (at < h * du + c * h)
        if np.any(in_W2):
            rc, rj = np.divmod(at[in_W2] - h * du, h)
            sub = out[in_W2]
            own = rj[:, None] * du + np.arange(du)[None, :]
            sub[np.arange(rj.size)[:, None], own] += C[rj, :, rc]
            out[in_W2] = sub
        out[np.arange(rows.size), at] += self.lam
        return out[:, unit]


def _check_data(X: ArrayLike, y: ArrayLike) -> tuple[FloatArray, NDArray[np.intp], int]:
    Xm = require_finite(as_matrix(X, "X"), "X")
    m, d = Xm.shape
    if m == 0 or d == 0:
        raise ValueError(
            f"`X` must have at least one row and column. Got shape {Xm.shape} instead."
        )
    yv = np.asarray(y)
    if yv.shape != (m,):
        raise ValueError(
            f"`y` must have shape ({m},), one label per row of X. Got {yv.shape} instead."
        )
    if yv.dtype.kind not in "iu" and not (
        yv.dtype.kind == "f" and np.all(np.isfinite(yv)) and np.all(yv == np.round(yv))
    ):
        raise TypeError(f"`y` must hold integer class labels. Got dtype {yv.dtype} instead.")
    classes, labels = np.unique(yv, return_inverse=True)
    if classes.size < 2:
        raise ValueError(f"`y` must hold at least two classes. Got {classes.tolist()} instead.")
    return Xm, labels.astype(np.intp), int(classes.size)


def mlp_classifier(
    X: ArrayLike,
    y: ArrayLike,
    *,
    hidden: int = 16,
    weight_decay: float = 0.0,
    name: str | None = None,
) -> Objective:
    r"""Mean softmax cross-entropy of a one-hidden-layer tanh network on ``(X, y)``.

    .. math::

        f(x) = \frac1m \sum_{i=1}^m \Bigl(\log \sum_c e^{z_{ic}} - z_{i y_i}\Bigr)
               + \frac{\lambda}{2}\|x\|_2^2,
        \qquad z_i = W_2 \tanh(W_1 a_i + b_1) + b_2,

    with exact gradient (backpropagation), Hessian-vector product (Pearlmutter's
    R-operator) and dense Hessian (its closed form: about ``m·c·n²`` operations, so keep
    ``hidden`` small when you ask for it). The objective is
    smooth (C^∞) but not convex. Parameters are packed as ``[W1.ravel(), b1, W2.ravel(),
    b2]``, ``W1`` of shape ``(hidden, n_features)``, ``W2`` of shape ``(n_classes,
    hidden)``; :func:`mlp_init` draws a starting point.

    Parameters
    ----------
    X : (m, n_features) array_like
        Inputs, one sample per row (standardize them first).
    y : (m,) array_like of int
        Class labels (any integers; the classes are the distinct values, sorted).
    hidden : int, default 16
        Width of the hidden layer.
    weight_decay : float, default 0
        Ridge weight :math:`\lambda \ge 0` on all parameters. Without it the loss is
        invariant under adding the same vector to every row of ``[W2, b2]`` (softmax sees
        only differences of the logits), so its Hessian is singular everywhere, on a
        subspace of dimension ``hidden + 1``. Flows then meet sliding sets whose
        selection is not unique, and the paths stop with status −4 (a singular block) or
        −5 (precision lost) rather than pick one; a small ``weight_decay`` (1e-4, say)
        removes the invariance.
    name : str, optional

    Returns
    -------
    Objective
        Of dimension ``hidden * (n_features + 1) + n_classes * (hidden + 1)``. It pickles
        (its callables are methods of a module-level class).

    Examples
    --------
    >>> import numpy as np
    >>> from filippov.objectives import mlp_classifier, mlp_init
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((30, 4)), np.arange(30) % 3
    >>> obj = mlp_classifier(X, y, hidden=5)
    >>> obj.n
    43
    >>> x0 = mlp_init(4, 3, hidden=5, seed=0)
    >>> bool(np.isclose(obj.f(np.zeros(obj.n)), np.log(3.0)))  # uniform prediction
    True
    >>> obj.check_derivatives(x0).ok
    True
    """
    Xm, labels, n_classes = _check_data(X, y)
    h = require_int(hidden, "hidden", minimum=1)
    lam = require_non_negative(weight_decay, "weight_decay")
    model = MLPLoss(Xm.copy(), labels, n_classes, h, lam)
    if name is None:
        name = f"mlp_classifier(m={model.m}, features={model.d}, hidden={h}, classes={n_classes})"
    obj = Objective(model.f, model.grad, model.hess, hvp=model.hvp, n=model.n, name=name)
    obj._hess_rows = model.hess_rows  # (a block of rows: the continuation path's blocks)
    return obj


def mlp_init(n_features: int, n_classes: int, *, hidden: int = 16, seed: int = 0) -> FloatArray:
    r"""A starting point for :func:`mlp_classifier`: Glorot-uniform weights, zero biases.

    Each weight matrix of shape ``(fan_out, fan_in)`` is drawn uniformly in
    :math:`\pm\sqrt{6/(\mathrm{fan_{in}} + \mathrm{fan_{out}})}` with
    ``numpy.random.default_rng(seed)`` (deterministic).

    Parameters
    ----------
    n_features, n_classes : int
        Input dimension and number of classes of the data.
    hidden : int, default 16
        Width of the hidden layer (as given to :func:`mlp_classifier`).
    seed : int, default 0

    Returns
    -------
    (n,) ndarray

    Examples
    --------
    >>> from filippov.objectives import mlp_init
    >>> x0 = mlp_init(64, 10, hidden=16, seed=0)
    >>> x0.shape
    (1210,)
    """
    d = require_int(n_features, "n_features", minimum=1)
    c = require_int(n_classes, "n_classes", minimum=2)
    h = require_int(hidden, "hidden", minimum=1)
    rng = np.random.default_rng(require_int(seed, "seed", minimum=0))
    r1, r2 = np.sqrt(6.0 / (d + h)), np.sqrt(6.0 / (h + c))
    W1 = rng.uniform(-r1, r1, size=(h, d))
    W2 = rng.uniform(-r2, r2, size=(c, h))
    return np.concatenate([W1.ravel(), np.zeros(h), W2.ravel(), np.zeros(c)])
