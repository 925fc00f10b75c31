"""A character bigram language model with interpolated absolute discounting (Kneser-Ney style).

Idea: the seed post OCR技术浅探 corrects the recogniser's top candidates with a language
model and a Viterbi search; here the LM scores every character the CTC beam search
(:func:`engine.ocr.decode.beam_decode`) proposes.  Bigram probabilities:

    P(c | p) = max(n(p, c) - D, 0) / n(p) + D * N1+(p, ·) / n(p) * P_cont(c)

with ``P_cont(c)`` the Kneser-Ney continuation unigram (how many different characters
precede c), smoothed with a little uniform mass so unseen characters stay possible.
Bigrams seen fewer than ``min_count`` times are pruned from the file (they fall back to
the lower order), which keeps the file a few MB.

Build from the training part of the corpora (held-out lines excluded):

    python -m engine.ocr.lm --out assets/models/ocr/<name>/lm.npz
"""

from __future__ import annotations

import argparse
import io
import math
import sys
from collections import Counter
from pathlib import Path

import numpy as np

UNSEEN_MASS = 0.01  # share of unigram mass spread uniformly over all characters


class CharNgramLM:
    """log P(char | previous char); ``logp(None, c)`` is the unigram (line start)."""

    def __init__(self, chars: list[str], unigram: np.ndarray, backoff: np.ndarray,
                 bigram_keys: np.ndarray, bigram_logp: np.ndarray):
        self.chars = list(chars)
        self.ids = {c: i for i, c in enumerate(self.chars)}
        self.unigram = unigram.astype(np.float32)   # (V,) log P_cont, smoothed
        self.backoff = backoff.astype(np.float32)   # (V,) log of the back-off weight per context
        self._v = len(self.chars)
        self.unknown_logp = float(math.log(UNSEEN_MASS / (self._v + 1)))
        self._bigram = dict(zip(bigram_keys.astype(np.int64).tolist(), bigram_logp.astype(np.float32).tolist()))

    def __len__(self) -> int:
        return len(self._bigram)

    def logp(self, previous: str | None, char: str) -> float:
        c = self.ids.get(char)
        if c is None:
            return self.unknown_logp
        if previous is None:
            return float(self.unigram[c])
        p = self.ids.get(previous)
        if p is None:
            return float(self.unigram[c])
        hit = self._bigram.get(p * self._v + c)
        if hit is not None:
            return hit
        return float(self.backoff[p] + self.unigram[c])

    def score(self, text: str) -> float:
        """Total log-probability of a string (first character by the unigram)."""
        total, previous = 0.0, None
        for ch in text:
            total += self.logp(previous, ch)
            previous = ch
        return total

    # -- persistence ------------------------------------------------------------------
    def save(self, path: Path | str) -> None:
        from engine.registry import atomic_write_bytes

        keys = np.array(sorted(self._bigram), np.int64)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, chars=np.array("".join(self.chars)), unigram=self.unigram.astype(np.float16),
                            backoff=self.backoff.astype(np.float16), keys=keys.astype(np.int32),
                            logp=np.array([self._bigram[k] for k in keys.tolist()], np.float16))
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
                return cls(chars, data["unigram"], data["backoff"], data["keys"], data["logp"])
        except (OSError, ValueError, KeyError) as exc:
            raise ModelCorrupt(f"language model {path} is unreadable: {exc}") from exc


def train_char_lm(texts, discount: float = 0.75, min_count: int = 2, extra_chars=()) -> CharNgramLM:
    """Count bigrams over ``texts`` (iterable of str; whitespace ignored) and build the LM."""
    unigrams: Counter = Counter()
    bigrams: Counter = Counter()
    for text in texts:
        text = "".join(text.split())
        unigrams.update(text)
        bigrams.update(zip(text, text[1:]))
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
    with np.errstate(divide="ignore"):
        backoff_weight = np.where(context_total > 0, discount * context_types / np.maximum(context_total, 1), 1.0)
    keys, values = [], []
    for (p, c), n in bigrams.items():
        if n < min_count:
            continue
        pi, ci = ids[p], ids[c]
        prob = (n - discount) / context_total[pi] + backoff_weight[pi] * p_uni[ci]
        keys.append(pi * v + ci)
        values.append(math.log(prob))
    order = np.argsort(keys)
    return CharNgramLM(chars, np.log(p_uni), np.log(backoff_weight), np.array(keys, np.int64)[order],
                       np.array(values, np.float32)[order])


def training_texts():
    """The corpora's training lines (every HOLDOUT_EVERY-th line is held out for the benchmark)."""
    from engine.ocr.synth import split_lines

    for source in ("news", "poem", "couplet"):
        yield from split_lines(source, held_out=False)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.ocr.lm", description="build the OCR character bigram LM")
    parser.add_argument("--out", required=True)
    parser.add_argument("--min-count", type=int, default=2)
    args = parser.parse_args(argv)
    lm = train_char_lm(training_texts(), min_count=args.min_count)
    lm.save(args.out)
    print(f"{args.out}: {len(lm.chars)} characters, {len(lm)} bigrams, {Path(args.out).stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
