"""The softmax family of engine.attention.normalizers against independent references."""

from __future__ import annotations

import itertools
import math

import entmax as entmax_reference
import numpy as np
import pytest
import torch
from torch.autograd import gradcheck

from engine.attention.normalizers import (
    DETERMINISTIC_KINDS,
    GumbelSampler,
    KINDS,
    entmax,
    entmax15,
    entropy,
    gumbel_max_samples,
    gumbel_softmax,
    hard_topk,
    normalize,
    normalize_all,
    normalize_numpy,
    smooth_topk,
    sparsemax,
    support_size,
    taylor_softmax,
)


@pytest.fixture
def scores() -> torch.Tensor:
    generator = torch.Generator().manual_seed(1234)
    return 2 * torch.randn(4, 3, 9, generator=generator, dtype=torch.float64)


def test_sparsemax_matches_entmax_package_both_methods(scores):
    expected = entmax_reference.sparsemax(scores, dim=-1)
    torch.testing.assert_close(sparsemax(scores), expected, atol=1e-12, rtol=0)
    torch.testing.assert_close(sparsemax(scores, method="bisect"), expected, atol=1e-10, rtol=0)
    assert (sparsemax(scores) == 0).any(), "sparsemax of spread-out scores should have zeros"


def test_entmax15_sort_and_bisection_agree_with_package(scores):
    expected = entmax_reference.entmax15(scores, dim=-1)
    torch.testing.assert_close(entmax15(scores), expected, atol=1e-12, rtol=0)
    torch.testing.assert_close(entmax15(scores, method="bisect"), expected, atol=1e-10, rtol=0)
    torch.testing.assert_close(normalize(scores, "entmax", alpha=1.5), expected, atol=1e-12, rtol=0)


@pytest.mark.parametrize("alpha", [1.1, 1.33, 1.75, 2.5, 4.0])
def test_entmax_bisection_matches_package(scores, alpha):
    expected = entmax_reference.entmax_bisect(scores, alpha=alpha, dim=-1, n_iter=100)
    torch.testing.assert_close(entmax(scores, alpha), expected, atol=1e-9, rtol=0)


def test_sparsemax_is_the_euclidean_projection_onto_the_simplex():
    # brute force: for every candidate support, the projection restricted to it; the true
    # projection is the closest feasible point among those that are valid (nonnegative).
    z = torch.tensor([0.3, -1.2, 0.9, 0.85, 2.0, -0.1], dtype=torch.float64)
    best, best_distance = None, math.inf
    n = len(z)
    for size in range(1, n + 1):
        for support in itertools.combinations(range(n), size):
            idx = list(support)
            lam = (z[idx].sum() - 1) / size
            p = torch.zeros(n, dtype=torch.float64)
            p[idx] = z[idx] - lam
            if (p >= 0).all():
                distance = float(((p - z) ** 2).sum())
                if distance < best_distance:
                    best, best_distance = p, distance
    torch.testing.assert_close(sparsemax(z), best, atol=1e-12, rtol=0)


@pytest.mark.parametrize("kind", DETERMINISTIC_KINDS)
def test_outputs_are_distributions_or_sum_to_k(scores, kind):
    out = normalize(scores, kind, tau=0.8, alpha=1.7, k=3)
    assert out.shape == scores.shape
    assert (out >= 0).all()
    target = 3.0 if kind == "smooth_topk" else 1.0
    torch.testing.assert_close(out.sum(-1), torch.full(scores.shape[:-1], target, dtype=torch.float64))
    if kind == "smooth_topk":
        assert (out <= 1).all()


@pytest.mark.parametrize("kind", DETERMINISTIC_KINDS)
def test_gradcheck_float64(kind):
    generator = torch.Generator().manual_seed(7)
    x = torch.randn(2, 6, generator=generator, dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda t: normalize(t, kind, tau=0.7, alpha=1.6, k=2.5 if kind == "smooth_topk" else 3),
                     (x,), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("alpha", [1.5, 2.0, 1.25, 3.0])
def test_gradcheck_entmax_alphas_and_methods(alpha):
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(3, 5, generator=generator, dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda t: entmax(t, alpha), (x,), eps=1e-6, atol=1e-5)
    assert gradcheck(lambda t: entmax(t, alpha, method="bisect"), (x,), eps=1e-6, atol=1e-5)


def test_gumbel_softmax_gradcheck_with_fixed_noise():
    x = torch.randn(2, 5, dtype=torch.float64, requires_grad=True)
    fn = lambda t: gumbel_softmax(t, tau=0.5, generator=torch.Generator().manual_seed(0))  # noqa: E731
    assert gradcheck(fn, (x,), eps=1e-6, atol=1e-5)


def test_entmax_alpha_to_one_is_softmax(scores):
    softmax = torch.softmax(scores, dim=-1)
    assert torch.equal(entmax(scores, 1.0), softmax)
    errors = [float((entmax(scores, 1 + eps) - softmax).abs().max()) for eps in (1e-1, 1e-2, 1e-3)]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 2e-3


def test_low_temperature_gives_argmax(scores):
    one_hot = hard_topk(scores, 1)
    for kind in ("softmax", "sparsemax", "entmax", "sparse_softmax"):
        torch.testing.assert_close(normalize(scores, kind, tau=1e-3, k=3), one_hot, atol=1e-6, rtol=0)


def test_smooth_topk_tends_to_hard_topk_as_tau_goes_to_zero(scores):
    for k in (1, 2, 5):
        # brute force Top-k indicator by sorting each row in Python
        expected = torch.zeros_like(scores)
        for index in itertools.product(*(range(s) for s in scores.shape[:-1])):
            row = scores[index].tolist()
            for j in sorted(range(len(row)), key=lambda j: -row[j])[:k]:
                expected[index + (j,)] = 1.0
        distance = [float((normalize(scores, "smooth_topk", k=k, tau=tau) - expected).abs().mean())
                    for tau in (1.0, 0.1, 1e-5)]
        assert distance[0] > distance[1] > distance[2]
        assert distance[0] > 0.05  # genuinely smooth at tau = 1
        # the closest scores differ by ~2e-3, so tau = 1e-5 must already be exact
        assert float((normalize(scores, "smooth_topk", k=k, tau=1e-5) - expected).abs().max()) < 1e-9


def test_smooth_topk_keeps_order_and_handles_fractional_and_edge_k():
    x = torch.tensor([3.0, 2.0, 1.0, 4.0], dtype=torch.float64)
    y = smooth_topk(x, 2)
    assert torch.equal(torch.argsort(y), torch.argsort(x))
    assert float(y.sum()) == pytest.approx(2.0, abs=1e-12)
    assert float(smooth_topk(x, 1.5).sum()) == pytest.approx(1.5, abs=1e-12)
    assert torch.equal(smooth_topk(x, 0), torch.zeros(4, dtype=torch.float64))
    assert torch.equal(smooth_topk(x, 4), torch.ones(4, dtype=torch.float64))
    with pytest.raises(ValueError):
        smooth_topk(x, 5)


def test_sparse_softmax_matches_brute_force():
    x = torch.tensor([[0.5, -1.0, 2.0, 1.5, 0.0], [1.0, 3.0, -2.0, 0.2, 0.1]], dtype=torch.float64)
    for k in range(1, 6):
        out = normalize(x, "sparse_softmax", k=k)
        for row, probabilities in zip(x.tolist(), out.tolist()):
            kept = sorted(range(len(row)), key=lambda j: -row[j])[:k]
            total = sum(math.exp(row[j]) for j in kept)
            expected = [math.exp(row[j]) / total if j in kept else 0.0 for j in range(len(row))]
            assert probabilities == pytest.approx(expected, abs=1e-14)


def test_taylor_softmax_formula_and_positivity():
    x = torch.tensor([-3.0, -1.0, 0.0, 2.0], dtype=torch.float64)
    f = 1 + x + x ** 2 / 2
    torch.testing.assert_close(taylor_softmax(x), f / f.sum())
    f4 = 1 + x + x ** 2 / 2 + x ** 3 / 6 + x ** 4 / 24
    torch.testing.assert_close(normalize(x, "taylor_softmax", order=4), f4 / f4.sum())
    assert (taylor_softmax(torch.linspace(-50, 50, 101)) > 0).all()
    with pytest.raises(ValueError):
        taylor_softmax(x, order=3)


def test_gumbel_max_frequencies_converge_to_softmax():
    x = torch.tensor([1.0, 0.0, -1.0, 2.0, 0.5], dtype=torch.float64)
    p = torch.softmax(x, -1)
    samples = 40000
    draws = gumbel_max_samples(x, samples, generator=torch.Generator().manual_seed(2024))
    frequencies = torch.bincount(draws, minlength=5).double() / samples
    standard_error = torch.sqrt(p * (1 - p) / samples)
    assert ((frequencies - p).abs() <= 4 * standard_error).all(), (frequencies, p)
    # a single draw is far from p, so the check above can fail for a wrong sampler
    few = torch.bincount(gumbel_max_samples(x, 10, generator=torch.Generator().manual_seed(1)), minlength=5)
    assert few.sum() == 10


def test_gumbel_softmax_hard_is_one_hot_and_seeded():
    x = torch.randn(3, 6, dtype=torch.float64)
    a = gumbel_softmax(x, 0.5, generator=torch.Generator().manual_seed(5))
    b = gumbel_softmax(x, 0.5, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    hard = gumbel_softmax(x, 0.5, generator=torch.Generator().manual_seed(5), hard=True)
    assert torch.equal(hard.sum(-1), torch.ones(3, dtype=torch.float64))
    assert set(hard.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(hard.argmax(-1), a.argmax(-1))


def test_entropy_and_support_size_helpers():
    uniform = torch.full((8,), 1 / 8, dtype=torch.float64)
    assert float(entropy(uniform)) == pytest.approx(math.log(8))
    assert float(entropy(torch.tensor([0.0, 1.0, 0.0]))) == 0.0
    assert entropy(np.array([0.5, 0.5, 0.0])) == pytest.approx(math.log(2))
    assert entropy(np.array([2.0, 2.0])) == pytest.approx(math.log(2))  # divided by the sum (top-k)
    assert int(support_size(sparsemax(torch.tensor([3.0, 0.0, 2.9])))) == 2
    assert int(support_size(np.array([0.2, 0.0, 0.8]))) == 2


def test_numpy_wrapper_and_errors():
    out = normalize_numpy([1.0, -2.0, 0.5], "sparsemax")
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    assert out.tolist() == pytest.approx([0.75, 0.0, 0.25])
    with pytest.raises(ValueError):
        normalize(torch.ones(3), "nonsense")
    with pytest.raises(ValueError):
        normalize(torch.ones(3), "softmax", tau=0)
    assert set(DETERMINISTIC_KINDS) < set(KINDS)


def test_normalize_all_and_gumbel_sampler_for_the_explorer():
    scores = [2.0, 1.0, -0.5, 0.0]
    out = normalize_all(scores, tau=0.5, alpha=1.5, k=2.4)
    assert set(out) == {"softmax", "sparse_softmax", "sparsemax", "entmax", "smooth_topk", "taylor_softmax"}
    np.testing.assert_allclose(out["softmax"], normalize_numpy(scores, "softmax", tau=0.5))
    assert int(support_size(out["sparse_softmax"])) == 2  # k rounded for sparse softmax
    assert out["smooth_topk"].sum() == pytest.approx(2.4)
    sampler = GumbelSampler(scores, tau=0.5, seed=3)
    sampler.draw(200)
    early = sampler.total_variation()
    sampler.draw(50000)
    assert sampler.total == 50200
    np.testing.assert_allclose(sampler.target, out["softmax"])
    assert sampler.total_variation() < min(early, 0.01)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402

score_vectors = arrays(np.float64, st.integers(2, 12), elements=st.floats(-20, 20, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(score_vectors, st.floats(0.1, 5.0), st.floats(1.0, 3.0))
def test_every_normaliser_is_a_distribution_and_keeps_the_order(scores, tau, alpha):
    x = torch.as_tensor(scores)
    for kind in ("softmax", "sparse_softmax", "sparsemax", "entmax", "smooth_topk"):
        k = 2 if kind in ("sparse_softmax", "smooth_topk") else 1
        p = normalize(x, kind, tau=tau, alpha=alpha, k=k)
        assert torch.isfinite(p).all() and (p >= 0).all()
        assert float(p.sum()) == pytest.approx(2.0 if kind == "smooth_topk" else 1.0, abs=1e-9)
        larger = x[:, None] > x[None, :]  # ties may be broken either way (sparse softmax keeps one)
        assert (p[:, None] >= p[None, :] - 1e-12)[larger].all(), kind  # a larger score never gets less
    q = entmax_reference.entmax_bisect(x, alpha=alpha, dim=-1, n_iter=100) if alpha > 1 else torch.softmax(x, -1)
    torch.testing.assert_close(entmax(x, alpha), q, atol=1e-8, rtol=0)


def test_taylor_softmax_is_not_monotone_for_negative_scores():
    # 1 + x + x^2/2 is smallest at x = -1: a score of -3 gets more mass than -1
    p = taylor_softmax(torch.tensor([-3.0, -1.0, 0.0], dtype=torch.float64))
    assert p[0] > p[1]


@pytest.mark.parametrize("order", [22, 50])
def test_high_order_taylor_softmax_approaches_softmax(order):
    """Orders past 20 have m! beyond int64 (found by the hostile property test as an OverflowError)."""
    from engine.attention.normalizers import normalize

    scores = torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64)
    got = normalize(scores, "taylor_softmax", order=order)
    torch.testing.assert_close(got, torch.softmax(scores, -1), atol=1e-9, rtol=0)
