"""The 对联 tab: type an upper line, get lower lines that obey the rules of 对仗.

Each candidate shows its characters with pinyin and 平/仄 under them, its score and rule
badges.  Clicking a character lists the model's alternatives for that position; picking
one locks it and regenerates the rest.  All model work runs through the JobRunner; the
engine callables are injected (lazy defaults), so importing this module loads no torch.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QApplication, QComboBox, QFrame, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget,
    QListWidgetItem, QPushButton, QScrollArea, QSlider, QSplitter, QToolButton, QVBoxLayout, QWidget,
)

from gui.settings import settings
from gui.task import TaskTab

SAMPLE_UPPER = "春风得意马蹄疾"
ALTERNATIVES_HINT = "Click a character to see alternatives 点击字查看候选"
CELL_WIDTH = 58  # one column per character: the upper line's labels and the candidate's buttons


def _default_generate(upper: str, **kwargs):
    from engine.couplet.decode import generate_couplet

    return generate_couplet(upper, **kwargs)


def _default_models() -> list[tuple[str, bool]]:
    """(name, is_default) of the installed couplet models; light (reads manifests only)."""
    from engine.registry import list_models

    try:
        return [(e.name, e.default) for e in list_models("couplet")]
    except Exception:  # a damaged manifest: the error shows when generating
        return []


@dataclass(frozen=True)
class _Shown:
    """A result plus the pinyin / 平仄 of every candidate character (computed off the GUI thread)."""

    result: Any
    annotations: tuple[tuple[tuple[str, str], ...], ...]


TONE_MARKS = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü"


@functools.lru_cache(maxsize=1)
def pinyin_family() -> str:
    """An installed font family that draws every pinyin tone mark ('' if none does).  The
    bundled WenQuanYi Micro Hei lacks ǎ ǐ ǒ ǔ ǚ, and Qt's fallback does not always find them;
    the buttons name this family first.  Without one, tone numbers (chun1) are shown."""
    from PySide6.QtGui import QFont, QFontDatabase, QRawFont

    preferred = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans", "DejaVu Sans", "Liberation Sans")
    installed = QFontDatabase.families()
    for family in [f for f in preferred if f in installed] + sorted(installed):
        raw = QRawFont.fromFont(QFont(family))
        if raw.familyName() == family and all(raw.supportsCharacter(c) for c in TONE_MARKS):
            return family
    return ""


def tone_marks_drawable() -> bool:
    return bool(pinyin_family())


def _annotate(result, marks: bool = True) -> _Shown:
    from engine.couplet.rules import ping_ze, pinyin_of

    notes = tuple(tuple((pinyin_of(ch, marks=marks), ping_ze(ch)) for ch in cand.text) for cand in result.candidates)
    return _Shown(result, notes)


def _run(generate: Callable, upper: str, kwargs: dict, marks: bool = True) -> _Shown:
    return _annotate(generate(upper, **kwargs), marks)


def _badge(text: str, ok: bool | None, tip: str) -> QLabel:
    label = QLabel(text)
    label.setToolTip(tip)
    colour = "#2e7d32" if ok else "#c62828" if ok is False else "#757575"
    label.setStyleSheet(f"QLabel {{ color: white; background: {colour}; border-radius: 3px; padding: 1px 4px; }}")
    return label


class _CandidateRow(QFrame):
    """One candidate lower line: character buttons with pinyin, score, badges, actions."""

    character_clicked = Signal(int, int)  # candidate index, position
    attention_requested = Signal(int)
    copy_requested = Signal(int)

    def __init__(self, index: int, candidate, notes, locked: dict[int, str], upper: str = "", parent=None):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.candidate = candidate
        layout = QVBoxLayout(self)
        # the upper line, character over character above the candidate, so 对仗 reads down each column
        above = QHBoxLayout()
        above.setSpacing(2)
        self.upper_labels: list[QLabel] = []
        for ch in upper:
            label = QLabel(ch)
            label.setFixedWidth(CELL_WIDTH)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setStyleSheet("font-size: 15px; color: #666;")
            label.setToolTip("上联 upper line")
            above.addWidget(label)
            self.upper_labels.append(label)
        above.addStretch(1)
        layout.addLayout(above)
        chars = QHBoxLayout()
        chars.setSpacing(2)
        self.char_buttons: list[QToolButton] = []
        for pos, (ch, (py, pz)) in enumerate(zip(candidate.text, notes)):
            button = QToolButton()
            button.setText(f"{ch}\n{py}\n{pz}" if py else ch)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setFixedWidth(CELL_WIDTH)
            if pinyin_family():
                font = button.font()
                font.setFamilies([pinyin_family(), *font.families()])
                button.setFont(font)
            style = "font-size: 15px;"
            if pos in locked:
                style += "background: #fff3c4;"
            button.setStyleSheet(f"QToolButton {{ {style} }}")
            button.setToolTip("click: alternatives for this position")
            button.setEnabled(bool(py))
            button.clicked.connect(lambda _=False, p=pos: self.character_clicked.emit(index, p))
            chars.addWidget(button)
            self.char_buttons.append(button)
        chars.addStretch(1)
        layout.addLayout(chars)
        info = QHBoxLayout()
        self.score_label = QLabel(f"#{index + 1}  score {candidate.score:.2f}")
        info.addWidget(self.score_label)
        rules = candidate.rules
        info.addWidget(_badge("字数", rules.same_length, "same length as the upper line"))
        info.addWidget(_badge("标点", rules.punctuation, "punctuation copied at the same places"))
        info.addWidget(_badge("重字", rules.repeats, "repeats characters exactly where the upper line does"))
        info.addWidget(_badge("不重位", rules.no_copy, "no position repeats the upper line's character"))
        if rules.ping_ending is None:
            info.addWidget(_badge("上联平收", None, "the upper line ends in 平, so the 平-ending rule does not apply"))
        else:
            info.addWidget(_badge("平收" if rules.ping_ending else "仄收", rules.ping_ending,
                                  "after a 仄 upper ending the lower line should end in 平 (tones 1, 2)"))
        info.addWidget(_badge(f"平仄相对 {rules.tone_opposition:.0%}", rules.tone_opposition >= 0.5,
                              "share of positions whose 平/仄 oppose the upper line's"))
        info.addStretch(1)
        copy = QPushButton("Copy")
        copy.clicked.connect(lambda: self.copy_requested.emit(index))
        attention = QPushButton("Show attention")
        attention.clicked.connect(lambda: self.attention_requested.emit(index))
        self.attention_button = attention
        info.addWidget(copy)
        info.addWidget(attention)
        layout.addLayout(info)


class CoupletTab(TaskTab):
    """Upper line in, N constrained lower lines out (see module docstring)."""

    show_attention = Signal(str, str)  # upper, lower
    folder_key = "couplet"

    def __init__(self, runner, *, generate: Callable = _default_generate,
                 list_models: Callable[[], list[tuple[str, bool]]] = _default_models, parent=None):
        super().__init__(runner, parent)
        self._generate = generate
        self._settings = settings()
        self._locked: dict[int, str] = {}
        self._shown: _Shown | None = None
        self._history: list[_Shown] = []
        self._selected: tuple[int, int] | None = None  # (candidate, position) shown in the alternatives list

        # -- input row
        self.upper_edit = QLineEdit()
        self.upper_edit.setPlaceholderText(f"上联 upper line, e.g. {SAMPLE_UPPER}")
        self.upper_edit.setStyleSheet("font-size: 18px;")
        self.upper_edit.returnPressed.connect(self.generate)
        self.upper_edit.textEdited.connect(self._on_upper_edit_text_edited)
        self.acrostic_edit = QLineEdit()
        self.acrostic_edit.setPlaceholderText("藏头 first char")
        self.acrostic_edit.setMaxLength(2)
        self.acrostic_edit.setFixedWidth(110)
        self.model_combo = QComboBox()
        models = list_models()
        for name, is_default in sorted(models, key=lambda m: not m[1]):
            self.model_combo.addItem(name + ("  (default)" if is_default else ""), name)
        if not models:
            self.model_combo.addItem("default", None)
        self.generate_button = QPushButton("Generate 生成下联")
        self.generate_button.clicked.connect(self.generate)
        top = QHBoxLayout()
        top.addWidget(QLabel("上联"))
        top.addWidget(self.upper_edit, 1)
        top.addWidget(self.acrostic_edit)
        top.addWidget(self.model_combo)
        top.addWidget(self.generate_button)

        # -- sliders
        self.temperature_slider, self.temperature_label = self._slider(0, 150, int(self._settings.value("couplet/temperature", 0)))
        self.top_k_slider, self.top_k_label = self._slider(0, 50, int(self._settings.value("couplet/top_k", 20)))
        self.n_slider, self.n_label = self._slider(1, 8, int(self._settings.value("couplet/n", 4)))
        sliders = QGridLayout()
        for col, (title, slider, label) in enumerate([
                ("Temperature 温度", self.temperature_slider, self.temperature_label),
                ("Top-k", self.top_k_slider, self.top_k_label), ("N candidates 候选数", self.n_slider, self.n_label)]):
            sliders.addWidget(QLabel(title), 0, 3 * col)
            sliders.addWidget(slider, 0, 3 * col + 1)
            sliders.addWidget(label, 0, 3 * col + 2)
        self._update_slider_labels()
        for slider in (self.temperature_slider, self.top_k_slider, self.n_slider):
            slider.valueChanged.connect(self._update_slider_labels)

        # -- message, locks
        self.locks_label = QLabel("")
        self.clear_locks_button = QPushButton("Clear locks 解锁")
        self.clear_locks_button.clicked.connect(self.clear_locks)
        self.clear_locks_button.setVisible(False)
        status = QHBoxLayout()
        status.addWidget(self.message_label, 1)
        status.addWidget(self.locks_label)
        status.addWidget(self.clear_locks_button)

        # -- candidates
        self.candidates_widget = QWidget()
        self.candidates_layout = QVBoxLayout(self.candidates_widget)
        self.candidates_layout.addStretch(1)
        self.rows: list[_CandidateRow] = []
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.candidates_widget)

        # -- side panel: alternatives + history
        self.alternatives_title = QLabel(ALTERNATIVES_HINT)
        self.alternatives_title.setWordWrap(True)
        self.alternatives_list = QListWidget()
        self.alternatives_list.itemDoubleClicked.connect(self._on_alternatives_list_item_double_clicked)
        self.lock_button = QPushButton("Lock && regenerate 锁定并重写")
        self.lock_button.setEnabled(False)
        self.lock_button.clicked.connect(self.lock_selected_alternative)
        self.history_list = QListWidget()
        self.history_list.itemClicked.connect(self._on_history_list_item_clicked)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.alternatives_title)
        side_layout.addWidget(self.alternatives_list, 2)
        side_layout.addWidget(self.lock_button)
        side_layout.addWidget(QLabel("History 历史"))
        side_layout.addWidget(self.history_list, 1)
        splitter = QSplitter()
        splitter.addWidget(scroll)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([860, 300])
        side.setMinimumWidth(220)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(sliders)
        layout.addLayout(status)
        layout.addWidget(splitter, 1)
        self.busy_changed.connect(self._on_busy_changed)

    # ------------------------------------------------------------------ helpers
    def _slider(self, low: int, high: int, value: int):
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(low, high)
        slider.setValue(max(low, min(high, value)))
        label = QLabel()
        label.setMinimumWidth(36)
        return slider, label

    def _update_slider_labels(self) -> None:
        self.temperature_label.setText(f"{self.temperature:.2f}" if self.temperature else "beam")
        self.top_k_label.setText(str(self.top_k) if self.top_k else "all")
        beam = not self.temperature
        self.top_k_slider.setEnabled(not beam)  # beam search ignores top-k
        self.top_k_slider.setToolTip("top-k applies when sampling (temperature > 0); beam search ignores it"
                                     if beam else "sample among the k most likely characters (0 = all)")
        self.n_label.setText(str(self.n_candidates))
        self._settings.setValue("couplet/temperature", self.temperature_slider.value())
        self._settings.setValue("couplet/top_k", self.top_k_slider.value())
        self._settings.setValue("couplet/n", self.n_slider.value())

    @property
    def temperature(self) -> float:
        return self.temperature_slider.value() / 100

    @property
    def top_k(self) -> int:
        return self.top_k_slider.value()

    @property
    def n_candidates(self) -> int:
        return self.n_slider.value()

    def _validate(self, text: str) -> str | None:
        from engine.couplet.rules import InvalidLine, normalise_upper

        try:
            return normalise_upper(text)
        except InvalidLine as exc:
            self.show_message(str(exc), error=True)
            return None

    # ------------------------------------------------------------------ actions
    def set_upper(self, text: str) -> None:
        self.upper_edit.setText(text)
        self._locked.clear()
        self._update_locks()

    def generate(self) -> None:
        if self.busy:
            return
        upper = self._validate(self.upper_edit.text())
        if upper is None:
            self._clear_result()  # old candidates would answer another line
            return
        kwargs = {"model": self.model_combo.currentData(), "n": self.n_candidates,
                  "temperature": self.temperature, "top_k": self.top_k,
                  "locked": dict(self._locked) or None,
                  "acrostic": self.acrostic_edit.text().strip() or None}
        if self.temperature:
            kwargs["seed"] = int(time.time() * 1000) % 100000
        self.show_message("")
        self.start_job(_run, self._generate, upper, kwargs, tone_marks_drawable(), on_result=self._on_job_returned,
                       status="Writing lower lines… 正在生成")

    def clear_locks(self) -> None:
        self._locked.clear()
        self._update_locks()
        if self._shown is not None:
            self.generate()

    def lock_selected_alternative(self) -> None:
        item = self.alternatives_list.currentItem()
        if item is None or self._selected is None:
            return
        _, pos = self._selected
        self._locked[pos] = item.data(Qt.ItemDataRole.UserRole)
        self._update_locks()
        self.generate()

    def copy_candidate(self, index: int) -> None:
        if self._shown is None:
            return
        text = f"{self._shown.result.upper}\n{self._shown.result.candidates[index].text}"
        QApplication.clipboard().setText(text)
        self.show_message("Copied 已复制")

    def export_dialog(self) -> None:
        """File → Export…: the upper line and every candidate, one per line."""
        if self._shown is None:
            self.show_message("Nothing to export yet: generate lower lines first.")
            return
        path, _fmt = self.ask_save_path("Export couplets", f"{self._shown.result.upper}.txt", ["Text (*.txt)"])
        if path:
            self.export(path)

    def export(self, path: str) -> bool:
        from engine.registry import atomic_write_text

        result = self._shown.result
        lines = [f"上联 {result.upper}"] + [f"下联 {c.text}\t{c.score:.2f}" for c in result.candidates]
        try:
            atomic_write_text(path, "\n".join(lines) + "\n")
        except OSError as exc:
            self.show_message(f"Could not write {path}: {exc.strerror or exc}", error=True)
            return False
        self.show_message(f"Saved {path}")
        return True

    # ------------------------------------------------------------------ slots
    def _on_upper_edit_text_edited(self, _text: str) -> None:
        if self._locked:
            self._locked.clear()
            self._update_locks()

    def _on_job_returned(self, shown: _Shown) -> None:
        self._display(shown)
        self._history.insert(0, shown)
        best = shown.result.candidates[0].text if shown.result.candidates else ""
        self.history_list.insertItem(0, QListWidgetItem(f"{shown.result.upper} → {best}"))
        n = len(shown.result.candidates)
        self.show_message(f"{n} lower line{'s' if n != 1 else ''} from model {shown.result.model}")

    def _on_busy_changed(self, busy: bool) -> None:
        self.generate_button.setEnabled(not busy)

    def _on_history_list_item_clicked(self, item: QListWidgetItem) -> None:
        shown = self._history[self.history_list.row(item)]
        self.upper_edit.setText(shown.result.upper)
        self._locked.clear()
        self._update_locks()
        self._display(shown)

    def _on_row_character_clicked(self, index: int, pos: int) -> None:
        cand = self._shown.result.candidates[index]
        self._selected = (index, pos)
        self.alternatives_title.setText(
            f"Position {pos + 1}: {cand.text[pos]} (upper {self._shown.result.upper[pos]}) — alternatives 候选字:")
        self.alternatives_list.clear()
        for ch, prob in cand.alternatives[pos]:
            item = QListWidgetItem(f"{ch}   {prob:.1%}")
            item.setData(Qt.ItemDataRole.UserRole, ch)
            self.alternatives_list.addItem(item)
        if self.alternatives_list.count():
            self.alternatives_list.setCurrentRow(0)
        self.lock_button.setEnabled(self.alternatives_list.count() > 0)

    def _on_alternatives_list_item_double_clicked(self, item: QListWidgetItem) -> None:
        self.alternatives_list.setCurrentItem(item)
        self.lock_selected_alternative()

    def _on_row_attention_requested(self, index: int) -> None:
        if self._shown is not None:
            self.show_attention.emit(self._shown.result.upper, self._shown.result.candidates[index].text)

    # ------------------------------------------------------------------ display
    def _update_locks(self) -> None:
        text = "  ".join(f"{p + 1}={c}" for p, c in sorted(self._locked.items()))
        self.locks_label.setText(f"Locked 锁定: {text}" if text else "")
        self.clear_locks_button.setVisible(bool(self._locked))

    def _clear_result(self) -> None:
        self._shown = None
        for row in self.rows:
            self.candidates_layout.removeWidget(row)
            row.deleteLater()
        self.rows = []
        self.alternatives_list.clear()
        self.alternatives_title.setText(ALTERNATIVES_HINT)
        self.lock_button.setEnabled(False)
        self._selected = None

    def _display(self, shown: _Shown) -> None:
        self._clear_result()
        self._shown = shown
        for i, (cand, notes) in enumerate(zip(shown.result.candidates, shown.annotations)):
            row = _CandidateRow(i, cand, notes, self._locked, shown.result.upper)
            row.character_clicked.connect(self._on_row_character_clicked)
            row.attention_requested.connect(self._on_row_attention_requested)
            row.copy_requested.connect(self.copy_candidate)
            self.candidates_layout.insertWidget(i, row)
            self.rows.append(row)

    def candidate_texts(self) -> list[str]:
        return [row.candidate.text for row in self.rows]

    # ------------------------------------------------------------------ screenshots
    def screenshot_states(self):
        def sample():
            self.set_upper(SAMPLE_UPPER)
            self.generate()
            self.wait_until_idle()
            if self.rows:
                self._on_row_character_clicked(0, len(SAMPLE_UPPER) - 1)

        def bad_input():
            self.set_upper("hello 对联")
            self.generate()

        return [("candidates", sample), ("bad-input", bad_input)]
