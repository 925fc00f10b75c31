"""Softmax explorer: a score vector (edited, random, or one position's logits from the couplet
transformer) through every normaliser side by side on one 0–1 scale, live as the τ, α and k
sliders move, with entropy / support / max per normaliser (the engine's entropy), and a
Gumbel-max histogram that converges to softmax as samples accumulate."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QFormLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QPushButton, QSlider, QSpinBox, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from gui.attention.common import color

if TYPE_CHECKING:
    from gui.attention.tab import AttentionTab

NORMALISER_TITLES = {
    "softmax": "softmax",
    "sparse_softmax": "sparse softmax (top-k)",
    "sparsemax": "sparsemax",
    "entmax": "α-entmax",
    "smooth_topk": "smooth top-k (Σ = k)",
    "taylor_softmax": "Taylor softmax",
}


def _model_scores_job(load: Callable, scores: Callable, name: str, upper: str, position: int):
    return scores(load(name), upper, position, 20)


class SoftmaxExplorer(QWidget):
    """Scores → every normaliser on one scale, plus a Gumbel-max histogram."""

    TAU_STEPS = 200          # slider position v -> tau = 10 ** (-1.5 + 2.5 v / 200), 0.03 … 10
    GUMBEL_BATCH = 400       # samples drawn per timer tick
    GUMBEL_LIMIT = 200_000   # stop once the histogram is this well converged

    def __init__(self, tab: AttentionTab):
        super().__init__(tab)
        self.tab = tab
        self._normalize_all: Callable | None = None
        self._sampler_class: type | None = None
        self._entropy: Callable | None = None  # engine.attention.normalizers.entropy (p / sum p, 0 log 0 = 0)
        self._sampler: Any = None
        self.results: dict[str, np.ndarray] = {}
        self._rng = np.random.default_rng(0)
        self.invalid_rows: list[int] = []

        # scores table
        self.table = QTableWidget(0, 2)
        self.table.setObjectName("explorer_scores")
        self.table.setHorizontalHeaderLabels(["label 标签", "score 分数"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.itemChanged.connect(self._on_table_itemChanged)
        self.size_spin = QSpinBox()
        self.size_spin.setRange(2, 40)
        self.size_spin.setValue(8)
        self.random_button = QPushButton("Random 随机")
        self.random_button.clicked.connect(self._on_random_button_clicked)
        self.upper_edit = QLineEdit("春风得意马蹄疾")
        self.upper_edit.setPlaceholderText("upper line 上联")
        self.position_spin = QSpinBox()
        self.position_spin.setRange(0, 63)
        self.model_button = QPushButton("From model 取自模型")
        self.model_button.setToolTip("top 20 logits of one lower-line position of the couplet transformer")
        self.model_button.clicked.connect(self._on_model_button_clicked)

        # sliders
        self.tau_slider = self._slider(0, self.TAU_STEPS, self._tau_to_slider(1.0))
        self.alpha_slider = self._slider(0, 300, 50)   # alpha = 1 + v / 100
        self.k_slider = self._slider(10, 80, 20)        # k = v / 10
        self.tau_label, self.alpha_label, self.k_label = QLabel(), QLabel(), QLabel()
        for slider in (self.tau_slider, self.alpha_slider, self.k_slider):
            slider.valueChanged.connect(self._on_slider_valueChanged)

        controls = QVBoxLayout()
        controls.addWidget(self.table, 1)
        row = QHBoxLayout()
        row.addWidget(QLabel("n"))
        row.addWidget(self.size_spin)
        row.addWidget(self.random_button)
        controls.addLayout(row)
        model_box = QGroupBox("From the couplet model 取自对联模型")
        model_form = QFormLayout(model_box)
        model_form.addRow("upper 上联", self.upper_edit)
        model_form.addRow("position 位置", self.position_spin)
        model_form.addRow(self.model_button)
        controls.addWidget(model_box)
        slider_box = QGroupBox("Parameters 参数")
        slider_form = QFormLayout(slider_box)
        slider_form.addRow(self.tau_label, self.tau_slider)
        slider_form.addRow(self.alpha_label, self.alpha_slider)
        slider_form.addRow(self.k_label, self.k_slider)
        controls.addWidget(slider_box)

        # bar charts, one per normaliser, on one 0..1 scale
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.plots: dict[str, pg.PlotItem] = {}
        self.bars: dict[str, pg.BarGraphItem] = {}
        first = None
        for index, (kind, title) in enumerate(NORMALISER_TITLES.items()):
            plot = self.graphics.addPlot(row=index // 3, col=index % 3, title=title)
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            plot.setYRange(0, 1, padding=0.02)
            plot.showGrid(y=True, alpha=0.3)
            if first is None:
                first = plot
            else:
                plot.setYLink(first)
            bar = pg.BarGraphItem(x=[], height=[], width=0.8, brush=color(index))
            plot.addItem(bar)
            self.plots[kind], self.bars[kind] = plot, bar
        self.gumbel_plot = self.graphics.addPlot(row=2, col=0, colspan=3, title="Gumbel-max samples")
        self.gumbel_plot.setMenuEnabled(False)
        self.gumbel_plot.setMouseEnabled(x=False, y=False)
        self.gumbel_plot.hideButtons()
        self.gumbel_plot.setYRange(0, 1, padding=0.02)
        self.gumbel_plot.setYLink(first)
        self.gumbel_plot.addLegend(offset=(-10, 10), brush=pg.mkBrush(255, 255, 255, 220),
                                   labelTextColor=(30, 30, 30))
        self.gumbel_bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=pg.mkBrush(90, 140, 220, 180),
                                           name="sample frequency")
        self.gumbel_target = pg.ScatterPlotItem(symbol="o", size=9, brush=pg.mkBrush(220, 40, 40),
                                                pen=None, name="softmax(s/τ)")
        self.gumbel_plot.addItem(self.gumbel_bars)
        self.gumbel_plot.addItem(self.gumbel_target)

        self.stats = QTableWidget(len(NORMALISER_TITLES), 4)
        self.stats.setObjectName("explorer_stats")
        self.stats.setHorizontalHeaderLabels(["entropy 熵 (nats)", "support 支撑", "max p", "Σ p"])
        self.stats.setVerticalHeaderLabels(list(NORMALISER_TITLES.values()))
        self.stats.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.stats.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.stats.verticalHeader().setDefaultSectionSize(22)
        self.stats.setMaximumHeight(22 * len(NORMALISER_TITLES) + 44)

        self.sample_button = QPushButton("Sample 采样")
        self.sample_button.setCheckable(True)
        self.sample_button.toggled.connect(self._on_sample_button_toggled)
        self.reset_button = QPushButton("Reset 重置")
        self.reset_button.clicked.connect(self._reset_sampler)
        self.gumbel_label = QLabel("")
        self.status_label = QLabel("Loading the softmax family…")

        right = QVBoxLayout()
        right.addWidget(self.graphics, 3)
        gumbel_row = QHBoxLayout()
        gumbel_row.addWidget(self.sample_button)
        gumbel_row.addWidget(self.reset_button)
        gumbel_row.addWidget(self.gumbel_label, 1)
        right.addLayout(gumbel_row)
        right.addWidget(self.stats, 1)
        right.addWidget(self.status_label)

        layout = QHBoxLayout(self)
        left_widget = QWidget()
        left_widget.setLayout(controls)
        left_widget.setMaximumWidth(330)
        right_widget = QWidget()
        right_widget.setLayout(right)
        layout.addWidget(left_widget)
        layout.addWidget(right_widget, 1)

        self.timer = QTimer(self)
        self.timer.setInterval(50)
        self.timer.timeout.connect(self._on_timer_timeout)

        self._update_slider_labels()
        self.set_scores([2.0, 1.0, 0.5, 0.0, -0.5, -1.0, 1.5, -2.0])
        self.set_busy(True)

    @staticmethod
    def _slider(low: int, high: int, value: int) -> QSlider:
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(low, high)
        slider.setValue(value)
        return slider

    # -- parameters ---------------------------------------------------------------
    @classmethod
    def _tau_to_slider(cls, tau: float) -> int:
        return int(round((np.log10(tau) + 1.5) / 2.5 * cls.TAU_STEPS))

    @property
    def tau(self) -> float:
        return float(10 ** (-1.5 + 2.5 * self.tau_slider.value() / self.TAU_STEPS))

    @property
    def alpha(self) -> float:
        return 1.0 + self.alpha_slider.value() / 100.0

    @property
    def k(self) -> float:
        return self.k_slider.value() / 10.0

    def set_parameters(self, *, tau: float | None = None, alpha: float | None = None, k: float | None = None) -> None:
        if tau is not None:
            self.tau_slider.setValue(self._tau_to_slider(tau))
        if alpha is not None:
            self.alpha_slider.setValue(int(round((alpha - 1) * 100)))
        if k is not None:
            self.k_slider.setValue(int(round(k * 10)))

    def _update_slider_labels(self) -> None:
        self.tau_label.setText(f"τ temperature = {self.tau:.3g}")
        self.alpha_label.setText(f"α (entmax) = {self.alpha:.2f}")
        self.k_label.setText(f"k (top-k) = {self.k:.1f}")

    # -- scores -----------------------------------------------------------------
    def set_scores(self, scores, labels=None) -> None:
        scores = [float(v) for v in scores]
        labels = [str(v) for v in labels] if labels is not None else [str(i) for i in range(len(scores))]
        self.table.blockSignals(True)
        self.table.setRowCount(len(scores))
        for i, (label, value) in enumerate(zip(labels, scores)):
            self.table.setItem(i, 0, QTableWidgetItem(label))
            self.table.setItem(i, 1, QTableWidgetItem(f"{value:.4g}"))
        self.table.blockSignals(False)
        self.k_slider.setMaximum(max(10, 10 * len(scores)))
        self._scores_changed()

    def scores(self) -> tuple[list[str], np.ndarray]:
        labels, values, invalid = [], [], []
        self.table.blockSignals(True)  # flagging a cell must not count as an edit
        for i in range(self.table.rowCount()):
            label_item, value_item = self.table.item(i, 0), self.table.item(i, 1)
            try:
                value = float(value_item.text()) if value_item is not None else 0.0
                ok = bool(np.isfinite(value))
            except ValueError:
                ok = False
            if value_item is not None:
                value_item.setBackground(QColor(255, 205, 205) if not ok else QColor(0, 0, 0, 0))
                value_item.setToolTip("" if ok else "not a number: this row is left out until it is fixed")
            if ok:
                labels.append(label_item.text() if label_item is not None else str(i))
                values.append(value)
            else:
                invalid.append(i)
        self.table.blockSignals(False)
        if invalid != self.invalid_rows:
            self.invalid_rows = invalid
            rows = ", ".join(str(i + 1) for i in invalid)
            self.status_label.setText(f"Row {rows}: not a number, left out until fixed." if invalid else "")
            self.status_label.setStyleSheet("color: #c0392b;" if invalid else "")
        return labels, np.asarray(values, dtype=np.float64)

    def _on_table_itemChanged(self, _item) -> None:
        self._scores_changed()

    def _on_random_button_clicked(self) -> None:
        n = self.size_spin.value()
        self.set_scores(np.round(self._rng.normal(0.0, 1.5, size=n), 2))

    def _on_model_button_clicked(self) -> None:
        if not self.tab.model_names:
            self.tab.show_message("No transformer model is shipped yet: 'from model' needs the couplet BERT.",
                                  error=True)
            return
        upper = self.upper_edit.text().strip()
        if not upper:
            self.tab.show_message("Type an upper line first.", error=True)
            return
        position = min(self.position_spin.value(), len(upper) - 1)
        name = self.tab.model_view.model_name()
        self.tab.start_job(_model_scores_job, self.tab._load_attention_model, self.tab._position_scores,
                           name, upper, position, on_result=self._on_model_scores_returned,
                           status=f"Logits of position {position} from {name}…")

    def _on_model_scores_returned(self, result) -> None:
        labels, scores = result
        self.set_scores(np.asarray(scores, dtype=np.float64), labels)

    def _on_slider_valueChanged(self, _value: int) -> None:
        self._update_slider_labels()
        self._scores_changed()

    # -- computing and drawing -----------------------------------------------------------
    def engine_ready(self, engine: tuple[Callable, type, Callable]) -> None:
        self._normalize_all, self._sampler_class, self._entropy = engine
        self._scores_changed()

    def engine_load_ended(self) -> None:
        """Loaded or not, the loading note goes (a failure is on the tab's message line)."""
        self.status_label.setText("")
        self.set_busy(self.tab.busy)

    def set_busy(self, busy: bool) -> None:
        ready = self._normalize_all is not None
        self.model_button.setEnabled(ready and not busy and bool(self.tab.model_names))
        self.sample_button.setEnabled(ready)
        self.reset_button.setEnabled(ready)

    def _scores_changed(self) -> None:
        labels, scores = self.scores()
        if self._normalize_all is None or len(scores) == 0:
            return
        self.results = self._normalize_all(scores, tau=self.tau, alpha=self.alpha, k=self.k)
        x = np.arange(len(scores))
        ticks = [[(i, label) for i, label in enumerate(labels)]] if len(labels) <= 20 else None
        for row, (kind, plot) in enumerate(self.plots.items()):
            p = self.results[kind]
            self.bars[kind].setOpts(x=x, height=p, width=0.8)
            plot.setXRange(-0.6, len(scores) - 0.4, padding=0)
            plot.getAxis("bottom").setTicks(ticks)
            entropy, support, top, total = self._stats(p)
            values = (f"{entropy:.3f}", str(support), f"{top:.3f}", f"{total:.3f}")
            for col, text in enumerate(values):
                self.stats.setItem(row, col, QTableWidgetItem(text))
            plot.setTitle(f"{NORMALISER_TITLES[kind]}<br><span style='font-size:8pt'>H={entropy:.2f} "
                          f"· |supp|={support} · max={top:.2f}</span>")
        self.gumbel_plot.getAxis("bottom").setTicks(ticks)
        self.gumbel_plot.setXRange(-0.6, len(scores) - 0.4, padding=0)
        self._reset_sampler()

    def _stats(self, p: np.ndarray) -> tuple[float, int, float, float]:
        """(entropy of p / Σp in nats, support size, max p, Σp)."""
        return float(self._entropy(p)), int((p > 0).sum()), float(p.max()), float(p.sum())

    # -- Gumbel sampling ------------------------------------------------------------
    def _reset_sampler(self) -> None:
        _labels, scores = self.scores()
        if self._sampler_class is None or len(scores) == 0:
            return
        self._sampler = self._sampler_class(scores, tau=self.tau, seed=0)
        self._draw_gumbel()
        if self.sample_button.isChecked() and not self.timer.isActive():
            self.timer.start()

    def _on_sample_button_toggled(self, checked: bool) -> None:
        if checked:
            if self._sampler is not None and self._sampler.total >= self.GUMBEL_LIMIT:
                self._reset_sampler()
            self.timer.start()
        else:
            self.timer.stop()

    def _on_timer_timeout(self) -> None:
        if self._sampler is None:
            return
        self._sampler.draw(self.GUMBEL_BATCH)
        self._draw_gumbel()
        if self._sampler.total >= self.GUMBEL_LIMIT:
            self.timer.stop()
            self.sample_button.setChecked(False)

    def sample_now(self, num_samples: int) -> None:
        """Draw ``num_samples`` at once (screenshots, tests)."""
        if self._sampler is None:
            self._reset_sampler()
        if self._sampler is not None:
            self._sampler.draw(num_samples)
            self._draw_gumbel()

    def _draw_gumbel(self) -> None:
        sampler = self._sampler
        x = np.arange(len(sampler.counts))
        self.gumbel_bars.setOpts(x=x, height=sampler.frequencies, width=0.8)
        self.gumbel_target.setData(x=x, y=sampler.target)
        tv = sampler.total_variation() if sampler.total else float("nan")
        text = f"N = {sampler.total:,} samples · total variation to softmax = {tv:.4f}"
        self.gumbel_label.setText(text)
        self.gumbel_plot.setTitle(f"Gumbel-max: argmax(s/τ + g) — {text}")
