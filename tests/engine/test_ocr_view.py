"""What the pipeline hands a viewer: the oriented image, the flattened page the line finder read,
each line's box on both, the same pixels read again for an earlier result, and the batch loop."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.ocr.load import load_image
from engine.ocr.preprocess import preprocess

DATA = Path(__file__).resolve().parents[1] / "data" / "ocr"
PHOTO = DATA / "photo_page.jpg"


@pytest.fixture(scope="module")
def model():
    # the shipped recogniser: a random one reads short lines as junk, which the pipeline drops
    from engine.ocr.pipeline import default_model

    return default_model()


def test_photo_page_gives_the_flattened_page_with_its_boxes(model):
    from engine.ocr.pipeline import ocr_page

    page = ocr_page(str(PHOTO), False, model=model)
    pre = preprocess(load_image(str(PHOTO)).rgb)
    assert page.extra["page"] is not None                        # a photo: the page was warped flat
    assert page.preprocessed.shape == pre.binary.shape != page.image.shape[:2]
    assert np.array_equal(page.preprocessed, pre.binary)
    height, width = page.preprocessed.shape
    assert len(page.result.lines) == 7
    for line in page.result.lines:
        x0, y0, x1, y1 = line.page_box
        assert all(type(v) is int for v in line.page_box)
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
        ink = page.preprocessed[y0:y1, x0:x1] > 0
        assert ink.mean() > 0.05                                 # the box holds the line's ink
        assert ink[:, 0].any() and ink[:, -1].any()              # ... tightly: ink at both ends
    assert "page_box" not in str(page.result.to_json())          # display only, not in the output


def test_view_page_reads_the_same_pixels_again_without_the_model(model):
    from engine.ocr.pipeline import ocr_page, view_page

    page = ocr_page(str(PHOTO), False, model=model)
    again = view_page(str(PHOTO), page.result)
    assert again.result is page.result
    assert np.array_equal(again.image, page.image) and np.array_equal(again.preprocessed, page.preprocessed)
    assert again.extra["matrix"] == page.extra["matrix"] and again.scale == page.scale


def test_exif_rotated_photo_gives_the_upright_image_and_boxes(tmp_path, model):
    from engine.ocr.pipeline import ocr_page

    upright = np.asarray(Image.open(DATA / "settings_list.png").convert("RGB"))
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6   # stored turned a quarter left: a viewer turns it a quarter right
    Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90).save(path, exif=exif, quality=95)
    page = ocr_page(str(path), False, model=model)
    assert page.image.shape == upright.shape
    assert np.abs(page.image.astype(int) - upright).mean() < 4   # JPEG noise only
    straight = ocr_page(str(DATA / "settings_list.png"), False, model=model)
    assert len(page.result.lines) == len(straight.result.lines)
    for a, b in zip(page.result.lines, straight.result.lines):
        assert np.abs(np.subtract(a.box, b.box)).max() <= 3


def test_ocr_batch_can_report_whole_pages_and_take_a_reader(tmp_path, model):
    from engine.ocr.pipeline import ocr_batch, ocr_page
    from engine.ocr.result import OcrPage, OcrResult
    from engine.progress import drive

    bad = tmp_path / "empty.png"
    bad.write_bytes(b"")
    sources = [str(DATA / "settings_list.png"), str(bad)]
    reports, seen = [], []

    def read(source, use_lm):
        seen.append((source, use_lm))
        return ocr_page(source, use_lm, model=model)

    results = drive(ocr_batch(sources, False, read=read, pages=True), reports.append)
    assert seen == [(s, False) for s in sources]    # the bad file failed inside read; the batch went on
    pages = [r.partial[1] for r in reports if r.partial is not None]
    assert isinstance(pages[0], OcrPage) and pages[0].image.shape == (420, 520, 3)
    assert "empty" in pages[1]
    assert isinstance(results[0][1], OcrResult) and results[0][1] is pages[0].result   # results only
