"""Mowen's main window: four tabs, a status bar with device, progress and Cancel.

Desktop conventions live here: the File menu (Open…, Open folder…, Recent files, Export…,
Quit), files given on the command line or dropped on the window (images to the OCR tab,
.txt to Segmentation), the title naming the current file, and Help → About.

The window is shown before anything heavy is imported: each tab module is light,
the tab that was last open is built at once and the other three right after the
window is on screen; torch is first imported by a worker that reports the device.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QByteArray, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (QDialog, QFileDialog, QLabel, QMainWindow, QMessageBox, QProgressBar, QPushButton,
                               QTabWidget, QWidget)

from gui.settings import settings
from gui.task import IMAGE_SUFFIXES, TEXT_SUFFIXES
from gui.worker import JobRunner, Worker

# (module, class, tab title); the order is the order of the tabs.
TABS = (
    ("gui.ocr_tab", "OcrTab", "OCR 识别"),
    ("gui.segment_tab", "SegmentTab", "分词 Segmentation"),
    ("gui.couplet_tab", "CoupletTab", "对联 Couplet"),
    ("gui.attention", "AttentionTab", "Attention 注意力"),
)


STARTUP_DELAY_MS = 150
APP_TITLE = "墨文 Mowen"
MAX_RECENT = 10


def _device_label() -> str:
    from engine.device import describe_device

    return describe_device()


class MainWindow(QMainWindow):
    """The four tabs plus the shared status bar; ``tab_factories`` lets tests inject fakes."""

    device_reported = Signal(str)

    def __init__(self, runner: JobRunner | None = None,
                 tab_factories: dict[str, Callable[[JobRunner], QWidget]] | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(APP_TITLE)
        self.setAcceptDrops(True)
        self.runner = runner or JobRunner(self)
        self._tab_factories = tab_factories or {}
        self._built: dict[int, QWidget] = {}

        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        for _module, _cls, title in TABS:
            self.tabs.addTab(QWidget(), title)  # placeholder until the tab is built
        self.setCentralWidget(self.tabs)

        self._build_status_bar()
        self._build_menus()

        self.runner.started.connect(self._on_runner_started)
        self.runner.message.connect(self.show_message)

        self._restore_settings()
        self._build_tab(self.tabs.currentIndex())
        self.tabs.currentChanged.connect(self._on_tabs_currentChanged)
        # Give the window time to be mapped and painted before the rest is built.  The
        # timer is a child of the window, so it dies with it (tests close windows early).
        self._startup_timer = QTimer(self)
        self._startup_timer.setSingleShot(True)
        self._startup_timer.timeout.connect(self._finish_startup)
        self._startup_timer.start(STARTUP_DELAY_MS)

    # -- construction ------------------------------------------------------
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.device_label = QLabel("Device: …")
        self.device_label.setObjectName("device_label")
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(220)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setVisible(False)
        self.cancel_button = QPushButton("Cancel 取消")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        bar.addPermanentWidget(self.progress_bar)
        bar.addPermanentWidget(self.cancel_button)
        bar.addPermanentWidget(self.device_label)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File 文件")
        self.file_menu = file_menu
        self.open_action = file_menu.addAction("&Open… 打开", self.open_dialog)
        self.open_action.setShortcut(QKeySequence.StandardKey.Open)
        self.open_folder_action = file_menu.addAction("Open &folder… 打开文件夹", self.open_folder_dialog)
        self.recent_menu = file_menu.addMenu("&Recent files 最近文件")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        self.export_action = file_menu.addAction("&Export… 导出", self.export_dialog)
        self.export_action.setShortcut(QKeySequence("Ctrl+E"))
        file_menu.addSeparator()
        quit_action = QAction("&Quit 退出", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        self.quit_action = quit_action
        help_menu = self.menuBar().addMenu("&Help 帮助")
        about_action = QAction("&About 关于", self)
        about_action.triggered.connect(self.show_about)
        help_menu.addAction(about_action)
        self._fill_recent_menu()

    def _build_tab(self, index: int) -> QWidget:
        if index in self._built:
            return self._built[index]
        module_name, class_name, title = TABS[index]
        factory = self._tab_factories.get(class_name)
        if factory is None:
            module = importlib.import_module(module_name)
            factory = getattr(module, class_name)
        widget = factory(self.runner)
        self._built[index] = widget
        current = self.tabs.currentIndex()
        self.tabs.blockSignals(True)
        old = self.tabs.widget(index)
        self.tabs.removeTab(index)
        self.tabs.insertTab(index, widget, title)
        self.tabs.setCurrentIndex(current)
        self.tabs.blockSignals(False)
        old.deleteLater()
        self._wire_tab(class_name, widget)
        return widget

    def _wire_tab(self, class_name: str, widget: QWidget) -> None:
        if hasattr(widget, "current_file_changed"):
            widget.current_file_changed.connect(lambda path, w=widget: self._on_tab_current_file_changed(w, path))
        if class_name == "OcrTab" and hasattr(widget, "send_to_segmentation"):
            widget.send_to_segmentation.connect(self._on_ocr_send_to_segmentation)
        if class_name == "CoupletTab" and hasattr(widget, "show_attention"):
            widget.show_attention.connect(self._on_couplet_show_attention)

    def tab(self, class_name: str) -> QWidget:
        """The tab widget of that class (built on demand)."""
        index = next(i for i, (_m, cls, _t) in enumerate(TABS) if cls == class_name)
        return self._build_tab(index)

    def build_all_tabs(self) -> None:
        for index in range(len(TABS)):
            self._build_tab(index)

    def _finish_startup(self) -> None:
        """After the window is on screen: find the device, build the other tabs one per
        event-loop turn so the window stays responsive meanwhile."""
        self.runner.start(_device_label, owner=self, on_result=self._on_device_described,
                          on_error=lambda exc: self._on_device_described(f"unavailable ({exc})"))
        self._startup_timer.timeout.disconnect(self._finish_startup)
        self._startup_timer.timeout.connect(self._build_next_tab)
        self._build_next_tab()

    def _build_next_tab(self) -> None:
        pending = [i for i in range(len(TABS)) if i not in self._built]
        if pending:
            self._build_tab(pending[0])
            self._startup_timer.start(0)

    # -- settings ----------------------------------------------------------
    def _restore_settings(self) -> None:
        store = settings()
        geometry = store.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        try:
            last = int(store.value("window/tab", 0))
        except (TypeError, ValueError):
            last = 0
        if 0 <= last < len(TABS):
            self.tabs.setCurrentIndex(last)

    def _save_settings(self) -> None:
        store = settings()
        store.setValue("window/geometry", self.saveGeometry())
        store.setValue("window/tab", self.tabs.currentIndex())

    # -- slots -------------------------------------------------------------
    def _on_tabs_currentChanged(self, index: int) -> None:
        widget = self._build_tab(index)
        self._update_title()
        self.export_action.setEnabled(hasattr(widget, "export_dialog"))

    # -- files: open, recent, drop, export, title ------------------------------------
    def open_paths(self, paths) -> bool:
        """Images and folders to the OCR tab, .txt files to Segmentation; False if nothing could go."""
        images, texts, folders, refused = [], [], [], []
        for path in map(str, paths):
            suffix = Path(path).suffix.lower()
            if Path(path).is_dir():
                folders.append(path)
            elif suffix in IMAGE_SUFFIXES:
                images.append(path)
            elif suffix in TEXT_SUFFIXES:
                texts.append(path)
            else:
                refused.append(Path(path).name)
        opened = False
        if texts:
            tab = self.tab("SegmentTab")
            self.tabs.setCurrentWidget(tab)
            opened = tab.open_text_files(texts) is not False
        if images or folders:
            tab = self.tab("OcrTab")
            self.tabs.setCurrentWidget(tab)
            opened = (tab.open_paths(images) if images else tab.open_folder(folders[0])) or opened
        for path in texts + images + folders:
            if Path(path).exists():
                self.add_recent(path)
        if refused:
            self.show_message(f"Cannot open {', '.join(refused)}: Mowen opens images (PNG, JPEG, BMP, TIFF, "
                              "WebP, GIF), folders of images and .txt files.")
        return opened

    def open_dialog(self) -> None:
        images = " ".join(f"*{s}" for s in IMAGE_SUFFIXES)
        texts = " ".join(f"*{s}" for s in TEXT_SUFFIXES)
        folder = str(settings().value("window/open_folder", str(Path.home())))
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Open images or text", folder,
            f"Images and text ({images} {texts});;Images ({images});;Text ({texts});;All files (*)")
        if paths:
            settings().setValue("window/open_folder", str(Path(paths[0]).parent))
            self.open_paths(paths)

    def open_folder_dialog(self) -> None:
        tab = self.tab("OcrTab")
        self.tabs.setCurrentWidget(tab)
        folder = tab.ask_folder("Open a folder of images") if hasattr(tab, "ask_folder") else ""
        if folder:
            self.open_paths([folder])

    def export_dialog(self) -> None:
        widget = self.tabs.currentWidget()
        if hasattr(widget, "export_dialog"):
            widget.export_dialog()

    def recent_files(self) -> list[str]:
        value = settings().value("window/recent_files", [])
        items = [value] if isinstance(value, str) else list(value or [])
        return [str(p) for p in items if p]

    def add_recent(self, path: str) -> None:
        path = str(Path(path).resolve())
        recent = [path] + [p for p in self.recent_files() if p != path]
        settings().setValue("window/recent_files", recent[:MAX_RECENT])

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        existing = [p for p in self.recent_files() if Path(p).exists()]
        for path in existing:
            action = self.recent_menu.addAction(Path(path).name, lambda p=path: self.open_paths([p]))
            action.setToolTip(path)
            action.setStatusTip(path)
        if not existing:
            self.recent_menu.addAction("(none)").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear 清除", lambda: settings().setValue("window/recent_files", []))

    def _on_tab_current_file_changed(self, widget: QWidget, path: str) -> None:
        if path and Path(path).exists():
            self.add_recent(path)
        if widget is self.tabs.currentWidget():
            self._update_title()

    def _update_title(self) -> None:
        current = getattr(self.tabs.currentWidget(), "current_file", None)
        if current and str(current).startswith("<"):  # a pasted or dropped image has no file
            name = str(current).strip("<>")
        else:
            name = Path(current).name if current else ""
        self.setWindowTitle(f"{name} — {APP_TITLE}" if name else APP_TITLE)

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.open_paths(paths)
            event.acceptProposedAction()

    def _on_device_described(self, text: str) -> None:
        self.device_label.setText(f"Device: {text}")
        self.device_reported.emit(text)

    # The status bar is the one progress surface: it shows the user's (not quiet) jobs, their
    # status text and progress while they run, and forgets them when they end.
    _job_status = ""

    def _shown_jobs(self) -> list[Worker]:
        return [w for w in self.runner.running() if w.owner is not self and not w.quiet and not w.is_finished]

    def _on_runner_started(self, worker: Worker) -> None:
        if worker.owner is self or worker.quiet:
            return  # the device probe and typing-driven jobs are not shown
        worker.progressed.connect(self._on_worker_progressed)
        worker.finished.connect(self._on_worker_finished)
        self.progress_bar.setRange(0, 0)  # busy until the first report
        self.progress_bar.setVisible(True)
        self.cancel_button.setEnabled(True)
        self._show_job_status(worker.status or "Working…")

    def _on_worker_progressed(self, report: object) -> None:
        step, total = getattr(report, "step", None), getattr(report, "total", None)
        if isinstance(step, int) and isinstance(total, int) and total > 0:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(min(step, total))
        message = getattr(report, "message", "")
        if message:
            self._show_job_status(message)

    def _show_job_status(self, text: str) -> None:
        self._job_status = text
        self.statusBar().showMessage(text)

    def _on_worker_finished(self) -> None:
        if not self._shown_jobs():
            self.progress_bar.setVisible(False)
            self.progress_bar.setRange(0, 1)
            self.cancel_button.setEnabled(False)
            if self.statusBar().currentMessage() == self._job_status:  # not a result or "Cancelled"
                self.statusBar().clearMessage()

    def _on_cancel_button_clicked(self) -> None:
        for worker in self._shown_jobs():
            worker.cancel()
        self.statusBar().showMessage("Cancelled 已取消", 3000)

    def _on_ocr_send_to_segmentation(self, text: str) -> None:
        segment_tab = self.tab("SegmentTab")
        segment_tab.set_text(text)
        self.tabs.setCurrentWidget(segment_tab)

    def _on_couplet_show_attention(self, upper: str, lower: str) -> None:
        attention_tab = self.tab("AttentionTab")
        attention_tab.show_pair(upper, lower)
        self.tabs.setCurrentWidget(attention_tab)

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 15000)

    # -- about -------------------------------------------------------------
    def show_about(self) -> QDialog:
        from gui.about import show_about

        return show_about(self, self.device_label.text())

    # -- closing -----------------------------------------------------------
    def unsaved_edits(self) -> list[str]:
        """Names of the pages (any tab) whose edits were not exported."""
        return [name for widget in self._built.values()
                for name in getattr(widget, "unsaved_edits", lambda: [])()]

    def ask_to_close(self, pages: list[str]) -> bool:
        """Close although these pages have unsaved edits?  A modal question (tests answer it
        by clicking a button of ``QApplication.activeModalWidget()``)."""
        listed = ", ".join(pages[:5]) + (f" and {len(pages) - 5} more" if len(pages) > 5 else "")
        box = QMessageBox(QMessageBox.Icon.Question, "Mowen",
                          f"Edits to {listed} were not exported. Close Mowen and lose them?",
                          QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("unsaved_edits_question")
        box.button(QMessageBox.StandardButton.Discard).setText("Close without exporting")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        return box.exec() == QMessageBox.StandardButton.Discard

    ask_before_closing = True  # False for SIGTERM/SIGINT: nobody is there to answer

    def closeEvent(self, event: QCloseEvent) -> None:
        pages = self.unsaved_edits() if self.ask_before_closing else []
        if pages and not self.ask_to_close(pages):
            event.ignore()
            return
        self._save_settings()
        if not self.runner.shutdown(timeout_ms=10000):
            QMessageBox.warning(self, "Mowen", "A job is still stopping; Mowen will close when it ends.")
        event.accept()
