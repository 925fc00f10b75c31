"""Hostile inputs through the GUI paths (issue 14): open, drop, export with bad files show one message and keep
what the user has typed or read; nothing is written under the final name."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QUrl

from tests.gui.test_desktop import _idle, drop, files, window  # noqa: F401  (fixtures)

USER_TEXT = "用户自己输入的一段文字"


def test_opening_other_encodings_and_binary_files_in_segmentation(window, tmp_path):  # noqa: F811
    segment = window.tab("SegmentTab")
    gb = tmp_path / "gb.txt"
    gb.write_bytes("迈向充满希望的新世纪".encode("gb18030"))
    utf16 = tmp_path / "u16.txt"
    utf16.write_bytes("一九九八年".encode("utf-16"))
    segment.open_text_files([str(gb)])
    assert segment.input.toPlainText() == "迈向充满希望的新世纪"
    segment.open_text_files([str(utf16)])
    assert segment.input.toPlainText() == "一九九八年"

    segment.set_text(USER_TEXT)
    binary = tmp_path / "b.txt"
    binary.write_bytes(bytes(range(256)) * 4)
    segment.open_text_files([str(binary)])
    assert segment.input.toPlainText() == USER_TEXT  # the typed text is kept
    assert "b.txt" in segment.message() and "\n" not in segment.message().strip()
    segment.open_text_files([str(tmp_path)])  # a folder
    assert segment.input.toPlainText() == USER_TEXT


def test_dropping_a_binary_text_file_keeps_the_typed_text(window, tmp_path):  # noqa: F811
    segment = window.tab("SegmentTab")
    segment.set_text(USER_TEXT)
    bad = tmp_path / "junk.txt"
    bad.write_bytes(b"\x00\xff\x00\xfe" * 100)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(bad))])
    drop(window, mime)
    assert segment.input.toPlainText() == USER_TEXT


def test_exports_into_a_missing_folder_show_a_message_and_write_nothing(window, qtbot, files, tmp_path):  # noqa: F811
    image, text = files
    window.open_paths([str(image), str(text)])
    _idle(qtbot, window)
    target = tmp_path / "no such folder" / "out.txt"
    ocr, segment = window.tab("OcrTab"), window.tab("SegmentTab")
    qtbot.waitUntil(lambda: bool(segment.results), timeout=10000)
    assert not segment.export(str(target))
    assert "out.txt" in segment.message() and not target.exists()
    assert not ocr.export(str(target))
    assert not target.exists() and ocr.text() == "文字"  # the page's text is still there
    assert segment.input.toPlainText() == "迈向充满希望"


def test_pasting_text_into_ocr_keeps_the_page(window, qtbot, files):  # noqa: F811
    from PySide6.QtGui import QGuiApplication

    image, _text = files
    window.open_paths([str(image)])
    _idle(qtbot, window)
    ocr = window.tab("OcrTab")
    QGuiApplication.clipboard().setText("not a picture")
    assert not ocr.paste_image()
    assert "no image" in ocr.message() and ocr.text() == "文字"
