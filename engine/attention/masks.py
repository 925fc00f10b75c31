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

from engine.errors import InputError

MASK_KINDS = ("bidirectional", "causal", "unilm", "local", "atrous", "strided")


MAX_N = 8192  # 64 MiB as a boolean matrix; the CLI prints such a mask row by row


def _check(kind: str, n: int, window: int, dilation: int, stride: int, prefix: int | None) -> tuple[int, int]:
    """(n, prefix) after the checks every pattern shares; InputError with one clear line."""
    if kind not in MASK_KINDS:
        raise InputError(f"unknown mask kind {kind!r}; choose one of {', '.join(MASK_KINDS)}")
    n = int(n)
    if not 0 <= n <= MAX_N:
        raise InputError(f"n must lie in 0..{MAX_N} (an n x n mask), got {n}")
    if kind == "local" and window < 0:
        raise InputError(f"window must be >= 0, got {window}")
    if kind == "atrous" and dilation < 1:
        raise InputError(f"dilation must be >= 1, got {dilation}")
    if kind == "strided" and stride < 1:
        raise InputError(f"stride must be >= 1, got {stride}")
    prefix = n // 2 if prefix is None else int(prefix)
    if kind == "unilm" and not 0 <= prefix <= n:
        raise InputError(f"prefix must lie in [0, n={n}], got {prefix}")
    return n, prefix


def _rows(kind: str, n: int, start: int, stop: int, window: int, dilation: int, stride: int,
          prefix: int, causal: bool) -> np.ndarray:
    """Rows start..stop-1 of the mask, (stop - start, n) booleans."""
    i = np.arange(start, stop, dtype=np.int64)[:, None]
    j = np.arange(n, dtype=np.int64)[None, :]
    offset = i - j  # > 0: the key lies in the query's past
    if kind == "bidirectional":
        mask = np.ones((stop - start, n), dtype=bool)
    elif kind == "causal":
        mask = offset >= 0
    elif kind == "unilm":
        mask = (j < prefix) | (offset >= 0)
    elif kind == "local":
        mask = np.abs(offset) <= window
    elif kind == "atrous":
        mask = offset % dilation == 0
    else:  # strided
        mask = (np.abs(offset) < stride) | (offset % stride == 0)
    if causal:
        mask = mask & (offset >= 0)
    return mask


def iter_mask_rows(kind: str, n: int, *, window: int = 1, dilation: int = 2, stride: int = 3,
                   prefix: int | None = None, causal: bool = False, block: int = 256):
    """The mask of :func:`make_mask` as (rows, n) boolean blocks, top to bottom (bounded memory)."""
    n, prefix = _check(kind, n, window, dilation, stride, prefix)
    for start in range(0, n, block):
        yield _rows(kind, n, start, min(n, start + block), window, dilation, stride, prefix, causal)


def make_mask(kind: str, n: int, *, window: int = 1, dilation: int = 2, stride: int = 3,
              prefix: int | None = None, causal: bool = False) -> np.ndarray:
    """The (n, n) boolean mask of pattern ``kind``; True where row i may attend column j.

    ``prefix`` (UniLM) defaults to n // 2; ``window`` >= 0, ``dilation`` >= 1, ``stride`` >= 1
    and ``n`` <= :data:`MAX_N`; built in blocks of rows, so the peak is the mask itself.
    """
    n, _ = _check(kind, n, window, dilation, stride, prefix)
    mask = np.empty((n, n), dtype=bool)
    row = 0
    for part in iter_mask_rows(kind, n, window=window, dilation=dilation, stride=stride, prefix=prefix,
                               causal=causal):
        mask[row:row + len(part)] = part
        row += len(part)
    return mask


def mask_density(mask: np.ndarray) -> float:
    """Fraction of allowed (query, key) pairs: the cost of the pattern relative to full attention."""
    return float(mask.mean()) if mask.size else 0.0


def format_mask(mask: np.ndarray) -> str:
    """Rows of 0/1 digits separated by single spaces, one row per line (the CLI's format)."""
    return "\n".join(format_rows(mask))


def format_rows(rows: np.ndarray) -> list[str]:
    """Each boolean row as 0/1 digits separated by single spaces."""
    if rows.shape[-1] == 0:
        return ["" for _ in range(len(rows))]
    digits = np.where(rows, "1", "0")
    return [" ".join(row) for row in digits.tolist()]
