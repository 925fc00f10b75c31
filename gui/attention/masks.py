"""Mask gallery: a mask pattern and its parameters as a heatmap (numpy only, on the GUI thread)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel, QSpinBox, QWidget

from gui.heatmap import AttentionHeatmap

if TYPE_CHECKING:
    from gui.attention.tab import AttentionTab

MASK_CHOICES = (
    ("bidirectional", "Bidirectional (MLM) 双向"),
    ("causal", "Causal (LM) 单向"),
    ("unilm", "UniLM seq2seq prefix 前缀"),
    ("local", "Local window 局部"),
    ("atrous", "Atrous / dilated 空洞"),
    ("strided", "Strided (Sparse Transformer) 稀疏"),
)


class MaskGallery(QWidget):
    """A pattern and its parameters → heatmap (numpy only, drawn on the GUI thread)."""

    def __init__(self, make_mask: Callable[..., np.ndarray], tab: AttentionTab):
        super().__init__(tab)
        self.tab = tab
        self._make_mask = make_mask
        self.kind_combo = QComboBox()
        for key, title in MASK_CHOICES:
            self.kind_combo.addItem(title, key)
        self.n_spin = self._spin(2, 64, 16)
        self.window_spin = self._spin(0, 32, 2)
        self.dilation_spin = self._spin(1, 16, 2)
        self.stride_spin = self._spin(1, 16, 4)
        self.prefix_spin = self._spin(0, 64, 6)
        self.causal_check = QCheckBox("causal 单向")
        self.density_label = QLabel()
        self.density_label.setWordWrap(True)
        self.heatmap = AttentionHeatmap(title="mask", color_map="cividis", bar_label="1 = may attend")
        self.kind_combo.currentIndexChanged.connect(self._update)
        for spin in (self.n_spin, self.window_spin, self.dilation_spin, self.stride_spin, self.prefix_spin):
            spin.valueChanged.connect(self._update)
        self.causal_check.toggled.connect(self._update)

        form = QFormLayout()
        form.addRow("pattern 模式", self.kind_combo)
        form.addRow("n", self.n_spin)
        form.addRow("window 窗口", self.window_spin)
        form.addRow("dilation 膨胀", self.dilation_spin)
        form.addRow("stride 步长", self.stride_spin)
        form.addRow("prefix 前缀", self.prefix_spin)
        form.addRow(self.causal_check)
        form.addRow(self.density_label)
        left = QWidget()
        left.setLayout(form)
        left.setMaximumWidth(300)
        layout = QHBoxLayout(self)
        layout.addWidget(left)
        layout.addWidget(self.heatmap, 1)
        self._update()

    @staticmethod
    def _spin(low: int, high: int, value: int) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(low, high)
        spin.setValue(value)
        return spin

    def set_pattern(self, kind: str, **params: int) -> None:
        widgets = {"n": self.n_spin, "window": self.window_spin, "dilation": self.dilation_spin,
                   "stride": self.stride_spin, "prefix": self.prefix_spin}
        self._holding = True  # one redraw at the end, not one per widget
        try:
            if "n" in params:
                self.n_spin.setValue(int(params["n"]))
            for name, value in params.items():
                if name == "causal":
                    self.causal_check.setChecked(bool(value))
                elif name != "n":
                    widgets[name].setValue(int(value))
            self.kind_combo.setCurrentIndex(self.kind_combo.findData(kind))
        finally:
            self._holding = False
        self._update()

    def current_mask(self) -> np.ndarray | None:
        return self.heatmap.matrix()

    _holding = False

    def _update(self, *_args: Any) -> None:
        if self._holding:
            return
        kind = self.kind_combo.currentData()
        n = self.n_spin.value()
        self.prefix_spin.setMaximum(n)
        uses = {"local": (self.window_spin, self.causal_check), "atrous": (self.dilation_spin, self.causal_check),
                "strided": (self.stride_spin, self.causal_check), "unilm": (self.prefix_spin,)}.get(kind, ())
        for widget in (self.window_spin, self.dilation_spin, self.stride_spin, self.prefix_spin, self.causal_check):
            widget.setEnabled(widget in uses)
        try:
            mask = self._make_mask(kind, n, window=self.window_spin.value(), dilation=self.dilation_spin.value(),
                                   stride=self.stride_spin.value(), prefix=self.prefix_spin.value(),
                                   causal=self.causal_check.isChecked() and self.causal_check in uses)
        except ValueError as exc:
            self.density_label.setText(str(exc))
            return
        density = float(mask.mean())
        self.heatmap.set_matrix(mask.astype(np.float32), title=f"{self.kind_combo.currentText()} (n = {n})")
        self.density_label.setText(f"allowed pairs: {int(mask.sum())} of {n * n} ({density:.1%} of full attention); "
                                   "row = query i, column = key j, bright = may attend")
