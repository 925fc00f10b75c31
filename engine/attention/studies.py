"""Small numerical studies of softmax attention, as progress generators.

They follow the seed post "注意力和Softmax的两点有趣发现：鲁棒性和信息量" (Su Jianlin):

(a) :func:`noise_robustness_study`: add i.i.d. noise eps_i ~ N(0, sigma^2) to the scores of
    o = sum_i e^{s_i} v_i / sum_i e^{s_i}.  With many keys the factor e^{eps_i} averages
    out of numerator and denominator alike (law of large numbers), so the output barely
    moves.  Expanding to first order in the fluctuations of w_i = e^{eps_i} around
    E w = e^{sigma^2/2}:  o' - o ≈ sum_i p_i (w_i / E w - 1)(v_i - o), hence
    E||o' - o||^2 ≈ (e^{sigma^2} - 1) sum_i p_i^2 ||v_i - o||^2.  For scores
    s_i ~ N(0, c^2) and values v_i ~ N(0, I_d), sum p_i^2 ≈ e^{c^2} / n, giving the expected
    RMS error per output dimension sqrt((e^{sigma^2} - 1) e^{c^2} / n): it falls as 1/sqrt(n).
(b) :func:`entropy_scale_study`: entropy of softmax(lambda q·k_j) for random q, k ~ N(0, I_d)
    as n and d vary, for lambda = 1/sqrt(d) against the "entropy-invariant" scale
    lambda = kappa log n / sqrt(d) (Su, "从熵不变性看Attention的Scale操作"; kappa = 1 by
    default, or 1/log(reference_length) to agree with 1/sqrt(d) at the training length).
    With 1/sqrt(d) the scores stay N(0, 1) and the entropy grows like log n - 1/2, i.e. the
    attention spreads thinner over longer inputs; the log n scale keeps it nearly flat.
(c) :func:`entropy_init_study`: the entropy of one randomly initialised attention layer,
    q = x W_q, k = x W_k with W ~ N(0, scale^2 / d), scores q·k / sqrt(d), as the
    initialisation scale grows: from the uniform log n down to nearly one-hot attention
    (whose gradients vanish), the information-content view of initialisation in the seed.

Each study is a generator yielding ``Progress(step, total, message, partial=curves so far)``
and returning frozen dataclasses of numpy arrays.  Pure numpy; default sizes finish in a
second or two on one CPU core.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from engine.progress import Job, Progress


def _softmax_entropy(scores: np.ndarray) -> np.ndarray:
    """Entropy in nats of softmax over the last axis: (..., n) -> (...)."""
    shifted = scores - scores.max(axis=-1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    log_p = shifted - log_z
    return -(np.exp(log_p) * log_p).sum(axis=-1)


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class CurveLine:
    """One line of a study's plot: ``group`` picks the colour, ``style`` is solid/dashed/dotted."""

    label: str
    x: np.ndarray
    y: np.ndarray
    group: int
    style: str = "solid"


def _csv(header: Sequence[str], columns: Sequence[np.ndarray]) -> str:
    buffer = io.StringIO()
    buffer.write(",".join(header) + "\n")
    for row in zip(*columns):
        buffer.write(",".join(repr(float(v)) for v in row) + "\n")
    return buffer.getvalue()


# ----------------------------------------------------------------------------
# (a) noise robustness
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class NoiseRobustnessCurves:
    """RMS error per output dimension of attention with noisy scores.

    ``n_values`` (m,); ``sigmas`` (s,); ``simulated`` and ``expected`` (s, m).
    """

    n_values: np.ndarray
    sigmas: np.ndarray
    simulated: np.ndarray
    expected: np.ndarray
    score_std: float
    dim: int
    trials: int

    title = "Noise robustness 噪声鲁棒性"
    x_label = "n (number of keys)"
    y_label = "RMS error of the output per dimension"
    x_log = True
    y_log = True

    def lines(self) -> list[CurveLine]:
        out = []
        for s, sigma in enumerate(self.sigmas):
            out.append(CurveLine(f"simulated σ={sigma:g}", self.n_values, self.simulated[s], s, "solid"))
            out.append(CurveLine(f"expected σ={sigma:g}", self.n_values, self.expected[s], s, "dashed"))
        return out

    def to_csv(self) -> str:
        header, columns = ["n"], [self.n_values]
        for s, sigma in enumerate(self.sigmas):
            header += [f"simulated_sigma={sigma:g}", f"expected_sigma={sigma:g}"]
            columns += [self.simulated[s], self.expected[s]]
        return _csv(header, columns)


def expected_noise_error(n: np.ndarray | float, sigma: float, score_std: float = 1.0) -> np.ndarray:
    """sqrt((e^{sigma^2} - 1) e^{score_std^2} / n): first-order RMS error per dimension."""
    return np.sqrt(np.expm1(sigma ** 2) * math.exp(score_std ** 2) / np.asarray(n, dtype=np.float64))


def noise_robustness_study(n_values: Sequence[int] = (4, 8, 16, 32, 64, 128, 256, 512, 1024),
                           sigmas: Sequence[float] = (0.1, 0.3, 0.5), *, dim: int = 16,
                           score_std: float = 1.0, trials: int = 200,
                           seed: int = 0) -> Job[NoiseRobustnessCurves]:
    """Simulate ||o(s + eps) - o(s)|| for s ~ N(0, score_std^2), v ~ N(0, I_dim), eps ~ N(0, sigma^2)."""
    rng = np.random.default_rng(seed)
    n_values = np.asarray(n_values, dtype=np.int64)
    sigmas = np.asarray(sigmas, dtype=np.float64)
    simulated = np.zeros((len(sigmas), len(n_values)))
    expected = np.stack([expected_noise_error(n_values, s, score_std) for s in sigmas]) if len(sigmas) else \
        np.zeros((0, len(n_values)))

    def curves(done: int) -> NoiseRobustnessCurves:
        return NoiseRobustnessCurves(n_values[:done].copy(), sigmas.copy(), simulated[:, :done].copy(),
                                     expected[:, :done].copy(), float(score_std), int(dim), int(trials))

    for step, n in enumerate(n_values):
        scores = rng.normal(0.0, score_std, size=(trials, n))
        values = rng.normal(size=(trials, n, dim))
        clean = np.einsum("tn,tnd->td", _softmax(scores), values)
        for s, sigma in enumerate(sigmas):
            noisy_scores = scores + rng.normal(0.0, sigma, size=scores.shape)
            noisy = np.einsum("tn,tnd->td", _softmax(noisy_scores), values)
            simulated[s, step] = math.sqrt(np.mean((noisy - clean) ** 2))
        yield Progress(step + 1, len(n_values), f"noise robustness: n = {n}", partial=curves(step + 1))
    return curves(len(n_values))


# ----------------------------------------------------------------------------
# (b) entropy vs n and d for two scales
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class EntropyScaleCurves:
    """Mean attention entropy (nats) for random q, k.

    ``n_values`` (m,); ``d_values`` (k,); ``entropy_sqrt_d`` and ``entropy_log_n`` (k, m) for
    the scales 1/sqrt(d) and kappa log n / sqrt(d); ``max_entropy`` (m,) = log n.
    """

    n_values: np.ndarray
    d_values: np.ndarray
    entropy_sqrt_d: np.ndarray
    entropy_log_n: np.ndarray
    max_entropy: np.ndarray
    kappa: float
    trials: int

    title = "Entropy vs length 熵与长度"
    x_label = "n (number of keys)"
    y_label = "attention entropy (nats)"
    x_log = True
    y_log = False

    def lines(self) -> list[CurveLine]:
        out = [CurveLine("log n (uniform)", self.n_values, self.max_entropy, -1, "dotted")]
        for i, d in enumerate(self.d_values):
            out.append(CurveLine(f"1/√d, d={d}", self.n_values, self.entropy_sqrt_d[i], i, "solid"))
            out.append(CurveLine(f"log n/√d, d={d}", self.n_values, self.entropy_log_n[i], i, "dashed"))
        return out

    def to_csv(self) -> str:
        header, columns = ["n", "log_n"], [self.n_values, self.max_entropy]
        for i, d in enumerate(self.d_values):
            header += [f"entropy_1/sqrt(d)_d={d}", f"entropy_logn/sqrt(d)_d={d}"]
            columns += [self.entropy_sqrt_d[i], self.entropy_log_n[i]]
        return _csv(header, columns)


def entropy_scale_study(n_values: Sequence[int] = (16, 32, 64, 128, 256, 512, 1024, 2048),
                        d_values: Sequence[int] = (16, 64), *, trials: int = 64,
                        reference_length: int | None = None,
                        seed: int = 0) -> Job[EntropyScaleCurves]:
    """Entropy of softmax(lambda q·k_j), j = 1..n, averaged over ``trials`` random (q, K).

    ``reference_length`` None uses kappa = 1 (lambda = log n / sqrt(d)); an integer L uses
    kappa = 1 / log L so both scales coincide at n = L.
    """
    rng = np.random.default_rng(seed)
    n_values = np.asarray(n_values, dtype=np.int64)
    d_values = np.asarray(d_values, dtype=np.int64)
    kappa = 1.0 if reference_length is None else 1.0 / math.log(reference_length)
    plain = np.zeros((len(d_values), len(n_values)))
    logn = np.zeros((len(d_values), len(n_values)))
    max_entropy = np.log(n_values.astype(np.float64))
    total = len(n_values) * len(d_values)

    def curves(done_n: int) -> EntropyScaleCurves:
        return EntropyScaleCurves(n_values[:done_n].copy(), d_values.copy(), plain[:, :done_n].copy(),
                                  logn[:, :done_n].copy(), max_entropy[:done_n].copy(), kappa, int(trials))

    step = 0
    for col, n in enumerate(n_values):
        for row, d in enumerate(d_values):
            q = rng.normal(size=(trials, 1, d))
            keys = rng.normal(size=(trials, n, d))
            dots = np.einsum("tid,tnd->tin", q, keys)[:, 0, :]  # (trials, n)
            plain[row, col] = _softmax_entropy(dots / math.sqrt(d)).mean()
            logn[row, col] = _softmax_entropy(dots * (kappa * math.log(n) / math.sqrt(d))).mean()
            step += 1
        yield Progress(step, total, f"entropy vs length: n = {n}", partial=curves(col + 1))
    return curves(len(n_values))


# ----------------------------------------------------------------------------
# (c) entropy at initialisation vs initialisation scale
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class EntropyInitCurves:
    """Mean attention entropy of a random attention layer vs weight scale.

    ``scales`` (m,); ``n_values`` (k,); ``entropy`` (k, m); ``max_entropy`` (k,) = log n.
    """

    scales: np.ndarray
    n_values: np.ndarray
    entropy: np.ndarray
    max_entropy: np.ndarray
    dim: int
    trials: int

    title = "Entropy at initialisation 初始化与熵"
    x_label = "initialisation scale (W ~ N(0, scale²/d))"
    y_label = "attention entropy (nats)"
    x_log = True
    y_log = False

    def lines(self) -> list[CurveLine]:
        out = []
        for i, n in enumerate(self.n_values):
            out.append(CurveLine(f"n={n}", self.scales, self.entropy[i], i, "solid"))
            out.append(CurveLine(f"log {n} (uniform)", self.scales, np.full(len(self.scales), self.max_entropy[i]),
                                 i, "dotted"))
        return out

    def to_csv(self) -> str:
        header, columns = ["scale"], [self.scales]
        for i, n in enumerate(self.n_values):
            header += [f"entropy_n={n}", f"log_n={n}"]
            columns += [self.entropy[i], np.full(len(self.scales), self.max_entropy[i])]
        return _csv(header, columns)


def entropy_init_study(scales: Sequence[float] = tuple(np.round(np.geomspace(0.1, 4.0, 12), 4)),
                       n_values: Sequence[int] = (16, 64, 256), *, dim: int = 64, trials: int = 8,
                       seed: int = 0) -> Job[EntropyInitCurves]:
    """Entropy of softmax((x W_q)(x W_k)^T / sqrt(d)) rows, x ~ N(0, I_d), W ~ N(0, scale^2/d)."""
    rng = np.random.default_rng(seed)
    scales = np.asarray(scales, dtype=np.float64)
    n_values = np.asarray(n_values, dtype=np.int64)
    entropy = np.zeros((len(n_values), len(scales)))
    max_entropy = np.log(n_values.astype(np.float64))

    def curves(done: int) -> EntropyInitCurves:
        return EntropyInitCurves(scales[:done].copy(), n_values.copy(), entropy[:, :done].copy(),
                                 max_entropy.copy(), int(dim), int(trials))

    for col, scale in enumerate(scales):
        for row, n in enumerate(n_values):
            x = rng.normal(size=(trials, n, dim))
            w_q = rng.normal(0.0, scale / math.sqrt(dim), size=(trials, dim, dim))
            w_k = rng.normal(0.0, scale / math.sqrt(dim), size=(trials, dim, dim))
            q, k = x @ w_q, x @ w_k
            scores = q @ k.transpose(0, 2, 1) / math.sqrt(dim)
            entropy[row, col] = _softmax_entropy(scores).mean()
        yield Progress(col + 1, len(scales), f"entropy at init: scale = {scale:g}", partial=curves(col + 1))
    return curves(len(scales))


# name -> (generator function, one-line description)
STUDIES: dict[str, tuple[Callable[..., Job], str]] = {
    "noise": (noise_robustness_study, "error of attention output under score noise vs n"),
    "entropy_scale": (entropy_scale_study, "attention entropy vs n, d: 1/sqrt(d) vs log n/sqrt(d)"),
    "entropy_init": (entropy_init_study, "attention entropy at initialisation vs weight scale"),
}
