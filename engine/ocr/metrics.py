"""Character error rate (CER) = edit distance / reference length, whitespace removed (the issue's definition)."""

from __future__ import annotations


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insert, delete, substitute all cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _squash(text: str) -> str:
    return "".join(text.split())


def cer(hypothesis: str, reference: str) -> float:
    """CER of one pair; an empty reference gives 0 for an empty hypothesis, else 1."""
    ref, hyp = _squash(reference), _squash(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return edit_distance(hyp, ref) / len(ref)


def corpus_cer(pairs) -> float:
    """Total edits / total reference characters over (hypothesis, reference) pairs."""
    edits = chars = 0
    for hyp, ref in pairs:
        ref, hyp = _squash(ref), _squash(hyp)
        edits += edit_distance(hyp, ref)
        chars += len(ref)
    return edits / max(1, chars)
