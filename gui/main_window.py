"""Mowen's main window: four tabs, a status bar with device, progress and Cancel.

The window is shown before anything heavy is imported: each tab module is light,
the tab that was last open is built at once and the other three right after the
window is on screen; torch is first imported by a worker that reports the device.
"""

from __future__ import annotations

import importlib
from typing import Callable

from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QDialog,
    QDialogButtonBox,
    QWidget,
)

from engine import __version__
from gui.settings import settings
from gui.worker import JobRunner, Worker

# (module, class, tab title); the order is the order of the tabs.
TABS = (
    ("gui.ocr_tab", "OcrTab", "OCR 识别"),
    ("gui.segment_tab", "SegmentTab", "分词 Segmentation"),
    ("gui.couplet_tab", "CoupletTab", "对联 Couplet"),
    ("gui.attention_tab", "AttentionTab", "Attention 注意力"),
)


STARTUP_DELAY_MS = 150


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
        self.setWindowTitle("墨文 Mowen")
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
        quit_action = QAction("&Quit 退出", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        help_menu = self.menuBar().addMenu("&Help 帮助")
        about_action = QAction("&About 关于", self)
        about_action.triggered.connect(self.show_about)
        help_menu.addAction(about_action)

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
        self._build_tab(index)

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
    def about_html(self) -> str:
        from html import escape

        from engine.registry import ModelError, list_models

        parts = [f"<h2>墨文 Mowen {escape(__version__)}</h2>",
                 "<p>A workbench for Chinese text: OCR, word segmentation, couplets and attention, "
                 "with models trained by this project and run on this machine.</p>",
                 f"<p><b>{escape(self.device_label.text())}</b></p>", "<h3>Models</h3>"]
        try:
            models = list_models()
        except ModelError as exc:
            models = []
            parts.append(f"<p>{escape(str(exc))}</p>")
        if not models:
            parts.append("<p>No models are installed.</p>")
        for entry in models:
            metrics = ", ".join(f"{k} = {v}" for k, v in entry.metrics.items())
            parts.append(f"<h4>{escape(entry.task)}: {escape(entry.name)}"
                         f"{' (default)' if entry.default else ''}</h4>")
            if entry.summary:
                parts.append(f"<p>{escape(entry.summary)}</p>")
            if metrics:
                parts.append(f"<p><i>{escape(metrics)}</i></p>")
            card = entry.card()
            if card:
                parts.append(f"<pre style='white-space: pre-wrap'>{escape(card)}</pre>")
        return "\n".join(parts)

    def show_about(self) -> QDialog:
        dialog = QDialog(self)
        dialog.setWindowTitle("About 墨文 Mowen")
        dialog.resize(760, 600)
        layout = QVBoxLayout(dialog)
        browser = QTextBrowser(dialog)
        browser.setObjectName("about_text")
        browser.setHtml(self.about_html())
        layout.addWidget(browser)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
        buttons.rejected.connect(dialog.reject)
        layout.addWidget(buttons)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

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

    def closeEvent(self, event: QCloseEvent) -> None:
        pages = self.unsaved_edits()
        if pages and not self.ask_to_close(pages):
            event.ignore()
            return
        self._save_settings()
        if not self.runner.shutdown(timeout_ms=10000):
            QMessageBox.warning(self, "Mowen", "A job is still stopping; Mowen will close when it ends.")
        event.accept()
