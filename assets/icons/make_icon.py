"""Draw assets/icons/mowen.png (墨 on an ink-dark rounded square) with the bundled font.

Run once: QT_QPA_PLATFORM=offscreen python assets/icons/make_icon.py
"""

from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QGuiApplication, QImage, QPainter

HERE = Path(__file__).resolve().parent
app = QGuiApplication([])
family = QFontDatabase.applicationFontFamilies(
    QFontDatabase.addApplicationFont(str(HERE.parent / "fonts" / "wqy-microhei.ttc")))[0]
image = QImage(256, 256, QImage.Format.Format_ARGB32)
image.fill(Qt.GlobalColor.transparent)
painter = QPainter(image)
painter.setRenderHint(QPainter.RenderHint.Antialiasing)
painter.setBrush(QColor("#1f2933"))
painter.setPen(Qt.PenStyle.NoPen)
painter.drawRoundedRect(QRectF(8, 8, 240, 240), 40, 40)
painter.setPen(QColor("#f5efe0"))
painter.setFont(QFont(family, 150))
painter.drawText(QRectF(8, 0, 240, 250), Qt.AlignmentFlag.AlignCenter, "墨")
painter.end()
image.save(str(HERE / "mowen.png"))
