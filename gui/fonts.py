"""Register the bundled CJK font so Chinese renders on machines without one.

WenQuanYi Micro Hei (Apache-2.0 or GPL-3+ with font exception, from Debian's
fonts-wqy-microhei) ships in assets/fonts/.  It is added to Qt's font database at
start; if the system has no Simplified Chinese font at all even after that, the
caller warns the user.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication

FONTS_DIR = Path(__file__).resolve().parent.parent / "assets" / "fonts"
BUNDLED_FONT = FONTS_DIR / "wqy-microhei.ttc"


def register_bundled_fonts(app: QApplication) -> list[str]:
    """Add the bundled font(s) and make the CJK family the application's fallback.

    Returns the families that were registered (empty if the file is missing).
    """
    families: list[str] = []
    if BUNDLED_FONT.is_file():
        font_id = QFontDatabase.addApplicationFont(str(BUNDLED_FONT))
        if font_id >= 0:
            families = QFontDatabase.applicationFontFamilies(font_id)
    if families:
        font = QFont(app.font())
        # Keep the platform's Latin font first; the CJK family fills in Chinese glyphs.
        font.setFamilies([app.font().family(), families[0]])
        app.setFont(font)
    return families


def chinese_font_families() -> list[str]:
    return QFontDatabase.families(QFontDatabase.WritingSystem.SimplifiedChinese)
