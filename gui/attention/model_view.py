"""Model attention: a shipped transformer's (layers, heads, T, T) attention for a text, computed
once in a worker (engine.attention.extract); layer / head choices only slice it with
``AttentionResult.matrix`` and the bars show ``AttentionResult.head_entropy``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QGridLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QSplitter,
                               QVBoxLayout, QWidget)

from gui.heatmap import AttentionHeatmap

if TYPE_CHECKING:
    from gui.attention.tab import AttentionTab

def _model_attention_job(load: Callable, extract: Callable, name: str, upper: str, lower: str | None):
    """Worker body: load the model (cached by the registry) and extract every map once."""
    return extract(load(name), upper, lower)


class ModelAttentionView(QWidget):
    """A shipped transformer's attention for a text; computed once, sliced on demand."""

    MEAN = -1  # head combo data for "mean over heads"

    def __init__(self, tab: AttentionTab):
        super().__init__(tab)
        self.tab = tab
        self.result: Any = None
        self.model_combo = QComboBox()
        self.model_combo.addItems(tab.model_names)
        self.upper_edit = QLineEdit("春风得意马蹄疾")
        self.upper_edit.setPlaceholderText("text / upper line 上联")
        self.lower_edit = QLineEdit()
        self.lower_edit.setPlaceholderText("lower line 下联 (optional; same length)")
        self.show_button = QPushButton("Show 显示")
        self.show_button.clicked.connect(self._on_show_button_clicked)
        self.upper_edit.returnPressed.connect(self._on_show_button_clicked)
        self.layer_spin = QSpinBox()
        self.layer_spin.setEnabled(False)
        self.layer_spin.valueChanged.connect(self._redraw)
        self.head_combo = QComboBox()
        self.head_combo.setEnabled(False)
        self.head_combo.currentIndexChanged.connect(self._redraw)
        self.export_button = QPushButton("Export PNG")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self._on_export_button_clicked)
        self.heatmap = AttentionHeatmap(title="attention")
        self.entropy_plot = pg.PlotWidget(background="w", title="mean row entropy per head (nats)")
        self.entropy_plot.setLabel("bottom", "head")
        self.entropy_plot.setLabel("left", "entropy (nats)")
        self.entropy_plot.setMaximumWidth(320)
        self.entropy_bars = pg.BarGraphItem(x=[], height=[], width=0.7, brush=pg.mkBrush(90, 140, 220))
        self.entropy_plot.addItem(self.entropy_bars)
        self.uniform_line = pg.InfiniteLine(angle=0, pen=pg.mkPen((200, 60, 60), width=2, style=Qt.PenStyle.DashLine),
                                            label="log T (uniform)", labelOpts={"color": (200, 60, 60),
                                                                                "position": 0.8})
        self.entropy_plot.addItem(self.uniform_line)
        self.info_label = QLabel()
        self.info_label.setWordWrap(True)
        self.empty_label = QLabel(
            "No transformer model is shipped yet. The couplet task's BERT model (assets/models/couplet/…, "
            "config kind \"bert\") will appear here once it is installed; the explorer, studies and mask "
            "gallery work without it.\n尚无可显示注意力的 Transformer 模型。")
        self.empty_label.setObjectName("attention_no_model")
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("font-size: 14pt; color: #555; padding: 24px;")

        controls = QGridLayout()
        controls.addWidget(QLabel("model 模型"), 0, 0)
        controls.addWidget(self.model_combo, 0, 1)
        controls.addWidget(QLabel("text 上联"), 0, 2)
        controls.addWidget(self.upper_edit, 0, 3)
        controls.addWidget(QLabel("pair 下联"), 0, 4)
        controls.addWidget(self.lower_edit, 0, 5)
        controls.addWidget(self.show_button, 0, 6)
        controls.addWidget(QLabel("layer 层"), 1, 0)
        controls.addWidget(self.layer_spin, 1, 1)
        controls.addWidget(QLabel("head 头"), 1, 2)
        controls.addWidget(self.head_combo, 1, 3)
        controls.addWidget(self.export_button, 1, 6)
        splitter = QSplitter()
        splitter.addWidget(self.heatmap)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.addWidget(self.entropy_plot, 1)
        side_layout.addWidget(self.info_label)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.empty_label)
        layout.addWidget(splitter, 1)
        has_models = bool(tab.model_names)
        self.empty_label.setVisible(not has_models)
        splitter.setVisible(has_models)
        for widget in (self.model_combo, self.upper_edit, self.lower_edit, self.show_button):
            widget.setEnabled(has_models)

    def model_name(self) -> str:
        return self.model_combo.currentText()

    def set_busy(self, busy: bool) -> None:
        self.show_button.setEnabled(bool(self.tab.model_names) and not busy)

    def show_text(self, upper: str, lower: str | None) -> None:
        self.upper_edit.setText(upper)
        self.lower_edit.setText(lower or "")
        self._on_show_button_clicked()

    def _on_show_button_clicked(self) -> None:
        if not self.tab.model_names:
            return
        upper = self.upper_edit.text().strip()
        lower = self.lower_edit.text().strip() or None
        if not upper:
            self.tab.show_message("Type a text first.", error=True)
            return
        name = self.model_name()
        self.tab.start_job(_model_attention_job, self.tab._load_attention_model, self.tab._extract_attention,
                           name, upper, lower, on_result=self._on_attention_returned,
                           status=f"Attention of {name}…")

    def _on_attention_returned(self, result: Any) -> None:
        self.result = result
        layers, heads = result.weights.shape[:2]
        self.layer_spin.blockSignals(True)
        self.layer_spin.setRange(0, layers - 1)
        self.layer_spin.setValue(min(self.layer_spin.value(), layers - 1))
        self.layer_spin.blockSignals(False)
        self.head_combo.blockSignals(True)
        previous = self.head_combo.currentData()
        self.head_combo.clear()
        self.head_combo.addItem("mean over heads 平均", self.MEAN)
        for head in range(heads):
            self.head_combo.addItem(f"head {head}", head)
        index = self.head_combo.findData(previous)
        self.head_combo.setCurrentIndex(max(0, index))
        self.head_combo.blockSignals(False)
        for widget in (self.layer_spin, self.head_combo, self.export_button):
            widget.setEnabled(True)
        self._redraw()

    def select(self, layer: int, head: int | None) -> None:
        """Show ``layer`` and ``head`` (None = mean over heads)."""
        self.layer_spin.setValue(layer)
        self.head_combo.setCurrentIndex(self.head_combo.findData(self.MEAN if head is None else head))
        self._redraw()

    def _redraw(self, *_args: Any) -> None:
        result = self.result
        if result is None:
            return
        layer = self.layer_spin.value()
        head_data = self.head_combo.currentData()
        head = None if head_data in (None, self.MEAN) else int(head_data)
        matrix = result.matrix(layer, head)
        which = "mean over heads" if head is None else f"head {head}"
        tokens = list(result.tokens)
        self.heatmap.set_matrix(matrix, tokens, tokens, title=f"layer {layer}, {which}")
        entropy = result.head_entropy()[layer]  # (heads,) mean row entropy, nats
        self.entropy_bars.setOpts(x=np.arange(len(entropy)), height=entropy, width=0.7)
        self.entropy_plot.setXRange(-0.6, len(entropy) - 0.4, padding=0)
        self.uniform_line.setValue(float(np.log(len(tokens))))
        self.entropy_plot.setYRange(0, float(np.log(len(tokens))) * 1.08, padding=0)
        self.info_label.setText(
            f"{len(tokens)} tokens, {result.weights.shape[0]} layers × {result.weights.shape[1]} heads. "
            f"Uniform attention would have entropy log T = {np.log(len(tokens)):.2f} nats; "
            f"layer {layer} heads: " + ", ".join(f"{v:.2f}" for v in entropy))

    def _on_export_button_clicked(self) -> None:
        name = f"attention_{self.model_name()}_layer{self.layer_spin.value()}.png"
        path, _fmt = self.tab.ask_save_path("Export attention map", name, ["PNG images (*.png)"])
        if path:
            try:
                self.heatmap.export_png(path)
            except OSError as exc:
                self.tab.show_message(f"Could not write {path}: {exc.strerror or exc}", error=True)
            else:
                self.tab.show_message(f"Wrote {path}")
