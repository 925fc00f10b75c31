"""Stages 2-3 (preprocess, detect_lines) on pages rendered with a system CJK font."""

import cv2
import numpy as np
import pytest

from engine.ocr import synth
from engine.ocr.detect import detect_lines, is_vertical_text, clean_mask
from engine.ocr.preprocess import estimate_skew, preprocess

FACE = synth.default_face()
pytestmark = pytest.mark.skipif(FACE is None, reason="no CJK training font installed (fonts-noto-cjk / fonts-wqy-*)")

PARAGRAPHS = ["今天天气很好我们一起去公园散步看见很多人在跑步", "第二段文字在这里继续写下去直到结束为止", "第三段很短"]


def _centre_y(box):
    return (box[1] + box[3]) / 2


def _assert_lines_match(layout, page, tolerance=6):
    assert len(layout.lines) == len(page.lines)
    for found, drawn in zip(layout.lines, page.boxes):
        x0, y0, x1, y1 = found.box
        assert abs(x0 - drawn[0]) <= tolerance and abs(x1 - drawn[2]) <= tolerance
        assert abs(_centre_y(found.box) - _centre_y(drawn)) <= tolerance


def test_paragraphs_and_blank_lines_in_order():
    page = synth.render_page(PARAGRAPHS, FACE, 24, chars_per_line=10, paragraph_gap=1.5)
    layout = detect_lines(preprocess(page.image))
    assert len(page.lines) == 6
    _assert_lines_match(layout, page)
    assert [l.block for l in layout.lines] == [0, 0, 0, 1, 1, 2]


def test_two_columns_read_column_by_column_with_title():
    page = synth.render_page(PARAGRAPHS + ["第四段在右边", "最后一段文字"], FACE, 22, columns=2, chars_per_line=9,
                             title="两栏页面的标题")
    layout = detect_lines(preprocess(page.image))
    _assert_lines_match(layout, page)
    right_column_start = page.boxes[-1][0]
    xs = [l.box[0] for l in layout.lines]
    # once the reader moves to the right column it never returns to the left one
    first_right = next(i for i, x in enumerate(xs) if x >= right_column_start - 6)
    assert all(x >= right_column_start - 6 for x in xs[first_right:])
    assert first_right == 1 + sum(len(synth.wrap(p, 9)) for p in PARAGRAPHS[:3])


def test_mixed_font_sizes():
    big = synth.render_page(["大号标题"], FACE, 48, chars_per_line=8).image
    small = synth.render_page(["小号正文第一行内容", "小号正文第二行"], FACE, 16, chars_per_line=9, paragraph_gap=0).image
    width = max(big.shape[1], small.shape[1])
    pad = lambda im: np.pad(im, ((0, 0), (0, width - im.shape[1]), (0, 0)), constant_values=255)
    page = np.concatenate([pad(big), pad(small)], axis=0)
    layout = detect_lines(preprocess(page))
    heights = [l.box[3] - l.box[1] for l in layout.lines]
    assert len(layout.lines) == 3
    assert heights[0] > 2 * heights[1]


def test_light_on_dark_is_inverted_and_found():
    page = synth.render_page(PARAGRAPHS[:2], FACE, 24, chars_per_line=10, background=(20, 30, 60), ink=(240, 240, 200))
    pre = preprocess(page.image)
    assert pre.inverted
    assert pre.gray[5, 5] > 200  # ground is light after inversion
    _assert_lines_match(detect_lines(pre), page)


def test_uneven_lighting_and_coloured_ground():
    page = synth.render_page(PARAGRAPHS, FACE, 24, chars_per_line=10, paragraph_gap=1.5, background=(230, 220, 160))
    h, w = page.image.shape[:2]
    shade = np.linspace(0.55, 1.0, w)[None, :, None]  # strong left-to-right shadow
    shaded = (page.image.astype(np.float32) * shade).astype(np.uint8)
    _assert_lines_match(detect_lines(preprocess(shaded)), page)


@pytest.mark.parametrize("angle", [-9.0, 6.0])
def test_deskew_and_boxes_in_original_coordinates(angle):
    page = synth.render_page(PARAGRAPHS, FACE, 24, chars_per_line=10, paragraph_gap=1.5, margin=80)
    h, w = page.image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    rotated = cv2.warpAffine(page.image, m, (w, h), borderValue=(255, 255, 255))
    pre = preprocess(rotated)
    assert abs(pre.angle + angle) < 0.6
    layout = detect_lines(pre)
    assert len(layout.lines) == len(page.lines)
    for found, drawn in zip(layout.lines, page.boxes):
        # the drawn line's centre, rotated like the page, lies inside the reported box
        cx, cy = (drawn[0] + drawn[2]) / 2, (drawn[1] + drawn[3]) / 2
        rx, ry = m @ np.array([cx, cy, 1.0])
        x0, y0, x1, y1 = found.box
        assert x0 <= rx <= x1 and y0 <= ry <= y1


def test_estimate_skew_flat_for_level_text():
    page = synth.render_page(PARAGRAPHS, FACE, 24, chars_per_line=10)
    assert estimate_skew(preprocess(page.image, deskew=False).binary) == 0.0


def test_blank_and_noise_images_have_no_lines():
    blank = np.full((200, 300, 3), 255, np.uint8)
    layout = detect_lines(preprocess(blank))
    assert layout.lines == () and any("no text" in w for w in layout.warnings)
    rng = np.random.default_rng(1)
    speckled = np.full((200, 300), 255, np.uint8)
    speckled[rng.random((200, 300)) < 0.002] = 0
    assert detect_lines(preprocess(speckled)).lines == ()


def test_vertical_text_is_reported_not_read():
    from PIL import Image, ImageDraw

    font = synth._font(FACE.path, FACE.index, 28)
    img = Image.new("RGB", (260, 420), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    for c, column in enumerate(["床前明月光疑是地", "上霜举头望明月低", "头思故乡春眠不觉"]):
        for r, ch in enumerate(column):
            draw.text((190 - c * 70, 20 + r * 46), ch, font=font, fill=(0, 0, 0))
    layout = detect_lines(preprocess(np.asarray(img)))
    assert layout.vertical and layout.lines == ()
    assert any("vertical" in w for w in layout.warnings)
    # and ordinary horizontal text is not mistaken for vertical
    page = synth.render_page(PARAGRAPHS, FACE, 24, chars_per_line=10)
    mask, h, _ = clean_mask(preprocess(page.image).binary)
    assert not is_vertical_text(mask, h)


@pytest.mark.parametrize("text", ["言；笑", "偃息湖山非久计，翔鸿鹄待殊迁。", "钱买；；传神"])
def test_tightly_cropped_single_line_stays_one_line(text):
    # A one-line image cropped close to its text (what a user screenshots, and the clean benchmark
    # lines): every whole glyph is taller than half the image.  The glyph height must still come
    # from whole glyphs, not from the strokes left over, or the gap after a comma reads as a gutter
    # between two columns.
    size = 20
    gray = synth.render_text_image(text, FACE, size, None, degrade=False)
    pre = preprocess(cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB))
    _, glyph_height, _ = clean_mask(pre.binary)
    assert glyph_height >= 0.7 * size
    layout = detect_lines(pre)
    assert len(layout.lines) == 1
    x0, _, x1, _ = layout.lines[0].box
    assert x1 - x0 >= 0.8 * size * len(text) - size  # the whole line, not a piece of it


def test_cut_line_adds_ground_around_the_crop():
    from engine.ocr.detect import cut_line

    gray = synth.render_text_image("中文。", FACE, 24, None, degrade=False)
    pre = preprocess(cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB))
    line = detect_lines(pre).lines[0]
    x0, y0, x1, y1 = line.crop_box
    inner = pre.gray[y0:y1, x0:x1]
    crop = cut_line(pre.gray, line)
    band, side = (crop.shape[0] - inner.shape[0]) // 2, (crop.shape[1] - inner.shape[1]) // 2
    assert band >= 1 and side >= 3 * band - 1
    assert (crop[band:band + inner.shape[0], side:side + inner.shape[1]] == inner).all()
    ground = crop.copy()
    ground[band:band + inner.shape[0], side:side + inner.shape[1]] = np.median(inner)
    assert (ground == np.median(inner)).all()


def test_crop_reaches_past_the_last_glyph_by_half_a_cell():
    # a faint 。 that ends a line may not become ink: it stands in the cell after the last glyph; and a crop
    # that ends at the last glyph has it read twice.  The left side keeps a quarter (a list's bullet is near).
    from dataclasses import replace

    page = synth.render_page(PARAGRAPHS[:1], FACE, 24, chars_per_line=12)
    pre = preprocess(page.image)
    for screen in (False, True):
        for line in detect_lines(replace(pre, screen=screen)).lines:
            x0, y0, x1, y1 = line.core
            right, left = (line.crop_box[2] - x1) / (y1 - y0), (x0 - line.crop_box[0]) / (y1 - y0)
            assert 0.55 <= right <= 0.7 or line.crop_box[2] == pre.binary.shape[1]
            assert 0.2 <= left <= 0.35 or line.crop_box[0] == 0


def test_blob_edges_drop_an_avatars_rim_but_not_a_bold_glyph():
    """A filled disc (an avatar) loses the ink on its rim; a bold 口 as dark, its hole no flat inside, keeps it."""
    from engine.ocr.preprocess import drop_blob_edges

    gray = np.full((80, 200), 255, np.uint8)
    cv2.circle(gray, (30, 40), 20, 120, -1)                        # the avatar: flat inside
    cv2.rectangle(gray, (120, 30), (139, 49), 30, -1)              # 口, strokes 4 px around a hole
    cv2.rectangle(gray, (124, 34), (135, 45), 255, -1)
    binary = np.zeros_like(gray)
    cv2.circle(binary, (30, 40), 20, 255, 2)                       # the ink finder sees the disc's rim
    cv2.rectangle(binary, (120, 30), (139, 49), 255, 2)            # and the glyph's outer edge
    out = drop_blob_edges(binary, gray, 13.0)
    assert out[:, :60].sum() == 0
    assert (out[:, 100:] == binary[:, 100:]).all()


def _marker_line(marker: str) -> np.ndarray:
    """A binary line mask: a list marker 20 px across, a gap, then a run of glyph-like blocks."""
    mask = np.zeros((40, 300), np.uint8)
    centre = np.array([20.0, 20.0])
    if marker == "●":
        cv2.circle(mask, (20, 20), 10, 255, -1)
    else:   # ★: five outer points, radius 11, inner radius 0.45 of it
        angles = np.deg2rad(-90 + 36 * np.arange(10))
        radii = np.where(np.arange(10) % 2 == 0, 11.0, 5.0)
        points = centre + np.stack([radii * np.cos(angles), radii * np.sin(angles)], 1)
        cv2.fillPoly(mask, [np.int32(np.round(points))], 255)
    for x in range(45, 290, 24):
        mask[10:30, x:x + 18] = 255
    return mask


def test_a_round_bullet_is_skipped_but_a_star_marker_is_text():
    from engine.ocr.detect import _skip_round_bullet

    # a Kaiti ★ list marker passed every round-bullet test (solid, centred, corners empty) and was dropped from
    # 13 lines of one photo; it is concave, a ● is not
    box = (9, 8, 291, 32)
    assert _skip_round_bullet(_marker_line("●") > 0, box, 20.0) > 30
    assert _skip_round_bullet(_marker_line("★") > 0, box, 20.0) == 9


def test_a_hollowed_square_bullet_is_skipped_but_er_and_kou_are_text():
    from engine.ocr.detect import _skip_round_bullet

    def line(first):
        mask = np.zeros((48, 300), np.uint8)
        first(mask)
        for x in range(70, 290, 44):
            mask[4:44, x:x + 38:4] = 255     # glyph-like blocks of vertical strokes, 40 px tall
        return mask > 0

    def square(m):   # ■ typed in a LibreOffice page, as the ink finder leaves it: its top and bottom edges
        m[2:9, 8:45] = 255
        m[38:46, 8:45] = 255

    def er(m):       # 二: the upper stroke shorter and inset, the two closer together
        m[12:17, 14:40] = 255
        m[34:40, 8:46] = 255

    def kou(m):      # 口: both bars and both sides
        square(m)
        m[2:46, 8:13] = 255
        m[2:46, 40:45] = 255

    # the square was read as “ before each item of a scanned list (seed 2 doc_008: 10 lines)
    box = (0, 0, 300, 48)
    assert _skip_round_bullet(line(square), box, 40.0) >= 70
    assert _skip_round_bullet(line(er), box, 40.0) == 0
    assert _skip_round_bullet(line(kou), box, 40.0) == 0


def test_dashes_written_in_a_line_are_kept_but_dividers_and_bars_are_dropped():
    """Solid bars (a scroll bar, a coloured edge) and thin rules (a divider, an underline) are dropped, unless
    they lie flat beside glyphs: a bold 一 beside one about as tall as it is long, a dash run between two."""
    binary = np.zeros((240, 420), np.uint8)
    for x in range(10, 380, 22):                       # body text: 18 px glyphs, hollow as strokes are
        if not 120 <= x <= 170:
            cv2.rectangle(binary, (x, 150), (x + 15, 165), 255, 2)
    binary[157:159, 118:186] = 255                     # ——— between two of them: 68 x 2
    binary[208:210, 30:200] = 255                      # an underline under a row of glyphs
    for x in range(30, 190, 22):
        cv2.rectangle(binary, (x, 188), (x + 15, 203), 255, 2)
    for x in (40, 120):                                # title glyphs, 34 px, with a bold 一 between them
        cv2.rectangle(binary, (x, 20), (x + 33, 53), 255, 4)
    binary[33:41, 80:112] = 255                        # 一: 32 x 8, filled
    binary[90:98, 250:282] = 255                       # the same bar alone: a divider's stub
    binary[120:122, 230:300] = 255                     # a divider as long as the dash run
    binary[60:110, 400:408] = 255                      # a scroll bar
    mask, h, _ = clean_mask(binary)
    assert 14 <= h <= 20
    assert mask[33:41, 80:112].all() and mask[157:159, 118:186].all()
    assert not mask[90:98, 250:282].any() and not mask[120:122, 230:300].any()
    assert not mask[60:110, 400:408].any() and not mask[208:210, 30:200].any()


def test_a_wide_gap_in_a_title_row_is_measured_against_its_own_glyphs():
    """In a row of 32 px glyphs a 40 px gap (after 、) is no gutter; between 16 px label and value it is."""
    from engine.ocr.detect import xy_cut

    mask = np.zeros((300, 600), bool)
    for x in (20, 58, 96, 170, 208):                   # title: 32 px glyphs 6 px apart, 42 px gap after the third
        mask[20:52, x:x + 32] = True
    for y in (120, 150, 180):                          # body: 16 px glyphs
        for x in range(20, 560, 19):
            mask[y:y + 16, x:x + 16] = True
    for x in (20, 39, 58):                             # a label, and its value far right on the same row
        mask[240:256, x:x + 16] = True
    for x in (500, 519):
        mask[240:256, x:x + 16] = True
    lines = [box for block in xy_cut(mask, 16.0) for box in block]
    assert (20, 20, 240, 52) in lines
    assert sum(1 for box in lines if box[1] == 240) == 2


def test_a_value_centred_beside_a_label_of_two_lines_is_a_column_of_its_own():
    """A settings label on two lines with its value centred beside them: the rows between them are full."""
    from engine.ocr.detect import xy_cut

    mask = np.zeros((200, 700), bool)
    for y in (40, 80):                                  # the label: two rows of 30 px glyphs
        for x in (20, 54):
            mask[y:y + 30, x:x + 30] = True
    for x in range(170, 600, 34):                       # the value, one row between the label's two
        mask[62:92, x:x + 30] = True
    # the band over the whole block is one 80 px run: a gutter measured against it (1.5 x 80) was none,
    # and the value's line took in the label's rows, read as !Ξ before it
    lines = [box for block in xy_cut(mask, 30.0) for box in block]
    assert [tuple(int(v) for v in box) for box in lines] == [(20, 40, 84, 70), (20, 80, 84, 110), (170, 62, 608, 92)]


def test_a_mark_with_empty_middle_rows_is_no_chevron_and_raises_no_warning():
    import warnings

    from engine.ocr.detect import _is_chevron

    blob = np.zeros((20, 8), bool)
    blob[2:5], blob[15:18] = True, True     # = at a line's end: its middle rows hold no ink
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # numpy warned "Mean of empty slice" on the CLI's stderr
        assert not _is_chevron(blob, 20.0)


def test_the_period_of_touching_lines_is_found_and_one_line_has_none():
    from engine.ocr.detect import _repeat

    rng = np.random.default_rng(3)
    # rows of ink of touching lines 27 px apart, the faint row between them still inked (blur), a short
    # line's drop in the middle and noise: the walk down the strip takes this period
    rows = np.arange(300)
    lines = 300 + 120 * np.cos(2 * np.pi * rows / 27) + rng.normal(0, 25, rows.size)
    lines[140:170] *= 0.5
    assert abs(_repeat(lines, 23, 46) - 27) <= 1
    # one tall title line (ink across its rows, no repeat) and flat ink have no period
    title = np.concatenate([np.zeros(10), 400 * np.hanning(140), np.zeros(10)]) + rng.normal(0, 10, 160)
    assert _repeat(title, 23, 46) == 0
    assert _repeat(np.full(300, 50.0), 23, 46) == 0
