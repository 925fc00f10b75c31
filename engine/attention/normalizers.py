"""Ways to turn a score vector into a probability distribution (the softmax family).

Everything works over the last dimension of a torch tensor of any batch shape
``(..., n)`` and returns a tensor of the same shape.  One functional entry point,
:func:`normalize`, dispatches on ``kind``; every kind first divides the scores by a
temperature ``tau`` (``f(s / tau)``), so one slider drives them all.

The members, their formulas and where they come from:

* ``softmax``: ``p_i = exp(s_i) / sum_j exp(s_j)``.
* ``sparse_softmax``: softmax over the ``k`` largest scores, zero elsewhere
  (Su Jianlin's "Sparse Softmax", reviewed in the seed post
  "通向概率分布之路：盘点Softmax及其替代品").
* ``sparsemax``: Euclidean projection onto the simplex,
  ``p = argmin_{p in simplex} ||p - s||^2 = [s - lambda]_+`` (Martins & Astudillo 2016).
* ``entmax``: alpha-entmax, ``p_i = [(alpha - 1) s_i - lambda]_+^(1/(alpha-1))`` with
  ``lambda`` making ``sum p = 1`` (Peters, Niculae & Martins 2019); ``alpha = 1`` is
  softmax, ``alpha = 2`` sparsemax.  Exact sort-based algorithms for alpha 1.5 and 2,
  bisection on ``lambda`` for any other alpha.
* ``smooth_topk``: the smooth Top-k of the seed post "Softmax后传：寻找Top-K的光滑近似":
  ``p_i = sigmoid(s_i - lambda(s))`` where ``lambda(s)`` solves
  ``sum_i sigmoid(s_i - lambda) = k``; entries lie in [0, 1], sum to ``k`` and tend to
  the 0/1 Top-k indicator as ``tau -> 0``.  ``lambda`` is found by bisection; the
  gradient comes from implicit differentiation of the constraint.
* ``taylor_softmax``: ``p_i ∝ sum_{m=0}^{order} s_i^m / m!`` for an even ``order`` (the
  truncated exponential is then positive everywhere) (de Brébisson & Vincent 2016,
  also reviewed in "通向概率分布之路").
* ``gumbel_softmax``: ``softmax((s + g) / tau)`` with i.i.d. Gumbel noise ``g``; its
  hard limit is Gumbel-max, ``argmax(s + g)``, an exact sample from ``softmax(s)``
  ("perturb and max"; Gumbel 1954, Maddison et al. 2014, Jang et al. 2017).

Helpers: :func:`entropy`, :func:`support_size`, :func:`hard_topk`,
:func:`gumbel_max_samples`, and :func:`normalize_numpy` for numpy callers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from engine.errors import InputError

KINDS = ("softmax", "sparse_softmax", "sparsemax", "entmax", "smooth_topk", "taylor_softmax", "gumbel_softmax")
# The kinds whose output is a deterministic function of the scores (the CLI offers these).
DETERMINISTIC_KINDS = KINDS[:-1]

_BISECTION_STEPS = 60  # halves the bracket 60 times: ~1e-18 of its width, below float64 eps


# ----------------------------------------------------------------------------
# entry points
# ----------------------------------------------------------------------------
MAX_ALPHA = 100.0
MAX_ORDER = 50
# the kinds with f(s + c) = f(s): scores are shifted by their row maximum first, so huge
# finite scores (1e308) neither overflow nor lose their order
_SHIFT_INVARIANT = ("softmax", "sparse_softmax", "sparsemax", "entmax", "smooth_topk", "gumbel_softmax")


def check_parameters(kind: str, n: int | None = None, *, tau: float = 1.0, alpha: float = 1.5, k: float = 2,
                     order: int = 2) -> None:
    """Refuse (InputError, one clear line) a parameter the normaliser ``kind`` cannot use."""
    if kind not in KINDS:
        raise InputError(f"unknown normaliser kind {kind!r}; choose one of {', '.join(KINDS)}")
    if not (math.isfinite(tau) and tau > 0):
        raise InputError(f"the temperature tau must be a finite number > 0, got {tau}")
    if kind == "entmax" and not (math.isfinite(alpha) and 1 <= alpha <= MAX_ALPHA):
        raise InputError(f"entmax needs 1 <= alpha <= {MAX_ALPHA:g}, got {alpha}")
    if kind in ("sparse_softmax", "smooth_topk") and not math.isfinite(k):
        raise InputError(f"k must be a finite number, got {k}")
    if kind == "sparse_softmax" and (k != int(k) or k < 1):
        raise InputError(f"sparse softmax needs a whole number k >= 1, got {k:g}")
    if kind == "smooth_topk" and n is not None and not 0 <= k <= n:
        raise InputError(f"smooth top-k needs 0 <= k <= n = {n}, got {k:g}")
    if kind == "taylor_softmax" and (order != int(order) or order < 2 or order % 2 or order > MAX_ORDER):
        raise InputError(f"Taylor softmax needs an even order in 2..{MAX_ORDER}, got {order}")


def normalize(scores: torch.Tensor, kind: str = "softmax", *, tau: float = 1.0, alpha: float = 1.5,
              k: float = 2, order: int = 2, generator: torch.Generator | None = None,
              hard: bool = False) -> torch.Tensor:
    """Normalise ``scores`` (..., n) over the last dim with the normaliser ``kind``.

    ``tau`` (finite, > 0) divides the scores first; ``alpha`` is used by ``entmax``; ``k`` by
    ``sparse_softmax`` (an integer) and ``smooth_topk`` (any real in [0, n]); ``order``
    by ``taylor_softmax``; ``generator`` and ``hard`` by ``gumbel_softmax``.
    Returns a tensor of shape (..., n): rows sum to 1, or to ``k`` for ``smooth_topk``.

    Non-finite and huge scores, the same rule for every kind: NaN is refused
    (:class:`InputError`); ``+inf`` entries share the row's mass equally (``k`` for smooth
    top-k: 1 each while there are fewer than k of them, the rest going to the finite
    entries); ``-inf`` entries get 0 (a masked position), and a row of only ``-inf`` is
    refused; the shift-invariant kinds subtract the row maximum first and Taylor softmax
    rescales by it, so finite scores up to ±1.8e308 and any tau > 0 give finite results
    (the limits: ``tau -> 0`` is the argmax, huge gaps give exact zeros).
    """
    if not torch.is_tensor(scores):
        scores = torch.as_tensor(scores, dtype=torch.get_default_dtype())
    if not scores.is_floating_point():
        scores = scores.to(torch.get_default_dtype())
    if scores.dim() == 0 or scores.shape[-1] == 0:
        raise InputError("scores need a non-empty last dimension")
    n = scores.shape[-1]
    check_parameters(kind, n, tau=tau, alpha=alpha, k=k, order=order)
    if torch.isnan(scores).any():
        raise InputError("the scores contain NaN (not a number); give finite numbers or ±inf")
    if kind == "smooth_topk" and (k == 0 or (k == n and not (scores == -math.inf).any())):
        return torch.full_like(scores, 1.0 if k else 0.0)  # everything or nothing is in the top k
    finite = torch.isfinite(scores)
    if kind in _SHIFT_INVARIANT:
        top = torch.where(finite, scores, torch.full_like(scores, -math.inf)).amax(dim=-1, keepdim=True)
        top = torch.where(torch.isfinite(top), top, torch.zeros_like(top)).detach()
        z = scores - top  # finite entries now <= 0; a gap beyond the float range becomes -inf
        if kind != "gumbel_softmax":
            z = z / tau
    else:
        z = scores
    effective = kind
    if kind == "sparse_softmax" and int(k) < n:
        # the kept set is chosen on the raw scores: the shift may round distinct scores into ties
        keep = hard_topk(scores.detach(), int(k)).bool() | (scores == math.inf)  # every +inf shares the mass
        z = z.masked_fill(~keep, -math.inf)
        effective = "softmax"
    # rows the vectorised kinds cannot take: +inf anywhere, nothing above -inf, or -inf for the
    # two kinds whose arithmetic -inf breaks (softmax, sparsemax/entmax and gumbel give it 0 natively)
    special = (z == math.inf).any(dim=-1) | (z == -math.inf).all(dim=-1)
    if kind in ("smooth_topk", "taylor_softmax"):
        special = special | (z == -math.inf).any(dim=-1)
    params = dict(tau=tau, alpha=alpha, k=k, order=order, generator=generator, hard=hard)
    if not special.any():
        return _normalize_finite(z, effective, **params)
    flat, raw = z.reshape(-1, n), scores.reshape(-1, n)
    rows = special.reshape(-1)
    out = torch.zeros_like(flat)
    if (~rows).any():
        out[~rows] = _normalize_finite(flat[~rows], effective, **params)
    for r in torch.nonzero(rows).flatten().tolist():
        overflowed = torch.isinf(flat[r]) & torch.isfinite(raw[r])
        if kind == "smooth_topk" and overflowed.any():
            out[r] = _topk_limit(raw[r], float(k))  # scores / tau beyond the float range: the tau -> 0 limit
        else:
            out[r] = _normalize_non_finite(flat[r], kind, **params)
    return out.reshape(scores.shape)


def _topk_limit(row: torch.Tensor, k: float) -> torch.Tensor:
    """The tau -> 0 limit of smooth top-k: 1 for the floor(k) largest, the fraction k - floor(k)
    for the next, 0 elsewhere (+inf entries share k when there are at least k of them)."""
    out = torch.zeros_like(row)
    pos = row == math.inf
    m = int(pos.sum())
    if m >= k:
        out[pos] = k / m
        return out
    alive = int((row > -math.inf).sum())
    if alive < math.ceil(k):
        raise InputError(f"smooth top-k with k = {k:g} needs at least {math.ceil(k)} scores above -inf, got {alive}")
    order = torch.argsort(row.detach(), descending=True, stable=True)
    whole = int(math.floor(k))
    out[order[:whole]] = 1.0
    if k > whole:
        out[order[whole]] = k - whole
    return out


def _normalize_finite(z: torch.Tensor, kind: str, *, tau, alpha, k, order, generator, hard) -> torch.Tensor:
    """The kinds on finite, already shifted (and, but for gumbel/taylor, tau-divided) scores."""
    if kind == "softmax":
        return torch.softmax(z, dim=-1)
    if kind == "sparse_softmax":
        return sparse_softmax(z, int(k))
    if kind == "sparsemax":
        return sparsemax(_floor_outside_support(z, 2.0))
    if kind == "entmax":
        return entmax(_floor_outside_support(z, float(alpha)), alpha)
    if kind == "smooth_topk":
        return smooth_topk(_compress_gaps(z), k)
    if kind == "taylor_softmax":
        return _taylor_scaled(z, tau, int(order))
    if kind == "gumbel_softmax":
        return gumbel_softmax(z, tau=tau, generator=generator, hard=hard)
    raise AssertionError(kind)


def _compress_gaps(z: torch.Tensor, gap: float = 1e4) -> torch.Tensor:
    """Shrink every gap between neighbouring sorted scores to at most ``gap``.

    sigmoid saturates in float64 beyond |x| ~ 40, so across a wider gap the entries on the far
    side of lambda are exactly 0 or 1 either way; shrinking it keeps every output and keeps
    lambda's bisection bracket (and its float resolution) small for scores near ±1e308.
    """
    if z.shape[-1] < 2 or float((z.amax(dim=-1) - z.amin(dim=-1)).max().detach()) <= gap:
        return z
    values, order = torch.sort(z, dim=-1)
    steps = torch.diff(values, dim=-1).clamp(max=gap)
    rebuilt = torch.cat([torch.zeros_like(values[..., :1]), steps.cumsum(dim=-1)], dim=-1)
    rebuilt = rebuilt - rebuilt[..., -1:] + values[..., -1:]
    return torch.empty_like(z).scatter(-1, order, rebuilt)


def _floor_outside_support(z: torch.Tensor, alpha: float) -> torch.Tensor:
    """Raise scores far below the row maximum (0 after the shift) to -2/(alpha - 1).

    alpha-entmax gives exactly 0 to every score below max - 1/(alpha - 1) (its threshold is
    at least that), so flooring them there changes nothing but keeps sums and squares of
    huge scores from overflowing.
    """
    if alpha <= 1.0:
        return z
    return torch.clamp(z, min=-2.0 / (alpha - 1.0))


def _normalize_non_finite(row: torch.Tensor, kind: str, **params) -> torch.Tensor:
    """One row (n,) holding ±inf: +inf share the mass, -inf get 0, the finite rest as usual."""
    n = row.shape[0]
    out = torch.zeros_like(row)
    pos, neg = row == math.inf, row == -math.inf
    rest = ~(pos | neg)
    mass = float(params["k"]) if kind == "smooth_topk" else 1.0
    m = int(pos.sum())
    if kind == "smooth_topk" and mass == 0:
        return out
    if m:
        if kind != "smooth_topk" or m >= mass:
            out[pos] = mass / m
            return out
        out[pos] = 1.0
        mass -= m
    if not rest.any():
        raise InputError("every score is -inf: nothing is left to give probability to")
    if kind == "smooth_topk":
        if mass > int(rest.sum()):
            raise InputError(f"smooth top-k with k = {params['k']:g} needs at least {math.ceil(params['k'])} "
                             f"scores above -inf, got {int(rest.sum()) + m} of {n}")
        params = {**params, "k": mass}
    sub = row[rest]
    if kind in _SHIFT_INVARIANT:
        sub = sub - sub.max().detach()  # the finite part's own maximum (the row's was +inf/-inf)
    out[rest] = _normalize_finite(sub, kind, **params)
    return out


def normalize_numpy(scores: Any, kind: str = "softmax", **params: Any) -> np.ndarray:
    """numpy in, numpy out (float64): :func:`normalize` for callers without torch tensors."""
    tensor = torch.as_tensor(np.asarray(scores, dtype=np.float64))
    with torch.no_grad():
        return normalize(tensor, kind, **params).numpy()


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------
def entropy(p: Any, dim: int = -1) -> Any:
    """Shannon entropy in nats of ``p`` (..., n) -> (...), with 0 log 0 = 0.

    ``p`` is divided by its sum first, so the smooth Top-k output (which sums to k)
    gets the entropy of ``p / k``.  Accepts and returns numpy or torch.
    """
    if isinstance(p, np.ndarray) or not torch.is_tensor(p):
        p = np.asarray(p, dtype=np.float64)
        q = p / p.sum(axis=dim, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(q > 0, -q * np.log(np.where(q > 0, q, 1.0)), 0.0)
        return terms.sum(axis=dim)
    q = p / p.sum(dim=dim, keepdim=True)
    return -torch.special.xlogy(q, q).sum(dim=dim)


def support_size(p: Any, eps: float = 0.0, dim: int = -1) -> Any:
    """How many entries of ``p`` (..., n) exceed ``eps``: (...) integer counts."""
    if torch.is_tensor(p):
        return (p > eps).sum(dim=dim)
    return (np.asarray(p) > eps).sum(axis=dim)


def hard_topk(scores: torch.Tensor, k: int) -> torch.Tensor:
    """The Top-k indicator of ``scores`` (..., n): 1.0 at the k largest entries, else 0."""
    k = max(0, min(int(k), scores.shape[-1]))
    out = torch.zeros_like(scores)
    if k:
        out.scatter_(-1, scores.topk(k, dim=-1).indices, 1.0)
    return out


# ----------------------------------------------------------------------------
# sparse softmax
# ----------------------------------------------------------------------------
def sparse_softmax(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Softmax restricted to the ``k`` largest scores of (..., n); the rest get exactly 0.

    ``k >= n`` is plain softmax.  Ties at the k-th place are broken by ``torch.topk``.
    Differentiable (the kept set is locally constant).
    """
    n = scores.shape[-1]
    if k < 1:
        raise InputError(f"sparse softmax needs k >= 1, got {k}")
    if k >= n:
        return torch.softmax(scores, dim=-1)
    keep = hard_topk(scores.detach(), k).bool()
    return torch.softmax(scores.masked_fill(~keep, float("-inf")), dim=-1)


# ----------------------------------------------------------------------------
# sparsemax and entmax
# ----------------------------------------------------------------------------
def _sparsemax_threshold(z: torch.Tensor) -> torch.Tensor:
    """Sort-based threshold lambda (..., 1) with sum_i [z_i - lambda]_+ = 1."""
    z_sorted, _ = torch.sort(z, dim=-1, descending=True)
    ranks = torch.arange(1, z.shape[-1] + 1, device=z.device, dtype=z.dtype)
    cumulative = z_sorted.cumsum(dim=-1)
    # rank r is in the support iff 1 + r z_(r) > sum_{j<=r} z_(j)
    in_support = (1 + ranks * z_sorted) > cumulative
    support = in_support.sum(dim=-1, keepdim=True)
    return (cumulative.gather(-1, support - 1) - 1) / support.to(z.dtype)


def _entmax15_threshold(z: torch.Tensor) -> torch.Tensor:
    """Sort-based threshold for 1.5-entmax of the *halved* scores z = s / 2: sum [z - lambda]_+^2 = 1.

    For a support of the r largest entries, lambda solves the quadratic
    r lambda^2 - 2 lambda S1 + S2 - 1 = 0: lambda_r = mean_r - sqrt((1 - r var_r) / r), where
    mean_r, var_r are the mean and (biased) variance of the r largest; the support is the
    largest r whose smallest member still exceeds lambda_r.
    """
    z_sorted, _ = torch.sort(z, dim=-1, descending=True)
    ranks = torch.arange(1, z.shape[-1] + 1, device=z.device, dtype=z.dtype)
    mean = z_sorted.cumsum(dim=-1) / ranks
    mean_sq = (z_sorted ** 2).cumsum(dim=-1) / ranks
    variance = mean_sq - mean ** 2
    delta = (1 - ranks * variance) / ranks
    lam = mean - torch.sqrt(torch.clamp(delta, min=0))
    in_support = lam <= z_sorted
    support = in_support.sum(dim=-1, keepdim=True)
    return lam.gather(-1, support - 1)


def _entmax_bisect_threshold(z: torch.Tensor, alpha: float) -> torch.Tensor:
    """Bisection threshold for general alpha on z = (alpha - 1) s: sum [z - lambda]_+^(1/(alpha-1)) = 1.

    The sum falls monotonically in lambda; at lambda = max z - 1 the largest term alone is 1,
    at lambda = max z - n^(1 - alpha) every term is at most 1/n, which brackets the root.
    """
    n = z.shape[-1]
    power = 1.0 / (alpha - 1.0)
    top = z.max(dim=-1, keepdim=True).values
    lo = top - 1.0
    hi = top - n ** (1.0 - alpha)
    for _ in range(_BISECTION_STEPS):
        mid = (lo + hi) / 2
        total = torch.clamp(z - mid, min=0).pow(power).sum(dim=-1, keepdim=True)
        too_low = total >= 1  # threshold can rise
        lo = torch.where(too_low, mid, lo)
        hi = torch.where(too_low, hi, mid)
    return (lo + hi) / 2


class _EntmaxFunction(torch.autograd.Function):
    """alpha-entmax (alpha > 1) with the closed-form backward of Peters et al. (2019).

    With g_i = p_i^(2 - alpha) on the support (0 elsewhere), the Jacobian-vector product
    is  dL/ds = g * v - g * (sum g v) / (sum g)  for incoming gradient v.
    """

    @staticmethod
    def forward(ctx, scores: torch.Tensor, alpha: float, method: str) -> torch.Tensor:
        if method == "sort" and alpha == 2.0:
            p = torch.clamp(scores - _sparsemax_threshold(scores), min=0)
        elif method == "sort" and alpha == 1.5:
            z = scores / 2
            p = torch.clamp(z - _entmax15_threshold(z), min=0) ** 2
        elif method in ("sort", "bisect"):
            z = (alpha - 1.0) * scores
            p = torch.clamp(z - _entmax_bisect_threshold(z, alpha), min=0).pow(1.0 / (alpha - 1.0))
            p = p / p.sum(dim=-1, keepdim=True)  # remove the last bisection residue
        else:
            raise ValueError(f"unknown entmax method {method!r}")
        ctx.alpha = alpha
        ctx.save_for_backward(p)
        return p

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        (p,) = ctx.saved_tensors
        g = torch.where(p > 0, p.pow(2.0 - ctx.alpha), torch.zeros_like(p))
        gv = g * grad_output
        grad = gv - g * gv.sum(dim=-1, keepdim=True) / g.sum(dim=-1, keepdim=True)
        return grad, None, None


def entmax(scores: torch.Tensor, alpha: float = 1.5, method: str = "sort") -> torch.Tensor:
    """alpha-entmax of (..., n) over the last dim, for any alpha >= 1.

    ``alpha == 1`` is softmax.  ``method="sort"`` uses the exact sort-based algorithm for
    alpha 1.5 and 2 and bisection otherwise; ``method="bisect"`` always bisects (tests
    compare the two).  No gradient flows to ``alpha``.
    """
    alpha = float(alpha)
    if alpha < 1:
        raise InputError(f"entmax needs alpha >= 1, got {alpha}")
    if alpha == 1.0:
        return torch.softmax(scores, dim=-1)
    return _EntmaxFunction.apply(scores, alpha, method)


def sparsemax(scores: torch.Tensor, method: str = "sort") -> torch.Tensor:
    """sparsemax (= 2-entmax) of (..., n): Euclidean projection onto the simplex."""
    return _EntmaxFunction.apply(scores, 2.0, method)


def entmax15(scores: torch.Tensor, method: str = "sort") -> torch.Tensor:
    """1.5-entmax of (..., n)."""
    return _EntmaxFunction.apply(scores, 1.5, method)


# ----------------------------------------------------------------------------
# smooth top-k
# ----------------------------------------------------------------------------
def _smooth_topk_threshold(scores: torch.Tensor, k: float) -> torch.Tensor:
    """lambda (..., 1) with sum_i sigmoid(s_i - lambda) = k, by bisection then Newton polish."""
    n = scores.shape[-1]
    frac = min(max(k / n, 1e-12), 1 - 1e-12)
    margin = abs(math.log(frac / (1 - frac))) + 1.0
    # At lambda = min s - margin every sigmoid is >= k/n, at max s + margin every one is <= k/n.
    lo = scores.min(dim=-1, keepdim=True).values - margin
    hi = scores.max(dim=-1, keepdim=True).values + margin
    # 60 halvings resolve a bracket of ordinary width; a huge one (scores near 1e308) needs
    # as many more as its width has binary digits above 1
    width = float((hi - lo).max().detach())
    extra = 2100 if not math.isfinite(width) else max(0, math.ceil(math.log2(max(width, 1.0))))
    for _ in range(_BISECTION_STEPS + extra):
        mid = (lo + hi) / 2
        total = torch.sigmoid(scores - mid).sum(dim=-1, keepdim=True)
        too_low = total >= k  # on a plateau of equal sums, settle high, where lambda's floats are finest
        lo = torch.where(too_low, mid, lo)
        hi = torch.where(too_low, hi, mid)
    lam = (lo + hi) / 2
    for _ in range(2):  # Newton steps; the bracket keeps them safe where the slope vanishes
        y = torch.sigmoid(scores - lam)
        slope = (y * (1 - y)).sum(dim=-1, keepdim=True)
        step = (y.sum(dim=-1, keepdim=True) - k) / torch.clamp(slope, min=torch.finfo(scores.dtype).tiny)
        candidate = lam + step
        lam = torch.where((slope > 1e-8) & (candidate > lo) & (candidate < hi), candidate, lam)
    return lam


class _SmoothTopkFunction(torch.autograd.Function):
    """y = sigmoid(s - lambda(s)) with sum y = k; backward by implicit differentiation.

    From sum_i sigmoid(s_i - lambda) = k:  d lambda / d s_j = y'_j / sum_i y'_i with
    y' = y (1 - y), so  dL/ds_j = y'_j v_j - y'_j (sum_i y'_i v_i) / (sum_i y'_i).
    """

    @staticmethod
    def forward(ctx, scores: torch.Tensor, k: float) -> torch.Tensor:
        y = torch.sigmoid(scores - _smooth_topk_threshold(scores, k))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        (y,) = ctx.saved_tensors
        slope = y * (1 - y)
        weighted = slope * grad_output
        total = torch.clamp(slope.sum(dim=-1, keepdim=True), min=torch.finfo(y.dtype).tiny)
        return weighted - slope * weighted.sum(dim=-1, keepdim=True) / total, None


def smooth_topk(scores: torch.Tensor, k: float) -> torch.Tensor:
    """Smooth Top-k of (..., n): values in [0, 1] summing to ``k`` (0 <= k <= n).

    Divide the scores by a temperature (``normalize(..., tau=...)``) to sharpen it;
    as tau -> 0 it tends to :func:`hard_topk` when the scores are distinct.
    """
    n = scores.shape[-1]
    k = float(k)
    if not 0 <= k <= n:
        raise InputError(f"smooth top-k needs 0 <= k <= n = {n}, got {k}")
    if k == 0:
        return scores * 0.0
    if k == n:
        return scores * 0.0 + 1.0
    return _SmoothTopkFunction.apply(scores, k)


# ----------------------------------------------------------------------------
# Taylor softmax
# ----------------------------------------------------------------------------
def taylor_softmax(scores: torch.Tensor, order: int = 2) -> torch.Tensor:
    """p_i ∝ sum_{m=0}^{order} s_i^m / m! over (..., n); ``order`` must be even (>= 2).

    An even-order truncation of exp is strictly positive (its minimum is at a root of the
    previous odd-order polynomial, where it equals x^order / order! > 0), so every entry is
    > 0 and the map is smooth; its tails fall polynomially rather than exponentially.
    """
    order = int(order)
    if order < 2 or order % 2:
        raise InputError(f"Taylor softmax needs an even order >= 2, got {order}")
    return _taylor_scaled(scores, 1.0, order)


def _taylor_scaled(scores: torch.Tensor, tau: float, order: int) -> torch.Tensor:
    """taylor_softmax(scores / tau) without overflow for any finite scores and tau > 0.

    With c = max |s| and C = c / tau, D = max(C, 1): the polynomial of s / tau divided by
    the constant D^order is sum_m u^m (C / D)^m D^(m - order) / m! with u = s / c in [-1, 1],
    and every factor lies in [0, 1].  The constant cancels in the normalisation.
    """
    c = scores.detach().abs().amax(dim=-1, keepdim=True)
    c = torch.where(c > 0, c, torch.ones_like(c))
    u = scores / c
    big = c / tau
    d = torch.clamp(big, min=1.0)
    ratio = torch.where(big >= 1, torch.ones_like(big), big)  # C / D, also when C overflows to inf
    total = torch.zeros_like(scores)
    power = torch.ones_like(scores)
    inverse_factorial = 1.0  # 1 / m! as a float: m! passes int64 from m = 21 (an OverflowError in torch)
    for m in range(order + 1):
        if m:
            power = power * u * ratio
            inverse_factorial /= m
        total = total + power * d.pow(m - order) * inverse_factorial
    return total / total.sum(dim=-1, keepdim=True)


# ----------------------------------------------------------------------------
# Gumbel
# ----------------------------------------------------------------------------
def gumbel_noise(shape: tuple[int, ...] | torch.Size, *, generator: torch.Generator | None = None,
                 dtype: torch.dtype = torch.float32, device: torch.device | str | None = None) -> torch.Tensor:
    """Standard Gumbel noise -log(-log U), U ~ Uniform(0, 1), of the given shape."""
    u = torch.rand(tuple(shape), generator=generator, dtype=dtype, device=device)
    tiny = torch.finfo(dtype).tiny
    return -torch.log(-torch.log(u.clamp(min=tiny, max=1 - torch.finfo(dtype).eps)))


def gumbel_softmax(scores: torch.Tensor, tau: float = 1.0, *, generator: torch.Generator | None = None,
                   hard: bool = False) -> torch.Tensor:
    """softmax((s + g) / tau) over (..., n) with fresh Gumbel noise g (one draw per row).

    ``hard=True`` returns the one-hot argmax in the forward pass with the soft sample's
    gradient (straight-through).
    """
    g = gumbel_noise(scores.shape, generator=generator, dtype=scores.dtype, device=scores.device)
    noisy = scores + g
    noisy = noisy - noisy.detach().amax(dim=-1, keepdim=True)  # so that a tiny tau cannot overflow
    soft = torch.softmax(noisy / tau, dim=-1)
    if not hard:
        return soft
    one_hot = torch.zeros_like(soft).scatter_(-1, soft.argmax(dim=-1, keepdim=True), 1.0)
    return one_hot - soft.detach() + soft


def gumbel_max_samples(scores: torch.Tensor, num_samples: int, *,
                       generator: torch.Generator | None = None) -> torch.Tensor:
    """``num_samples`` exact draws from softmax(scores) by perturb-and-max.

    scores (..., n) -> LongTensor (num_samples, ...) of indices argmax_i (s_i + g_i).
    """
    scores = scores.detach()
    g = gumbel_noise((num_samples, *scores.shape), generator=generator, dtype=scores.dtype,
                     device=scores.device)
    return (scores.unsqueeze(0) + g).argmax(dim=-1)


# ----------------------------------------------------------------------------
# numpy-facing helpers for interactive views (the GUI's softmax explorer)
# ----------------------------------------------------------------------------
EXPLORER_KINDS = ("softmax", "sparse_softmax", "sparsemax", "entmax", "smooth_topk", "taylor_softmax")


def normalize_all(scores: Any, *, tau: float = 1.0, alpha: float = 1.5, k: float = 2,
                  kinds: tuple[str, ...] = EXPLORER_KINDS) -> dict[str, np.ndarray]:
    """Every deterministic normaliser of one score vector (n,) -> {kind: probabilities (n,)}.

    ``k`` is clipped to [1, n] (rounded for sparse softmax) so a slider can drive it.
    """
    x = torch.as_tensor(np.asarray(scores, dtype=np.float64).reshape(-1))
    n = x.shape[0]
    k = min(max(float(k), 1.0), float(n))
    out = {}
    with torch.no_grad():
        for kind in kinds:
            kind_k = max(1, int(round(k))) if kind == "sparse_softmax" else k
            out[kind] = normalize(x, kind, tau=tau, alpha=alpha, k=kind_k).numpy()
    return out


class GumbelSampler:
    """Accumulates Gumbel-max draws from softmax(scores / tau) (numpy in and out).

    ``draw(m)`` adds m perturb-and-max samples; ``frequencies`` (n,) tends to
    ``target`` = softmax(scores / tau) as ``total`` grows (error ~ 1/sqrt(total)).
    """

    def __init__(self, scores: Any, tau: float = 1.0, seed: int = 0):
        self._scores = torch.as_tensor(np.asarray(scores, dtype=np.float64).reshape(-1)) / float(tau)
        self._generator = torch.Generator().manual_seed(int(seed))
        self.counts = np.zeros(self._scores.shape[0], dtype=np.int64)
        self.target = torch.softmax(self._scores, dim=-1).numpy()

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    @property
    def frequencies(self) -> np.ndarray:
        return self.counts / max(1, self.total)

    def draw(self, num_samples: int) -> None:
        draws = gumbel_max_samples(self._scores, int(num_samples), generator=self._generator)
        self.counts += np.bincount(draws.numpy(), minlength=len(self.counts))

    def total_variation(self) -> float:
        """Half the L1 distance between the empirical frequencies and softmax."""
        return 0.5 * float(np.abs(self.frequencies - self.target).sum())
