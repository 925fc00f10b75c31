"""The 识别 (OCR) tab: open, drop or paste images, see the line boxes, edit and export the text.

All recognition runs through the shared JobRunner (never on the GUI thread); the engine
function is injected (``ocr=``) so tests can pass a fast fake.  The default imports the
engine lazily, so importing this module loads neither torch nor the model.  What is drawn is
what the engine read: its EXIF-oriented image, or with "Show preprocessed" the flattened,
deskewed binary page with the boxes in that page's pixels.  A batch runs the CLI's loop
(``engine.ocr.pipeline.ocr_batch``); the pixels of the last pages read stay in memory (up to
PAGE_CACHE_BYTES), another page is read again by the engine (``view_page``) when shown.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import (QColor, QGuiApplication, QImage, QKeySequence, QShortcut, QTextCharFormat, QTextCursor,
                           QTextFormat)
from PySide6.QtWidgets import (QCheckBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QSplitter,
                               QTextEdit, QToolTip, QVBoxLayout, QWidget)

from gui.image_view import ImageView, _array_to_qimage, _qimage_to_array  # noqa: F401 (tests use them)
from gui.task import IMAGE_SUFFIXES, TaskTab, suggested_name

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp *.gif);;All files (*)"
SAMPLE_IMAGE = Path(__file__).resolve().parent.parent / "assets" / "samples" / "ocr_sample.png"
LOW_CONFIDENCE = 0.6
LOW_COLOUR = QColor(255, 220, 120)
CONFIDENCE = QTextFormat.Property.UserProperty + 1    # per character, kept in its format through edits
ALTERNATIVES = QTextFormat.Property.UserProperty + 2
PAGE_CACHE_BYTES = 300_000_000   # pixels of recently read pages kept for showing (~6 phone photos)


def _default_ocr(source, use_lm: bool = True):
    """source (path, bytes or RGB array) → engine.ocr.result.OcrPage; imports the engine on first use."""
    from engine.ocr.pipeline import ocr_page

    return ocr_page(source, use_lm)


def _char_format(confidence: float, alternatives=()) -> QTextCharFormat:
    """A recognised character's format: highlighted when unsure; confidence and next best
    readings kept as properties, so the tooltip survives edits around it."""
    fmt = QTextCharFormat()
    if confidence < LOW_CONFIDENCE:
        fmt.setBackground(LOW_COLOUR)
    fmt.setProperty(CONFIDENCE, float(confidence))
    readings = ", ".join(f"{ch} {p:.0%}" for ch, p in list(alternatives)[:3])
    if readings:
        fmt.setProperty(ALTERNATIVES, readings)
    return fmt


class OcrTab(TaskTab):
    """识别: image in, editable text out (see module docstring)."""

    send_to_segmentation = Signal(str)
    folder_key = "ocr"

    def __init__(self, runner, *, ocr: Callable = _default_ocr, parent=None):
        super().__init__(runner, parent)
        self._ocr = ocr
        self.page = None                  # the OcrPage on screen (the image read, or the batch row's)
        self.batch_results: list[tuple[str, Any]] = []
        self._pages: OrderedDict[str, Any] = OrderedDict()   # key → OcrPage, newest last (PAGE_CACHE_BYTES)
        self._pending_row = -1   # a batch row to show once the running job ends
        self._updating_text = False
        # Edits belong to their page (keyed by path, or a name per pasted image) until discarded:
        # switching pages shows them again, Export all writes them, closing asks about unsaved ones.
        self.edits: dict[str, str] = {}
        self._unsaved: set[str] = set()
        self._current_key: str | None = None
        self._pastes = 0
        self._sources: dict[str, Any] = {}   # key → what was read (a path or a pasted image), to re-read it
        self._reread_row = -1
        self.setAcceptDrops(True)

        self.open_button = QPushButton("Open images…")
        self.folder_button = QPushButton("Open folder…")
        self.paste_button = QPushButton("Paste image")
        self.lm_check = QCheckBox("Language model")
        self.lm_check.setChecked(True)
        self.lm_check.setToolTip("beam search with the character language model (off: greedy CTC decoding); "
                                 "toggling it reads the current image again")
        self.preprocessed_check = QCheckBox("Show preprocessed")
        self.preprocessed_check.setToolTip("show the page the line finder read (a photographed page flattened, "
                                           "deskewed, binarised) with its line boxes")
        self.copy_button = QPushButton("Copy all")
        self.export_button = QPushButton("Export…")
        self.export_all_button = QPushButton("Export all…")
        self.send_button = QPushButton("Send to Segmentation")
        self.discard_button = QPushButton("Discard edits")
        self.discard_button.setToolTip("forget the edits of this page and show the recognised text again")
        for b in (self.copy_button, self.export_button, self.export_all_button, self.send_button,
                  self.discard_button):
            b.setEnabled(False)

        top = QHBoxLayout()
        for w in (self.open_button, self.folder_button, self.paste_button, self.lm_check, self.preprocessed_check):
            top.addWidget(w)
        top.addStretch(1)
        for w in (self.discard_button, self.copy_button, self.export_button, self.export_all_button,
                  self.send_button):
            top.addWidget(w)

        self.view = ImageView()
        self.view.setMinimumSize(300, 200)
        self.text_edit = QTextEdit()
        self.text_edit.setAcceptRichText(False)
        font = self.text_edit.font()
        font.setPointSizeF(max(12.0, font.pointSizeF() + 3))  # CJK strokes need room
        self.text_edit.setFont(font)
        self.text_edit.setPlaceholderText("Open, drop or paste (Ctrl+V) an image: the recognised text appears here.")
        self.batch_list = QListWidget()
        self.batch_list.setToolTip("batch results: click a file to see its text")
        self.batch_list.hide()
        self.legend = QLabel(f"<span style='background:{LOW_COLOUR.name()}'>&nbsp;字&nbsp;</span> "
                             f"confidence below {LOW_CONFIDENCE:.0%}; hover a character for its confidence "
                             "and the next best readings")
        self.legend.setObjectName("ocr_legend")
        self.text_edit.viewport().installEventFilter(self)

        text_pane = QWidget()
        text_layout = QVBoxLayout(text_pane)
        text_layout.setContentsMargins(0, 0, 0, 0)
        text_layout.addWidget(self.legend)
        text_layout.addWidget(self.text_edit, 1)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(text_pane)
        right.addWidget(self.batch_list)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.view)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([700, 460])

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        layout.addWidget(self.message_label)

        self.open_button.clicked.connect(self._on_open_button_clicked)
        self.folder_button.clicked.connect(self._on_folder_button_clicked)
        self.paste_button.clicked.connect(self.paste_image)
        self.busy_changed.connect(self._set_busy)
        self.lm_check.toggled.connect(self._on_lm_check_toggled)
        self.copy_button.clicked.connect(self.copy_all)
        self.export_button.clicked.connect(self._on_export_button_clicked)
        self.export_all_button.clicked.connect(self._on_export_all_button_clicked)
        self.send_button.clicked.connect(self._on_send_button_clicked)
        self.discard_button.clicked.connect(self.discard_edits)
        self.preprocessed_check.toggled.connect(self._redraw)
        self.view.box_clicked.connect(self._on_view_box_clicked)
        self.text_edit.cursorPositionChanged.connect(self._on_text_edit_cursor_position_changed)
        self.text_edit.textChanged.connect(self._on_text_edit_text_changed)
        self.batch_list.currentRowChanged.connect(self._on_batch_list_current_row_changed)
        paste = QShortcut(QKeySequence.StandardKey.Paste, self)
        paste.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        paste.activated.connect(self.paste_image)

    # ------------------------------------------------------------------ state
    def _set_busy(self, busy: bool) -> None:
        for w in (self.open_button, self.folder_button, self.paste_button):
            w.setEnabled(not busy)
        self.setAcceptDrops(not busy)
        if not busy and self._pending_row >= 0:
            row, self._pending_row = self._pending_row, -1
            if row == self.batch_list.currentRow():
                self._show_batch_entry(row)

    def text(self) -> str:
        return self.text_edit.toPlainText()

    def unsaved_edits(self) -> list[str]:
        """Names of the pages whose edits were not exported since they were made."""
        return sorted(Path(key).name if not key.startswith("<") else key for key in self._unsaved)

    def discard_edits(self) -> None:
        """The current page shows its recognised text again."""
        key = self._current_key
        if key is None:
            return
        self.edits.pop(key, None)
        self._unsaved.discard(key)
        self._show_result(self.page.result if self.page is not None else None)
        self._mark_batch_row(key)
        self.show_message("Edits discarded.")

    # ------------------------------------------------------------------ inputs
    def open_paths(self, paths) -> bool:
        """Read one image (shown with its boxes) or many (batch list). False if busy or nothing to read."""
        paths = [str(p) for p in paths]
        if not paths:
            return False
        if self.busy:
            self.show_message("Busy: wait for the current image or press Cancel (Esc).")
            return False
        self.remember_folder(paths[0])
        if len(paths) == 1:
            return self._start_single(paths[0], Path(paths[0]).name)
        return self._start_batch(paths)

    def open_folder(self, folder) -> bool:
        files = sorted(str(p) for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not files:
            self.show_message(f"No images (PNG, JPEG, BMP, TIFF, WebP, GIF) in {folder}.", error=True)
            return False
        return self._start_batch(files) if len(files) > 1 else self.open_paths(files)

    def open_array(self, rgb, name: str = "pasted image") -> bool:
        if self.busy:
            self.show_message("Busy: wait for the current image or press Cancel (Esc).")
            return False
        self._pastes += 1
        return self._start_single(rgb, name, key=f"<{name} {self._pastes}>")

    def paste_image(self) -> bool:
        """Ctrl+V / the Paste button: an image on the clipboard, or image files copied in a file manager."""
        mime = QGuiApplication.clipboard().mimeData()
        if mime is not None and mime.hasImage():
            image = QGuiApplication.clipboard().image()
            if not image.isNull():
                return self.open_array(_qimage_to_array(image))
        if mime is not None and mime.hasUrls():
            paths = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
            if paths:
                return self.open_paths(paths)
        self.show_message("The clipboard holds no image.", error=True)
        return False

    def _start_single(self, source, name: str, key: str | None = None) -> bool:
        self._single_name = name
        self._single_key = key if key is not None else str(source)
        self._sources[self._single_key] = source
        self.show_message("")
        return self.start_job(self._ocr, source, self.lm_check.isChecked(), on_result=self._on_single_returned,
                              status=f"Reading {name}…")

    def _start_batch(self, paths: list[str]) -> bool:
        from engine.ocr.pipeline import ocr_batch

        self.batch_results = []
        self.batch_list.clear()
        self.batch_list.show()
        self.export_all_button.setEnabled(False)
        self.show_message("")
        return self.start_job(ocr_batch, paths, self.lm_check.isChecked(), read=self._ocr, pages=True,
                              on_progress=self._on_batch_progressed, on_result=self._on_batch_returned,
                              status=f"Reading {len(paths)} images…")

    def _keep_page(self, key: str, page) -> None:
        """Keep ``page``'s pixels for showing again; the oldest go beyond PAGE_CACHE_BYTES (never the newest)."""
        self._pages.pop(key, None)
        self._pages[key] = page
        size = lambda p: p.image.nbytes + p.preprocessed.nbytes  # noqa: E731
        while len(self._pages) > 1 and sum(size(p) for p in self._pages.values()) > PAGE_CACHE_BYTES:
            self._pages.popitem(last=False)

    # ------------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, event):  # noqa: N802
        if event.mimeData().hasUrls() or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event):  # noqa: N802
        mime = event.mimeData()
        paths = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
        folders = [p for p in paths if Path(p).is_dir()]
        if folders:
            self.open_folder(folders[0])
        elif paths:
            self.open_paths(paths)
        elif mime.hasImage():
            self.open_array(_qimage_to_array(QImage(mime.imageData())), "dropped image")
        event.acceptProposedAction()

    # ------------------------------------------------------------------ job callbacks
    def _on_lm_check_toggled(self, _checked: bool) -> None:
        """Read the image on screen again with the other decoder (its edits, if any, are kept)."""
        key = self._current_key
        if key is None or self.busy:
            return
        source = self._sources.get(key, key if Path(key).is_file() else None)
        if source is None:
            return
        rows = [i for i, (path, _) in enumerate(self.batch_results) if path == key]
        self._reread_row = rows[0] if rows and self.batch_list.isVisible() else -1
        self._start_single(source, Path(key).name if not key.startswith("<") else key.strip("<>"), key=key)

    def _on_single_returned(self, page) -> None:
        self.page = page
        self._current_key = self._single_key
        self._keep_page(self._single_key, page)
        self.set_current_file(self._single_key)
        if self._reread_row >= 0:  # a batch page read again: its row follows
            path, _old = self.batch_results[self._reread_row]
            self.batch_results[self._reread_row] = (path, page.result)
            self._mark_batch_row(path)
            self._reread_row = -1
        self._show_result(page.result)
        self._redraw()
        warnings = "; ".join(page.result.warnings)
        n = len(page.result.lines)
        summary = f"{self._single_name}: {n} line{'s' if n != 1 else ''} in {page.result.seconds:.2f} s"
        self.show_message(summary + (f" — {warnings}" if warnings else ""), error=n == 0)

    def _on_batch_progressed(self, report) -> None:
        if report.partial is None:
            return
        path, outcome = report.partial
        if not isinstance(outcome, str):   # an OcrPage (ocr_batch's pages=True): keep its pixels
            self._keep_page(path, outcome)
            outcome = outcome.result
        self.batch_results.append((path, outcome))
        item = QListWidgetItem()
        if isinstance(outcome, str):
            item.setForeground(QColor(192, 57, 43))
        item.setData(Qt.ItemDataRole.UserRole, len(self.batch_results) - 1)
        self.batch_list.addItem(item)
        self._mark_batch_row(path)
        self.export_all_button.setEnabled(True)

    def _mark_batch_row(self, key: str) -> None:
        """A batch row's label: status, name, first line; ✎ while the page has edits."""
        for row, (path, outcome) in enumerate(self.batch_results):
            if path != key or row >= self.batch_list.count():
                continue
            mark = "✎ " if path in self.edits else ""
            if isinstance(outcome, str):
                label = f"✗ {mark}{Path(path).name}: {outcome}"
            else:
                first = self.edits.get(path, outcome.text).split("\n", 1)[0][:30]
                label = f"✓ {mark}{Path(path).name}: {len(outcome.lines)} lines  {first}"
            self.batch_list.item(row).setText(label)

    def _on_batch_returned(self, results) -> None:
        failed = sum(1 for _, o in results if isinstance(o, str))
        self.show_message(f"Batch done: {len(results) - failed} read, {failed} failed.", error=failed == len(results))
        if self.batch_list.count():
            self.batch_list.setCurrentRow(0)

    # ------------------------------------------------------------------ display
    def _show_result(self, result) -> None:
        """The current page's edited text if it has one, else one line per box with
        low-confidence characters highlighted."""
        self._updating_text = True
        self.text_edit.clear()
        edited = self.edits.get(self._current_key) if self._current_key is not None else None
        if edited is not None:
            self.text_edit.setPlainText(edited)
        elif result is not None:
            cursor = QTextCursor(self.text_edit.document())
            for i, line in enumerate(result.lines):
                if i:
                    cursor.insertText("\n", QTextCharFormat())
                alternatives = getattr(line, "alternatives", None) or [()] * len(line.text)
                for ch, conf, alts in zip(line.text, line.confidences or [1.0] * len(line.text), alternatives):
                    cursor.insertText(ch, _char_format(conf, alts))
        self._updating_text = False
        has_text = bool(self.text().strip())
        for b in (self.copy_button, self.export_button, self.send_button):
            b.setEnabled(has_text)
        self.discard_button.setEnabled(edited is not None)

    def low_confidence_positions(self) -> list[int]:
        """Character positions in the editor drawn as low-confidence (for tests and tooling)."""
        doc = self.text_edit.document()
        out, block = [], doc.begin()
        while block.isValid():
            it = block.begin()
            while not it.atEnd():
                fragment = it.fragment()
                if fragment.charFormat().background().color() == LOW_COLOUR:
                    out.extend(range(fragment.position(), fragment.position() + fragment.length()))
                it += 1
            block = block.next()
        return out

    def _redraw(self) -> None:
        page = self.page
        if page is None:
            return
        lines = page.result.lines
        if self.preprocessed_check.isChecked():   # the flattened page, its boxes in its own pixels
            image = _array_to_qimage(255 - page.preprocessed)
            boxes = [line.page_box for line in lines]
        else:                                     # the image as loaded: boxes from original pixels
            image = _array_to_qimage(page.image)
            s = page.scale
            boxes = [(x0 * s, y0 * s, x1 * s, y1 * s) for x0, y0, x1, y1 in (line.box for line in lines)]
        known = all(box is not None for box in boxes)
        self.view.show_image(image, boxes if known else [], known)

    def _show_batch_entry(self, index: int) -> None:
        path, outcome = self.batch_results[index]
        self._current_key = path
        self.set_current_file(path)
        if isinstance(outcome, str):
            self.page = None
            self.view.clear()
            self._show_result(None)
            self.show_message(f"{Path(path).name}: {outcome}", error=True)
            return
        self._show_result(outcome)
        kept = self._pages.get(path)
        if kept is not None:
            self._pages.move_to_end(path)
            self.page = kept if kept.result is outcome else replace(kept, result=outcome)
            self._redraw()
            return
        # its pixels were let go: the engine reads the page again (no recognition)
        from engine.ocr.pipeline import view_page

        self.page = None
        self.view.clear()
        if self.busy:   # (the batch itself, when it selects its first row): shown when the job ends
            self._pending_row = index
        else:
            self.start_job(view_page, path, outcome, on_result=lambda page: self._on_view_returned(path, page),
                           status=f"Showing {Path(path).name}…")

    def _on_view_returned(self, path: str, page) -> None:
        self._keep_page(path, page)
        if self._current_key == path and self.page is None:
            self.page = page
            self._redraw()

    def confidence_tooltip(self, position: int) -> str:
        """The tooltip of the character at document ``position``: its confidence and the next best readings."""
        cursor = QTextCursor(self.text_edit.document())
        cursor.setPosition(position)
        cursor.movePosition(QTextCursor.MoveOperation.NextCharacter, QTextCursor.MoveMode.KeepAnchor)
        fmt = cursor.charFormat()
        if not fmt.hasProperty(CONFIDENCE) or not cursor.selectedText().strip():
            return ""
        tip = f"{cursor.selectedText()}: confidence {fmt.doubleProperty(CONFIDENCE):.0%}"
        alternatives = fmt.stringProperty(ALTERNATIVES)
        return tip + (f"; next best: {alternatives}" if alternatives else "")

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt name)
        if watched is self.text_edit.viewport() and event.type() == QEvent.Type.ToolTip:
            position = self.text_edit.cursorForPosition(event.pos()).position()
            tip = self.confidence_tooltip(position)
            if tip:
                QToolTip.showText(event.globalPos(), tip, self.text_edit)
            else:
                QToolTip.hideText()
            return True
        return super().eventFilter(watched, event)

    # ------------------------------------------------------------------ linking boxes and text
    def _on_view_box_clicked(self, index: int) -> None:
        block = self.text_edit.document().findBlockByNumber(index)
        if not block.isValid():
            return
        cursor = QTextCursor(block)
        cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock, QTextCursor.MoveMode.KeepAnchor)
        self.text_edit.setTextCursor(cursor)
        self.view.select_box(index)

    def _on_text_edit_cursor_position_changed(self) -> None:
        # typed text is the user's: it must not inherit a recognised character's confidence
        # (with a selection, setCurrentCharFormat would restyle the selected text: not then)
        if not self.text_edit.textCursor().hasSelection():
            self.text_edit.setCurrentCharFormat(QTextCharFormat())
        index = self.text_edit.textCursor().blockNumber()
        if index != self.view.selected and index < len(self.view.boxes):
            self.view.select_box(index)

    def _on_text_edit_text_changed(self) -> None:
        if self._updating_text:
            return
        has_text = bool(self.text().strip())
        self.copy_button.setEnabled(has_text)
        self.export_button.setEnabled(has_text)
        self.send_button.setEnabled(has_text)
        key = self._current_key
        if key is not None:
            self.edits[key] = self.text()
            self._unsaved.add(key)
            self.discard_button.setEnabled(True)
            self._mark_batch_row(key)

    def _on_batch_list_current_row_changed(self, row: int) -> None:
        if 0 <= row < len(self.batch_results):
            self._show_batch_entry(row)

    # ------------------------------------------------------------------ outputs
    def copy_all(self) -> None:
        QGuiApplication.clipboard().setText(self.text())
        self.show_message("Text copied.")

    def export(self, path) -> bool:
        """Write the (edited) text as .txt, or text + lines + boxes as .json, atomically."""
        from engine.registry import atomic_write_text

        path = Path(path)
        try:
            if path.suffix.lower() == ".json":
                data = self.page.result.to_json() if self.page is not None else {"lines": []}
                data["text"] = self.text()
                data["path"] = self.page.source if self.page is not None else ""
                atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
            else:
                atomic_write_text(path, self.text() + "\n")
        except OSError as exc:
            self.show_message(f"Could not write {path}: {exc.strerror or exc}", error=True)
            return False
        self._unsaved.discard(self._current_key)
        self.show_message(f"Saved {path}")
        return True

    def export_all(self, path) -> bool:
        """Every batch result, with the user's edits: .json (list of objects) or .txt (one section per file)."""
        from engine.registry import atomic_write_text

        path = Path(path)
        if path.suffix.lower() == ".json":
            records = []
            for source, outcome in self.batch_results:
                record = {"path": source}
                if isinstance(outcome, str):
                    record["error"] = outcome
                else:
                    record.update(outcome.to_json())
                if source in self.edits:
                    record.update(text=self.edits[source], edited=True)
                records.append(record)
            text = json.dumps(records, ensure_ascii=False, indent=2) + "\n"
        else:
            parts = []
            for source, outcome in self.batch_results:
                if source in self.edits:
                    body = self.edits[source]
                else:
                    body = f"[error] {outcome}" if isinstance(outcome, str) else outcome.text
                parts.append(f"==> {source} <==\n{body}\n")
            text = "\n".join(parts)
        try:
            atomic_write_text(path, text)
        except OSError as exc:
            self.show_message(f"Could not write {path}: {exc.strerror or exc}", error=True)
            return False
        self._unsaved.difference_update(source for source, _ in self.batch_results)
        self.show_message(f"Saved {len(self.batch_results)} results to {path}")
        return True

    def _on_open_button_clicked(self) -> None:
        paths = self.ask_open_paths("Open images", IMAGE_FILTER)
        if paths:
            self.open_paths(paths)

    def _on_folder_button_clicked(self) -> None:
        folder = self.ask_folder("Open a folder of images")
        if folder:
            self.open_folder(folder)

    def export_dialog(self) -> None:
        """File → Export…: the current page's (edited) text."""
        if self.text().strip():
            self._on_export_button_clicked()
        else:
            self.show_message("Nothing to export yet: open an image first.")

    def _on_export_button_clicked(self) -> None:
        source = self.page.source if self.page is not None else self._current_key
        path, _fmt = self.ask_save_path("Export text", suggested_name(source, "txt", "ocr"),
                                        ["Text (*.txt)", "JSON with lines and boxes (*.json)"])
        if path:
            self.export(path)

    def _on_export_all_button_clicked(self) -> None:
        first = self.batch_results[0][0] if self.batch_results else None
        folder = Path(first).parent.name if first else "ocr"
        path, _fmt = self.ask_save_path("Export all results", f"{folder or 'ocr'}_ocr.json",
                                        ["JSON (*.json)", "Text (*.txt)"])
        if path:
            self.export_all(path)

    def _on_send_button_clicked(self) -> None:
        text = self.text().strip()
        if text:
            self.send_to_segmentation.emit(text)
            self.show_message("Sent to the Segmentation tab.")

    # ------------------------------------------------------------------ screenshots
    def screenshot_states(self):
        def sample():
            if SAMPLE_IMAGE.is_file():
                self.open_paths([SAMPLE_IMAGE])
                self.wait_until_idle()
                if self.view.boxes:
                    self._on_view_box_clicked(0)

        return [("sample", sample)]
