"""Stage 5 (CTC decoding, the character LM) and the CER metric."""

import math

import numpy as np
import pytest

from engine.ocr.decode import beam_decode, greedy_decode
from engine.ocr.lm import CharNgramLM, train_char_lm
from engine.ocr.metrics import cer, corpus_cer, edit_distance


def _frames(symbols, rows):
    """rows: list of {symbol or '-' (blank): prob}; rest of the mass spread evenly → (T, S+1) log-probs."""
    out = np.zeros((len(rows), len(symbols) + 1))
    for t, row in enumerate(rows):
        rest = (1.0 - sum(row.values())) / (len(symbols) + 1 - len(row))
        out[t] = rest
        for s, p in row.items():
            out[t, 0 if s == "-" else symbols.index(s) + 1] = p
    return np.log(out)


def test_greedy_merges_repeats_and_drops_blanks():
    symbols = list("好人")
    lp = _frames(symbols, [{"好": .9}, {"好": .9}, {"-": .9}, {"好": .9}, {"人": .8}, {"-": .9}])
    d = greedy_decode(lp, symbols)
    assert d.text == "好好人"
    assert len(d.confidences) == 3 and all(0.75 < c <= 0.9 for c in d.confidences)
    assert d.columns == (0, 3, 4)


def test_greedy_empty_and_all_blank():
    assert greedy_decode(np.zeros((0, 3)), list("ab")).text == ""
    assert greedy_decode(_frames(list("ab"), [{"-": .99}] * 4), list("ab")).text == ""


def test_beam_without_lm_matches_greedy_on_confident_input():
    symbols = list("中国人民")
    rng = np.random.default_rng(0)
    rows = []
    for ch in "中国人民人":
        rows += [{ch: .95}, {"-": .95}]
    lp = _frames(symbols, rows)
    assert beam_decode(lp, symbols, None).text == greedy_decode(lp, symbols).text == "中国人民人"


def test_beam_sums_paths_where_greedy_does_not():
    # best path is "-" "-" (empty) but the two paths spelling "a" together outweigh it
    symbols = ["a"]
    lp = np.log(np.array([[0.6, 0.4], [0.6, 0.4]]))
    assert greedy_decode(lp, symbols).text == ""
    assert beam_decode(lp, symbols, None, length_bonus=0).text == "a"  # P(a) = .64 > P("") = .36


def test_lm_beam_corrects_what_greedy_gets_wrong():
    lm = train_char_lm(["中华人民共和国"] * 20 + ["圆形的月亮", "国家"], min_count=1)
    symbols = list("中华人民共和国圆")
    rows = []
    for ch in "中华人民共和":
        rows += [{ch: .9}, {"-": .9}]
    rows += [{"圆": .5, "国": .45}, {"-": .9}]  # the recogniser slightly prefers the wrong look-alike
    lp = _frames(symbols, rows)
    assert greedy_decode(lp, symbols).text == "中华人民共和圆"
    fused = beam_decode(lp, symbols, lm, lm_weight=0.5)
    assert fused.text == "中华人民共和国"
    assert len(fused.confidences) == 7 and fused.confidences[-1] == pytest.approx(0.45, abs=1e-6)


def test_lm_probabilities_sum_to_one_and_round_trip(tmp_path):
    texts = ["我们是学生", "他们是老师", "我们爱学习", "学生们爱老师"]
    lm = train_char_lm(texts, min_count=1)
    for previous in (None, "我", "学", "师"):
        total = sum(math.exp(lm.logp(previous, c)) for c in lm.chars)
        # the rest of the mass is the uniform share kept for characters never seen
        assert 0.98 < total <= 1.0 + 1e-6
    assert lm.score("我们是学生") > lm.score("生学是们我")
    path = tmp_path / "lm.npz"
    lm.save(path)
    again = CharNgramLM.load(path)
    assert again.chars == lm.chars
    assert again.logp("我", "们") == pytest.approx(lm.logp("我", "们"), abs=2e-3)
    assert again.logp("我", "丁") == lm.unknown_logp


def test_trigram_lm_normalised_uses_two_characters_and_round_trips(tmp_path):
    texts = ["我们是学生", "他们是老师", "我们爱学习", "学生们爱老师", "老师们是学生"]
    lm = train_char_lm(texts, min_count=1, order=3, min_count_trigram=1)
    assert lm.order == 3
    for context in ("我们", "们是", "师们", "是学"):
        total = sum(math.exp(lm.logp(context, c)) for c in lm.chars)
        assert 0.98 < total <= 1.0 + 1e-6
    # "是" after "们" is likelier when the two-character context has been seen with it
    assert lm.logp("他们", "是") > lm.logp("", "是")
    path = tmp_path / "lm3.npz"
    lm.save(path)
    again = CharNgramLM.load(path)
    assert again.order == 3
    assert again.logp("我们", "是") == pytest.approx(lm.logp("我们", "是"), abs=2e-3)


def test_lm_load_errors(tmp_path):
    from engine.registry import ModelCorrupt, ModelMissing

    with pytest.raises(ModelMissing):
        CharNgramLM.load(tmp_path / "none.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ModelCorrupt):
        CharNgramLM.load(bad)


def test_cer():
    assert edit_distance("kitten", "sitting") == 3
    assert cer("中国 人民", "中国人民") == 0.0           # whitespace ignored
    assert cer("中华人民", "中国人民") == 0.25
    assert cer("", "") == 0.0 and cer("x", "") == 1.0
    assert corpus_cer([("ab", "abcd"), ("xy", "xy")]) == pytest.approx(2 / 6)


@pytest.mark.parametrize("read, shown", [
    ("石家庄晴 一5°C", "石家庄晴 -5°C"),     # a minus sign before a digit
    ("第二天 一 模拟", "第二天 - 模拟"),       # a dash standing alone between spaces
    ("逐一检查", "逐一检查"),                 # 一 inside a word stays
    ("一、切实组织", "一、切实组织"),          # and so does the numeral of a list
    ("一个人", "一个人"),
    ("晴 -14°℃/3℃C", "晴 -14°C/3°C"),   # one glyph of °C read alone and again inside ℃
    ("版本ν11.3 与 ∨2", "版本v11.3 与 v2"),   # the v of a version number
    ("ν粒子", "ν粒子"),                      # a Greek letter elsewhere stays
])
def test_readings_no_text_has_are_fixed(read, shown):
    from engine.ocr.decode import Decoded, tidy_spaces

    decoded = tidy_spaces(Decoded(read, tuple(0.9 for _ in read), tuple(range(len(read)))))
    assert decoded.text == shown and len(decoded.confidences) == len(shown)


def _line(parts):
    """A prepared line (32 px high, ink = 1) from (kind, gap before) parts: "g" a glyph 18 px wide (20 tall)
    with a hollow middle, "d" a flat stroke 14 px wide, "e" one 18 px wide (—), "E" one 38 px wide (——);
    → (image, x centre of each part)."""
    image, centres, x = np.zeros((32, 200), np.float32), [], 2
    for kind, gap in parts:
        x += gap
        width = {"g": 18, "d": 14, "e": 18, "E": 38}[kind]
        if kind == "g":
            image[6:26, x:x + width] = 1.0
            image[10:22, x + 4:x + width - 4] = 0.0
        else:
            image[15:18, x:x + width] = 1.0
        centres.append(x + width // 2)
        x += width
    return image, centres


@pytest.mark.parametrize("gaps, shown", [
    ((2, 9, 9, 2), "天天-天天"),     # a dash set apart by spaces between words
    ((2, 2, 2, 2), "天天一天天"),    # 一 in a word stands as close as any two glyphs
    ((9, 9, 9, 9), "天天一天天"),    # letter-spaced text: every glyph stands apart
])
def test_yi_standing_apart_is_a_dash(gaps, shown):
    from engine.ocr.decode import Decoded
    from engine.ocr.recognise import WIDTH_STRIDE, read_dashes

    image, centres = _line(zip("ggdgg", (0,) + gaps))
    text = "天天一天天"
    decoded = Decoded(text, tuple(0.9 for _ in text), tuple(c // WIDTH_STRIDE for c in centres))
    assert read_dashes(image, decoded).text == shown


@pytest.mark.parametrize("kind, read, shown", [
    ("e", "——", "—"),      # a dash of one em, read twice
    ("E", "—", "——"),      # two ems drawn as one stroke, read once
    ("e", "—", "—"),
])
def test_em_dashes_are_as_many_as_the_stroke_is_long(kind, read, shown):
    from engine.ocr.decode import Decoded
    from engine.ocr.recognise import WIDTH_STRIDE, read_dashes

    image, centres = _line(zip(kind + "gg", (0, 6, 2)))
    text = read + "天天"
    dash = centres[0] // WIDTH_STRIDE
    columns = tuple(range(dash, dash + len(read))) + tuple(c // WIDTH_STRIDE for c in centres[1:])
    decoded = read_dashes(image, Decoded(text, tuple(0.9 for _ in text), columns))
    assert decoded.text == shown + "天天" and len(decoded.confidences) == len(decoded.columns) == len(decoded.text)


def test_em_dashes_drawn_apart_are_counted_up_to_the_next_character():
    from engine.ocr.decode import Decoded
    from engine.ocr.recognise import WIDTH_STRIDE, read_dashes

    # —— in two strokes 3 px apart, both read on the first, then a flat 一 (一九九八) and a glyph
    image, centres = _line(zip("eedg", (0, 3, 4, 2)))
    text = "——一天"
    first = centres[0] // WIDTH_STRIDE
    columns = (first, first + 1) + tuple(c // WIDTH_STRIDE for c in centres[2:])
    decoded = read_dashes(image, Decoded(text, tuple(0.9 for _ in text), columns))
    assert decoded.text == "——一天"


def _ellipsis_line(dots: int, read: int):
    """A line 天 + ``dots`` dots in one row + 天, decoded as 天, ``read`` × …, 天 → (image, Decoded)."""
    from engine.ocr.decode import Decoded
    from engine.ocr.recognise import WIDTH_STRIDE

    image = np.zeros((32, 40 + 8 * dots + 40), np.float32)
    image[6:26, 4:24] = 1.0                      # the glyph before
    for k in range(dots):
        image[15:18, 30 + 8 * k:33 + 8 * k] = 1.0
    end = 30 + 8 * dots + 4
    image[6:26, end:end + 20] = 1.0              # the glyph after
    text = "天" + "…" * read + "天"
    columns = (14 // WIDTH_STRIDE,) + tuple((30 + k * 8 * dots // max(1, read)) // WIDTH_STRIDE for k in range(read)) \
        + ((end + 10) // WIDTH_STRIDE,)
    return image, Decoded(text, tuple(0.9 for _ in text), columns)


@pytest.mark.parametrize("dots, read, shown", [
    (6, 3, "天……天"),     # …… read as ……… (six evenly spaced dots give no mark where one … ends)
    (3, 2, "天…天"),
    (6, 1, "天……天"),
    (6, 2, "天……天"),
    (12, 3, "天…………天"),
])
def test_an_ellipsis_is_one_per_three_dots(dots, read, shown):
    from engine.ocr.recognise import read_repeated_marks

    image, decoded = _ellipsis_line(dots, read)
    out = read_repeated_marks(image, decoded)
    assert out.text == shown and len(out.confidences) == len(out.columns) == len(out.text)


def test_an_ellipsis_without_dots_to_count_is_left_as_read():
    from engine.ocr.recognise import read_repeated_marks

    image, decoded = _ellipsis_line(6, 3)
    image[15:18, 26:84] = 1.0      # the dots joined into one stroke: nothing to count
    assert read_repeated_marks(image, decoded).text == decoded.text


@pytest.mark.parametrize("strokes, read, gap, shown", [
    (3, 1, 3, "天---天"),     # --- read as -: its strokes stand apart
    (3, 2, 3, "天---天"),
    (2, 3, 3, "天--天"),
    (3, 1, 0, "天-天"),       # touching strokes are one, as long as an em dash: left as read
])
def test_a_run_of_hyphens_is_one_per_stroke(strokes, read, gap, shown):
    from engine.ocr.decode import Decoded
    from engine.ocr.recognise import WIDTH_STRIDE, read_repeated_marks

    image = np.zeros((32, 140), np.float32)
    image[6:26, 4:24] = 1.0
    x = 30
    for _ in range(strokes):
        image[15:18, x:x + 8] = 1.0
        x += 8 + gap
    image[6:26, x + 4:x + 24] = 1.0
    text = "天" + "-" * read + "天"
    columns = (14 // WIDTH_STRIDE,) + tuple((30 + k * 8) // WIDTH_STRIDE for k in range(read)) \
        + ((x + 14) // WIDTH_STRIDE,)
    out = read_repeated_marks(image, Decoded(text, tuple(0.9 for _ in text), columns))
    assert out.text == shown and len(out.confidences) == len(out.columns) == len(out.text)


def _list_number_frames(stop: float, after="价"):
    """1, then a column with ``stop`` of posterior on ".", then ``after``: what a small stop beside a narrow 1 gives."""
    symbols = list("1.⒈价 亿．")
    lp = _frames(symbols, [{"-": .99}, {"1": .9}, {"-": .98 - stop, ".": stop}, {"-": .98}, {after: .97}, {"-": .98}])
    return symbols, lp


@pytest.mark.parametrize("stop, after, shown", [
    (0.3, "价", "1.价"),       # the stop the blank outweighed is put back
    (0.02, "价", "1价"),       # no stop seen: nothing added
    (0.15, "价", "1价"),       # as much as a number going on from the line above got
    (0.3, "1", "11"),         # a number, not a list number
    (0.3, "亿", "1亿"),       # …14.5 / 1亿: a number goes on
    (0.3, "．", "1．"),       # the stop was read
])
def test_a_list_numbers_stop_is_put_back(stop, after, shown):
    from engine.ocr.decode import list_number_stop

    symbols, lp = _list_number_frames(stop, after)
    decoded = greedy_decode(lp, symbols)
    assert "." not in decoded.text
    out = list_number_stop(lp, decoded, symbols)
    assert out.text == shown and len(out.confidences) == len(out.columns) == len(out.text)


def test_a_digit_with_stop_read_with_one_more_stop_keeps_one():
    from engine.ocr.decode import Decoded, list_number_stop

    symbols = list("⒉.价")
    decoded = Decoded("⒉.价", (0.9, 0.4, 0.9), (1, 2, 4))
    assert list_number_stop(np.zeros((6, 4)), decoded, symbols).text == "⒉价"


@pytest.mark.needs_shared("cws/pd199801/pd199801_seg.utf8", "couplet")
def test_lm_corpus_adds_seeded_synthetic_lines_of_each_kind():
    from itertools import islice

    from engine.ocr.lm import training_texts
    from engine.ocr.synth import split_lines

    corpora = sum(len(split_lines(s, held_out=False)) for s in ("news", "poem", "couplet"))
    plain = list(training_texts())
    with_synthetic = list(training_texts(4))
    assert len(plain) == corpora and len(with_synthetic) == corpora + 12 and with_synthetic[:corpora] == plain
    assert with_synthetic[corpora:] == list(islice(training_texts(4), corpora, None))   # seeded
    # the units, dates and versions the corpora hardly hold (the old LM gave 21℃'s ℃ log P -19)
    extra = "".join(list(training_texts(200))[corpora:])
    assert all(mark in extra for mark in ("℃", "%", ":", "-", "v"))
