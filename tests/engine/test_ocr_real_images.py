"""Line finding and reading on images from real renderers (headless Chromium), not the trainer's.

The images in tests/data/ocr were made by tests/data/ocr/make_images.py: a dark-mode chat with
coloured bubbles, a light one with round avatars, a hero card with a ghost button above tags and a price, a
hero card beside the image's edge above plain lines, a dark card with tags in lighter pills just above a price, an
article with a bold title above a small grey meta line, a settings card with round bullets and letter-spaced
full-width digits, a
blurred scan with touching lines, a photo of a page lying on a desk at an angle, one on a speckled stone desk
under a hand's shadow, and a card of
lines with units and symbols (℃ ％ ● 〔〕 ① →) and Latin words between hanzi, and a blurred scan of numbered
items ((1) 1. ……).  scan_brackets.jpg is not made there: it is a crop (rows 725-1010, columns 170-800) of
doc_010_list in the real-renderer set `python -m benchmarks.ocr_real.build --seed 1` (LibreOffice, pdftoppm,
scan degradation), whose thin blurred （ do not become ink.  photo_blur_lines.jpg is another such crop (rows
478-700, columns 360-1190) of photo_005_report of `--seed 13` (a simulated phone photo), with no expected text:
its last row is cut by the crop; photo_blur_paragraphs.jpg (rows 520-800, columns 340-1220 of photo_003_letter
of `--seed 12`) and photo_star_list.jpg (rows 525-975, columns 440-1110 of photo_014_list of `--seed 13`) have
none either.  A settings card whose label wraps beside its value and stacked alerts with one
line running on past the others are made by make_images.py too.  Their text (one entry per line, in reading
order) is in tests/data/ocr/expected.json.
"""

import json
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from engine.ocr.detect import detect_lines
from engine.ocr.load import load_image
from engine.ocr.preprocess import preprocess, to_gray

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "ocr"
EXPECTED = json.loads((DATA / "expected.json").read_text(encoding="utf-8"))
SHIPPED = sorted((ROOT / "assets" / "models" / "ocr").glob("*/manifest.json"))
needs_model = pytest.mark.skipif(not SHIPPED, reason="no OCR model weights shipped in assets/models/ocr")


def _image(name):
    return next(DATA.glob(name + ".*"))


def _layout(name):
    loaded = load_image(str(_image(name)))
    pre = preprocess(loaded.rgb)
    return loaded, pre, detect_lines(pre)


# The line finder drops a round bullet at the start of a line on purpose (it is not text on most pages; CSS
# draws it), as the real-renderer benchmark's score ignores one; any other misreading of it still counts.
MARKERS = "·•●○■□◆◇"


def _norm(text):
    return "".join(unicodedata.normalize("NFKC", text).split()).lstrip(MARKERS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_line_is_found_once_in_reading_order(name):
    loaded, pre, layout = _layout(name)
    assert not layout.vertical
    assert len(layout.lines) == len(EXPECTED[name])
    tops = [line.box[1] for line in layout.lines]
    # (the labels of a table stand centred beside values of two lines, and a value beside a label of two: see
    # their own tests)
    if name not in ("table_rows", "settings_wrap"):
        assert tops == sorted(tops)  # one column each: reading order is top to bottom
    width, height = loaded.original_size
    for line in layout.lines:
        x0, y0, x1, y1 = line.box
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height


def test_dark_chat_bubbles_give_text_not_bubbles():
    _, pre, layout = _layout("chat_dark")
    assert pre.inverted  # most ink is light on dark
    heights = [line.box[3] - line.box[1] for line in layout.lines]
    # a bubble is ~40 px tall; its text line ~17 px (the old line finder cut whole bubbles)
    assert max(heights) < 26


def test_bullets_are_not_text_and_the_list_is_not_vertical():
    _, _, layout = _layout("settings_list")
    items = layout.lines[1:]
    # the bullets stand at x ~ 68-76; each item's text starts at ~90
    assert all(line.box[0] >= 84 for line in items)


def test_touching_scan_lines_are_cut_apart():
    _, pre, layout = _layout("scan_tight")
    body = layout.lines[1:]
    pitches = np.diff([(l.box[1] + l.box[3]) / 2 for l in body])
    assert np.all(np.abs(pitches - 20.4) < 4)  # line-height 1.02 x 20 px


def test_photo_page_is_found_and_boxes_map_back_onto_it():
    import cv2

    _, pre, layout = _layout("photo_page")
    assert pre.page is not None
    corners = np.float32(pre.page)
    # the page was placed at (150, 90) (770, 130) (815, 905) (95, 860), pulled in slightly
    assert np.abs(corners - np.float32([[150, 90], [770, 130], [815, 905], [95, 860]])).max() < 25
    for line in layout.lines:
        x0, y0, x1, y1 = line.box
        for point in ((x0, y0), (x1, y1)):
            assert cv2.pointPolygonTest(corners.reshape(-1, 1, 2), point, True) > -12


def test_page_on_a_speckled_stone_desk_is_found_under_a_hand_shadow():
    import sys

    sys.path.insert(0, str(DATA))
    from make_images import STONE_CORNERS

    # The desk's flecks close as bright as the paper and run on into the bright region; the hand's shadow fades
    # the sheet's edge at its bottom-left corner, where the plain edge way leaked 77 px into the desk.  Before,
    # the page ran 68 px past that corner and the desk strip under it was read as a line (阳9年1_.areme-_.).
    loaded, pre, layout = _layout("photo_stone")
    assert pre.page is not None
    assert np.abs(np.float32(pre.page) - np.float32(STONE_CORNERS)).max() < 35
    assert len(layout.lines) == len(EXPECTED["photo_stone"])


def test_ghost_button_line_is_its_text_not_its_outline():
    _, _, layout = _layout("hero_button")
    title, subtitle, button, tags, price = layout.lines
    # the pill outline is ~36 px tall around 13 px text; read as ink it became the line (read （6·)
    assert button.box[3] - button.box[1] < 20
    # 数 at 13 px binarises as a dense blob; it starts the subtitle and is no list bullet
    assert subtitle.box[0] <= title.box[0] + 2
    # the tags row is read before the price below it, not cut off as a column of its own
    assert tags.box[1] < price.box[1] and tags.box[2] - tags.box[0] > 100


def test_margin_beside_a_card_at_the_edge_is_ground_and_the_bold_title_one_line():
    _, pre, layout = _layout("hero_edge")
    title, subtitle, first, second = layout.lines
    # The 8 px white margin between the image's edge and the card was a light stroke to the ink finder (no
    # wider than its element); joined with the lines below the card, it made them one light-on-dark region,
    # read as blocks: both lines were lost.
    assert first.box[0] <= 14 and second.box[0] <= 14 and first.box[2] > 260
    # Beside those dark lines, within an element of their strokes, the gray took the page's main polarity
    # (light, from the card) and was dark there; the recogniser read the patch as 1 or ι before the line.
    x0, y0, _, y1 = first.box
    assert pre.gray[y0:y1, :x0 - 2].min() > 200
    # the title's bold 一 is a filled flat block, as a scroll bar is; dropped, it split the title in two
    assert title.box[2] - title.box[0] > 190


def test_dark_mode_tags_are_their_text_and_come_before_the_price():
    _, _, layout = _layout("tags_dark")
    *_, first, second, third, price = layout.lines
    # A pill lighter than the card lost its rounded ends to the ground estimate (its element fits in no end),
    # so the ends were light strokes, joined to the tag's text: read （风景好｝, its line 66 px wide.
    for line, text in zip((first, second, third), EXPECTED["tags_dark"][2:5]):
        assert line.box[2] - line.box[0] <= 15 * len(text) + 2
    # the price stands closer under the tags than a paragraph break: the last tag, beside a gap over the price,
    # was cut off as a column of its own and read after it
    assert price.box[1] > third.box[3] and third.box[0] > second.box[0] > first.box[0]


def test_a_table_is_read_row_by_row():
    _, _, layout = _layout("table_rows")
    # labels stand at x 46-134, values from x 183; the first row's value takes two lines.  Two rows whose first
    # label is long passed as two columns of running text, and were read labels first (营业地址 电话 营业时间, then
    # their values).
    sides = "".join("L" if line.box[0] < 150 else "R" for line in layout.lines[1:])
    assert sides == "LRR" + "LR" * 5


def test_a_value_beside_a_wrapped_label_is_a_line_of_its_own():
    _, _, layout = _layout("settings_wrap")
    # the label 抽出少 / 数 stands at x 107-177, its grey value from x 203, centred between the label's two
    # rows about a glyph height after it; all three were one box (107-486) and read as junk
    boxes = [line.box for line in layout.lines]
    label, rest, value = boxes[4:7]
    assert label[2] < 190 and rest[2] < 190 and value[0] > 195
    assert label[3] <= value[1] + 12 and value[3] - 12 <= rest[1]   # the value straddles the label's rows


def test_a_line_running_on_past_the_others_is_not_cut_into_columns():
    _, _, layout = _layout("alerts_tail")
    # 。与此同时 runs past the ends of the other lines; its tail (x 529-608) was cut off as a column and read
    # after the last alert
    assert len(layout.lines) == 4 and layout.lines[1].box[2] > 600


def test_blurred_touching_lines_of_a_photo_are_cut_apart():
    # a crop of a simulated phone photo (seed-13 photo_005 of the real-renderer set: 10.5 pt, motion blur, roll
    # -5°): blur joins glyphs of the indented first line of a paragraph to those under it, and the two were one
    # crop read as junk (-2鼱慧骥篙…)
    _, _, layout = _layout("photo_blur_lines")
    heights = [line.core[3] - line.core[1] for line in layout.lines]
    assert max(heights) < 1.5 * float(np.median(heights))
    first, second = layout.lines[1].core, layout.lines[2].core
    assert first[0] > second[0] + 25 and first[3] <= second[1] + 2   # the indented line above the next


def test_paragraphs_blurred_into_blobs_are_cut_into_their_lines():
    # a crop of another simulated photo (seed-12 photo_003: 10.5 pt, motion blur of 6-9 px): blur joins each
    # paragraph into blobs two or more lines tall, so no row is uncrossed; 13 lines were found as 3 boxes, the
    # tallest 163 px, and read as junk
    _, _, layout = _layout("photo_blur_paragraphs")
    heights = [line.core[3] - line.core[1] for line in layout.lines]
    assert len(heights) == 13 and max(heights) < 1.5 * float(np.median(heights))


def test_blurred_stars_that_start_list_items_are_kept():
    # a crop of seed-13 photo_014 (a list of ★ items photographed with blur): blur fills a ★'s notches, and two
    # of them (solidity 0.75-0.78) were skipped as round bullets, so those lines started at x 89-90, past the
    # ★ column at x 57-59 where the other eight start
    _, _, layout = _layout("photo_star_list")
    lefts = [int(line.core[0]) for line in layout.lines]
    assert sum(55 <= x <= 62 for x in lefts) == 10 and not [x for x in lefts if 70 <= x <= 100]


def test_round_avatars_are_not_read_and_the_chat_takes_turns():
    _, _, layout = _layout("chat_round_avatars")
    # the discs stand at x 16-52 and 428-464; their rims binarise as arcs that joined the bubbles' lines
    assert all(52 < line.box[0] and line.box[2] < 420 for line in layout.lines)
    lefts = [line.box[0] for line in layout.lines]
    assert lefts[0] < 100 < lefts[1] and lefts[2] < 100 < lefts[3]   # left, right, left, right


def test_screenshots_are_not_taken_for_photos():
    from engine.ocr.page import find_page

    for name in ("chat_dark", "settings_list", "scan_tight"):
        assert find_page(to_gray(load_image(str(_image(name))).rgb)) is None


# Characters the shipped recogniser (crnn-ctc-s7, as crnn-ctc-s6 before it) still misreads although their line is
# found and cut right (recogniser errors, not line finding): in the blurred serif scan 半 as 举 and 平, 午 as 于, 特 as
# 将 (crnn-ctc-s5 made two of these four); in the article the v of v11.3 read as V; in the dark chat 堵 as 墙 once.
# Every other line must read exactly: the units card (its 〔2024〕12号 lost the 〕 until crnn-ctc-s6), the hero
# card's pale tag chips (their gaps were read 重 and ■ until the ground between regions took the polarity of the nearest one), the -14°C in the
# article (°CC until the LM learnt units), the bold 世 that starts the article's title, the grey 12 px meta line, the
# minus sign and the dash set between words, the lines beside a card at the image's edge; both photos of a page.
MISREAD = {"scan_tight": 4, "article_meta": 1, "chat_dark": 1, "scan_brackets": 1}


@needs_model
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shipped_model_reads_real_images(name):
    from engine.ocr.metrics import edit_distance
    from engine.ocr.pipeline import ocr

    result = ocr(str(_image(name)))
    found, expected = [_norm(line.text) for line in result.lines], [_norm(t) for t in EXPECTED[name]]
    assert len(found) == len(expected)
    errors = sum(edit_distance(f, e) for f, e in zip(found, expected))
    assert errors <= MISREAD.get(name, 0), list(zip(found, expected))


@needs_model
def test_spaces_between_latin_words_are_kept():
    from engine.ocr.pipeline import ocr

    text = unicodedata.normalize("NFKC", ocr(str(_image("units_symbols"))).lines[-1].text)
    # "Mixed 中英文 text 2024年5月": the old model read Mixed中英文text2024年5月.  The space between 文 and
    # text is still lost (the gap after a hanzi is narrow); the ones beside Latin words are kept.
    assert text.startswith("Mixed 中英文") and text.endswith("text 2024年5月")


@needs_model
def test_a_faint_bracket_that_opens_a_line_is_read():
    from engine.ocr.pipeline import ocr

    # the box starts at the digit after it; the crop used to cut through the （ and it was lost or read as ［ 〔
    lines = [unicodedata.normalize("NFKC", line.text) for line in ocr(str(_image("scan_brackets"))).lines]
    assert [line[:3] for line in lines] == ["(6)", "(7)", "(8)", "(9)"]
