"""The main window, status bar and worker plumbing, driven through real widgets.

Tabs are replaced by small fakes (the tab issues test the real ones), so these tests
exercise only the shell: tabs, progress bar, Cancel, error messages, closing.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time

import pytest
from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from engine.progress import Progress
from gui.main_window import TABS, MainWindow


class FakeTab(QWidget):
    send_to_segmentation = Signal(str)   # as the OCR tab has
    show_attention = Signal(str, str)    # as the couplet tab has

    def __init__(self, runner, title="fake"):
        super().__init__()
        self.runner = runner
        self.received = []
        QVBoxLayout(self).addWidget(QLabel(title))

    def set_text(self, text):
        self.received.append(text)

    def show_pair(self, upper, lower):
        self.received.append((upper, lower))


def fake_factories():
    return {cls: (lambda runner, cls=cls: FakeTab(runner, cls)) for _m, cls, _t in TABS}


@pytest.fixture
def window(qtbot, runner):
    win = MainWindow(runner=runner, tab_factories=fake_factories())
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def slow_job(steps: int, delay: float, started: threading.Event | None = None):
    for i in range(steps):
        if started is not None:
            started.set()
        time.sleep(delay)
        yield Progress(i + 1, steps, f"step {i + 1}")
    return "done"


def failing_job():
    from engine.ocr.result import OcrInputError  # an engine refusal: a user error

    yield Progress(1, 2, "about to fail")
    raise OcrInputError("the input is not Chinese text")


def buggy_job():
    yield Progress(1, 2, "about to fail")
    raise KeyError("internal table")


def test_four_tabs_with_chinese_titles_and_switching(window, qtbot):
    titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert titles == ["OCR 识别", "分词 Segmentation", "对联 Couplet", "Attention 注意力"]
    for index in range(4):
        window.tabs.setCurrentIndex(index)
        assert isinstance(window.tabs.currentWidget(), FakeTab)


def test_device_is_reported_in_status_bar(window, qtbot):
    qtbot.waitUntil(lambda: window.device_label.text() not in ("Device: …",), timeout=60000)
    assert window.device_label.text().startswith("Device: CPU")


def test_progress_bar_moves_and_job_result_arrives(window, runner, qtbot):
    results, values = [], []
    window.progress_bar.valueChanged.connect(values.append)
    with qtbot.waitSignal(runner.started, timeout=5000):
        runner.start(slow_job, 5, 0.02, owner="tab", on_result=results.append)
    assert window.progress_bar.isVisible() and window.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: results == ["done"], timeout=10000)
    assert sorted(set(values))[-1] == 5 and len(set(values)) >= 3
    qtbot.waitUntil(lambda: not window.progress_bar.isVisible(), timeout=5000)
    assert not window.cancel_button.isEnabled()


def test_cancel_stops_job_and_resets_ui(window, runner, qtbot):
    results, finished = [], []
    started = threading.Event()
    worker = runner.start(slow_job, 1000, 0.01, started, owner="tab", on_result=results.append,
                          on_finished=lambda: finished.append(True))
    assert started.wait(5)
    qtbot.mouseClick(window.cancel_button, qtbot_button())
    qtbot.waitUntil(lambda: finished == [True], timeout=5000)
    assert worker.is_cancelled and results == []
    assert not window.progress_bar.isVisible() and not window.cancel_button.isEnabled()
    assert "Cancelled" in window.statusBar().currentMessage()


def qtbot_button():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def test_failing_job_message_in_status_bar(window, runner, qtbot):
    runner.start(failing_job, owner="tab")
    qtbot.waitUntil(lambda: "not Chinese" in window.statusBar().currentMessage(), timeout=5000)
    assert window.statusBar().currentMessage() == "the input is not Chinese text"


def test_a_bug_is_told_apart_and_its_traceback_goes_to_stderr(window, runner, qtbot, capfd):
    errors = []
    with qtbot.waitSignal(runner.started):
        runner.start(buggy_job, owner="tab", on_error=errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert isinstance(errors[0], KeyError)          # the exception object crossed the thread
    from gui.worker import is_user_error, message_for

    assert not is_user_error(errors[0]) and message_for(errors[0]).startswith("Internal error (KeyError")
    err = capfd.readouterr().err
    assert "Traceback" in err and "buggy_job" in err


def test_close_while_job_runs_cancels_and_waits(qtbot, runner):
    win = MainWindow(runner=runner, tab_factories=fake_factories())
    qtbot.addWidget(win)
    win.show()
    started = threading.Event()
    worker = runner.start(slow_job, 100000, 0.01, started, owner="tab")
    assert started.wait(5)
    win.close()
    assert worker.is_cancelled and worker.is_finished


def test_cross_tab_hooks(window, qtbot):
    window.tab("OcrTab").send_to_segmentation.emit("识别的文字")
    assert window.tabs.currentIndex() == 1
    assert window.tab("SegmentTab").received == ["识别的文字"]
    window.tab("CoupletTab").show_attention.emit("春风", "秋月")
    assert window.tabs.currentIndex() == 3
    assert window.tab("AttentionTab").received == [("春风", "秋月")]


def test_settings_remember_tab_and_geometry(qtbot, runner):
    first = MainWindow(runner=runner, tab_factories=fake_factories())
    qtbot.addWidget(first)
    first.show()
    first.tabs.setCurrentIndex(2)
    first.resize(720, 520)
    first.close()
    QSettings("Mowen", "Mowen").sync()
    second = MainWindow(runner=runner, tab_factories=fake_factories())
    qtbot.addWidget(second)
    assert second.tabs.currentIndex() == 2
    assert (second.width(), second.height()) == (720, 520)


def test_screenshots_one_png_per_tab(window, tmp_path):
    from PySide6.QtGui import QImage

    from gui.screenshots import take_screenshots

    assert take_screenshots(window, tmp_path) == 0
    names = sorted(p.name for p in tmp_path.glob("*.png"))
    assert names == ["1_ocr.png", "2_segment.png", "3_couplet.png", "4_attention.png"]
    image = QImage(str(tmp_path / "1_ocr.png"))
    assert (image.width(), image.height()) == (1280, 800)


def test_desktop_entry_is_valid(tmp_path):
    from gui.desktop_entry import ICON, install_desktop_entry

    path = install_desktop_entry(tmp_path)
    text = path.read_text(encoding="utf-8")
    assert f"Icon={ICON}" in text and ICON.is_file()
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    assert exec_line.split("=", 1)[1].split()[0].startswith("/")
    validator = shutil.which("desktop-file-validate")
    if validator is None:
        pytest.skip("desktop-file-validate is not installed")
    out = subprocess.run([validator, str(path)], capture_output=True, text=True)
    assert out.returncode == 0 and not (out.stdout + out.stderr).strip(), out.stdout + out.stderr  # no hints


def test_desktop_entry_passes_files_and_names_what_it_opens(tmp_path):
    from gui.desktop_entry import install_desktop_entry

    fields = dict(line.split("=", 1) for line in install_desktop_entry(tmp_path).read_text(encoding="utf-8")
                  .splitlines() if "=" in line)
    assert fields["Exec"].endswith(" %F")
    assert {"image/png", "image/jpeg", "text/plain"} <= set(fields["MimeType"].rstrip(";").split(";"))
    main_categories = {"AudioVideo", "Audio", "Video", "Development", "Education", "Game", "Graphics", "Network",
                       "Office", "Science", "Settings", "System", "Utility"}
    assert len(main_categories & set(fields["Categories"].rstrip(";").split(";"))) == 1


class EditedTab(FakeTab):
    def unsaved_edits(self):
        return ["page.png"]


def _answer_question(qtbot, button):
    """Click ``button`` of the modal question once it is up."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    asked = []

    def answer():
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, answer)
            return
        asked.append(box.text())
        box.button(button).click()

    QTimer.singleShot(0, answer)
    return asked


def test_closing_with_unsaved_edits_asks_first(qtbot, runner):
    from PySide6.QtWidgets import QMessageBox

    factories = fake_factories()
    factories["OcrTab"] = lambda runner: EditedTab(runner)
    win = MainWindow(runner=runner, tab_factories=factories)
    qtbot.addWidget(win)
    win.tabs.setCurrentIndex(0)
    win.show()
    asked = _answer_question(qtbot, QMessageBox.StandardButton.Cancel)
    assert not win.close() and win.isVisible()
    assert asked and "page.png" in asked[0]
    asked = _answer_question(qtbot, QMessageBox.StandardButton.Discard)
    assert win.close() and not win.isVisible()


def test_a_jobs_status_shows_while_it_runs_and_clears_when_it_ends(window, runner, qtbot):
    finished = []
    with qtbot.waitSignal(runner.started):
        runner.start(slow_job, 3, 0.05, owner="tab", status="Reading page.png…",
                     on_finished=lambda: finished.append(True))
    assert window.statusBar().currentMessage() == "Reading page.png…"
    qtbot.waitUntil(lambda: finished == [True], timeout=5000)
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == "", timeout=2000)
    assert not window.progress_bar.isVisible()


def test_quiet_jobs_never_show_on_the_status_bar(window, runner, qtbot):
    shown, finished = [], []
    runner.start(slow_job, 3, 0.02, owner="tab", quiet=True, on_progress=lambda r: shown.append(
        window.progress_bar.isVisible()), on_finished=lambda: finished.append(True))
    qtbot.waitUntil(lambda: finished == [True], timeout=5000)
    assert shown and not any(shown) and window.statusBar().currentMessage() == ""
