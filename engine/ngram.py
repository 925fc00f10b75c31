"""A character n-gram language model (bigram or trigram) with interpolated absolute discounting.

Used by OCR (:mod:`engine.ocr.lm`: the seed post OCR技术浅探 corrects the recogniser's
candidates with a language model) and by couplet decoding (:mod:`engine.couplet.lm`:
fluency, or its negative for specific lines).  Kneser-Ney style interpolation:

    P(c | b)    = max(n(b, c) - D, 0) / n(b, ·)    + D * N1+(b, ·) / n(b, ·)    * P_cont(c)
    P(c | a, b) = max(n(a, b, c) - D, 0) / n(a, b, ·) + D * N1+(a, b, ·) / n(a, b, ·) * P(c | b)

with ``P_cont(c)`` the continuation unigram (how many different characters precede c),
smoothed with a little uniform mass so unseen characters stay possible.  N-grams seen
fewer than ``min_count`` times are pruned from the file (they fall back to the lower
order), which keeps the file a few MB.
"""

from __future__ import annotations

import io
import math
from collections import Counter
from pathlib import Path

import numpy as np

UNSEEN_MASS = 0.01  # share of unigram mass spread uniformly over all characters


class CharNgramLM:
    """log P(char | context) where context is the preceding text (only its last order-1 characters count)."""

    def __init__(self, chars: list[str], unigram: np.ndarray, backoff: np.ndarray,
                 bigram_keys: np.ndarray, bigram_logp: np.ndarray,
                 trigram_keys: np.ndarray | None = None, trigram_logp: np.ndarray | None = None,
                 context_keys: np.ndarray | None = None, context_backoff: np.ndarray | None = None):
        self.chars = list(chars)
        self.ids = {c: i for i, c in enumerate(self.chars)}
        self.unigram = unigram.astype(np.float32)   # (V,) log P_cont, smoothed
        self.backoff = backoff.astype(np.float32)   # (V,) log back-off weight of each one-character context
        self._v = len(self.chars)
        self.unknown_logp = float(math.log(UNSEEN_MASS / (self._v + 1)))
        self._bigram = dict(zip(bigram_keys.astype(np.int64).tolist(), bigram_logp.astype(np.float32).tolist()))
        self._trigram: dict[int, float] = {}
        self._context: dict[int, float] = {}
        if trigram_keys is not None and len(trigram_keys):
            self._trigram = dict(zip(trigram_keys.astype(np.int64).tolist(), trigram_logp.astype(np.float32).tolist()))
            self._context = dict(zip(context_keys.astype(np.int64).tolist(),
                                     context_backoff.astype(np.float32).tolist()))
        self.order = 3 if self._trigram else 2

    def __len__(self) -> int:
        return len(self._bigram) + len(self._trigram)

    def _bigram_logp(self, p: int | None, c: int) -> float:
        if p is None:
            return float(self.unigram[c])
        hit = self._bigram.get(p * self._v + c)
        if hit is not None:
            return hit
        return float(self.backoff[p] + self.unigram[c])

    def logp(self, context: str | None, char: str) -> float:
        """log P(char | context); ``context`` None or "" means a line start (unigram)."""
        c = self.ids.get(char)
        if c is None:
            return self.unknown_logp
        b = self.ids.get(context[-1]) if context else None
        if b is not None and self._trigram and len(context) >= 2:
            a = self.ids.get(context[-2])
            if a is not None:
                ab = a * self._v + b
                hit = self._trigram.get(ab * self._v + c)
                if hit is not None:
                    return hit
                weight = self._context.get(ab)
                if weight is not None:
                    return weight + self._bigram_logp(b, c)
        return self._bigram_logp(b, c)

    def score(self, text: str) -> float:
        """Total log-probability of a string (first character by the unigram)."""
        return sum(self.logp(text[max(0, i - 2):i], ch) for i, ch in enumerate(text))

    # -- persistence ------------------------------------------------------------------
    def save(self, path: Path | str) -> None:
        from engine.files import atomic_write_bytes

        arrays = {"chars": np.array("".join(self.chars)), "unigram": self.unigram.astype(np.float16),
                  "backoff": self.backoff.astype(np.float16)}
        keys = np.array(sorted(self._bigram), np.int64)
        arrays["keys"] = keys.astype(np.int32)
        arrays["logp"] = np.array([self._bigram[k] for k in keys.tolist()], np.float16)
        if self._trigram:
            tkeys = np.array(sorted(self._trigram), np.int64)
            ckeys = np.array(sorted(self._context), np.int64)
            arrays.update(tri_keys=tkeys, tri_logp=np.array([self._trigram[k] for k in tkeys.tolist()], np.float16),
                          ctx_keys=ckeys.astype(np.int32),
                          ctx_backoff=np.array([self._context[k] for k in ckeys.tolist()], np.float16))
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        atomic_write_bytes(path, buffer.getvalue())

    @classmethod
    def load(cls, path: Path | str) -> "CharNgramLM":
        from engine.registry import ModelCorrupt, ModelMissing

        path = Path(path)
        if not path.is_file():
            raise ModelMissing(f"language model {path} is missing")
        try:
            with np.load(path, allow_pickle=False) as data:
                chars = list(str(data["chars"]))
                extra = {}
                if "tri_keys" in data:
                    extra = dict(trigram_keys=data["tri_keys"], trigram_logp=data["tri_logp"],
                                 context_keys=data["ctx_keys"], context_backoff=data["ctx_backoff"])
                return cls(chars, data["unigram"], data["backoff"], data["keys"], data["logp"], **extra)
        except (OSError, ValueError, KeyError) as exc:
            raise ModelCorrupt(f"language model {path} is unreadable: {exc}") from exc


def train_char_lm(texts, discount: float = 0.75, min_count: int = 2, extra_chars=(), order: int = 2,
                  min_count_trigram: int = 3) -> CharNgramLM:
    """Count n-grams over ``texts`` (iterable of str; whitespace ignored) and build the LM (order 2 or 3)."""
    unigrams: Counter = Counter()
    bigrams: Counter = Counter()
    trigrams: Counter = Counter()
    for text in texts:
        text = "".join(text.split())
        unigrams.update(text)
        bigrams.update(zip(text, text[1:]))
        if order >= 3:
            trigrams.update(zip(text, text[1:], text[2:]))
    chars = sorted(set(unigrams) | set(extra_chars))
    ids = {c: i for i, c in enumerate(chars)}
    v = len(chars)
    context_total = np.zeros(v)
    context_types = np.zeros(v)
    continuation = np.zeros(v)
    for (p, c), n in bigrams.items():
        context_total[ids[p]] += n
        context_types[ids[p]] += 1
        continuation[ids[c]] += 1
    p_cont = continuation / max(1.0, continuation.sum())
    p_uni = (1 - UNSEEN_MASS) * p_cont + UNSEEN_MASS / (v + 1)
    backoff_weight = np.where(context_total > 0, discount * context_types / np.maximum(context_total, 1), 1.0)
    bigram_prob: dict[int, float] = {}
    for (p, c), n in bigrams.items():
        pi, ci = ids[p], ids[c]
        prob = (n - discount) / context_total[pi] + backoff_weight[pi] * p_uni[ci]
        if n >= min_count:
            bigram_prob[pi * v + ci] = prob

    def p_bigram(pi, ci):
        hit = bigram_prob.get(pi * v + ci)
        return hit if hit is not None else backoff_weight[pi] * p_uni[ci]

    keys = np.array(sorted(bigram_prob), np.int64)
    values = np.log(np.array([bigram_prob[k] for k in keys.tolist()], np.float64)).astype(np.float32)
    extra = {}
    if order >= 3 and trigrams:
        ctx_total: Counter = Counter()
        ctx_types: Counter = Counter()
        for (a, b, c), n in trigrams.items():
            key = ids[a] * v + ids[b]
            ctx_total[key] += n
            ctx_types[key] += 1
        tri: dict[int, float] = {}
        for (a, b, c), n in trigrams.items():
            if n < min_count_trigram:
                continue
            ab = ids[a] * v + ids[b]
            weight = discount * ctx_types[ab] / ctx_total[ab]
            tri[ab * v + ids[c]] = math.log((n - discount) / ctx_total[ab] + weight * p_bigram(ids[b], ids[c]))
        kept_contexts = sorted({k // v for k in tri})
        tkeys = np.array(sorted(tri), np.int64)
        extra = dict(trigram_keys=tkeys, trigram_logp=np.array([tri[k] for k in tkeys.tolist()], np.float32),
                     context_keys=np.array(kept_contexts, np.int64),
                     context_backoff=np.log(np.array([discount * ctx_types[k] / ctx_total[k] for k in kept_contexts],
                                                     np.float64)).astype(np.float32))
    return CharNgramLM(chars, np.log(p_uni), np.log(backoff_weight), keys, values, **extra)
