"""Desktop conventions on the real window (fake engines): File menu, files from the command line
and from drops, Recent files, export dialogs, the title, Help → About."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage, QKeySequence
from PySide6.QtWidgets import QFileDialog, QTableWidget, QWidget

import main
from gui.main_window import MainWindow
from gui.ocr_tab import OcrTab
from gui.segment_tab import SegmentTab
from tests.gui.test_main_window import fake_factories
from tests.gui.test_segment_tab import FakeSegmenter


def tiny_ocr(source, use_lm=True):
    """Any image reads as one line 文字 (the second character unsure)."""
    from engine.ocr.result import OcrLine, OcrPage, OcrResult

    image = np.full((20, 40, 3), 255, np.uint8)
    result = OcrResult((OcrLine((2, 2, 38, 18), "文字", (0.95, 0.3)),), "文字", (), (40, 20), 0.01)
    return OcrPage(result, image, image[:, :, 0], 1.0, str(source), {})


@pytest.fixture
def window(qtbot, runner):
    factories = fake_factories()
    factories["OcrTab"] = lambda r: OcrTab(r, ocr=tiny_ocr)
    factories["SegmentTab"] = lambda r: SegmentTab(r, segmenter=FakeSegmenter())
    win = MainWindow(runner=runner, tab_factories=factories)
    qtbot.addWidget(win)
    win.show()
    return win


@pytest.fixture
def files(tmp_path):
    image = tmp_path / "scan 1.png"
    Image.new("RGB", (40, 20), "white").save(image)
    text = tmp_path / "notes.txt"
    text.write_text("迈向充满希望", encoding="utf-8")
    return image, text


def _idle(qtbot, window):
    qtbot.waitUntil(lambda: not window.runner.running(), timeout=10000)
    qtbot.wait(20)


def drop(widget, mime: QMimeData) -> None:
    event = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    widget.dropEvent(event)


def test_file_menu_has_the_usual_entries(window):
    titles = [a.text().split(" ")[0].replace("&", "") for a in window.file_menu.actions() if a.text()]
    assert titles == ["Open…", "Open", "Recent", "Export…", "Quit"]
    assert window.open_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Open)
    assert window.quit_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Quit)


def test_command_line_files_go_to_their_tabs_and_the_title_names_them(window, qtbot, files):
    image, text = files
    assert main.parse_args([str(image), str(text)]).files == [str(image), str(text)]
    assert window.open_paths([str(image), str(text)])
    _idle(qtbot, window)
    ocr, segment = window.tab("OcrTab"), window.tab("SegmentTab")
    assert ocr.text() == "文字" and segment.input.toPlainText() == "迈向充满希望"
    assert window.tabs.currentWidget() is ocr and window.windowTitle() == "scan 1.png — 墨文 Mowen"
    window.tabs.setCurrentWidget(segment)
    assert window.windowTitle() == "notes.txt — 墨文 Mowen"
    assert set(window.recent_files()[:2]) == {str(image.resolve()), str(text.resolve())}
    window.recent_menu.aboutToShow.emit()  # what opening the menu does
    names = [a.text() for a in window.recent_menu.actions()]
    assert "scan 1.png" in names and "notes.txt" in names


def test_unknown_files_are_refused_with_a_message(window, tmp_path):
    odd = tmp_path / "song.mp3"
    odd.write_bytes(b"ID3")
    assert not window.open_paths([str(odd)])
    assert "Cannot open song.mp3" in window.statusBar().currentMessage()


def test_drops_on_the_window_and_images_on_the_ocr_tab(window, qtbot, files):
    image, text = files
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(text))])
    drop(window, mime)
    assert window.tab("SegmentTab").input.toPlainText() == "迈向充满希望"

    ocr = window.tab("OcrTab")
    window.tabs.setCurrentWidget(ocr)
    picture = QMimeData()
    picture.setImageData(QImage(str(image)))
    drop(ocr, picture)
    _idle(qtbot, window)
    assert ocr.text() == "文字" and window.windowTitle().startswith("dropped image")

    urls = QMimeData()
    urls.setUrls([QUrl.fromLocalFile(str(image))])
    drop(ocr, urls)
    _idle(qtbot, window)
    assert ocr.current_file == str(image)


def test_export_suggests_a_name_adds_the_filters_extension_and_follows_its_format(
        window, qtbot, files, tmp_path, monkeypatch):
    image, _text = files
    window.open_paths([str(image)])
    _idle(qtbot, window)
    asked = []

    def fake_dialog(parent, title, start, filters):
        asked.append((start, filters))
        return str(tmp_path / "result"), "JSON with lines and boxes (*.json)"  # typed without an extension

    monkeypatch.setattr(QFileDialog, "getSaveFileName", fake_dialog)
    window.export_action.trigger()
    assert asked[0][0].endswith("scan 1.txt") and "(*.json)" in asked[0][1]
    data = json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))
    assert data["text"] == "文字" and data["lines"][0]["text"] == "文字"


def test_about_is_modal_lists_the_models_with_figures_and_closes_on_escape(window, qtbot):
    from engine import __version__
    from engine.registry import list_models

    dialog = window.show_about()
    assert dialog.isModal() and dialog.isVisible()
    text = dialog.findChild(QWidget, "about_text").text()
    assert __version__ in text and "Device" in text and "Licence" in text
    table = dialog.findChild(QTableWidget, "about_models")
    rows = {table.item(r, 1).text().rstrip(" *"): table.item(r, 2).text() for r in range(table.rowCount())}
    assert set(rows) == {e.name for e in list_models()}
    from engine.registry import REGISTRY

    # the default OCR model's figure on the real-renderer set is shown
    assert "CER on real screenshots, scans and photos" in rows[REGISTRY.default("ocr").name]
    table.setCurrentCell(0, 0)
    table.cellDoubleClicked.emit(0, 0)
    card = dialog.card
    assert card.isVisible() and card.findChild(QWidget).parent() is card
    qtbot.keyClick(card, Qt.Key.Key_Escape)
    assert not card.isVisible()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()


def test_a_result_is_shown_once_on_the_tab_not_also_on_the_status_bar(window, qtbot, files):
    image, _text = files
    relayed = []
    window.runner.message.connect(relayed.append)
    window.open_paths([str(image)])
    assert window.statusBar().currentMessage() == "Reading scan 1.png…"   # the job's status, while it runs
    _idle(qtbot, window)
    assert "1 line" in window.tab("OcrTab").message()
    assert window.statusBar().currentMessage() == "" and relayed == []


def test_the_saved_format_follows_the_chosen_filter():
    from gui.task import suggested_name, with_filter_suffix

    assert with_filter_suffix("/tmp/a", "JSON (*.json)") == ("/tmp/a.json", "json")
    assert with_filter_suffix("/tmp/a.JSON", "JSON (*.json)") == ("/tmp/a.JSON", "json")
    assert with_filter_suffix("/tmp/a.txt", "JSON (*.json)") == ("/tmp/a.txt.json", "json")  # the filter wins
    assert with_filter_suffix("/tmp/a.tif", "All files (*)") == ("/tmp/a.tif", "tif")
    assert suggested_name("/scans/page 3.png", "txt", "ocr") == "page 3.txt"
    assert suggested_name("<pasted image 2>", "txt", "ocr") == "ocr.txt"
