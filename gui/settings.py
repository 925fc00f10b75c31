"""The one place that names Mowen's QSettings store (window geometry, last tab, last folders)."""

from PySide6.QtCore import QSettings


def settings() -> QSettings:
    return QSettings("Mowen", "Mowen")
