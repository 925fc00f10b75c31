"""Mowen (墨文) desktop app: ``mowen`` or ``python main.py``.

Shows the window first and imports nothing heavy: torch and transformers load in
workers on first use.  ``mowen FILE…`` opens images (and folders of them) in the OCR tab
and .txt files in Segmentation, as the desktop entry's ``%F`` does.  Extra modes: ``--screenshot DIR`` renders every tab to PNG
offscreen; ``--install-desktop-entry`` writes a .desktop launcher for double-click.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

_T0 = time.perf_counter()
ROOT = Path(__file__).resolve().parent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mowen", description="Mowen (墨文): a workbench for Chinese text.")
    parser.add_argument("files", nargs="*", metavar="FILE",
                        help="images or folders of images to read (OCR tab), .txt files to segment")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("--screenshot", metavar="DIR", help="render each tab at 1280x800 into DIR as PNG and exit")
    parser.add_argument("--install-desktop-entry", action="store_true",
                        help="write ~/.local/share/applications/mowen.desktop for double-click launch and exit")
    parser.add_argument("--quit-after-show", action="store_true",
                        help="print the seconds until the window was shown, then quit (start-up timing)")
    parser.add_argument("--device", choices=["cpu", "cuda"], help="compute device (default: CUDA if present, else CPU)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.version:
        from engine import __version__

        print(f"mowen {__version__}")
        return 0
    if args.install_desktop_entry:
        from gui.desktop_entry import install_desktop_entry

        path = install_desktop_entry()
        print(f"wrote {path}")
        return 0
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if args.device:
        os.environ["MOWEN_DEVICE"] = args.device

    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication, QMessageBox

    from gui.fonts import chinese_font_families, register_bundled_fonts

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Mowen")
    app.setOrganizationName("Mowen")
    app.setWindowIcon(QIcon(str(ROOT / "assets" / "icons" / "mowen.png")))
    register_bundled_fonts(app)

    from gui.main_window import MainWindow

    window = MainWindow()
    window.show()
    _close_on_signals(window)

    if not chinese_font_families():
        QTimer.singleShot(0, lambda: QMessageBox.warning(
            window, "Mowen", "No Chinese font was found: Chinese characters may show as boxes."))
    if args.files:
        QTimer.singleShot(0, lambda: window.open_paths(args.files))
    if args.quit_after_show:
        _report_first_paint(window)
    if args.screenshot:
        from gui.screenshots import take_screenshots

        def screenshots_then_exit() -> None:
            try:
                code = take_screenshots(window, Path(args.screenshot))
            except Exception as exc:  # a broken tab must not leave a headless process hanging
                print(f"screenshot failed: {exc!r}", file=sys.stderr)
                code = 1
            app.exit(code)

        QTimer.singleShot(0, screenshots_then_exit)
    return app.exec()


def _report_first_paint(window) -> None:
    """Print the seconds until the window's first paint, then close it (start-up timing)."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    class FirstPaint(QObject):
        def eventFilter(self, watched, event) -> bool:
            if event.type() == QEvent.Type.Paint:
                window.removeEventFilter(self)
                print(f"window shown after {time.perf_counter() - _T0:.3f} s", flush=True)
                QTimer.singleShot(0, window.close)
            return False

    window._first_paint_filter = FirstPaint(window)
    window.installEventFilter(window._first_paint_filter)


def _close_on_signals(window) -> None:
    """SIGINT/SIGTERM close the window cleanly (jobs cancelled, settings saved)."""
    import signal

    from PySide6.QtCore import QTimer

    def request_close(*_args) -> None:
        window.ask_before_closing = False  # a signal is not a user at the window: no modal question
        QTimer.singleShot(0, window.close)

    signal.signal(signal.SIGINT, request_close)
    signal.signal(signal.SIGTERM, request_close)
    # Python runs signal handlers only between bytecodes: wake the interpreter regularly.
    ticker = QTimer(window)
    ticker.timeout.connect(lambda: None)
    ticker.start(200)


if __name__ == "__main__":
    sys.exit(main())
