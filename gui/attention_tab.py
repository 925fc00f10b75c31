"""The Attention tab (注意力): the softmax family, attention studies, mask patterns and the
attention maps of Mowen's own transformer.

Four sub-views in a QTabWidget:

* Softmax explorer: a score vector (edited, random, or one position's logits from the
  couplet transformer) through every normaliser side by side on one 0–1 scale, live as
  the τ, α and k sliders move, with entropy / support / max per normaliser, and a
  Gumbel-max histogram that converges to softmax as samples accumulate.
* Studies: the seed's noise-robustness and entropy experiments, run in a worker; curves
  grow as partial results arrive; PNG and CSV export.
* Mask gallery: a mask pattern and its parameters as a heatmap.
* Model attention: a shipped transformer's (layers, heads, T, T) attention for a text,
  computed once in a worker; layer / head choices only slice it.

Engine functions arrive as constructor keywords with lazy defaults (nothing heavy is
imported with this module); every job goes through the shared JobRunner, one at a time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gui.heatmap import AttentionHeatmap, save_widget_png
from gui.task import TaskTab
from gui.worker import JobRunner

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)


# ----------------------------------------------------------------------------
# lazy engine defaults: imported on first use, inside the worker where heavy
# ----------------------------------------------------------------------------
def _default_list_attention_models() -> list[str]:
    from engine.attention.extract import list_attention_models

    return list_attention_models()


def _default_load_attention_model(name: str) -> Any:
    from engine.attention.extract import load_attention_model

    return load_attention_model(name)


def _default_extract_attention(model: Any, text: str, pair: str | None = None) -> Any:
    from engine.attention.extract import extract_attention

    return extract_attention(model, text, pair)


def _default_position_scores(model: Any, upper: str, position: int, top: int = 20):
    from engine.attention.extract import position_scores

    return position_scores(model, upper, position, top)


def _default_explorer_engine() -> tuple[Callable, type]:
    """(normalize_all, GumbelSampler); imports torch, so it runs in a worker once."""
    from engine.attention.normalizers import GumbelSampler, normalize_all

    return normalize_all, GumbelSampler


def _default_run_study(name: str):
    from engine.attention.studies import STUDIES

    return STUDIES[name][0]()


def _default_make_mask(kind: str, n: int, **params: Any) -> np.ndarray:
    from engine.attention.masks import make_mask

    return make_mask(kind, n, **params)


def _model_attention_job(load: Callable, extract: Callable, name: str, upper: str, lower: str | None):
    """Worker body: load the model (cached by the registry) and extract every map once."""
    return extract(load(name), upper, lower)


def _model_scores_job(load: Callable, scores: Callable, name: str, upper: str, position: int):
    return scores(load(name), upper, position, 20)


# ----------------------------------------------------------------------------
# display names
# ----------------------------------------------------------------------------
NORMALISER_TITLES = {
    "softmax": "softmax",
    "sparse_softmax": "sparse softmax (top-k)",
    "sparsemax": "sparsemax",
    "entmax": "α-entmax",
    "smooth_topk": "smooth top-k (Σ = k)",
    "taylor_softmax": "Taylor softmax",
}
STUDY_CHOICES = (
    ("noise", "Noise robustness 噪声鲁棒性",
     "Add independent Gaussian noise of standard deviation σ to the scores: the output error falls like 1/√n, "
     "because the noise factor exp(ε) averages out of the numerator and the denominator alike. "
     "Solid: simulation; dashed: the first-order expectation √((exp(σ²) − 1) · exp(c²) / n)."),
    ("entropy_scale", "Entropy vs length 熵与长度",
     "Entropy of softmax(λ q·k) for random q, k as n grows. Solid: λ = 1/√d (entropy ≈ log n − ½, "
     "attention thins out); dashed: the entropy-invariant λ = log n / √d (stays flat); dotted: log n, "
     "the entropy of uniform attention."),
    ("entropy_init", "Entropy at initialisation 初始化与熵",
     "A random attention layer with weights drawn from N(0, scale² / d): small weights give uniform attention "
     "(entropy log n), large ones nearly one-hot attention with vanishing gradients."),
)
MASK_CHOICES = (
    ("bidirectional", "Bidirectional (MLM) 双向"),
    ("causal", "Causal (LM) 单向"),
    ("unilm", "UniLM seq2seq prefix 前缀"),
    ("local", "Local window 局部"),
    ("atrous", "Atrous / dilated 空洞"),
    ("strided", "Strided (Sparse Transformer) 稀疏"),
)
PEN_STYLES = {"solid": Qt.PenStyle.SolidLine, "dashed": Qt.PenStyle.DashLine, "dotted": Qt.PenStyle.DotLine}


PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf", "#e377c2")


SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def log_ticks(values, max_labels: int = 8) -> list[tuple[float, str]]:
    """Labelled ticks for a log axis (positions in log10, as pyqtgraph's log mode wants): the
    data's own x values, thinned to at most ``max_labels`` so the labels never overlap."""
    xs = sorted({float(v) for v in values if v > 0})
    step = max(1, -(-len(xs) // max_labels))
    return [(float(np.log10(v)), f"{v:g}") for v in xs[::step]]


def decade_ticks(values) -> list[tuple[float, str]]:
    """One labelled tick per power of ten spanned by ``values`` (a log y axis)."""
    ys = [float(v) for v in values if v > 0 and np.isfinite(v)]
    if not ys:
        return []
    low, high = int(np.floor(np.log10(min(ys)))), int(np.ceil(np.log10(max(ys))))
    step = max(1, -(-(high - low + 1) // 8))
    return [(float(k), "10" + str(k).translate(SUPERSCRIPT)) for k in range(low, high + 1, step)]


def _color(group: int) -> Any:
    return pg.mkColor(120, 120, 120) if group < 0 else pg.mkColor(PALETTE[group % len(PALETTE)])




# ----------------------------------------------------------------------------
# the tab
# ----------------------------------------------------------------------------
class AttentionTab(TaskTab):
    """Softmax explorer, studies, mask gallery and model attention (see the module docstring)."""

    folder_key = "attention"

    def __init__(self, runner: JobRunner, *,
                 list_attention_models: Callable[[], list[str]] = _default_list_attention_models,
                 load_attention_model: Callable[[str], Any] = _default_load_attention_model,
                 extract_attention: Callable[..., Any] = _default_extract_attention,
                 position_scores: Callable[..., Any] = _default_position_scores,
                 explorer_engine: Callable[[], tuple[Callable, type]] = _default_explorer_engine,
                 run_study: Callable[[str], Any] = _default_run_study,
                 make_mask: Callable[..., np.ndarray] = _default_make_mask,
                 parent: QWidget | None = None):
        super().__init__(runner, parent)
        self._load_attention_model = load_attention_model
        self._extract_attention = extract_attention
        self._position_scores = position_scores
        self._run_study = run_study
        try:
            self.model_names = list(list_attention_models())
        except Exception as exc:  # a damaged manifest must not take the tab down
            self.model_names = []
            self.show_message(f"Could not list the attention models: {exc}", error=True)

        self.views = QTabWidget(self)
        self.explorer = SoftmaxExplorer(self)
        self.studies = StudiesView(self)
        self.masks = MaskGallery(make_mask, self)
        self.model_view = ModelAttentionView(self)
        self.views.addTab(self.explorer, "Softmax explorer 归一化")
        self.views.addTab(self.studies, "Studies 实验")
        self.views.addTab(self.masks, "Mask gallery 掩码")
        self.views.addTab(self.model_view, "Model attention 模型注意力")
        layout = QVBoxLayout(self)
        layout.addWidget(self.views, 1)
        layout.addWidget(self.message_label)
        self.busy_changed.connect(self._update_enabled)

        # The explorer's normalisers need torch: import it off the GUI thread once.
        self.start_job(explorer_engine, on_result=self.explorer.engine_ready,
                       on_finished=self.explorer.engine_load_ended, status="Loading the softmax family…")

    def _update_enabled(self, busy: bool) -> None:
        self.studies.set_busy(busy)
        self.model_view.set_busy(busy)
        self.explorer.set_busy(busy)

    def export_dialog(self) -> None:
        """File → Export…: the current view (a study as CSV or PNG, the others as PNG)."""
        view = self.views.currentWidget()
        if view is self.studies:
            if self.studies.curves is None:
                self.show_message("Nothing to export yet: run a study first.")
                return
            path, fmt = self.ask_save_path("Export study", f"{self.studies.study_combo.currentData()}.csv",
                                           ["CSV files (*.csv)", "PNG images (*.png)"])
            if path:
                self.studies._export(self.studies.export_csv if fmt == "csv" else self.studies.export_png, path)
            return
        if view is self.model_view and self.model_view.result is not None:
            self.model_view._on_export_button_clicked()
            return
        widget = {self.explorer: self.explorer.graphics, self.masks: self.masks.heatmap.graphics}.get(view)
        if widget is None:
            self.show_message("Nothing to export yet.")
            return
        name = "softmax_explorer.png" if view is self.explorer else f"mask_{self.masks.kind_combo.currentData()}.png"
        path, _fmt = self.ask_save_path("Export view", name, ["PNG images (*.png)"])
        if path:
            self.studies._export(lambda p: save_widget_png(widget, p), path)

    # -- cross-tab hook -----------------------------------------------------------
    def show_pair(self, upper: str, lower: str) -> None:
        """Arrive from the couplet tab: show the model's attention over the pair."""
        self.views.setCurrentWidget(self.model_view)
        self.model_view.show_text(upper, lower)

    # -- screenshots ----------------------------------------------------------------
    def screenshot_states(self) -> list[tuple[str, Callable[[], None]]]:
        def explorer() -> None:
            self.views.setCurrentWidget(self.explorer)
            self.explorer.set_scores([2.0, 1.4, 1.1, 0.3, 0.0, -0.4, -1.0, -2.0],
                                     ["春", "风", "得", "意", "马", "蹄", "疾", "花"])
            self.explorer.set_parameters(tau=1.0, alpha=1.5, k=3)
            self.explorer.sample_now(20000)

        def studies() -> None:
            self.views.setCurrentWidget(self.studies)
            self.studies.run("entropy_scale")

        def masks() -> None:
            self.views.setCurrentWidget(self.masks)
            self.masks.set_pattern("strided", n=16, stride=4)

        def model() -> None:
            self.views.setCurrentWidget(self.model_view)
            if self.model_names:
                self.model_view.show_text("春风得意马蹄疾", None)

        return [("explorer", explorer), ("studies", studies), ("masks", masks), ("model", model)]


# ----------------------------------------------------------------------------
# softmax explorer
# ----------------------------------------------------------------------------
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
            bar = pg.BarGraphItem(x=[], height=[], width=0.8, brush=_color(index))
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
    def engine_ready(self, engine: tuple[Callable, type]) -> None:
        self._normalize_all, self._sampler_class = engine[:2]
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

    @staticmethod
    def _stats(p: np.ndarray) -> tuple[float, int, float, float]:
        total = float(p.sum())
        q = p / total if total > 0 else p
        nonzero = q[q > 0]
        return float(-(nonzero * np.log(nonzero)).sum()), int((p > 0).sum()), float(p.max()), total

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


# ----------------------------------------------------------------------------
# studies
# ----------------------------------------------------------------------------
class StudiesView(QWidget):
    """Run a study in the worker; curves grow as partial results arrive."""

    def __init__(self, tab: AttentionTab):
        super().__init__(tab)
        self.tab = tab
        self.curves: Any = None
        self.finished_curves: Any = None
        self.study_combo = QComboBox()
        for key, title, _text in STUDY_CHOICES:
            self.study_combo.addItem(title, key)
        self.study_combo.currentIndexChanged.connect(self._on_study_combo_currentIndexChanged)
        self.run_button = QPushButton("Run 运行")
        self.run_button.clicked.connect(lambda: self.run(self.study_combo.currentData()))
        self.png_button = QPushButton("Export PNG")
        self.csv_button = QPushButton("Export CSV")
        self.png_button.clicked.connect(self._on_png_button_clicked)
        self.csv_button.clicked.connect(self._on_csv_button_clicked)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.plot_widget = pg.PlotWidget(background="w")
        self.plot = self.plot_widget.getPlotItem()
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.legend = self.plot.addLegend(offset=(-10, 10), brush=pg.mkBrush(255, 255, 255, 220),
                                          pen=pg.mkPen(200, 200, 200), labelTextColor=(30, 30, 30))

        top = QHBoxLayout()
        top.addWidget(self.study_combo, 1)
        top.addWidget(self.run_button)
        top.addWidget(self.png_button)
        top.addWidget(self.csv_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.description)
        layout.addWidget(self.plot_widget, 1)
        self._on_study_combo_currentIndexChanged(0)
        self._update_export()

    def _on_study_combo_currentIndexChanged(self, index: int) -> None:
        self.description.setText(STUDY_CHOICES[index][2])

    def set_busy(self, busy: bool) -> None:
        # Run comes back however the job ended (done, failed or cancelled): progress is the status bar's
        self.run_button.setEnabled(not busy)

    def run(self, key: str) -> None:
        index = next(i for i, (k, _t, _d) in enumerate(STUDY_CHOICES) if k == key)
        self.study_combo.setCurrentIndex(index)
        if self.tab.busy:
            self.tab.show_message("Busy: wait for the running job, or press Cancel (Esc).")
            return
        self.curves = self.finished_curves = None
        self._draw()
        # put the legend where this study's curves leave room
        self.legend.setOffset((10, 10) if key == "entropy_scale" else (-10, 10))
        self.tab.start_job(self._start_study, key, on_result=self._on_study_returned,
                           on_progress=self._on_study_progressed, status=f"Study: {STUDY_CHOICES[index][1]}")

    def _start_study(self, key: str):
        return self.tab._run_study(key)  # a generator: the worker drives it

    def _on_study_progressed(self, report: Any) -> None:
        if report.partial is not None:
            self.curves = report.partial
            self._draw()

    def _on_study_returned(self, curves: Any) -> None:
        self.curves = self.finished_curves = curves
        self._draw()
        self.tab.show_message(f"Study finished: {curves.title}")

    def _draw(self) -> None:
        curves = self.curves
        self.plot.clear()
        self.legend.clear()
        if curves is None:
            return
        self.plot.setLogMode(x=curves.x_log, y=curves.y_log)
        self.plot.setTitle(curves.title)
        self.plot.setLabel("bottom", curves.x_label)
        self.plot.setLabel("left", curves.y_label)
        for line in curves.lines():
            if len(line.x) == 0:
                continue
            pen = pg.mkPen(_color(line.group), width=2, style=PEN_STYLES[line.style])
            symbol = "o" if line.style == "solid" else None
            self.plot.plot(np.asarray(line.x, dtype=float), np.asarray(line.y, dtype=float), pen=pen,
                           symbol=symbol, symbolSize=6, symbolBrush=_color(line.group), name=line.label)
        # pyqtgraph labels every minor tick of a log axis, and they overlap: label the data's own x
        # values and the powers of ten of y instead
        lines = [line for line in curves.lines() if len(line.x)]
        xs = [v for line in lines for v in line.x]
        ys = [v for line in lines for v in line.y]
        self.plot.getAxis("bottom").setTicks([log_ticks(xs)] if curves.x_log else None)
        self.plot.getAxis("left").setTicks([decade_ticks(ys)] if curves.y_log else None)
        self._update_export()

    def _update_export(self) -> None:
        has = self.curves is not None
        self.png_button.setEnabled(has)
        self.csv_button.setEnabled(has)

    def plotted_lines(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """(label, x, y) of every curve on the plot (tests)."""
        out = []
        for item in self.plot.listDataItems():
            x, y = item.getOriginalDataset()
            out.append((item.name(), x, y))
        return out

    def export_png(self, path: str | Path) -> None:
        save_widget_png(self.plot_widget, path)

    def export_csv(self, path: str | Path) -> None:
        from engine.registry import atomic_write_text

        atomic_write_text(path, self.curves.to_csv())

    def _on_png_button_clicked(self) -> None:
        path, _fmt = self.tab.ask_save_path("Export plot", f"{self.study_combo.currentData()}.png",
                                            ["PNG images (*.png)"])
        if path:
            self._export(self.export_png, path)

    def _on_csv_button_clicked(self) -> None:
        path, _fmt = self.tab.ask_save_path("Export curves", f"{self.study_combo.currentData()}.csv",
                                            ["CSV files (*.csv)"])
        if path:
            self._export(self.export_csv, path)

    def _export(self, write: Callable[[str], None], path: str) -> None:
        try:
            write(path)
        except OSError as exc:
            self.tab.show_message(f"Could not write {path}: {exc.strerror or exc}", error=True)
        else:
            self.tab.show_message(f"Wrote {path}")


# ----------------------------------------------------------------------------
# mask gallery
# ----------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------
# model attention
# ----------------------------------------------------------------------------
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
        matrix = result.weights[layer].mean(axis=0) if head is None else result.weights[layer, head]
        which = "mean over heads" if head is None else f"head {head}"
        tokens = list(result.tokens)
        self.heatmap.set_matrix(matrix, tokens, tokens, title=f"layer {layer}, {which}")
        entropy = _row_entropy(result.weights[layer]).mean(axis=-1)  # (heads,)
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


def _row_entropy(weights: np.ndarray) -> np.ndarray:
    """Entropy (nats) of each row of (..., T, T) weights -> (..., T)."""
    w = np.asarray(weights, dtype=np.float64)
    logs = np.log(np.where(w > 0, w, 1.0))
    return -(w * logs).sum(axis=-1)
