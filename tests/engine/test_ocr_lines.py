"""Line finding on crops of real-renderer images (tests/data/ocr_lines/README.md says where each is from)."""

import unicodedata
from pathlib import Path

import pytest

from engine.ocr.detect import detect_lines
from engine.ocr.load import load_image
from engine.ocr.preprocess import preprocess

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "ocr_lines"
SHIPPED = sorted((Path(__file__).resolve().parents[2] / "assets" / "models" / "ocr").glob("*/manifest.json"))

CHAT = ["因此，县级人大常委会开展活动时，选题要准、要小，力求在某一方面突破。",
        "当时，小穆便下了决心：一定要将老人侍奉好，让他过上舒坦日子。",
        "希腊的经济结构较特殊。", "近年来农业", "乡镇企业是中国农民的伟大"]


def _layout(name):
    pre = preprocess(load_image(str(DATA / name)).rgb)
    return pre, detect_lines(pre)


def test_dark_text_on_dark_bubbles_is_found():
    # #232323 on #3b3b3b is a fifth of the page's contrast: under the page share that keeps grain
    # out of photos, so these bubbles gave no lines; a screenshot has no grain
    _, layout = _layout("chat_low_contrast.png")
    assert len(layout.lines) == len(CHAT)
    # left, right, right, right, left bubble; each line as wide as its text
    assert sorted(line.box[0] < 110 for line in layout.lines) == [False] * 3 + [True] * 2
    assert [line.box[2] - line.box[0] > 60 for line in layout.lines] == [True] * 5


def test_chat_bubbles_on_both_sides_are_read_top_to_bottom():
    # the bubbles on the left and right follow each other down: not two columns
    _, layout = _layout("chat_low_contrast.png")
    tops = [line.box[1] for line in layout.lines]
    assert tops == sorted(tops) and [line.box[0] < 110 for line in layout.lines] == [True, False, False, False, True]


@pytest.mark.skipif(not SHIPPED, reason="no OCR model weights shipped in assets/models/ocr")
def test_dark_text_on_dark_bubbles_is_read():
    from engine.ocr.pipeline import ocr

    result = ocr(str(DATA / "chat_low_contrast.png"))
    norm = lambda t: "".join(unicodedata.normalize("NFKC", t).split())   # noqa: E731
    assert [norm(line.text) for line in result.lines] == [norm(t) for t in CHAT]


def test_settings_chevrons_are_no_lines():
    # four rows: label, value (letter-spaced digits or 已关闭), chevron.  The chevrons (0.63 glyph
    # heights wide) were read as 〉, on lines of their own
    _, layout = _layout("settings_chevrons.png")
    boxes = [line.box for line in layout.lines]
    assert len(boxes) == 8
    assert all(x1 < 2140 for _, _, x1, _ in boxes)   # the chevrons stand at x 2150-2165


def test_settings_rows_read_row_by_row():
    # the chevrons, a column of their own, made the rows read as columns (labels, then values)
    _, layout = _layout("settings_chevrons.png")
    boxes = [line.box for line in layout.lines]
    rows = [round(y0 / 80) for _, y0, _, _ in boxes]
    assert rows == sorted(rows) and [x0 < 1000 for x0, *_ in boxes] == [True, False] * 4


def test_touching_lines_do_not_double_the_glyph_height():
    # glyphs joined to the glyph below made the 75th-percentile glyph height two lines tall
    # (49 px for 25 px lines), and pairs of lines were cut as one
    _, layout = _layout("scan_touching_sungti.jpg")
    assert layout.glyph_height < 30
    heights = [line.core[3] - line.core[1] for line in layout.lines]
    assert len(heights) == 11 and max(heights) < 35


def _glyphs(mask, y0, y1, x0, x1, step=20, size=16):
    for x in range(x0, x1 - size + 1, step):
        mask[y0:y1, x:x + size] = True


def test_centred_title_above_a_salutation_is_read_first():
    # a notice: the document number, centred, just above the salutation on the left; the two
    # overlap in no row, so they are two rows, not two columns of one row
    import numpy as np

    from engine.ocr.detect import xy_cut

    mask = np.zeros((60, 400), bool)
    _glyphs(mask, 8, 24, 200, 320)
    _glyphs(mask, 30, 46, 10, 70)
    lines = [line for block in xy_cut(mask, 16.0) for line in block]
    assert [(x0, y0) for x0, y0, _, _ in lines] == [(200, 8), (10, 30)]


def test_a_short_last_line_is_as_wide_as_its_own_text():
    # the descenders of the full line above reach into it: its box stops at its own glyphs
    import numpy as np

    from engine.ocr.detect import xy_cut

    mask = np.zeros((60, 420), bool)
    _glyphs(mask, 4, 20, 10, 410)
    for x in range(170, 400, 40):
        mask[20:27, x + 6:x + 9] = True      # descenders, down past the next line's top row
    _glyphs(mask, 25, 41, 10, 110)
    lines = [line for block in xy_cut(mask, 16.0) for line in block]
    assert len(lines) == 2 and lines[1][2] <= 112
