"""Attention mask patterns as boolean matrices.

``mask[i, j]`` is True where query ``i`` (row) may attend to key ``j`` (column).  The
patterns follow the seed posts "为节约而生：从标准Attention到稀疏Attention" (local,
atrous, sparse = local ∪ atrous) and "从语言模型到Seq2Seq：Transformer如戏，全靠Mask"
(bidirectional MLM, causal LM, UniLM's seq2seq prefix), plus the strided pattern of
Child et al. 2019, "Generating Long Sequences with Sparse Transformers".

* ``bidirectional``: every pair (BERT-style masked language model).
* ``causal``: ``j <= i`` (left-to-right language model).
* ``unilm``: ``j < prefix or j <= i``: the first ``prefix`` tokens (the source) see each
  other in both directions, the rest (the target) see the source and their own past.
* ``local``: ``|i - j| <= window``.
* ``atrous``: ``(i - j) % dilation == 0`` (dilated attention: every ``dilation``-th token).
* ``strided``: ``|i - j| < stride or (i - j) % stride == 0``, i.e. Sparse Transformer's
  two heads (the previous ``stride`` tokens, and every ``stride``-th token) merged.

``causal=True`` intersects local, atrous and strided with the causal mask (the Sparse
Transformer paper uses the causal strided pattern; Su's figures draw the symmetric one).
"""

from __future__ import annotations

import numpy as np

MASK_KINDS = ("bidirectional", "causal", "unilm", "local", "atrous", "strided")


def make_mask(kind: str, n: int, *, window: int = 1, dilation: int = 2, stride: int = 3,
              prefix: int | None = None, causal: bool = False) -> np.ndarray:
    """The (n, n) boolean mask of pattern ``kind``; True where row i may attend column j.

    ``prefix`` (UniLM) defaults to n // 2; ``window`` >= 0, ``dilation`` >= 1 and ``stride`` >= 1.
    """
    n = int(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    i = np.arange(n)[:, None]
    j = np.arange(n)[None, :]
    offset = i - j  # > 0: the key lies in the query's past
    if kind == "bidirectional":
        mask = np.ones((n, n), dtype=bool)
    elif kind == "causal":
        mask = offset >= 0
    elif kind == "unilm":
        prefix = n // 2 if prefix is None else int(prefix)
        if not 0 <= prefix <= n:
            raise ValueError(f"prefix must lie in [0, n={n}], got {prefix}")
        mask = (j < prefix) | (offset >= 0)
    elif kind == "local":
        if window < 0:
            raise ValueError(f"window must be >= 0, got {window}")
        mask = np.abs(offset) <= window
    elif kind == "atrous":
        if dilation < 1:
            raise ValueError(f"dilation must be >= 1, got {dilation}")
        mask = offset % dilation == 0
    elif kind == "strided":
        if stride < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        mask = (np.abs(offset) < stride) | (offset % stride == 0)
    else:
        raise ValueError(f"unknown mask kind {kind!r}; choose one of {', '.join(MASK_KINDS)}")
    if causal:
        mask = mask & (offset >= 0)
    return np.ascontiguousarray(mask, dtype=bool)


def mask_density(mask: np.ndarray) -> float:
    """Fraction of allowed (query, key) pairs: the cost of the pattern relative to full attention."""
    return float(mask.mean()) if mask.size else 0.0


def format_mask(mask: np.ndarray) -> str:
    """Rows of 0/1 digits separated by single spaces, one row per line (the CLI's format)."""
    return "\n".join(" ".join("1" if v else "0" for v in row) for row in mask)
