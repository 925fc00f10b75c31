"""The OCR tab shows the page the engine read: EXIF-oriented, the flattened page with its own boxes
under "Show preprocessed", in single and batch mode (the batch being the CLI's loop)."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import gui.ocr_tab
from gui.image_view import _qimage_to_array
from gui.ocr_tab import OcrTab
from tests.gui.test_ocr_tab import _wait, fake_ocr, tab  # noqa: F401  (tab: the same fixture)

DATA = Path(__file__).resolve().parents[1] / "data" / "ocr"
PHOTO, SETTINGS = DATA / "photo_page.jpg", DATA / "settings_list.png"


def shown(tab):
    """(the image on screen as an array, the boxes drawn on it as (x0, y0, x1, y1))."""
    image = _qimage_to_array(tab.view.pixmap_item.pixmap().toImage())
    boxes = [item.rect().getCoords() for item in tab.view.boxes]
    return image, [tuple(int(round(v)) for v in box) for box in boxes]


def _rotated_copy(tmp_path, name, orientation):
    """settings_list.png stored turned a quarter, with the EXIF tag that turns it upright."""
    turn = {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}[orientation]
    path = tmp_path / name
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.open(SETTINGS).convert("RGB").transpose(turn).save(path, exif=exif, quality=95)
    return path


def _wait_for_page(qtbot, tab):
    qtbot.waitUntil(lambda: not tab.busy and tab.page is not None and tab.view.pixmap_item is not None,
                    timeout=30000)


@pytest.mark.parametrize("cache_bytes", [gui.ocr_tab.PAGE_CACHE_BYTES, 0], ids=["kept", "read-again"])
def test_batch_shows_exif_rotated_photos_upright_with_boxes_over_the_text(qtbot, tab, tmp_path, monkeypatch,
                                                                          cache_bytes):
    import engine.ocr.pipeline as pipeline

    monkeypatch.setattr(gui.ocr_tab, "PAGE_CACHE_BYTES", cache_bytes)   # 0: only the newest page is kept
    views = []
    real_view = pipeline.view_page
    monkeypatch.setattr(pipeline, "view_page", lambda *a, **k: views.append(a[0]) or real_view(*a, **k))
    upright = np.asarray(Image.open(SETTINGS).convert("RGB"))
    expected = [tuple(line.box) for line in fake_ocr(str(SETTINGS)).result.lines]
    paths = [_rotated_copy(tmp_path, "six.jpg", 6), _rotated_copy(tmp_path, "eight.jpg", 8)]
    assert Image.open(paths[0]).size == (420, 520)                      # stored on its side
    tab.open_paths(paths)
    _wait(qtbot, tab)
    _wait_for_page(qtbot, tab)                                            # the first row, when read again
    assert "2 read, 0 failed" in tab.message_label.text()
    for row in (0, 1, 0):
        tab.batch_list.setCurrentRow(row)
        _wait_for_page(qtbot, tab)
        image, boxes = shown(tab)
        assert image.shape == upright.shape                               # 520 wide, 420 tall
        assert np.abs(image.astype(int) - upright).mean() < 4
        assert len(boxes) == len(expected) == 6
        for box, want in zip(boxes, expected):
            assert np.abs(np.subtract(box, want)).max() <= 3
            x0, y0, x1, y1 = box
            assert image[y0:y1, x0:x1].std() > 20                        # text, not empty card
    # pages kept from the batch are shown as they are; the others the engine reads again
    assert views == ([] if cache_bytes else [str(p) for p in (paths[0], paths[1], paths[0])])


def _ink_in_boxes(image, boxes):
    """Share of each box's pixels that are ink in the shown preprocessed page (ink is drawn black)."""
    return [float((image[y0:y1, x0:x1, 0] < 128).mean()) for x0, y0, x1, y1 in boxes]


def test_show_preprocessed_shows_the_flattened_photo_page_with_its_boxes(qtbot, tab, tmp_path):
    from engine.ocr.load import load_image
    from engine.ocr.preprocess import preprocess

    pre = preprocess(load_image(str(PHOTO)).rgb)
    assert pre.page is not None
    tab.open_paths([PHOTO])
    _wait(qtbot, tab)
    image, boxes = shown(tab)
    assert image.shape[:2] == (1000, 900) and len(boxes) == 7            # the photo as loaded
    tab.preprocessed_check.setChecked(True)
    flat, flat_boxes = shown(tab)
    assert flat.shape[:2] == pre.binary.shape != image.shape[:2]          # the warped page, not the photo
    assert np.array_equal(flat[..., 0], 255 - pre.binary)
    assert len(flat_boxes) == 7 and flat_boxes != boxes
    assert min(_ink_in_boxes(flat, flat_boxes)) > 0.05
    # in a batch the same, for a page kept and for one read again
    second = tmp_path / "settings.png"
    second.write_bytes(SETTINGS.read_bytes())
    tab.open_paths([PHOTO, second])
    _wait(qtbot, tab)
    tab.batch_list.setCurrentRow(0)
    _wait_for_page(qtbot, tab)
    again, again_boxes = shown(tab)
    assert again.shape == flat.shape and again_boxes == flat_boxes
    tab.preprocessed_check.setChecked(False)
    assert shown(tab)[0].shape[:2] == (1000, 900)


def test_batch_runs_the_clis_loop_with_the_same_results(qtbot, runner, tmp_path, monkeypatch, capsys):
    import engine.ocr.pipeline as pipeline
    from engine.__main__ import main

    # the shipped recogniser (a random one reads these pages' short lines as junk, which the pipeline drops)
    calls = []
    real_batch = pipeline.ocr_batch

    def spy(sources, *args, **kwargs):
        calls.append(list(sources))
        return real_batch(sources, *args, **kwargs)

    monkeypatch.setattr(pipeline, "ocr_batch", spy)
    paths = [str(PHOTO), str(SETTINGS)]
    tab = OcrTab(runner)                      # the real reader (engine.ocr.pipeline.ocr_page)
    qtbot.addWidget(tab)
    tab.lm_check.setChecked(False)
    tab.open_paths(paths)
    _wait(qtbot, tab)
    assert calls == [paths]                   # the tab ran engine.ocr.pipeline.ocr_batch
    assert main(["ocr", "--format", "jsonl", "--no-lm", *paths]) == 0
    assert len(calls) == 2                    # ... and so did the CLI
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["path"] for r in records] == [p for p, _ in tab.batch_results] == paths
    for record, (_, result) in zip(records, tab.batch_results):
        assert record["text"] == result.text and result.lines
        assert [line["box"] for line in record["lines"]] == [list(line.box) for line in result.lines]
