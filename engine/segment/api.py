"""``segment(texts)``: the public segmentation call, and its result type.

Pipeline per text: rule/user-dictionary restrictions on the original characters
(engine.segment.text) → long texts cut
into pieces of at most ``max_piece`` characters, preferably after sentence punctuation →
pieces sorted by length and tagged in batches (engine.segment.model.Segmenter: bigram
CNN emissions on the normalised characters → constrained Viterbi, optional forward–backward marginals) → words cut
from the *original* text.

Per-word confidence is the smallest marginal probability, over the word's characters, of
the tag the decoder chose (a cheap lower-bound-style proxy for P(this exact word)).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from engine.progress import Job, Progress, drive
from engine.segment.bmes import E, S, TAGS
from engine.segment.text import UserDictionary, codepoints, has_separator, rule_restrictions

_NEEDS_RULES = re.compile(r"[0-9A-Za-z０-９Ａ-Ｚａ-ｚ@%％]")
_CUT_AFTER = re.compile(r"[。！？；!?;…\s，,、：:]")
_TAG_BYTES = np.frombuffer((TAGS + " ").encode("ascii"), dtype=np.uint8)


@dataclass(frozen=True)
class SegmentResult:
    """The segmentation of one text.

    ``tags`` has one letter per character of ``text`` (' ' for whitespace/control
    characters, which belong to no word); ``probabilities`` is (len(text), 4) float32 in
    BMES order (rows of separators are 0) or None when not asked for; ``spans`` are the
    words' (start, end) offsets in ``text``; ``confidences`` one float per word.
    """

    text: str
    words: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]
    tags: str
    probabilities: np.ndarray | None
    confidences: tuple[float, ...]

    def joined(self, separator: str = " ") -> str:
        return separator.join(self.words)

    def low_confidence(self, threshold: float = 0.8) -> list[int]:
        """Indices of the words whose confidence is below ``threshold``."""
        return [i for i, c in enumerate(self.confidences) if c < threshold]

    def to_json(self) -> dict[str, Any]:
        data = {"text": self.text, "words": list(self.words), "tags": self.tags}
        if self.probabilities is not None:
            data["probabilities"] = [[round(float(x), 4) for x in row] for row in self.probabilities]
            data["confidences"] = [round(c, 4) for c in self.confidences]
        return data


def _pieces(text: str, max_piece: int) -> list[tuple[int, int]]:
    """Cut [0, len) into pieces ≤ max_piece, after punctuation/whitespace where possible."""
    n = len(text)
    if n <= max_piece:
        return [(0, n)]
    cuts = [m.end() for m in _CUT_AFTER.finditer(text)]
    pieces, start, k = [], 0, 0
    while start < n:
        limit = start + max_piece
        if limit >= n:
            pieces.append((start, n))
            break
        best = None
        while k < len(cuts) and cuts[k] <= limit:
            if cuts[k] > start:
                best = cuts[k]
            k += 1
        end = best if best is not None and best - start >= max_piece // 4 else limit
        pieces.append((start, end))
        start = end
    return pieces


def resolve_model(model=None):
    """A Segmenter from a Segmenter, a registry name, or None (the default model)."""
    if model is None or isinstance(model, str):
        from engine.registry import load_model

        return load_model(model, task="segment")
    return model


def segment_job(texts: Sequence[str], *, model=None, user_dict: UserDictionary | Iterable[str] | None = None,
                probabilities: bool = True, batch_chars: int = 32768, max_piece: int = 256) -> Job[list[SegmentResult]]:
    """Generator form of :func:`segment`: yields Progress (characters done) per batch.

    The texts are handled as one string joined by newlines (a separator, so no rule span or
    word crosses from one text into the next): one regex pass, one code-point array, one
    array of tags — per-text Python work stays small, which matters at jieba's speed.
    """
    segmenter = resolve_model(model)
    if user_dict is not None and not isinstance(user_dict, UserDictionary):
        user_dict = UserDictionary(user_dict)
    texts = [t if isinstance(t, str) else str(t) for t in texts]
    total = sum(len(t) for t in texts)
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    offsets = np.cumsum(lengths + 1) - lengths - 1           # start of each text in ``joined``
    joined = "\n".join(texts)
    n = len(joined)

    user_spans = user_dict.spans(joined) if user_dict is not None and len(user_dict) else []
    allowed = separators = None
    if user_spans or _NEEDS_RULES.search(joined) or has_separator(joined):
        restrictions = rule_restrictions(joined, user_spans)
        allowed, separators = restrictions.allowed, restrictions.separators
        restricted = np.concatenate(([0], np.cumsum(~allowed.all(axis=1))))
    codes = codepoints(joined)

    # (start, end) pieces in ``joined``: each text, cut further when it is long
    pieces = []
    for offset, length in zip(offsets.tolist(), lengths.tolist()):
        if length == 0:
            continue
        if length <= max_piece:
            pieces.append((offset, offset + length))
        else:
            pieces.extend((offset + a, offset + b) for a, b in _pieces(joined[offset:offset + length], max_piece))
    pieces.sort(key=lambda p: p[1] - p[0])

    tags = np.full(n, S, dtype=np.int8)
    probs = np.zeros((n, 4), dtype=np.float32) if probabilities else None
    done = k = 0
    while k < len(pieces):
        j = k
        while j < len(pieces) and (pieces[j][1] - pieces[j][0]) * (j - k + 1) <= batch_chars:
            j += 1
        j = max(j, k + 1)
        batch = pieces[k:j]
        batch_allowed = None
        if allowed is not None and any(restricted[b] > restricted[a] for a, b in batch):
            batch_allowed = [allowed[a:b] if restricted[b] > restricted[a] else None for a, b in batch]
        tagged = segmenter.tag(None, batch_allowed, probabilities=probabilities, codes=codes, spans=batch)
        for (a, b), (piece_tags, marg) in zip(batch, tagged):
            tags[a:b] = piece_tags
            if probs is not None:
                probs[a:b] = marg
            done += b - a
        k = j
        yield Progress(done, total, f"{done} of {total} characters")
    return _results(texts, joined, offsets, lengths, tags, probs, separators)


def _results(texts, joined, offsets, lengths, tags, probs, separators) -> list[SegmentResult]:
    n = len(joined)
    if n == 0:
        return [SegmentResult(t, (), (), "", None if probs is None else np.zeros((0, 4), np.float32), ())
                for t in texts]
    is_sep = np.zeros(n, dtype=bool) if separators is None else separators.copy()
    is_sep[offsets[:-1] + lengths[:-1]] = True              # the joining newlines
    tags = np.where(is_sep, S, tags)
    ends = np.flatnonzero(tags >= E) + 1                     # E or S closes a word (paths are legal)
    if len(ends) == 0 or ends[-1] != n:
        ends = np.append(ends, n)
    starts = np.concatenate(([0], ends[:-1]))
    if probs is not None:
        probs[is_sep] = 0.0
        chosen = probs[np.arange(n), tags.astype(np.int64)]
        confidence = np.minimum.reduceat(chosen, starts) if len(starts) else np.zeros(0, np.float32)
        probs.setflags(write=False)
    keep = ~is_sep[starts] if n else np.zeros(0, dtype=bool)
    starts, ends = starts[keep], ends[keep]
    confidence = confidence[keep] if probs is not None else None
    letters = _TAG_BYTES[np.where(is_sep, 4, tags).astype(np.int64)].tobytes().decode("ascii")
    all_words = [joined[a:b] for a, b in zip(starts.tolist(), ends.tolist())]
    first = np.searchsorted(starts, offsets).tolist()
    last = np.searchsorted(starts, offsets + lengths).tolist()
    results = []
    for i, text in enumerate(texts):
        a, b = first[i], last[i]
        off = int(offsets[i])
        spans = tuple(zip((starts[a:b] - off).tolist(), (ends[a:b] - off).tolist()))
        conf = tuple(confidence[a:b].tolist()) if confidence is not None else (1.0,) * (b - a)
        results.append(SegmentResult(text, tuple(all_words[a:b]), spans, letters[off:off + len(text)],
                                     None if probs is None else probs[off:off + len(text)], conf))
    return results


def segment(texts: str | Sequence[str], *, model=None, user_dict: UserDictionary | Iterable[str] | None = None,
            probabilities: bool = True, batch_chars: int = 32768, max_piece: int = 256):
    """Segment one text (→ SegmentResult) or a sequence of texts (→ list[SegmentResult]).

    ``model``: a loaded Segmenter, a registry model name, or None for the default model.
    ``user_dict``: words never split (a UserDictionary or any iterable of words).
    ``probabilities``: compute per-character marginals (N, 4) and per-word confidences;
    off, decoding is Viterbi only (faster) and confidences are 1.0.
    """
    single = isinstance(texts, str)
    results = drive(segment_job([texts] if single else list(texts), model=model, user_dict=user_dict,
                                probabilities=probabilities, batch_chars=batch_chars, max_piece=max_piece))
    return results[0] if single else results
