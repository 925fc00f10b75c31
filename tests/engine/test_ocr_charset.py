"""The extended character set: old models' class ids kept, the classifier grown without changing what the
donor reads, symbol-rich training lines, and spaces kept only between words."""

import random
import unicodedata

import numpy as np
import pytest

from engine.ocr import synth
from engine.ocr.decode import Decoded, beam_decode, greedy_decode, tidy_spaces
from engine.ocr.lm import train_char_lm

from .test_ocr_decode import _frames

needs_data = pytest.mark.needs_shared("cws/pd199801/pd199801_seg.utf8", "charset")


def test_extra_symbols_hold_what_pages_show_and_no_lookalikes():
    for ch in "℃％→●◆〔〕①⑴㈠Ⅻ★☆°‰αβΩāǎüé×÷≤≥":
        assert ch in synth.EXTRA_SYMBOLS, ch
    # drawn exactly like a symbol already in the set: their labels would contradict each other
    for ch in "―∶ΑΒΟµ　":
        assert ch not in synth.EXTRA_SYMBOLS, ch
    # kana and Cyrillic are left out (エ 工, ロ 口 look alike)
    assert not any(0x3040 <= ord(c) <= 0x30FA or 0x0400 <= ord(c) <= 0x04FF for c in synth.EXTRA_SYMBOLS)
    assert len(set(synth.EXTRA_SYMBOLS)) == len(synth.EXTRA_SYMBOLS)


@needs_data
def test_charset_appends_extras_after_the_old_symbols():
    levels = synth.read_charset_levels()
    drawable = frozenset(c for level in levels for c in level[:50]) | frozenset(
        synth.ASCII_PRINTABLE + synth.CHINESE_PUNCTUATION + synth.EXTRA_SYMBOLS)
    charset = synth.build_charset({"face": drawable})
    old = [c for level in levels for c in level[:50]] + list(synth.ASCII_PRINTABLE + synth.CHINESE_PUNCTUATION)
    assert charset[: len(old)] == old  # a model trained on the old set keeps its class ids
    assert charset[-1] == synth.SPACE and len(charset) == len(set(charset))
    assert set(charset[len(old):-1]) == set(synth.EXTRA_SYMBOLS) - set(old)


@needs_data
def test_symbol_lines_use_the_new_symbols_and_single_spaces():
    news = synth.split_lines("news", held_out=False)
    lines = [synth.symbol_text(random.Random(seed), news) for seed in range(300)]
    text = "".join(lines)
    extra = set(synth.EXTRA_SYMBOLS) - set(synth.CHINESE_PUNCTUATION)
    assert len(set(text) & extra) > 150  # most of the new symbols appear within a few hundred lines
    assert sum(" " in l for l in lines) > 60
    assert synth.fullwidth("A1%") == "Ａ１％" and unicodedata.normalize("NFKC", synth.fullwidth("A1%")) == "A1%"


def test_tidy_spaces_keeps_spaces_between_words_only():
    def tidy(text):
        d = tidy_spaces(Decoded(text, tuple(float(i) for i in range(len(text))), tuple(range(len(text)))))
        assert len(d.confidences) == len(d.text) == len(d.columns)
        assert all(text[int(c)] == ch for c, ch in zip(d.confidences, d.text))  # each keeps its own confidence
        return d.text

    assert tidy("Mixed 中英文 text 2024年5月") == "Mixed 中英文 text 2024年5月"
    assert tidy(" 中 国  人 ") == "中国人"
    assert tidy("Hello  World ") == "Hello World"
    assert tidy("一 A") == "一 A"


def test_a_space_is_scored_by_the_recogniser_not_the_lm():
    symbols = list("ab ")
    # the LM has never seen a space: were it asked, "a b" would lose to "ab"
    lm = train_char_lm(["abab", "baba"] * 10, min_count=1)
    lp = _frames(symbols, [{"a": .9}, {"-": .9}, {" ": .6}, {"-": .9}, {"b": .9}])
    assert greedy_decode(lp, symbols).text == "a b"
    assert beam_decode(lp, symbols, lm, lm_weight=1.0, length_bonus=0.5).text == "a b"
    # and with no space in the recogniser's output the words run together, as before
    lp = _frames(symbols, [{"a": .9}, {"-": .9}, {"b": .9}])
    assert beam_decode(lp, symbols, lm, lm_weight=1.0, length_bonus=0.5).text == "ab"


def test_grown_classifier_reads_exactly_as_the_donor():
    import torch

    from engine.ocr.model import LineRecogniser
    from engine.train.ocr import grow_classifier

    torch.manual_seed(0)
    old_symbols = list("一二三ABC%")
    new_symbols = old_symbols + ["％", "℃", " "]
    donor = LineRecogniser(len(old_symbols), (8, 8, 8, 8), 16).eval()
    with torch.no_grad():  # a trained model's logits are strongly negative wherever it reads nothing
        donor.classifier.bias[1:] -= 8.0
    grown = LineRecogniser(len(new_symbols), (8, 8, 8, 8), 16)
    grown.load_state_dict(grow_classifier(donor.state_dict(), grown.state_dict(), new_symbols))
    grown.eval()
    images = torch.rand(2, 1, 32, 96)
    with torch.no_grad():
        a, b = donor(images), grown(images)
    n = len(old_symbols) + 1
    assert torch.equal(a, b[..., :n])
    assert (b[..., n:].max(-1).values < a.max(-1).values).all()  # the new symbols never win at the start
    # ％ starts as a copy of % (its NFKC form), a little less likely
    percent, wide = old_symbols.index("%") + 1, new_symbols.index("％") + 1
    assert torch.allclose(b[..., wide], b[..., percent] - 1.0, atol=1e-5)


def _page_set(folder, lines):
    """A one-kind page set in the format of benchmarks/ocr_real/build.py: black text boxes on white."""
    import json

    import cv2

    items = []
    for k, texts in enumerate(lines):
        img = np.full((40 * len(texts) + 20, 200), 255, np.uint8)
        gt_lines = []
        for i, text in enumerate(texts):
            box = [10, 10 + 40 * i, 10 + 12 * len(text), 40 + 40 * i]
            cv2.rectangle(img, tuple(box[:2]), (box[2], box[1] + 20), 0, -1)
            gt_lines.append({"text": text, "box": box})
        (folder / f"p{k}.png").write_bytes(cv2.imencode(".png", img)[1].tobytes())
        (folder / f"p{k}.json").write_text(json.dumps({"lines": gt_lines}), encoding="utf-8")
        items.append({"image": f"p{k}.png", "gt": f"p{k}.json"})
    (folder / "index.json").write_text(json.dumps({"items": items}), encoding="utf-8")


def test_real_renderer_lines_are_cut_labelled_and_mixed_into_batches(tmp_path):
    from engine.ocr.recognise import prepare_line
    from engine.train.ocr import make_batches, real_lines, tidy_label

    assert tidy_label(" Mixed  中英文 text\t2024年 5月 ") == "Mixed 中英文 text 2024年 5月"
    assert tidy_label("中 国") == "中国"
    pages = [["中国 人", "Wi-Fi 设置", "不在集合里的字☃"]] + [[f"第{k}行"] for k in range(1, 11)]
    _page_set(tmp_path, pages)
    train, val = real_lines([tmp_path], list("中国人设置第行0123456789Wi-F "), prepare_line)
    # pages 0 and 10 (every 10th) validate; the line with a symbol outside the set is left out
    assert [t for _, t in val] == ["中国人", "Wi-Fi 设置", "第10行"]
    assert [t for _, t in train] == [f"第{k}行" for k in range(1, 10)]
    assert all(img.shape[0] == 32 and img.dtype == np.float32 for img, _ in train)

    class Synth:
        def sample(self, seed, degrade=True):
            return type("S", (), {"image": np.full((32, 64), 200, np.uint8), "text": "合成"})()

    seeds = list(range(400))
    mixed = [t for b in make_batches(Synth(), seeds, 32, prepare_line, 0.2, train, 0.3) for _, t in b]
    assert 0.2 < sum(t != "合成" for t in mixed) / len(mixed) < 0.4
    again = [t for b in make_batches(Synth(), seeds, 32, prepare_line, 0.2, train, 0.3) for _, t in b]
    assert mixed == again  # the seed alone decides, so a resumed run sees the same stream
    assert all(t == "合成" for b in make_batches(Synth(), seeds, 32, prepare_line, 0.2) for _, t in b)
