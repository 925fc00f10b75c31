"""Attention mask patterns against element-by-element definitions."""

from __future__ import annotations

import numpy as np
import pytest

from engine.attention.masks import MASK_KINDS, format_mask, make_mask, mask_density


def brute_force(kind: str, n: int, window=1, dilation=2, stride=3, prefix=None, causal=False) -> np.ndarray:
    prefix = n // 2 if prefix is None else prefix
    out = np.zeros((n, n), dtype=bool)
    for i in range(n):          # query
        for j in range(n):      # key
            if kind == "bidirectional":
                allowed = True
            elif kind == "causal":
                allowed = j <= i
            elif kind == "unilm":
                source_key = j < prefix
                allowed = source_key if i < prefix else (source_key or j <= i)
            elif kind == "local":
                allowed = abs(i - j) <= window
            elif kind == "atrous":
                allowed = abs(i - j) % dilation == 0
            elif kind == "strided":
                allowed = abs(i - j) < stride or abs(i - j) % stride == 0
            if causal and j > i:
                allowed = False
            out[i, j] = allowed
    return out


# ``causal=True`` is only meaningful for the sparse patterns (local, atrous, strided)
CASES = [(kind, causal) for kind in MASK_KINDS for causal in (False, True)
         if not causal or kind in ("local", "atrous", "strided")]


@pytest.mark.parametrize("kind,causal", CASES)
@pytest.mark.parametrize("n", [1, 5, 12])
def test_matches_definition(kind, n, causal):
    params = dict(window=2, dilation=3, stride=4, prefix=min(3, n))
    mask = make_mask(kind, n, causal=causal, **params)
    assert mask.dtype == bool and mask.shape == (n, n)
    np.testing.assert_array_equal(mask, brute_force(kind, n, causal=causal, **params))
    assert mask.diagonal().all(), "a token may always attend to itself"


def test_small_examples_written_out():
    np.testing.assert_array_equal(make_mask("causal", 3).astype(int), [[1, 0, 0], [1, 1, 0], [1, 1, 1]])
    np.testing.assert_array_equal(make_mask("unilm", 4, prefix=2).astype(int),
                                  [[1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]])
    np.testing.assert_array_equal(make_mask("atrous", 4, dilation=2).astype(int),
                                  [[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1]])
    np.testing.assert_array_equal(make_mask("local", 4, window=1).astype(int),
                                  [[1, 1, 0, 0], [1, 1, 1, 0], [0, 1, 1, 1], [0, 0, 1, 1]])
    # Sparse Transformer (causal strided, stride 2): the previous token plus every 2nd one
    np.testing.assert_array_equal(make_mask("strided", 5, stride=2, causal=True).astype(int),
                                  [[1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 0, 0],
                                   [0, 1, 1, 1, 0], [1, 0, 1, 1, 1]])


def test_unilm_edge_prefixes_are_causal_and_bidirectional():
    np.testing.assert_array_equal(make_mask("unilm", 6, prefix=0), make_mask("causal", 6))
    np.testing.assert_array_equal(make_mask("unilm", 6, prefix=6), make_mask("bidirectional", 6))


def test_sparse_patterns_are_cheaper_and_density():
    n = 64
    assert mask_density(make_mask("bidirectional", n)) == 1.0
    assert mask_density(make_mask("causal", n)) == pytest.approx((n + 1) / (2 * n))
    assert mask_density(make_mask("local", n, window=2)) < 0.1
    assert mask_density(make_mask("atrous", n, dilation=8)) == pytest.approx(1 / 8)


def test_format_and_errors():
    assert format_mask(make_mask("causal", 2)) == "1 0\n1 1"
    with pytest.raises(ValueError):
        make_mask("diagonal", 3)
    with pytest.raises(ValueError):
        make_mask("atrous", 3, dilation=0)
    with pytest.raises(ValueError):
        make_mask("unilm", 3, prefix=4)
