"""The OCR tab's page view: the image with its line boxes; wheel zooms (under the cursor), drag
pans, click picks a box; with no image it says how to get one.  Also the numpy <-> QImage copies."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsRectItem, QGraphicsScene, QGraphicsView

EMPTY_HINT = ("Open (Ctrl+O), paste (Ctrl+V) or drop an image here.\n"
              "打开、粘贴或拖入图片。")


def _array_to_qimage(array) -> QImage:
    """(H, W, 3) uint8 RGB or (H, W) uint8 → QImage (deep copy)."""
    import numpy as np

    array = np.ascontiguousarray(array)
    h, w = array.shape[:2]
    if array.ndim == 2:
        return QImage(array.data, w, h, array.strides[0], QImage.Format.Format_Grayscale8).copy()
    return QImage(array.data, w, h, array.strides[0], QImage.Format.Format_RGB888).copy()


def _qimage_to_array(image: QImage):
    import numpy as np

    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    buffer = np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * h)
    return buffer.reshape(h, image.bytesPerLine())[:, : w * 3].reshape(h, w, 3).copy()


class ImageView(QGraphicsView):
    """The page with its line boxes: wheel zooms (under the cursor), drag pans, click picks a box."""

    box_clicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setBackgroundBrush(QColor(60, 60, 60))
        self.pixmap_item: QGraphicsPixmapItem | None = None
        self.boxes: list[QGraphicsRectItem] = []
        self.selected = -1
        self.user_zoomed = False  # until the user zooms, the image follows the view's size
        self.clear()

    def show_image(self, image: QImage, boxes: list[tuple[float, float, float, float]], show_boxes: bool = True):
        scene = self.scene()
        scene.clear()
        self.boxes, self.selected = [], -1
        self.pixmap_item = scene.addPixmap(QPixmap.fromImage(image))
        scene.setSceneRect(QRectF(image.rect()))
        if show_boxes:
            for i, (x0, y0, x1, y1) in enumerate(boxes):
                item = scene.addRect(QRectF(x0, y0, x1 - x0, y1 - y0), self._pen(False), QBrush(QColor(0, 120, 255, 30)))
                item.setData(0, i)
                item.setToolTip(f"line {i + 1}")
                self.boxes.append(item)
        self.user_zoomed = False
        self.fit()

    def fit(self) -> None:
        self.resetTransform()
        if self.pixmap_item is not None:
            self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def resizeEvent(self, event):  # noqa: N802
        super().resizeEvent(event)
        if not self.user_zoomed:
            self.fit()

    def clear(self):
        """No image: the pane says how to get one."""
        self.scene().clear()
        self.boxes, self.selected, self.pixmap_item = [], -1, None
        hint = self.scene().addText(EMPTY_HINT)
        hint.setDefaultTextColor(QColor(220, 220, 220))
        font = hint.font()
        font.setPointSizeF(font.pointSizeF() + 2)
        hint.setFont(font)
        self.scene().setSceneRect(hint.boundingRect())
        self.hint_item = hint

    def placeholder_text(self) -> str:
        """The hint shown while there is no image ('' once one is shown)."""
        return self.hint_item.toPlainText() if self.pixmap_item is None else ""

    @staticmethod
    def _pen(selected: bool) -> QPen:
        pen = QPen(QColor(255, 80, 0) if selected else QColor(0, 120, 255))
        pen.setWidthF(3 if selected else 1.5)
        pen.setCosmetic(True)
        return pen

    def select_box(self, index: int) -> None:
        for i, item in enumerate(self.boxes):
            item.setPen(self._pen(i == index))
        self.selected = index
        if 0 <= index < len(self.boxes):
            self.ensureVisible(self.boxes[index], 20, 20)

    def zoom(self, factor: float) -> None:
        self.scale(factor, factor)

    def wheelEvent(self, event):  # noqa: N802 (Qt name)
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.user_zoomed = True
            self.zoom(1.2 ** steps)
        event.accept()

    def mousePressEvent(self, event):  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            for item in self.items(event.position().toPoint()):
                if isinstance(item, QGraphicsRectItem) and item.data(0) is not None:
                    self.box_clicked.emit(int(item.data(0)))
                    break
        super().mousePressEvent(event)
