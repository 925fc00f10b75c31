"""The contract every tab keeps: one job at a time, one message line, remembered folders.

* ``busy`` / ``start_job(fn, *args, on_result=..., quiet=False)``: one job per tab through
  the window's JobRunner; a second start while one runs is refused (False).  The status
  bar is the only progress surface: it shows a job's ``status`` text, its progress and
  Cancel while it runs (``quiet`` typing-driven jobs never appear there) and clears
  when the job ends.  Escape cancels the tab's job too.
* ``show_message(text, error=False)``: the tab's one message line, for results and
  refusals (shown once: not repeated on the status bar).
* A failed job's exception arrives as an object: a user error shows its message, a bug
  shows a short note (its traceback went to stderr, see ``gui.worker``).
* ``ask_open_paths`` / ``ask_folder`` / ``ask_save_path``: file dialogs that start in the
  folder last used in this tab; a save dialog suggests a name, adds the chosen filter's
  extension and reports which format the filter means.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QApplication, QFileDialog, QLabel, QWidget

from gui.settings import settings
from gui.worker import JobRunner, Worker, message_for

ERROR_STYLE = "color: #c0392b;"
# what the window routes where: images (and folders of them) to OCR, text to Segmentation
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")
TEXT_SUFFIXES = (".txt",)


class TaskTab(QWidget):
    """Base class of the four tabs (see the module docstring)."""

    busy_changed = Signal(bool)
    current_file_changed = Signal(str)  # the window's title and Recent files follow it
    folder_key = "tab"  # settings key: f"{folder_key}/last_folder"

    def __init__(self, runner: JobRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self.runner = runner
        self.job: Worker | None = None
        self.current_file: str | None = None
        self.message_label = QLabel("")
        self.message_label.setObjectName("tab_message")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt name)
        # Escape reaches the tab from any child that does not use it itself
        if event.key() == Qt.Key.Key_Escape and self.job is not None:
            self.cancel_job()
            event.accept()
            return
        super().keyPressEvent(event)

    # -- jobs ------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.job is not None

    def start_job(self, fn: Callable[..., Any], *args: Any, on_result: Callable[[Any], None] | None = None,
                  on_progress: Callable[[Any], None] | None = None,
                  on_error: Callable[[BaseException], None] | None = None,
                  on_finished: Callable[[], None] | None = None,
                  quiet: bool = False, status: str = "", **kwargs: Any) -> bool:
        """Run ``fn(*args, **kwargs)`` off the GUI thread unless this tab already has a job."""
        if self.job is not None:
            if not quiet:
                self.show_message("Busy: wait for the running job, or press Cancel (Esc).")
            return False
        self.job = self.runner.start(
            fn, *args, owner=self, quiet=quiet, status=status, on_result=on_result, on_progress=on_progress,
            on_error=on_error or self.show_error,
            on_finished=lambda: self._job_finished(on_finished), **kwargs)
        self.busy_changed.emit(True)
        return True

    def cancel_job(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _job_finished(self, then: Callable[[], None] | None) -> None:
        job, self.job = self.job, None
        if job is not None and job.is_cancelled and not job.quiet:
            self.show_message("Cancelled.")
        self.busy_changed.emit(False)
        if then is not None:
            then()

    def wait_until_idle(self, timeout_s: float = 60.0) -> bool:
        """Process events until this tab's job has ended (screenshots); False on timeout."""
        deadline = time.monotonic() + timeout_s
        while self.job is not None and time.monotonic() < deadline:
            QApplication.processEvents()
            time.sleep(0.01)
        QApplication.processEvents()
        return self.job is None

    def set_current_file(self, path: str | None) -> None:
        self.current_file = path
        self.current_file_changed.emit(path or "")

    # -- messages ----------------------------------------------------------------------
    def show_message(self, text: str, error: bool = False) -> None:
        self.message_label.setText(text)
        self.message_label.setStyleSheet(ERROR_STYLE if error else "")

    def show_error(self, exc: BaseException) -> None:
        self.show_message(message_for(exc), error=True)

    def message(self) -> str:
        return self.message_label.text()

    # -- file dialogs ----------------------------------------------------------------------
    def last_folder(self) -> str:
        return str(settings().value(f"{self.folder_key}/last_folder", str(Path.home())))

    def remember_folder(self, path: str | Path) -> None:
        path = Path(path)
        settings().setValue(f"{self.folder_key}/last_folder", str(path if path.is_dir() else path.parent))

    def ask_open_paths(self, title: str, file_filter: str) -> list[str]:
        paths, _ = QFileDialog.getOpenFileNames(self, title, self.last_folder(), file_filter)
        if paths:
            self.remember_folder(paths[0])
        return paths

    def ask_folder(self, title: str) -> str:
        folder = QFileDialog.getExistingDirectory(self, title, self.last_folder())
        if folder:
            self.remember_folder(folder)
        return folder

    def ask_save_path(self, title: str, suggested_name: str, filters: list[str]) -> tuple[str, str]:
        """(path with the chosen filter's extension, that extension without the dot) or ("", "")."""
        start = str(Path(self.last_folder()) / suggested_name)
        path, chosen = QFileDialog.getSaveFileName(self, title, start, ";;".join(filters))
        if not path:
            return "", ""
        path, suffix = with_filter_suffix(path, chosen or filters[0])
        self.remember_folder(path)
        return path, suffix


def filter_suffixes(file_filter: str) -> list[str]:
    """'Text (*.txt *.text)' -> ['txt', 'text']."""
    return re.findall(r"\*\.([A-Za-z0-9]+)", file_filter)


def with_filter_suffix(path: str, file_filter: str) -> tuple[str, str]:
    """The format follows the chosen filter: keep a suffix it lists, else append its first."""
    suffixes = filter_suffixes(file_filter)
    if not suffixes:
        return path, Path(path).suffix.lstrip(".").lower()
    current = Path(path).suffix.lstrip(".").lower()
    if current in (s.lower() for s in suffixes):
        return path, current
    return f"{path}.{suffixes[0]}", suffixes[0].lower()


def suggested_name(source: str | Path | None, suffix: str, fallback: str) -> str:
    """'scans/page 3.png' + 'txt' -> 'page 3.txt'; no source -> fallback + suffix."""
    stem = Path(str(source)).stem if source and not str(source).startswith("<") else fallback
    return f"{stem}.{suffix}"
