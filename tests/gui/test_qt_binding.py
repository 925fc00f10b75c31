"""Guard against a Qt binding that leaks references to None (PySide6 6.12.0 on Python 3.11).

That release decrements None's reference count on every call that returns None
(``QLabel.setText``, ``QGraphicsItem.parentItem`` ...); a long GUI session then aborts
with "none_dealloc".  pyproject.toml excludes it; this test fails if it comes back.
"""

import sys

from PySide6.QtWidgets import QGraphicsRectItem, QLabel


def test_calls_returning_none_keep_nones_reference_count(qtbot):
    item, label = QGraphicsRectItem(), QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(2000):
        item.parentItem()
        label.setText("墨")
    assert abs(sys.getrefcount(None) - before) < 100
