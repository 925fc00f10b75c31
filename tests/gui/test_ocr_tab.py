"""The OCR tab driven through its real widgets, with a fast fake recogniser (and the real one if shipped)."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.ocr import synth
from gui.ocr_tab import OcrTab

FACE = synth.default_face()
needs_font = pytest.mark.skipif(FACE is None, reason="no CJK font installed to render test images")
LINES = ["今天天气很好", "我们去公园", "第三行"]


def fake_ocr(source, use_lm=True):
    """Real loading, preprocessing and line finding; a fixed text per line instead of the network."""
    from engine.ocr.detect import detect_lines
    from engine.ocr.load import load_image
    from engine.ocr.preprocess import preprocess
    from engine.ocr.result import OcrLine, OcrPage, OcrResult

    loaded = load_image(source)
    pre = preprocess(loaded.rgb)
    layout = detect_lines(pre)
    lines = tuple(OcrLine(l.box, LINES[i % len(LINES)], (0.99,) * (len(LINES[i % len(LINES)]) - 1) + (0.2,), l.core)
                  for i, l in enumerate(layout.lines))
    result = OcrResult(lines, "\n".join(l.text for l in lines), tuple(loaded.warnings) + layout.warnings,
                       loaded.original_size, 0.01)
    return OcrPage(result, loaded.rgb, pre.binary, loaded.scale, str(source), {"angle": pre.angle})


@pytest.fixture
def page_path(tmp_path):
    page = synth.render_page(["一二三四五六七八九十一二", "第二段"], FACE, 24, chars_per_line=6)
    path = tmp_path / "page.png"
    Image.fromarray(page.image).save(path)
    return path


@pytest.fixture
def tab(qtbot, runner):
    widget = OcrTab(runner, ocr=fake_ocr)
    qtbot.addWidget(widget)
    widget.resize(900, 600)
    widget.show()
    return widget


def click_box(qtbot, tab, index):
    """A left click in the middle of line box ``index`` on the image."""
    from PySide6.QtCore import Qt

    centre = tab.view.mapFromScene(tab.view.boxes[index].rect().center())
    qtbot.mouseClick(tab.view.viewport(), Qt.MouseButton.LeftButton, pos=centre)


def _wait(qtbot, tab):
    qtbot.waitUntil(lambda: not tab.busy and tab.open_button.isEnabled(), timeout=20000)


@needs_font
def test_open_image_shows_boxes_and_text_linked(qtbot, tab, page_path):
    assert tab.open_paths([page_path])
    assert not tab.open_button.isEnabled()  # one job at a time
    _wait(qtbot, tab)
    assert tab.text() == "今天天气很好\n我们去公园\n第三行"
    assert len(tab.view.boxes) == 3
    assert "3 lines" in tab.message_label.text()
    # the last character of each line had confidence 0.2: highlighted
    assert tab.low_confidence_positions() == [5, 11, 15]
    click_box(qtbot, tab, 1)
    assert tab.text_edit.textCursor().selectedText() == "我们去公园"
    assert tab.unsaved_edits() == [] and not tab.discard_button.isEnabled()  # selecting is not editing
    click_box(qtbot, tab, 0)
    assert tab.low_confidence_positions() == [5, 11, 15] and tab.unsaved_edits() == []
    cursor = tab.text_edit.textCursor()
    cursor.setPosition(len("今天天气很好\n我们去公园\n") + 1)
    tab.text_edit.setTextCursor(cursor)
    assert tab.view.selected == 2
    tab.preprocessed_check.setChecked(True)
    assert tab.view.pixmap_item is not None
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent

    before = tab.view.transform().m11()
    wheel = QWheelEvent(QPointF(20, 20), QPointF(20, 20), QPoint(0, 0), QPoint(0, 240), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    tab.view.wheelEvent(wheel)
    assert tab.view.transform().m11() == pytest.approx(before * 1.44)


@needs_font
def test_export_copy_and_send(qtbot, tab, page_path, tmp_path):
    tab.open_paths([page_path])
    _wait(qtbot, tab)
    tab.text_edit.setPlainText("改过的文字")
    assert tab.export(tmp_path / "out.txt")
    assert (tmp_path / "out.txt").read_text(encoding="utf-8") == "改过的文字\n"
    assert tab.export(tmp_path / "out.json")
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert data["text"] == "改过的文字" and len(data["lines"]) == 3 and len(data["lines"][0]["box"]) == 4
    with qtbot.waitSignal(tab.send_to_segmentation) as blocker:
        tab.send_button.click()
    assert blocker.args == ["改过的文字"]
    tab.copy_all()
    from PySide6.QtGui import QGuiApplication
    assert QGuiApplication.clipboard().text() == "改过的文字"


def _bad_files(tmp_path):
    files = {}
    files["zero-byte"] = tmp_path / "zero.png"
    files["zero-byte"].write_bytes(b"")
    files["text renamed .png"] = tmp_path / "notes.png"
    files["text renamed .png"].write_text("这只是一段文字。\n" * 10, encoding="utf-8")
    files["corrupt"] = tmp_path / "corrupt.png"
    good = tmp_path / "noise.png"
    Image.fromarray((np.random.default_rng(0).random((80, 80)) * 255).astype(np.uint8)).save(good)
    files["corrupt"].write_bytes(good.read_bytes()[:200])
    files["1x1"] = tmp_path / "dot.png"
    Image.new("RGB", (1, 1)).save(files["1x1"])
    return files


@pytest.mark.parametrize("kind,message", [("zero-byte", "empty"), ("text renamed .png", "not an image"),
                                          ("corrupt", "damaged"), ("1x1", "too small")])
def test_bad_input_gives_a_clear_message(qtbot, tab, tmp_path, kind, message):
    path = _bad_files(tmp_path)[kind]
    tab.open_paths([path])
    _wait(qtbot, tab)
    assert message in tab.message_label.text()
    assert tab.text() == "" and tab.open_button.isEnabled()


def test_huge_and_blank_and_animated(qtbot, tab, tmp_path):
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    huge = tmp_path / "huge.png"
    huge.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b""))
    tab.open_paths([huge])
    _wait(qtbot, tab)
    assert "20000×20000" in tab.message_label.text()

    blank = tmp_path / "blank.png"
    Image.new("RGB", (300, 200), (250, 250, 250)).save(blank)
    tab.open_paths([blank])
    _wait(qtbot, tab)
    assert "no text" in tab.message_label.text() and tab.text() == ""

    frames = [Image.new("RGB", (60, 40), c) for c in ((255, 255, 255), (0, 0, 0))]
    gif = tmp_path / "anim.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=50, loop=0)
    tab.open_paths([gif])
    _wait(qtbot, tab)
    assert "only the first is read" in tab.message_label.text()


@needs_font
def test_batch_with_a_bad_file_progress_and_export_all(qtbot, tab, page_path, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"")
    second = tmp_path / "second.png"
    second.write_bytes(page_path.read_bytes())
    tab.open_paths([page_path, bad, second])
    _wait(qtbot, tab)
    assert tab.batch_list.count() == 3
    assert tab.batch_list.item(1).text().startswith("✗ bad.png")
    assert "2 read, 1 failed" in tab.message_label.text()
    tab.batch_list.setCurrentRow(2)
    assert tab.text().startswith("今天天气很好") and len(tab.view.boxes) == 3
    assert tab.export_all(tmp_path / "all.json")
    records = json.loads((tmp_path / "all.json").read_text(encoding="utf-8"))
    assert [("error" in r) for r in records] == [False, True, False]
    assert records[0]["text"].startswith("今天天气很好")


@needs_font
def test_folder_drop_and_cancel(qtbot, runner, tmp_path, page_path):
    import threading

    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    gate = threading.Event()

    def slow_ocr(source, use_lm=True):
        gate.wait(5)
        return fake_ocr(source, use_lm)

    tab = OcrTab(runner, ocr=slow_ocr)
    qtbot.addWidget(tab)
    tab.show()
    tab.activateWindow()
    tab.text_edit.setFocus()
    folder = tmp_path / "pages"
    folder.mkdir()
    for i in range(4):
        (folder / f"p{i}.png").write_bytes(page_path.read_bytes())
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    event = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    tab.dropEvent(event)
    assert tab.busy and not tab.open_button.isEnabled()
    qtbot.keyClick(tab.text_edit, Qt.Key.Key_Escape)  # the status bar's Cancel is tested with the window
    gate.set()
    _wait(qtbot, tab)
    assert tab.batch_list.count() < 4
    assert "Cancelled" in tab.message_label.text()


@needs_font
def test_paste_image_from_clipboard(qtbot, tab):
    from PySide6.QtGui import QGuiApplication

    from gui.ocr_tab import _array_to_qimage

    page = synth.render_page(["剪贴板里的图"], FACE, 24, chars_per_line=8)
    QGuiApplication.clipboard().setImage(_array_to_qimage(page.image))
    assert tab.paste_image()
    _wait(qtbot, tab)
    assert tab.text() == "今天天气很好" and len(tab.view.boxes) == 1


def test_importing_the_tab_does_not_load_torch():
    import subprocess
    import sys

    code = "import sys, gui.ocr_tab; sys.exit(1 if 'torch' in sys.modules else 0)"
    root = Path(__file__).resolve().parents[2]
    assert subprocess.run([sys.executable, "-c", code], cwd=root).returncode == 0


SHIPPED = Path(__file__).resolve().parents[2] / "assets" / "models" / "ocr"


@needs_font
@pytest.mark.skipif(not list(SHIPPED.glob("*/manifest.json")), reason="no OCR model shipped in assets/models/ocr")
def test_real_model_reads_a_clean_line(qtbot, runner, tmp_path):
    import random

    text = "中华人民共和国"
    gray = synth.render_text_image(text, FACE, 40, random.Random(0), degrade=False)
    path = tmp_path / "line.png"
    Image.fromarray(gray).save(path)
    tab = OcrTab(runner)
    qtbot.addWidget(tab)
    tab.open_paths([path])
    qtbot.waitUntil(lambda: not tab.busy, timeout=60000)
    assert tab.text() == text


@needs_font
def test_edits_stay_with_their_page_through_switching_export_and_discard(qtbot, tab, page_path, tmp_path):
    second = tmp_path / "second.png"
    second.write_bytes(page_path.read_bytes())
    tab.open_paths([page_path, second])
    _wait(qtbot, tab)
    tab.batch_list.setCurrentRow(0)
    tab.text_edit.moveCursor(tab.text_edit.textCursor().MoveOperation.End)
    qtbot.keyClicks(tab.text_edit, "ok")  # QtTest types ASCII only
    edited = "今天天气很好\n我们去公园\n第三行ok"
    assert tab.text() == edited and tab.unsaved_edits() == ["page.png"]
    assert tab.batch_list.item(0).text().startswith("✓ ✎ page.png")
    tab.batch_list.setCurrentRow(1)
    assert tab.text() == "今天天气很好\n我们去公园\n第三行" and not tab.discard_button.isEnabled()
    tab.batch_list.setCurrentRow(0)
    assert tab.text() == edited and tab.discard_button.isEnabled()

    assert tab.export_all(tmp_path / "all.txt")
    assert "第三行ok" in (tmp_path / "all.txt").read_text(encoding="utf-8")
    assert tab.export_all(tmp_path / "all.json")
    records = json.loads((tmp_path / "all.json").read_text(encoding="utf-8"))
    assert records[0]["text"] == edited and records[0]["edited"] and "edited" not in records[1]
    assert tab.unsaved_edits() == []           # exported: closing need not ask

    qtbot.keyClicks(tab.text_edit, "!")
    assert tab.unsaved_edits() == ["page.png"]
    tab.discard_button.click()
    assert tab.text() == "今天天气很好\n我们去公园\n第三行" and tab.unsaved_edits() == []
    assert tab.low_confidence_positions() == [5, 11, 15]  # the recognition's highlight is back
    assert tab.batch_list.item(0).text().startswith("✓ page.png")


@needs_font
def test_low_confidence_has_a_legend_and_a_tooltip_and_typed_text_is_plain(qtbot, tab, page_path):
    assert "hover" in tab.legend.text() and tab.legend.isVisible()
    tab.open_paths([page_path])
    _wait(qtbot, tab)
    assert tab.confidence_tooltip(5) == "好: confidence 20%"         # the unsure last character of line 1
    assert tab.confidence_tooltip(0) == "今: confidence 99%"
    cursor = tab.text_edit.textCursor()
    cursor.setPosition(6)                                          # just after the unsure 好
    tab.text_edit.setTextCursor(cursor)
    qtbot.keyClicks(tab.text_edit, "x")
    assert tab.text().startswith("今天天气很好x") and 6 not in tab.low_confidence_positions()
    assert tab.confidence_tooltip(6) == ""


def test_the_empty_image_pane_says_what_to_do(tab):
    assert "paste" in tab.view.placeholder_text() and "drop" in tab.view.placeholder_text()


@needs_font
def test_toggling_the_language_model_reads_the_current_image_again(qtbot, runner, page_path, tmp_path):
    calls = []

    def recording_ocr(source, use_lm=True):
        calls.append((str(source), use_lm))
        return fake_ocr(source, use_lm)

    tab = OcrTab(runner, ocr=recording_ocr)
    qtbot.addWidget(tab)
    second = tmp_path / "second.png"
    second.write_bytes(page_path.read_bytes())
    tab.open_paths([page_path, second])
    _wait(qtbot, tab)
    tab.batch_list.setCurrentRow(1)
    assert tab.view.placeholder_text() == ""
    tab.lm_check.setChecked(False)
    _wait(qtbot, tab)
    assert calls[-1] == (str(second), False) and tab.batch_list.count() == 2
    assert tab.current_file == str(second) and tab.text().startswith("今天天气很好")
