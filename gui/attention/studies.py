"""Studies: the noise-robustness and entropy experiments, run in a worker; curves grow as
partial results arrive; PNG and CSV export."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from gui.attention.common import color
from gui.heatmap import save_widget_png

if TYPE_CHECKING:
    from gui.attention.tab import AttentionTab

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

PEN_STYLES = {"solid": Qt.PenStyle.SolidLine, "dashed": Qt.PenStyle.DashLine, "dotted": Qt.PenStyle.DotLine}


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
            pen = pg.mkPen(color(line.group), width=2, style=PEN_STYLES[line.style])
            symbol = "o" if line.style == "solid" else None
            self.plot.plot(np.asarray(line.x, dtype=float), np.asarray(line.y, dtype=float), pen=pen,
                           symbol=symbol, symbolSize=6, symbolBrush=color(line.group), name=line.label,
                           antialias=True)  # smooth curves here only: bars and maps stay crisp
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
