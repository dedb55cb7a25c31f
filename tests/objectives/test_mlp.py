"""The network objective, the matrix-free curvature probe and the update alignment.

Every derivative is checked against an independent computation written here: the loss
sample by sample with ``scipy.special.logsumexp``, gradients and Hessian columns by
central differences, Adam by its recurrence written out, eigenvalues by ``eigvalsh``.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp

from filippov import schemes
from filippov.geometry import curvature_probe
from filippov.objectives import Objective, mlp_classifier, mlp_init, rotated_quadratic

RNG = np.random.default_rng(17)
M, D, C, H = 40, 5, 3, 4
X_DATA = RNG.standard_normal((M, D))
Y_DATA = np.arange(M) % C
N = H * D + H + C * H + C  # 39


def _loss_by_hand(x: np.ndarray, lam: float = 0.0) -> float:
    """The mean cross-entropy, one sample at a time, from the packed parameters."""
    W1 = x[: H * D].reshape(H, D)
    b1 = x[H * D : H * D + H]
    W2 = x[H * D + H : H * D + H + C * H].reshape(C, H)
    b2 = x[H * D + H + C * H :]
    total = 0.0
    for a, label in zip(X_DATA, Y_DATA, strict=True):
        z = W2 @ np.tanh(W1 @ a + b1) + b2
        total += logsumexp(z) - z[label]
    return total / M + 0.5 * lam * float(x @ x)


@pytest.fixture(scope="module")
def point() -> np.ndarray:
    return mlp_init(D, C, hidden=H, seed=3) + 0.3 * np.random.default_rng(4).standard_normal(N)


@pytest.mark.parametrize("lam", [0.0, 0.05])
def test_loss_matches_a_sample_by_sample_computation(point, lam):
    obj = mlp_classifier(X_DATA, Y_DATA, hidden=H, weight_decay=lam)
    assert obj.n == N
    assert obj.f(point) == pytest.approx(_loss_by_hand(point, lam), rel=1e-13, abs=0.0)
    # zero parameters: every class has probability 1/C
    assert obj.f(np.zeros(N)) == pytest.approx(np.log(C), rel=1e-15)


@pytest.mark.parametrize("lam", [0.0, 0.05])
def test_gradient_against_central_differences(point, lam):
    obj = mlp_classifier(X_DATA, Y_DATA, hidden=H, weight_decay=lam)
    h = 1e-6
    fd = np.array(
        [(_loss_by_hand(point + h * e, lam) - _loss_by_hand(point - h * e, lam)) / (2 * h)
         for e in np.eye(N)]
    )  # fmt: skip
    g = obj.grad(point)
    np.testing.assert_allclose(g, fd, rtol=0, atol=1e-8 * np.abs(g).max() + 1e-10)
    assert obj.check_derivatives(point, n_directions=4).ok


@pytest.mark.parametrize("lam", [0.0, 0.05])
def test_hvp_and_dense_hessian_against_differences_of_the_gradient(point, lam):
    obj = mlp_classifier(X_DATA, Y_DATA, hidden=H, weight_decay=lam)
    h = 1e-5
    fd = np.column_stack(
        [(obj.grad(point + h * e) - obj.grad(point - h * e)) / (2 * h) for e in np.eye(N)]
    )
    Hd = obj.hess(point)
    scale = np.abs(Hd).max()
    np.testing.assert_allclose(Hd, fd, rtol=0, atol=1e-7 * scale)
    np.testing.assert_array_equal(Hd, Hd.T)
    assert abs(Hd - Hd.T).max() == 0.0
    v = np.random.default_rng(5).standard_normal(N)
    fd_v = (obj.grad(point + h * v) - obj.grad(point - h * v)) / (2 * h)
    np.testing.assert_allclose(obj.hvp(point, v), fd_v, rtol=0, atol=1e-7 * scale * np.abs(v).sum())
    np.testing.assert_allclose(obj.hvp(point, v), Hd @ v, rtol=0, atol=1e-12 * scale * N)
    # the Hessian is indefinite away from a minimum, and the weight decay shifts it by λ I
    if lam:
        plain = mlp_classifier(X_DATA, Y_DATA, hidden=H).hess(point)
        np.testing.assert_allclose(Hd - plain, lam * np.eye(N), atol=1e-13)


def test_dense_hessian_blocks_agree_past_one_block():
    """More parameters than one block of columns (64): the blocks are stitched right."""
    obj = mlp_classifier(X_DATA, Y_DATA, hidden=12)
    x = mlp_init(D, C, hidden=12, seed=1)
    assert obj.n > 64
    Hd = obj.hess(x)
    for j in (0, 63, 64, obj.n - 1):
        e = np.zeros(obj.n)
        e[j] = 1.0
        np.testing.assert_allclose(Hd[:, j], obj.hvp(x, e), rtol=0, atol=1e-15)


def test_hessian_rows_are_the_dense_hessians_rows_in_any_order(point):
    # (the continuation path's sliding blocks: len(rows) products, not the n of hess)
    obj = mlp_classifier(X_DATA, Y_DATA, hidden=H, weight_decay=0.05)
    dense = obj.hess(point)
    for rows in ([N - 1, 0, 7], list(range(N))[::-1], [5]):
        np.testing.assert_allclose(
            obj.hess_rows(point, rows), dense[rows], rtol=0, atol=1e-13 * np.abs(dense).max()
        )
    wide = mlp_classifier(X_DATA, Y_DATA, hidden=12)  # (more rows than one block of 64)
    x = mlp_init(D, C, hidden=12, seed=1)
    rows = np.random.default_rng(2).permutation(wide.n)[:70]
    np.testing.assert_allclose(wide.hess_rows(x, rows), wide.hess(x)[rows], rtol=0, atol=1e-14)


def _products_hessian(obj: Objective, x: np.ndarray) -> np.ndarray:
    """The Hessian column by column from Hessian-vector products (the R-operator)."""
    return np.column_stack([obj.hvp(x, e) for e in np.eye(obj.n)])


@settings(max_examples=60, deadline=None)
@given(
    m=st.integers(6, 40),
    d=st.integers(1, 6),
    c=st.integers(2, 5),
    h=st.integers(1, 7),
    lam=st.sampled_from([0.0, 1e-3, 0.1]),
    spread=st.sampled_from([0.3, 1.0, 8.0, 40.0]),
    seed=st.integers(0, 2**31 - 1),
)
def test_assembled_hessian_rows_equal_the_r_operator_entry_by_entry(m, d, c, h, lam, spread, seed):
    """The closed form of the Hessian against the R-operator's products, every entry to
    1e-9 of its own size: large weights saturate hidden units and make most samples
    well classified, where the curvature is as small as the other classes' probabilities
    (entries down to 1e-20 here) and a difference of large terms would lose it."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, d))
    y = rng.integers(0, c, m)
    y[:c] = np.arange(c)
    obj = mlp_classifier(X, y, hidden=h, weight_decay=lam)
    x = spread * mlp_init(d, c, hidden=h, seed=seed % 1000) + 0.3 * rng.standard_normal(obj.n)
    reference = _products_hessian(obj, x)
    model = obj._hess_rows.__self__
    rows = rng.permutation(obj.n)[: int(rng.integers(1, obj.n + 1))]
    tiny = 1e-300  # (entry by entry: the smallest entries are the ones at risk)
    np.testing.assert_allclose(
        model._assembled_rows(x, rows), reference[rows], rtol=1e-9, atol=tiny
    )
    # and the public callables, whichever way the cost model takes each
    np.testing.assert_allclose(obj.hess(x), reference, rtol=1e-9, atol=tiny)
    for k in (1, 3, obj.n):
        part = rows[:k]
        np.testing.assert_allclose(obj.hess_rows(x, part), reference[part], rtol=1e-9, atol=tiny)


def test_hessian_rows_take_both_routes_and_agree(point, monkeypatch):
    """`hess_rows` by products and by the closed form give the same rows (the cost
    model decides only which is faster)."""
    from filippov.objectives.mlp import MLPLoss

    obj = mlp_classifier(X_DATA, Y_DATA, hidden=H, weight_decay=0.05)
    rows = np.array([N - 1, 0, 7, 20, 21])
    routes = {}
    for pays in (False, True):
        monkeypatch.setattr(MLPLoss, "_assembly_pays", lambda self, k, pays=pays: pays)
        routes[pays] = obj.hess_rows(point, rows)
    scale = np.abs(routes[False]).max()
    np.testing.assert_allclose(routes[True], routes[False], rtol=0, atol=1e-14 * scale)
    assert not np.array_equal(routes[True], routes[False])  # (two computations, not one)


def test_labels_are_mapped_and_bad_data_refused():
    renamed = mlp_classifier(X_DATA, 10 * Y_DATA + 7, hidden=H)  # classes 7, 17, 27
    x = mlp_init(D, C, hidden=H, seed=0)
    assert renamed.f(x) == mlp_classifier(X_DATA, Y_DATA, hidden=H).f(x)
    with pytest.raises(ValueError, match="at least two classes"):
        mlp_classifier(X_DATA, np.zeros(M, dtype=int))
    with pytest.raises(ValueError, match="`y` must have shape"):
        mlp_classifier(X_DATA, Y_DATA[:-1])
    with pytest.raises(TypeError, match="integer class labels"):
        mlp_classifier(X_DATA, Y_DATA + 0.5)
    with pytest.raises(ValueError, match="`X` must be finite"):
        mlp_classifier(np.where(X_DATA > 2, np.nan, X_DATA), Y_DATA)
    with pytest.raises(ValueError, match="`hidden` must be an integer >= 1"):
        mlp_classifier(X_DATA, Y_DATA, hidden=0)
    with pytest.raises(ValueError, match="`weight_decay`"):
        mlp_classifier(X_DATA, Y_DATA, weight_decay=-1.0)
    with pytest.raises(ValueError, match="`n_classes` must be an integer >= 2"):
        mlp_init(D, 1)


def test_init_is_deterministic_and_glorot_bounded():
    a, b = mlp_init(D, C, hidden=H, seed=9), mlp_init(D, C, hidden=H, seed=9)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, mlp_init(D, C, hidden=H, seed=10))
    W1 = a[: H * D]
    assert np.abs(W1).max() <= np.sqrt(6 / (D + H))
    np.testing.assert_array_equal(a[H * D : H * D + H], 0.0)  # b1
    np.testing.assert_array_equal(a[-C:], 0.0)  # b2


def test_objective_pickles_to_the_same_function(point):
    obj = mlp_classifier(X_DATA, Y_DATA, hidden=H, weight_decay=0.01)
    obj.grad(point)  # fills the forward-pass cache, which must not travel
    copy = pickle.loads(pickle.dumps(obj))
    v = np.linspace(-1, 1, N)
    assert copy.f(point) == obj.f(point)
    np.testing.assert_array_equal(copy.grad(point), obj.grad(point))
    np.testing.assert_array_equal(copy.hvp(point, v), obj.hvp(point, v))


def test_forward_cache_does_not_serve_a_stale_point(point):
    obj = mlp_classifier(X_DATA, Y_DATA, hidden=H)
    moved = point.copy()
    g0 = obj.grad(moved)
    moved[0] += 0.5  # same array object, new values
    assert obj.f(moved) == pytest.approx(_loss_by_hand(moved), rel=1e-13, abs=0.0)
    assert not np.array_equal(obj.grad(moved), g0)


# ------------------------------------------------------------------- training runs


def test_adam_on_the_network_matches_the_written_out_recurrence():
    obj = mlp_classifier(X_DATA, Y_DATA, hidden=H)
    x0 = mlp_init(D, C, hidden=H, seed=2)
    eta, b1, b2, eps = 0.02, 0.9, 0.999, 1e-8
    traj = schemes.Adam(step=eta, beta1=b1, beta2=b2, eps=eps).run(obj, x0, n_steps=25)
    x, m, v = x0.copy(), np.zeros(N), np.zeros(N)
    for k in range(1, 26):
        g = obj.grad(x)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        x = x - eta * (m / (1 - b1**k)) / (np.sqrt(v / (1 - b2**k)) + eps)
        np.testing.assert_allclose(traj.x[k], x, rtol=1e-12, atol=1e-14)
    assert traj.f[-1] < traj.f[0]


def test_runs_are_deterministic():
    def once():
        obj = mlp_classifier(X_DATA, Y_DATA, hidden=H)
        x0 = mlp_init(D, C, hidden=H, seed=0)
        out = []
        for scheme in (schemes.Adam(step=0.01), schemes.Signum(step=0.01), schemes.GD(step=0.5)):
            traj = scheme.run(obj, x0, n_steps=20)
            out.append((traj.x, traj.f))
        return out

    for (xa, fa), (xb, fb) in zip(once(), once(), strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(fa, fb)


# ------------------------------------------------------------------- cosines


def test_cosine_similarity_known_values():
    cos = schemes.cosine_similarity
    assert float(cos([1.0, 0.0], [1.0, 1.0])) == pytest.approx(1 / np.sqrt(2), rel=1e-15)
    assert float(cos([3.0, 4.0], [-6.0, -8.0])) == pytest.approx(-1.0, rel=1e-15)
    assert float(cos([1.0, 0.0, 0.0], [0.0, 2.0, 0.0])) == 0.0
    # ‖u‖₁/(√n‖u‖₂) for u = (1, 2, 2): 5 / (√3 · 3)
    assert float(cos([1.0, 2.0, 2.0], [1.0, 1.0, 1.0])) == pytest.approx(5 / (3 * np.sqrt(3)))
    # scale invariant, no overflow or underflow
    big = cos([1e300, 2e300], [3e-300, 4e-300])
    assert float(big) == pytest.approx(11 / (np.sqrt(5) * 5), rel=1e-14)
    rows = cos([[1.0, 2.0], [0.0, 0.0]], [[2.0, 4.0], [1.0, 1.0]])
    assert rows[0] == pytest.approx(1.0) and np.isnan(rows[1])
    with pytest.raises(ValueError, match="same shape"):
        cos([1.0, 2.0], [1.0, 2.0, 3.0])


def test_update_alignment_known_cases():
    obj = mlp_classifier(X_DATA, Y_DATA, hidden=H)
    x0 = mlp_init(D, C, hidden=H, seed=0)
    # Adam with beta1 = beta2 = 0, eps = 0 is SignGD: its update is -sign(g_k) exactly
    sign = schemes.Adam(step=0.01, beta1=0.0, beta2=0.0, eps=0.0).run(obj, x0, n_steps=8)
    cos = schemes.update_alignment(sign, obj, beta=0.0)
    np.testing.assert_allclose(cos.gradient_sign, 1.0, rtol=1e-14)
    np.testing.assert_allclose(cos.momentum_sign, 1.0, rtol=1e-14)
    # Signum follows -sign(m_k) with its own beta; GD follows -g_k
    signum = schemes.Signum(step=0.01, beta=0.7).run(obj, x0, n_steps=8)
    np.testing.assert_allclose(
        schemes.update_alignment(signum, obj, beta=0.7).momentum_sign, 1.0, rtol=1e-14
    )
    gd = schemes.GD(step=0.1).run(obj, x0, n_steps=8)
    cos_gd = schemes.update_alignment(gd, obj, beta=0.9)
    np.testing.assert_allclose(cos_gd.gradient, 1.0, rtol=1e-14)
    # GD's cosine with sign(g) is ‖g‖₁/(√n' ‖g‖₂) over the n' nonzero coordinates
    g = obj.grad(x0)
    nz = np.count_nonzero(g)
    expected = np.abs(g).sum() / (np.sqrt(nz) * np.linalg.norm(g))
    assert cos_gd.gradient_sign[0] == pytest.approx(expected, rel=1e-13, abs=0.0)
    assert cos_gd.k.tolist() == list(range(8))


def test_update_alignment_momentum_is_the_written_out_filter():
    obj = mlp_classifier(X_DATA, Y_DATA, hidden=H)
    traj = schemes.Adam(step=0.01).run(obj, mlp_init(D, C, hidden=H, seed=0), n_steps=6)
    cos = schemes.update_alignment(traj, obj, beta=0.9)
    m = np.zeros(N)
    for k in range(6):
        m = 0.9 * m + 0.1 * obj.grad(traj.x[k])
        step = traj.x[k + 1] - traj.x[k]
        want = -step @ np.sign(m) / (np.linalg.norm(step) * np.linalg.norm(np.sign(m)))
        assert cos.momentum_sign[k] == pytest.approx(want, rel=1e-12, abs=0.0)


def test_update_alignment_refuses_what_it_cannot_use():
    obj = mlp_classifier(X_DATA, Y_DATA, hidden=H)
    x0 = mlp_init(D, C, hidden=H, seed=0)
    sparse = schemes.GD(step=0.1).run(obj, x0, n_steps=6, save_every=2)
    with pytest.raises(ValueError, match="save_every=1"):
        schemes.update_alignment(sparse, obj)
    run = schemes.GD(step=0.1).run(obj, x0, n_steps=2)
    with pytest.raises(ValueError, match=r"`beta` must lie in \[0, 1\)"):
        schemes.update_alignment(run, obj, beta=1.0)
    with pytest.raises(TypeError, match="DiscreteTrajectory"):
        schemes.update_alignment(run.x, obj)


# ------------------------------------------------------------------- curvature probe


def test_curvature_probe_against_dense_eigenvalues():
    lam = np.array([0.5, 1.0, 2.0, 3.0, 5.0, 40.0])
    obj = rotated_quadratic(lam, rotation=1.0, seed=3)
    Hq = obj.quadratic_data[0]
    probe = curvature_probe(obj, np.zeros(6), n_probes=400, seed=1)
    assert probe.lambda_max == pytest.approx(40.0, rel=1e-8)
    assert probe.lambda_min == pytest.approx(0.5, rel=1e-8)
    # Hutchinson: unbiased with a standard error; 400 probes put it within 4 of them
    assert abs(probe.trace - lam.sum()) < 4 * probe.trace_stderr
    assert probe.trace_stderr < 0.2 * lam.sum()
    assert np.abs(probe.diagonal - np.diag(Hq)).max() < 0.3 * np.abs(Hq).max()
    assert probe.lambda_avg == pytest.approx(probe.trace / 6)
    assert probe.n_hvp >= 400


def test_curvature_probe_on_the_network_matches_the_dense_hessian(point):
    obj = mlp_classifier(X_DATA, Y_DATA, hidden=H)
    eig = np.linalg.eigvalsh(obj.hess(point))
    probe = curvature_probe(obj, point, n_probes=8, seed=0, tol=1e-10)
    assert probe.lambda_max == pytest.approx(eig[-1], rel=1e-8)
    assert probe.lambda_min == pytest.approx(eig[0], rel=1e-8)
    assert eig[0] < 0  # a network's Hessian is indefinite away from a minimum


def test_curvature_probe_is_deterministic_and_checks_arguments(point):
    obj = mlp_classifier(X_DATA, Y_DATA, hidden=H)
    a = curvature_probe(obj, point, n_probes=5, seed=2)
    b = curvature_probe(obj, point, n_probes=5, seed=2)
    assert (a.lambda_max, a.trace) == (b.lambda_max, b.trace)
    with pytest.raises(ValueError, match="`n_probes` must be an integer >= 2"):
        curvature_probe(obj, point, n_probes=1)
    with pytest.raises(TypeError, match="must be an Objective"):
        curvature_probe(lambda x: x, point)
    small = Objective.quadratic([[2.0, 1.0], [1.0, 3.0]])
    tiny = curvature_probe(small, [0.0, 0.0], n_probes=3)
    np.testing.assert_allclose(
        [tiny.lambda_min, tiny.lambda_max], np.linalg.eigvalsh([[2.0, 1.0], [1.0, 3.0]])
    )


@pytest.mark.parametrize("w", [10.0, 18.0, 20.0])
def test_a_saturated_units_gradient_keeps_its_digits(w: float) -> None:
    # (stranger review) tanh' as 1 − tanh² cancels for |z| ≳ 18: a gradient entry of
    # 3.6e-18 came out 0, which a sign flow reads as at rest. Reference: the closed form
    # with sech² = 4a/(1 + a)², a = e^{-2|z|}, for one sample, one hidden unit, 2 classes.
    # (a second sample with input 0 makes the second class; it adds nothing to ∂f/∂W1)
    X = np.array([[1.0], [0.0]])
    obj = mlp_classifier(X, np.array([0, 1]), hidden=1, weight_decay=0.0)
    # x = (W1, b1, W2 (2×1), b2 (2)): sample 1 has z = w, a = tanh w, logits (a, −a)
    x = np.array([w, 0.0, 1.0, -1.0, 0.0, 0.0])
    a = np.tanh(w)
    p0 = 1.0 / (1.0 + np.exp(-2.0 * a))  # its softmax for class 0
    e = np.exp(-2.0 * w)
    sech2 = 4.0 * e / (1.0 + e) ** 2
    d_a = (p0 - 1.0) * 1.0 + (1.0 - p0) * (-1.0)  # ∂loss/∂a = (P − Y)·W2
    expected = 0.5 * d_a * sech2  # (the mean over the 2 samples)
    assert obj.grad(x)[0] == pytest.approx(expected, rel=1e-12, abs=0.0)
    assert obj.grad(x)[0] != 0.0


@pytest.mark.parametrize("margin", [30.0, 37.0, 45.0])
def test_a_well_classified_samples_loss_and_gradient_keep_their_digits(margin: float) -> None:
    # (stranger review R18) log S and P_y − 1 of a sample classified with a large margin
    # cancel to the rounding of 1: at margin 37 the loss e^{-37} = 8.5e-17 and the
    # gradient entries ±8.5e-17 came out 0 (a sign flow reads that as at rest), at
    # margin 30 they were off by 1e-3. Closed form: inputs ±1, one saturated hidden unit
    # (tanh 20 = 1 in double), logits (s, −s) for sample 0 (label 0) and (−s, s) for
    # sample 1 (label 1), s = margin / 2: both samples lose log1p(e^{-margin}), and
    # ∂f/∂W2 = (−δ, δ) with δ = e^{-margin} / (1 + e^{-margin}).
    obj = mlp_classifier(np.array([[1.0], [-1.0]]), np.array([0, 1]), hidden=1)
    s = 0.5 * margin
    x = np.array([20.0, 0.0, s, -s, 0.0, 0.0])  # (W1, b1, W2 (2×1), b2 (2))
    e = np.exp(-margin)
    delta = e / (1.0 + e)
    assert obj.f(x) == pytest.approx(np.log1p(e), rel=1e-13, abs=0.0)
    g = obj.grad(x)
    assert g[2] == pytest.approx(-delta, rel=1e-13, abs=0.0)
    assert g[3] == pytest.approx(delta, rel=1e-13, abs=0.0)
    assert g[4:] == pytest.approx([0.0, 0.0], abs=1e-30)  # (the two samples' terms cancel)
    # Along v = (1, −1) in W2, f(t) = log1p(e^{-(margin + 2t)}) for both samples, so
    # vᵀHv = 4δ(1 − δ), split evenly over the two W2 entries (old: half of it, or less,
    # from the softmax Jacobian's own cancellation).
    v = np.array([0.0, 0.0, 1.0, -1.0, 0.0, 0.0])
    Hv = obj.hvp(x, v)
    curv = 2.0 * delta * (1.0 - delta)
    assert Hv[2] == pytest.approx(curv, rel=1e-12, abs=0.0)
    assert Hv[3] == pytest.approx(-curv, rel=1e-12, abs=0.0)


def test_assembled_rows_across_sample_chunks(monkeypatch):
    """Samples taken in several chunks (shrunk here: 20 samples each, the last one
    shorter) give the rows of one pass and the R-operator's."""
    import filippov.objectives.mlp as mlp_module

    rng = np.random.default_rng(3)
    m, d, c, h = 70, 6, 4, 3
    X = rng.standard_normal((m, d))
    y = rng.integers(0, c, m)
    y[:c] = np.arange(c)
    obj = mlp_classifier(X, y, hidden=h, weight_decay=1e-3)
    model = obj._hess_rows.__self__
    x = 2.0 * mlp_init(d, c, hidden=h, seed=3)
    rows = rng.permutation(obj.n)[:25]
    whole = model._assembled_rows(x, rows)
    monkeypatch.setattr(mlp_module, "_JACOBIAN_CHUNK", 20 * c * obj.n)
    chunked = model._assembled_rows(x, rows)
    E = np.zeros((obj.n, rows.size))
    E[rows, np.arange(rows.size)] = 1.0
    reference = model.hvp_block(x, E).T
    scale = np.abs(reference).max()
    np.testing.assert_allclose(chunked, reference, rtol=0, atol=1e-14 * scale)
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-15 * scale)
