"""A linear-chain CRF over BMES tags with hard constraints.

Implements the CRF layer of a BiLSTM/CNN-CRF tagger (Lafferty et al. 2001; Huang et al.
2015 "Bidirectional LSTM-CRF Models for Sequence Tagging"; Su Jianlin's 简明条件随机场CRF
介绍 and 你的CRF层的学习率可能不够大, which is why the trainer gives ``transitions``,
``start`` and ``end`` their own, larger learning rate):

* ``log_partition``  — the forward algorithm, log Z = logsumexp over all tag paths;
* ``sequence_score`` — score of one given path; NLL = log Z − score;
* ``viterbi``        — the best path;
* ``marginals``      — P(tag at t | sentence) by forward–backward;
* ``cross_entropy``  — −E_q[log p(y)] under another CRF's posteriors (distillation).

Constraints: transitions that cannot occur in a segmentation (B→B, B→S, M→B, M→S,
E→M, E→E, S→M, S→E), starting in M/E and ending in B/M get a score of ``NEG``
(−10 000) added, in training and decoding alike, so no decoded path uses them.
Per-character restrictions (user-dictionary words, forced boundaries at whitespace,
numbers and URLs kept whole) come in as a boolean ``allowed`` mask of shape
(batch, time, 4) and are applied the same way to the emissions.  A large finite
penalty rather than −inf keeps every computation free of NaN even if a caller
passes contradictory restrictions (the least-violating path then wins).

Shapes: ``emissions`` (batch, time, 4) float; ``mask`` (batch, time) bool, True on
real characters, padding only at the right end, every row at least one True.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from engine.segment.bmes import ALLOWED_END, ALLOWED_START, ALLOWED_TRANSITIONS, NUM_TAGS

NEG = -10000.0


def _transition_penalty() -> torch.Tensor:
    penalty = torch.full((NUM_TAGS, NUM_TAGS), NEG)
    for a, b in ALLOWED_TRANSITIONS:
        penalty[a, b] = 0.0
    return penalty


def _boundary_penalty(allowed: frozenset[int]) -> torch.Tensor:
    penalty = torch.full((NUM_TAGS,), NEG)
    for tag in allowed:
        penalty[tag] = 0.0
    return penalty


def apply_allowed(emissions: torch.Tensor, allowed: torch.Tensor | None) -> torch.Tensor:
    """Emissions with ``NEG`` added where ``allowed`` (batch, time, 4) is False."""
    if allowed is None:
        return emissions
    return emissions + (~allowed).to(emissions.dtype) * NEG


class CRF(nn.Module):
    """Transition scores ``transitions[from, to]`` plus start/end scores, with constraints."""

    def __init__(self, num_tags: int = NUM_TAGS, constrained: bool = True):
        super().__init__()
        if num_tags != NUM_TAGS:
            raise ValueError("this CRF is for the 4 BMES tags")
        self.transitions = nn.Parameter(torch.zeros(num_tags, num_tags))
        self.start = nn.Parameter(torch.zeros(num_tags))
        self.end = nn.Parameter(torch.zeros(num_tags))
        self.constrained = constrained
        zeros2, zeros1 = torch.zeros(num_tags, num_tags), torch.zeros(num_tags)
        self.register_buffer("transition_penalty", _transition_penalty() if constrained else zeros2, persistent=False)
        self.register_buffer("start_penalty", _boundary_penalty(ALLOWED_START) if constrained else zeros1, persistent=False)
        self.register_buffer("end_penalty", _boundary_penalty(ALLOWED_END) if constrained else zeros1.clone(), persistent=False)

    # -- the effective (constrained) scores ---------------------------------
    def scores(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(transitions (4, 4), start (4,), end (4,)) with the constraint penalties added."""
        return (self.transitions + self.transition_penalty,
                self.start + self.start_penalty,
                self.end + self.end_penalty)

    # -- training -------------------------------------------------------------
    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """log Z per sentence, shape (batch,), by the forward algorithm."""
        trans, start, end = self.scores()
        alpha = start + emissions[:, 0]                          # (B, K)
        for t in range(1, emissions.shape[1]):
            step = torch.logsumexp(alpha.unsqueeze(2) + trans, dim=1) + emissions[:, t]
            alpha = torch.where(mask[:, t, None], step, alpha)
        return torch.logsumexp(alpha + end, dim=1)

    def sequence_score(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Unnormalised score of the tag path ``tags`` (batch, time) long, shape (batch,)."""
        trans, start, end = self.scores()
        maskf = mask.to(emissions.dtype)
        emitted = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)          # (B, T)
        score = start[tags[:, 0]] + (emitted * maskf).sum(1)
        if tags.shape[1] > 1:
            pair = trans[tags[:, :-1], tags[:, 1:]]                           # (B, T-1)
            score = score + (pair * maskf[:, 1:]).sum(1)
        last = mask.long().sum(1) - 1
        score = score + end[tags.gather(1, last.unsqueeze(1)).squeeze(1)]
        return score

    def nll(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor,
            allowed: torch.Tensor | None = None) -> torch.Tensor:
        """Negative log-likelihood per sentence, shape (batch,)."""
        emissions = apply_allowed(emissions, allowed)
        return self.log_partition(emissions, mask) - self.sequence_score(emissions, tags, mask)

    # -- decoding -------------------------------------------------------------
    @torch.no_grad()
    def viterbi(self, emissions: torch.Tensor, mask: torch.Tensor,
                allowed: torch.Tensor | None = None) -> torch.Tensor:
        """Best tag path (batch, time) long; positions under padding repeat the last tag."""
        emissions = apply_allowed(emissions, allowed)
        trans, start, end = self.scores()
        batch, length, k = emissions.shape
        alpha = start + emissions[:, 0]
        identity = torch.arange(k, device=emissions.device).expand(batch, k)
        pointers = []
        for t in range(1, length):
            best, arg = (alpha.unsqueeze(2) + trans).max(dim=1)          # (B, K) each
            real = mask[:, t, None]
            alpha = torch.where(real, best + emissions[:, t], alpha)
            # Under padding, point each tag at itself so the backtrack passes through.
            pointers.append(torch.where(real, arg, identity))
        tag = (alpha + end).argmax(dim=1)
        path = [tag]
        for arg in reversed(pointers):
            tag = arg.gather(1, tag.unsqueeze(1)).squeeze(1)
            path.append(tag)
        path.reverse()
        return torch.stack(path, dim=1)

    @torch.no_grad()
    def marginals(self, emissions: torch.Tensor, mask: torch.Tensor,
                  allowed: torch.Tensor | None = None) -> torch.Tensor:
        """P(tag_t = k | sentence), shape (batch, time, 4); rows under padding are 0."""
        return self.posteriors(apply_allowed(emissions, allowed), mask)[0]

    @torch.no_grad()
    def posteriors(self, emissions: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward–backward: (unary (batch, time, 4), pairwise (batch, time, 4, 4)).

        ``unary[b, t, k]`` = P(tag_t = k); ``pairwise[b, t, i, j]`` = P(tag_t-1 = i, tag_t = j) for t ≥ 1
        (row 0 is zero).  Both are zero under padding.
        """
        trans, start, end = self.scores()
        batch, length, k = emissions.shape
        alphas = [start + emissions[:, 0]]
        for t in range(1, length):
            step = torch.logsumexp(alphas[-1].unsqueeze(2) + trans, dim=1) + emissions[:, t]
            alphas.append(torch.where(mask[:, t, None], step, alphas[-1]))
        log_z = torch.logsumexp(alphas[-1] + end, dim=1)                     # (B,)
        end_b = end.expand(batch, k)
        betas = [end_b]
        for t in range(length - 2, -1, -1):
            nxt = betas[-1] + emissions[:, t + 1]                            # (B, K) over next tag
            step = torch.logsumexp(trans.unsqueeze(0) + nxt.unsqueeze(1), dim=2)
            betas.append(torch.where(mask[:, t + 1, None], step, end_b))
        betas.reverse()
        alpha, beta = torch.stack(alphas, 1), torch.stack(betas, 1)
        maskf = mask.to(emissions.dtype)
        unary = (alpha + beta - log_z[:, None, None]).exp() * maskf.unsqueeze(2)
        pairwise = torch.zeros(batch, length, k, k, dtype=emissions.dtype, device=emissions.device)
        if length > 1:
            log_pair = (alpha[:, :-1, :, None] + trans + (emissions[:, 1:] + beta[:, 1:])[:, :, None, :]
                        - log_z[:, None, None, None])
            pairwise[:, 1:] = log_pair.exp() * maskf[:, 1:, None, None]
        return unary, pairwise

    def cross_entropy(self, emissions: torch.Tensor, mask: torch.Tensor,
                      unary: torch.Tensor, pairwise: torch.Tensor) -> torch.Tensor:
        """−Σ_y q(y) log p(y | emissions) per sentence, shape (batch,), for a distribution q over legal tag
        paths given by its ``posteriors`` (e.g. a teacher CRF's): the loss that distils q into this CRF.

        log p(y) = score(y) − log Z, and score is linear in per-position and per-pair indicators, so the
        expectation needs only q's unary and pairwise marginals.  The constraint penalties are left out of
        the expected score because q gives illegal paths no mass.
        """
        expected = (unary * emissions).sum((1, 2))
        expected = expected + unary[:, 0] @ self.start
        last = mask.long().sum(1) - 1
        expected = expected + unary[torch.arange(len(last)), last] @ self.end
        expected = expected + (pairwise * self.transitions).sum((1, 2, 3))
        return self.log_partition(emissions, mask) - expected


# -- numpy decoding for inference ---------------------------------------------------------
# The same recursions as above on numpy arrays: at inference the per-time-step work is a few
# (batch, 4, 4) operations, where numpy's per-call cost is several times lower than torch's.
# This is what makes one typed sentence take milliseconds.

def _lse(x: np.ndarray, axis: int) -> np.ndarray:
    top = x.max(axis=axis, keepdims=True)
    return (top + np.log(np.exp(x - top).sum(axis=axis, keepdims=True))).squeeze(axis)


def numpy_scores(crf: CRF) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The CRF's effective (constrained) transitions (4, 4), start (4,), end (4,) as float32 arrays."""
    with torch.no_grad():
        return tuple(t.detach().float().cpu().numpy() for t in crf.scores())


# Viterbi for the constrained BMES CRF: every tag has exactly two legal predecessors, B and S
# follow E or S, M and E follow B or M.  Comparing those two candidates per tag, on (batch,)
# rows, is 3-18× faster per time step than the generic (batch, 4, 4) max/argmax, and the
# illegal moves are not even considered.
_FIRST = np.array([2, 0, 0, 2])      # E, B, B, E: the first candidate of B, M, E, S
_SECOND = np.array([3, 1, 1, 3])     # S, M, M, S


def viterbi_np(emissions: np.ndarray, lengths: np.ndarray, scores) -> np.ndarray:
    """Best legal paths (B, T) int8; emissions (B, T, 4) float32 with restrictions already applied."""
    trans, start, end = scores
    batch, length, _ = emissions.shape
    em = np.ascontiguousarray(emissions.transpose(1, 2, 0))          # (T, 4, B): rows per tag
    t_first = trans[_FIRST, np.arange(4)][:, None]                    # (4, 1) score of first → tag
    t_second = trans[_SECOND, np.arange(4)][:, None]
    alpha = start[:, None] + em[0]                                    # (4, B)
    took_first = np.zeros((length, 4, batch), dtype=bool)
    for t in range(1, length):
        x = alpha[_FIRST] + t_first
        y = alpha[_SECOND] + t_second
        took_first[t] = x >= y
        step = np.maximum(x, y)
        step += em[t]
        alpha = np.where(t < lengths, step, alpha)                   # frozen under padding
    tag = (alpha + end[:, None]).argmax(axis=0)
    path = np.empty((batch, length), dtype=np.int8)
    path[:, length - 1] = tag
    rows = np.arange(batch)
    for t in range(length - 1, 0, -1):
        previous = np.where(took_first[t, tag, rows], _FIRST[tag], _SECOND[tag])
        tag = np.where(t < lengths, previous, tag)                   # padding passes the tag through
        path[:, t - 1] = tag
    return path


def marginals_np(emissions: np.ndarray, lengths: np.ndarray, scores) -> np.ndarray:
    """P(tag_t = k | sentence), (B, T, 4) float32, zero under padding (forward–backward)."""
    trans, start, end = scores
    batch, length, k = emissions.shape
    alphas = np.empty((batch, length, k), dtype=np.float32)
    betas = np.empty((batch, length, k), dtype=np.float32)
    alphas[:, 0] = start + emissions[:, 0]
    for t in range(1, length):
        step = _lse(alphas[:, t - 1, :, None] + trans, axis=1) + emissions[:, t]
        alphas[:, t] = np.where((t < lengths)[:, None], step, alphas[:, t - 1])
    log_z = _lse(alphas[:, -1] + end, axis=1)
    betas[:, -1] = end
    for t in range(length - 2, -1, -1):
        step = _lse(trans[None] + (betas[:, t + 1] + emissions[:, t + 1])[:, None, :], axis=2)
        betas[:, t] = np.where((t + 1 < lengths)[:, None], step, end)
    marg = np.exp(alphas + betas - log_z[:, None, None])
    marg *= (np.arange(length)[None, :] < lengths[:, None])[:, :, None]
    return marg.astype(np.float32, copy=False)
