"""BMES tags: the 4-tag labelling of Chinese word segmentation.

Each character gets one tag: B (begins a word of 2+ chars), M (inside one), E (ends one)
or S (a single-character word).  This is the character-tagging view of segmentation
(Xue 2003; the "4-tag" scheme of Su Jianlin's 中文分词系列 posts).  The order of
``TAGS`` is fixed once here and every tensor's last axis follows it.

Not every tag sequence is a segmentation: ``ALLOWED_TRANSITIONS`` and the start/end
sets say which are; the CRF uses them to make illegal sequences impossible.
"""

from __future__ import annotations

from typing import Iterable, Sequence

TAGS = "BMES"
B, M, E, S = range(4)
NUM_TAGS = 4

# (previous tag, next tag) pairs that can occur inside a valid segmentation.
ALLOWED_TRANSITIONS = frozenset({
    (B, M), (B, E),
    (M, M), (M, E),
    (E, B), (E, S),
    (S, B), (S, S),
})
ALLOWED_START = frozenset({B, S})
ALLOWED_END = frozenset({E, S})

# Tags allowed for a character after which there is NO word boundary / IS a boundary.
CONTINUES_WORD = frozenset({B, M})
ENDS_WORD = frozenset({E, S})


def word_tags(length: int) -> str:
    """The tag string of one word of ``length`` characters: 'S', 'BE', 'BME', 'BMME', ..."""
    if length <= 0:
        raise ValueError("a word has at least one character")
    if length == 1:
        return "S"
    return "B" + "M" * (length - 2) + "E"


def words_to_tags(words: Iterable[str]) -> str:
    """Tag string for a segmented sentence; one tag per character."""
    return "".join(word_tags(len(w)) for w in words if w)


def is_valid(tags: Sequence[int] | str) -> bool:
    """Whether ``tags`` (ids or a 'BMES' string) is a legal segmentation."""
    ids = [TAGS.index(t) for t in tags] if isinstance(tags, str) else list(tags)
    if not ids:
        return True
    if ids[0] not in ALLOWED_START or ids[-1] not in ALLOWED_END:
        return False
    return all((a, b) in ALLOWED_TRANSITIONS for a, b in zip(ids, ids[1:]))


def tags_to_spans(tags: Sequence[int] | str) -> list[tuple[int, int]]:
    """Word spans ``[(start, end), ...]`` (end exclusive) from tags.

    Lenient for sequences that are not legal (a model without constraints may
    produce them): a word ends after E or S and after the last character, and a
    new one starts at B or S.
    """
    ids = [TAGS.index(t) for t in tags] if isinstance(tags, str) else list(tags)
    spans = []
    start = 0
    for i, tag in enumerate(ids):
        if tag in (B, S) and i > start:
            spans.append((start, i))
            start = i
        if tag in (E, S):
            spans.append((start, i + 1))
            start = i + 1
    if start < len(ids):
        spans.append((start, len(ids)))
    return spans


def tags_to_words(chars: str, tags: Sequence[int] | str) -> list[str]:
    """Cut ``chars`` into words following ``tags`` (same length)."""
    if len(chars) != len(tags):
        raise ValueError(f"{len(chars)} characters but {len(tags)} tags")
    return [chars[a:b] for a, b in tags_to_spans(tags)]


def span_f1(gold: list[list[tuple[int, int]]], pred: list[list[tuple[int, int]]]) -> tuple[float, float, float]:
    """Word-level precision, recall, F1 over sentences of spans (the SIGHAN measure)."""
    correct = n_gold = n_pred = 0
    for g, p in zip(gold, pred):
        correct += len(set(g) & set(p))
        n_gold += len(g)
        n_pred += len(p)
    precision = correct / n_pred if n_pred else 0.0
    recall = correct / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
