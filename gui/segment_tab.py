"""The 分词 tab: live word segmentation with tag colours, probabilities and a user dictionary.

Typing or pasting re-segments after a short pause (debounced) on a worker thread through
the JobRunner; a newer edit cancels the older job.  The result shows every word with a
gap after it, each character coloured by its BMES tag (legend), a tooltip with the four
tag probabilities, low-confidence words shaded; a toggle shows each 字 above its tag.
A user-dictionary panel (jieba format) forces words to stay whole, at once.  Batch mode
segments .txt files into new files (never over an input); its progress and Cancel are the
status bar's.  Live jobs are quiet (never on the status bar); one job at a time (gui.task).

Engine callables are injected with lazy defaults, so importing this module loads no
torch; GUI tests pass fakes.
"""

from __future__ import annotations

import html
import time
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QEvent, QTimer
from PySide6.QtWidgets import (
    QApplication, QCheckBox, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QListWidget,
    QPlainTextEdit, QPushButton, QSplitter, QTextBrowser, QToolTip, QVBoxLayout, QWidget,
)

from engine.segment.bmes import TAGS  # the one definition (a light module: no numpy, no torch)
from gui.task import TaskTab, suggested_name
from gui.worker import message_for

SAMPLE_TEXT = "迈向充满希望的新世纪。2023年全球GPU出货量增长了３．５％，详见https://example.com/report。"
TAG_COLOURS = {"B": "#1f6fd1", "M": "#2e9d3a", "E": "#d9730d", "S": "#8e44ad"}
TAG_NAMES = {"B": "begin 词首", "M": "middle 词中", "E": "end 词尾", "S": "single 单字词"}
LOW_CONFIDENCE = 0.8
LOW_BACKGROUND = "#ffd9d9"
RESULT_POINT_SIZE = 15.0        # the input box and the result view share one font
WORD_JOINER = "\u2060"          # between the characters of a word: the view may not wrap there
MAX_CACHED_LINES = 200_000
MAX_RENDERED_CHARS = 4000       # the view shows this many; copy/batch handle everything
MAX_LIVE_CHARS = 2_000_000      # beyond this a paste is refused (use batch files)
DEBOUNCE_MS = 250


def _default_segmenter(texts: list[str], *, user_dict=None, probabilities: bool = True):
    """A progress job over the default model (engine.segment.api.segment_job)."""
    from engine.segment.api import segment_job

    return segment_job(texts, user_dict=user_dict, probabilities=probabilities)


def _default_file_segmenter(paths: list[str], *, out_dir=None, user_dict=None):
    from engine.segment.files import segment_files_job

    return segment_files_job(paths, out_dir=out_dir, user_dict=user_dict)


def _units(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """text[start:end] cut into what a reader sees as characters: an emoji flag or ZWJ
    sequence is one unit, so it is drawn as one glyph."""
    from engine.segment.text import grapheme_spans

    units, i = [], start
    clusters = {a: b for a, b in grapheme_spans(text[start:end])}
    while i < end:
        j = start + clusters.get(i - start, i - start + 1)
        units.append((i, j))
        i = j
    return units


def _new_dictionary(words=()):
    from engine.segment.text import UserDictionary

    return UserDictionary(words)


class _ResultView(QTextBrowser):
    """Rich-text result; every character is an anchor so hovering can show its probabilities."""

    def __init__(self, tab: "SegmentTab"):
        super().__init__()
        self._tab = tab
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setMouseTracking(True)

    def createMimeDataFromSelection(self):  # noqa: N802 (Qt name)
        mime = super().createMimeDataFromSelection()
        mime.setText(mime.text().replace(WORD_JOINER, ""))  # copied text has no invisible joiners
        return mime

    def event(self, event):
        if event.type() == QEvent.Type.ToolTip:
            href = self.anchorAt(event.pos())
            text = self._tab.tooltip_for(href) if href else ""
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)


class SegmentTab(TaskTab):
    folder_key = "segment"

    def __init__(self, runner, *, segmenter: Callable[..., Any] = _default_segmenter,
                 file_segmenter: Callable[..., Any] = _default_file_segmenter, parent: QWidget | None = None):
        super().__init__(runner, parent)
        self._segmenter = segmenter
        self._file_segmenter = file_segmenter
        self.user_dict = _new_dictionary()
        self.results: list = []              # SegmentResult per input line of the last run
        self._job_kind: str | None = None    # "live" or "batch" while self.job runs
        self._queued_batch: tuple[list[str], str | None] | None = None
        self._pending = False                # the text changed while a job ran
        self._started_at = 0.0
        self._live_runs = 0

        self.input = QPlainTextEdit()
        font = self.input.font()
        font.setPointSizeF(RESULT_POINT_SIZE)
        self.input.setFont(font)
        # Lines already segmented under the current dictionary: an edit re-segments only the changed lines.
        self._cache: dict[str, Any] = {}
        self._cache_words: tuple[str, ...] = ()
        self._lines: list[str] = []
        self._todo: list[str] = []
        self.input.setPlaceholderText("输入或粘贴中文文本…  Type or paste Chinese text; it is segmented as you type.")
        self.input.textChanged.connect(self._on_input_text_changed)
        self._debounce = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._debounce.timeout.connect(self._start_live)

        self.view = _ResultView(self)
        self.view.setFont(font)
        self.view.document().setDefaultFont(font)
        self.view.setPlaceholderText("分词结果 The segmented text appears here.")
        self.show_tags = QCheckBox("Show tag line 显示标注")
        self.show_tags.toggled.connect(self._render)
        self.copy_button = QPushButton("Copy result 复制")
        self.copy_button.clicked.connect(self.copy_result)
        self.notice = self.message_label  # the tab's one message line

        legend = QHBoxLayout()
        for tag in TAGS:
            label = QLabel(f'<b style="color:{TAG_COLOURS[tag]}">{tag}</b> {TAG_NAMES[tag]}')
            legend.addWidget(label)
        low = QLabel(f'<span style="background:{LOW_BACKGROUND}">&nbsp;低置信&nbsp;</span> confidence &lt; {LOW_CONFIDENCE:.2f}')
        legend.addWidget(low)
        legend.addStretch(1)
        legend.addWidget(self.show_tags)
        legend.addWidget(self.copy_button)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.input, 2)
        left_layout.addLayout(legend)
        left_layout.addWidget(self.view, 3)
        left_layout.addWidget(self.notice)

        # user dictionary panel
        self.dict_entry = QLineEdit()
        self.dict_entry.setPlaceholderText("新词 new word")
        self.dict_entry.returnPressed.connect(self.add_word)
        self.dict_add = QPushButton("Add 添加")
        self.dict_add.clicked.connect(self.add_word)
        self.dict_list = QListWidget()
        self.dict_list.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.dict_remove = QPushButton("Remove 删除")
        self.dict_remove.clicked.connect(self.remove_selected_words)
        self.dict_load = QPushButton("Load… 载入")
        self.dict_load.clicked.connect(self._on_dict_load_clicked)
        self.dict_save = QPushButton("Save… 保存")
        self.dict_save.clicked.connect(self._on_dict_save_clicked)
        dict_box = QGroupBox("User dictionary 用户词典 (never split)")
        dict_layout = QVBoxLayout(dict_box)
        entry_row = QHBoxLayout()
        entry_row.addWidget(self.dict_entry)
        entry_row.addWidget(self.dict_add)
        dict_layout.addLayout(entry_row)
        dict_layout.addWidget(self.dict_list)
        buttons = QHBoxLayout()
        for b in (self.dict_remove, self.dict_load, self.dict_save):
            buttons.addWidget(b)
        dict_layout.addLayout(buttons)

        # batch panel
        self.open_files = QPushButton("Segment files… 批量分词")
        self.open_files.clicked.connect(self._on_open_files_clicked)
        self.to_folder = QCheckBox("Save into a folder (else next to each input)")
        self.batch_status = QLabel("")
        self.batch_status.setWordWrap(True)
        batch_box = QGroupBox("Batch .txt files 批量")
        batch_layout = QVBoxLayout(batch_box)
        batch_layout.addWidget(self.open_files)
        batch_layout.addWidget(self.to_folder)
        batch_layout.addWidget(self.batch_status)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(dict_box, 3)
        right_layout.addWidget(batch_box, 1)

        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    # -- public hooks -----------------------------------------------------------------
    def set_text(self, text: str) -> None:
        """Put ``text`` into the input box (segmentation follows after the debounce)."""
        self.input.setPlainText(text)

    def screenshot_states(self):
        def sample():
            self.show_tags.setChecked(False)
            self._fill_and_wait(SAMPLE_TEXT)

        def tags():
            self._fill_and_wait(SAMPLE_TEXT)
            self.show_tags.setChecked(True)

        return [("sample", sample), ("tags", tags)]

    def _fill_and_wait(self, text: str, timeout_ms: int = 60000) -> None:
        if not self.user_dict.words:
            self.user_dict.add("出货量")
            self._refresh_dict_list()
        self.set_text(text)
        self._debounce.stop()
        self._start_live()
        deadline = time.monotonic() + timeout_ms / 1000
        while (self.busy or self._pending) and time.monotonic() < deadline:
            self.wait_until_idle(deadline - time.monotonic())

    # -- live segmentation ------------------------------------------------------------
    def _on_input_text_changed(self) -> None:
        self._debounce.start()

    def _start_live(self) -> None:
        text = self.input.toPlainText()
        if self.job is not None:
            # a newer edit wins over a live job: stop it, start again when it has stopped
            self._pending = True
            if self._job_kind == "live":
                self.job.cancel()
            return
        self._pending = False
        if not text.strip():
            self.results = []
            self.view.clear()
            self.show_message("Nothing to segment: type or paste some text. 请输入文本。" if text else "")
            return
        if len(text) > MAX_LIVE_CHARS:
            self.results = []
            self.view.clear()
            self.show_message(f"The text has {len(text):,} characters, more than {MAX_LIVE_CHARS:,} for live "
                              "segmentation; save it as a .txt file and use batch mode.", error=True)
            return
        words = self.user_dict.words
        if tuple(words) != self._cache_words or len(self._cache) > MAX_CACHED_LINES:
            self._cache, self._cache_words = {}, tuple(words)
        self._lines = text.split("\n")
        self._todo = list(dict.fromkeys(line for line in self._lines if line not in self._cache))
        self._started_at = time.perf_counter()
        if not self._todo:
            self._on_live_result([])
            return
        todo_chars = sum(map(len, self._todo))
        if todo_chars > 20000:
            self.show_message(f"Segmenting {todo_chars:,} characters…")
        self._job_kind = "live"
        self.start_job(_run_segmenter, self._segmenter, self._todo, words, quiet=True,
                       on_result=self._on_live_result, on_error=self._on_live_error, on_finished=self._after_job)

    def _on_live_result(self, results) -> None:
        elapsed = time.perf_counter() - self._started_at
        self._cache.update(zip(self._todo, results))
        self.results = [self._cache[line] for line in self._lines]
        chars = sum(map(len, self._todo))
        rate = chars / elapsed if elapsed > 0 else 0.0
        first = " — first run, includes loading the model" if self._live_runs == 0 else ""
        self._live_runs += bool(chars)
        if chars:  # nothing new to segment (every line cached): the last figure stands
            self._speed = f"{chars:,} characters in {elapsed * 1000:.0f} ms ({rate:,.0f} chars/s){first}"
        self._render()

    _speed = ""

    def _on_live_error(self, exc: BaseException) -> None:
        self.results = []
        self.view.clear()
        self.show_message(f"Segmentation failed: {message_for(exc)}", error=True)

    def _after_job(self) -> None:
        self._job_kind = None
        if self._queued_batch is not None:
            paths, out_dir = self._queued_batch
            self._queued_batch = None
            self.start_batch(paths, out_dir)
        elif self._pending:
            self._start_live()

    # -- rendering ------------------------------------------------------------------------
    def _render(self) -> None:
        if not self.results:
            self.view.clear()
            return
        parts, budget = [], MAX_RENDERED_CHARS
        for line_no, result in enumerate(self.results):
            if budget <= 0:
                break
            if self.show_tags.isChecked():
                parts.append(self._tag_table_html(line_no, result, budget))
            else:
                parts.append("<p style='margin:2px 0'>" + self._words_html(line_no, result, budget) + "</p>")
            budget -= len(result.text)
        shown = sum(len(r.text) for r in self.results)
        if shown > MAX_RENDERED_CHARS:
            self.show_message(f"Showing the first {MAX_RENDERED_CHARS:,} of {shown:,} characters; "
                              "Copy result copies all of it.")
        else:
            self.show_message(self._summary())
        self.view.setHtml("".join(parts))

    def _summary(self) -> str:
        words = sum(len(r.words) for r in self.results)
        low = sum(len(r.low_confidence(LOW_CONFIDENCE)) for r in self.results if r.probabilities is not None)
        return (f"{words} words" + (f", {low} with low confidence (shaded)" if low else "")
                + (f" · {self._speed}" if self._speed else ""))

    def _char_html(self, line_no: int, index: int, char: str, tag: str) -> str:
        """One unit (a character, or a whole grapheme cluster) as an anchor for its tooltip."""
        colour = TAG_COLOURS.get(tag, "#000000")
        return (f"<a href='c:{line_no}:{index}' style='color:{colour};text-decoration:none'>"
                f"{html.escape(char)}</a>")

    def _words_html(self, line_no: int, result, budget: int) -> str:
        out = []
        low = set(result.low_confidence(LOW_CONFIDENCE)) if result.probabilities is not None else set()
        for w, (start, end) in enumerate(result.spans):
            if start >= budget:
                break
            chars = WORD_JOINER.join(self._char_html(line_no, i, result.text[i:j], result.tags[i])
                                     for i, j in _units(result.text, start, end))
            if w in low:
                chars = f"<span style='background:{LOW_BACKGROUND}'>{chars}</span>"
            out.append(chars)
        return "&nbsp; ".join(out)  # two spaces wide; the line may break only here

    def _tag_table_html(self, line_no: int, result, budget: int) -> str:
        cells_top, cells_bottom, tables = [], [], []

        def flush():
            if cells_top:
                tables.append("<table cellspacing='0' cellpadding='1' style='margin:2px 0'><tr>" + "".join(cells_top)
                              + "</tr><tr>" + "".join(cells_bottom) + "</tr></table>")
                cells_top.clear()
                cells_bottom.clear()

        low = set(result.low_confidence(LOW_CONFIDENCE)) if result.probabilities is not None else set()
        for w, (start, end) in enumerate(result.spans):
            if start >= budget:
                break
            background = f" style='background:{LOW_BACKGROUND}'" if w in low else ""
            for i, j in _units(result.text, start, end):
                tag = result.tags[i]
                cells_top.append(f"<td align='center'{background}>{self._char_html(line_no, i, result.text[i:j], tag)}</td>")
                cells_bottom.append(f"<td align='center'><small style='color:{TAG_COLOURS.get(tag, '#000')}'>{tag}</small></td>")
            cells_top.append("<td width='10'></td>")
            cells_bottom.append("<td width='10'></td>")
            if len(cells_top) >= 40:
                flush()
        flush()
        return "".join(tables) or "<p></p>"

    def tooltip_for(self, href: str) -> str:
        """Tooltip text for a character anchor 'c:<line>:<index>'."""
        try:
            _, line_no, index = href.split(":")
            result = self.results[int(line_no)]
            index = int(index)
            char, tag = result.text[index], result.tags[index]
        except (ValueError, IndexError):
            return ""
        lines = [f"{char}  tag {tag} ({TAG_NAMES.get(tag, '')})"]
        if result.probabilities is not None:
            probs = result.probabilities[index]
            lines.append("  ".join(f"{t} {float(p):.3f}" for t, p in zip(TAGS, probs)))
        for w, (start, end) in enumerate(result.spans):
            if start <= index < end:
                lines.append(f"word {result.words[w]}  confidence {result.confidences[w]:.3f}")
                break
        return "\n".join(lines)

    def result_text(self) -> str:
        """The whole result: one line per input line, words separated by single spaces."""
        return "\n".join(" ".join(r.words) for r in self.results)

    def copy_result(self) -> None:
        if not self.results:
            self.show_message("Nothing to copy yet.")
            return
        QApplication.clipboard().setText(self.result_text())
        self.show_message("Result copied to the clipboard.")

    def export_dialog(self) -> None:
        """File → Export…: the segmented text, words separated by spaces."""
        if not self.results:
            self.show_message("Nothing to export yet: type, paste or open a text first.")
            return
        path, _fmt = self.ask_save_path("Export segmented text", suggested_name(self.current_file, "seg.txt", "segmented"),
                                        ["Text, words separated by spaces (*.txt)"])
        if path:
            self.export(path)

    def export(self, path: str) -> bool:
        from engine.registry import atomic_write_text

        try:
            atomic_write_text(path, self.result_text() + "\n")
        except OSError as exc:
            self.show_message(f"Could not write {path}: {exc.strerror or exc}", error=True)
            return False
        self.show_message(f"Saved {path}")
        return True

    # -- user dictionary -----------------------------------------------------------------
    def add_word(self, word: str | None = None) -> bool:
        word = (self.dict_entry.text() if not isinstance(word, str) else word).strip()
        if not word:
            return False
        if not self.user_dict.add(word):
            self.show_message(f"{word!r} cannot be a dictionary word (it contains spaces or control characters).",
                              error=True)
            return False
        self.dict_entry.clear()
        self._refresh_dict_list()
        self._start_live_now()
        return True

    def remove_selected_words(self) -> None:
        for item in self.dict_list.selectedItems():
            self.user_dict.remove(item.text())
        self._refresh_dict_list()
        self._start_live_now()

    def _refresh_dict_list(self) -> None:
        self.dict_list.clear()
        self.dict_list.addItems(self.user_dict.words)

    def _start_live_now(self) -> None:
        self._debounce.stop()
        self._start_live()

    def load_dictionary(self, path: str) -> None:
        try:
            added = self.user_dict.update_from_file(path)
        except (OSError, UnicodeDecodeError) as exc:
            self.show_message(f"Cannot read dictionary {path}: {getattr(exc, 'strerror', None) or exc}", error=True)
            return
        self._refresh_dict_list()
        self.show_message(f"{added} words loaded from {Path(path).name}.")
        self._start_live_now()

    def _on_dict_load_clicked(self) -> None:
        paths = self.ask_open_paths("Load user dictionary", "Text (*.txt *.dict);;All files (*)")
        if paths:
            self.load_dictionary(paths[0])

    def _on_dict_save_clicked(self) -> None:
        path, _fmt = self.ask_save_path("Save user dictionary", "userdict.txt", ["Text (*.txt)"])
        if path:
            try:
                self.user_dict.save(path)
                self.show_message(f"Dictionary saved to {path}.")
            except OSError as exc:
                self.show_message(f"Cannot save {path}: {exc.strerror or exc}", error=True)

    # -- batch ------------------------------------------------------------------------------
    def open_text_files(self, paths: list[str]) -> None:
        """``mowen TEXT.txt`` and drops: one file goes into the input box, several are batched."""
        if len(paths) == 1:
            from engine.errors import MowenError
            from engine.files import read_text_file

            try:  # the engine's one decoder: UTF-8, UTF-16, GB18030; binary refused
                text, _encoding = read_text_file(paths[0])
            except MowenError as exc:
                self.show_message(str(exc), error=True)  # the text already in the box stays
                return
            self.set_text(text)
            self.remember_folder(paths[0])
            self.set_current_file(paths[0])
        elif paths:
            self.start_batch(paths)

    def _on_open_files_clicked(self) -> None:
        paths = self.ask_open_paths("Segment text files", "Text (*.txt);;All files (*)")
        if not paths:
            return
        out_dir = None
        if self.to_folder.isChecked():
            out_dir = self.ask_folder("Save segmented files into")
            if not out_dir:
                return
        self.start_batch(paths, out_dir)

    def start_batch(self, paths: list[str], out_dir: str | None = None) -> bool:
        if self.job is not None:
            if self._job_kind == "live":  # typing can wait; the files were asked for
                self._queued_batch = (list(paths), out_dir)
                self.job.cancel()
                return True
            self.show_message("Busy: wait for the batch to finish, or press Cancel (Esc).")
            return False
        self.open_files.setEnabled(False)
        self.batch_status.setText("")
        self._started_at = time.perf_counter()
        self._job_kind = "batch"
        return self.start_job(
            self._file_segmenter, list(paths), out_dir=out_dir, user_dict=_new_dictionary(self.user_dict.words),
            on_result=self._on_batch_result, on_error=self._on_batch_error, on_finished=self._on_batch_finished,
            status=f"Segmenting {len(paths)} file(s)…")

    def _on_batch_result(self, outcomes) -> None:
        elapsed = time.perf_counter() - self._started_at
        done = [o for o in outcomes if o.output is not None]
        refused = [o for o in outcomes if o.output is None]
        chars = sum(o.characters for o in done)
        lines = [f"✓ {o.input.name} → {o.output}" for o in done] + [f"✗ {o.error}" for o in refused]
        self.batch_status.setText("\n".join(lines))
        self.show_message(f"Batch: {len(done)} file(s), {chars:,} characters in {elapsed:.1f} s "
                          f"({chars / max(elapsed, 1e-9):,.0f} chars/s)" + (f"; {len(refused)} refused" if refused else ""),
                          error=bool(refused) and not done)

    def _on_batch_error(self, exc: BaseException) -> None:
        self.show_message(f"Batch failed: {message_for(exc)}", error=True)

    def _on_batch_finished(self) -> None:
        self.open_files.setEnabled(True)
        self._after_job()


def _run_segmenter(segmenter: Callable[..., Any], lines: list[str], words: list[str]):
    """Worker-thread side: the user dictionary is rebuilt from a snapshot of its words."""
    user_dict = _new_dictionary(words) if words else None
    return segmenter(lines, user_dict=user_dict, probabilities=True)
