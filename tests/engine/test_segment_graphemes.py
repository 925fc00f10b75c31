"""Emoji grapheme clusters (flags, ZWJ sequences, skin tones, keycaps, tag sequences) stay one unit."""

from __future__ import annotations

import pytest

from engine.segment.bmes import TAGS
from engine.segment.text import grapheme_spans, rule_restrictions

FLAG, FAMILY, THUMB, KEYCAP = "🇨🇳", "👩\u200d👩\u200d👧", "👍🏽", "1️⃣"
ENGLAND = "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
TEXT = f"我爱{FLAG}和{FAMILY}，{THUMB}第{KEYCAP}名{ENGLAND}队"


def test_clusters_are_found_and_nothing_else():
    assert [TEXT[a:b] for a, b in grapheme_spans(TEXT)] == [FLAG, FAMILY, THUMB, KEYCAP, ENGLAND]
    assert grapheme_spans("😀中文，abc") == []


def test_no_word_may_end_inside_a_cluster():
    restrictions = rule_restrictions(TEXT)
    for start, end in grapheme_spans(TEXT):
        inside = restrictions.allowed[start:end - 1]
        assert not inside[:, TAGS.index("E")].any() and not inside[:, TAGS.index("S")].any()
        assert not restrictions.separators[start:end].any()  # a flag's tag characters are not dropped


def test_the_shipped_segmenter_keeps_every_cluster_in_one_word():
    from engine.registry import ModelError
    from engine.segment.api import segment

    try:
        result = segment([TEXT], probabilities=False)[0]
    except ModelError as exc:
        pytest.skip(f"no shipped segmentation model: {exc}")
    assert "".join(result.words) == TEXT
    for cluster in (FLAG, FAMILY, THUMB, KEYCAP, ENGLAND):
        assert any(cluster in word for word in result.words), (cluster, result.words)
