"""A matrix view for attention maps and mask patterns (pyqtgraph).

Row i is drawn at the top for i = 0 (``invertY``), each cell centred on its integer
coordinates (the image is shifted by -0.5), tick labels are the tokens (Chinese
characters render with the application font, to which the main window adds the bundled
CJK font), and a colour bar with fixed levels (0, 1) keeps softmax, sparsemax and masks
on one scale.  Hovering shows "query → key: value" below the plot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF
from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWidget

pg.setConfigOptions(imageAxisOrder="row-major")

MAX_TICKS = 40  # beyond this many tokens, label every k-th so the labels stay legible


def png_bytes(widget: QWidget) -> bytes:
    """The widget rendered as PNG bytes (for atomic exports)."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    widget.grab().save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def save_widget_png(widget: QWidget, path: str | Path) -> None:
    """Write ``widget`` as a PNG atomically (readers never see half a file)."""
    from engine.registry import atomic_write_bytes

    atomic_write_bytes(path, png_bytes(widget))


class AttentionHeatmap(QWidget):
    """A (rows × cols) matrix with token tick labels and a 0–1 colour bar."""

    def __init__(self, parent: QWidget | None = None, *, title: str = "",
                 x_label: str = "key 键 (attended to)", y_label: str = "query 查询 (attending)",
                 color_map: str = "viridis", levels: tuple[float, float] = (0.0, 1.0),
                 bar_label: str = "attention weight"):
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.plot = self.graphics.addPlot(title=title)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.invertY(True)
        self.plot.setAspectLocked(True)
        self.plot.setLabel("bottom", x_label)
        self.plot.setLabel("left", y_label)
        self.image_item = pg.ImageItem()
        self.plot.addItem(self.image_item)
        self.color_bar = pg.ColorBarItem(values=levels, colorMap=pg.colormap.get(color_map), interactive=False,
                                         colorMapMenu=False, label=bar_label)
        self.color_bar.setImageItem(self.image_item, insert_in=self.plot)
        self.levels = levels

        self.hover_label = QLabel(" ")
        self.hover_label.setObjectName("heatmap_hover")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.hover_label)

        self._matrix: np.ndarray | None = None
        self._row_labels: list[str] = []
        self._col_labels: list[str] = []
        self.plot.scene().sigMouseMoved.connect(self._on_scene_mouse_moved)
        self._apply_font()

    def _apply_font(self) -> None:
        font = QApplication.font()
        for name in ("bottom", "left"):
            self.plot.getAxis(name).setStyle(tickFont=font)

    # -- data ----------------------------------------------------------------
    def set_matrix(self, matrix: np.ndarray, row_labels: Sequence[str] | None = None,
                   col_labels: Sequence[str] | None = None, title: str | None = None) -> None:
        """Show ``matrix`` (rows, cols); labels default to 0..n-1."""
        matrix = np.asarray(matrix, dtype=np.float32)
        if matrix.ndim != 2:
            raise ValueError(f"a heatmap needs a 2-D matrix, got shape {matrix.shape}")
        rows, cols = matrix.shape
        self._matrix = matrix
        self._row_labels = [str(v) for v in (row_labels if row_labels is not None else range(rows))]
        self._col_labels = [str(v) for v in (col_labels if col_labels is not None else range(cols))]
        self.image_item.setImage(matrix, levels=self.levels, autoLevels=False)
        self.image_item.setRect(QRectF(-0.5, -0.5, cols, rows))
        self.plot.getAxis("bottom").setTicks([self._ticks(self._col_labels)])
        self.plot.getAxis("left").setTicks([self._ticks(self._row_labels)])
        self.plot.setXRange(-0.5, cols - 0.5, padding=0.02)
        self.plot.setYRange(-0.5, rows - 0.5, padding=0.02)
        if title is not None:
            self.plot.setTitle(title)

    @staticmethod
    def _ticks(labels: list[str]) -> list[tuple[int, str]]:
        step = max(1, int(np.ceil(len(labels) / MAX_TICKS)))
        return [(i, label) for i, label in enumerate(labels) if i % step == 0]

    def matrix(self) -> np.ndarray | None:
        """The matrix currently shown (rows, cols), or None."""
        return self._matrix

    def tick_labels(self) -> tuple[list[str], list[str]]:
        return list(self._row_labels), list(self._col_labels)

    def clear(self) -> None:
        self._matrix = None
        self.image_item.clear()
        self.hover_label.setText(" ")

    def export_png(self, path: str | Path) -> None:
        save_widget_png(self.graphics, path)

    # -- hover -----------------------------------------------------------------
    def _on_scene_mouse_moved(self, position) -> None:
        if self._matrix is None or not self.plot.sceneBoundingRect().contains(position):
            return
        point = self.plot.vb.mapSceneToView(position)
        col, row = int(round(point.x())), int(round(point.y()))
        rows, cols = self._matrix.shape
        if 0 <= row < rows and 0 <= col < cols:
            self.hover_label.setText(f"{self._row_labels[row]} → {self._col_labels[col]}: "
                                     f"{self._matrix[row, col]:.4f}")
