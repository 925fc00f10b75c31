"""``mowen --screenshot DIR``: one PNG per tab (and per state a tab offers) at 1280x800.

A tab may define ``screenshot_states() -> [(suffix, prepare)]``; each ``prepare`` puts it
in a state worth showing (a sample input and its result).  Jobs it starts are waited
for before the window is grabbed, so the pictures show real model output.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtWidgets import QApplication

from gui.main_window import TABS, MainWindow

SLUGS = {"OcrTab": "ocr", "SegmentTab": "segment", "CoupletTab": "couplet", "AttentionTab": "attention"}


def wait_until_idle(window: MainWindow, timeout_s: float = 180.0) -> bool:
    """Process events until no job is running (True) or the timeout passes (False)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if not window.runner.running():
            # One more round: results arrive as queued signals after the job ends.
            for _ in range(5):
                QApplication.processEvents()
                time.sleep(0.02)
            return True
        time.sleep(0.02)
    return False


def take_screenshots(window: MainWindow, out_dir: Path) -> int:
    """Write the PNGs; returns the process exit code (0 when every picture was written)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    window.resize(1280, 800)
    window.build_all_tabs()
    wait_until_idle(window)
    written = []
    for index, (_module, class_name, _title) in enumerate(TABS):
        tab = window.tab(class_name)
        window.tabs.setCurrentIndex(index)
        states = getattr(tab, "screenshot_states", lambda: [])() or [("", None)]
        for suffix, prepare in states:
            if prepare is not None:
                prepare()
            if not wait_until_idle(window):
                print(f"screenshot: {class_name} {suffix}: jobs still running after the timeout")
            name = f"{index + 1}_{SLUGS[class_name]}{'_' + suffix if suffix else ''}.png"
            path = out_dir / name
            if not window.grab().save(str(path), "PNG"):
                print(f"screenshot: could not write {path}")
                return 1
            written.append(path)
    for path in written:
        print(path)
    return 0
