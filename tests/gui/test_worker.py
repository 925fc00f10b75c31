"""gui.worker: the order of a job's signals, cancellation, and callbacks that die with their owner."""

from __future__ import annotations

import threading
import time

import shiboken6
from PySide6.QtCore import QObject, QThreadPool

from engine.progress import Progress
from gui.worker import Worker


def two_steps():
    yield Progress(1, 2, "one")
    yield Progress(2, 2, "two")
    return "result"


def fails_after_one_step():
    yield Progress(1, 2, "one")
    raise KeyError("bug")


def many_steps(started: threading.Event):
    for i in range(1000):
        started.set()
        time.sleep(0.002)
        yield Progress(i + 1, 1000)
    return "never"


def _record(worker: Worker) -> list[tuple[str, object]]:
    seen = []
    worker.progressed.connect(lambda report: seen.append(("progressed", report.step)))
    worker.returned.connect(lambda result: seen.append(("returned", result)))
    worker.errored.connect(lambda exc: seen.append(("errored", exc)))
    worker.finished.connect(lambda: seen.append(("finished", None)))
    return seen


def test_signals_come_in_order_progress_result_finished(qtbot):
    worker = Worker(two_steps)
    seen = _record(worker)
    with qtbot.waitSignals([worker.progressed, worker.progressed, worker.returned, worker.finished],
                           order="strict", timeout=5000):
        QThreadPool.globalInstance().start(worker)
    assert seen == [("progressed", 1), ("progressed", 2), ("returned", "result"), ("finished", None)]


def test_an_error_arrives_as_the_exception_before_finished(qtbot, capfd):
    worker = Worker(fails_after_one_step)
    seen = _record(worker)
    with qtbot.waitSignals([worker.progressed, worker.errored, worker.finished], order="strict", timeout=5000):
        QThreadPool.globalInstance().start(worker)
    error = seen[1][1]
    assert seen[1][0] == "errored" and isinstance(error, KeyError) and error.args == ("bug",)
    assert "Traceback" in capfd.readouterr().err


def test_no_progress_or_result_reaches_the_callbacks_after_cancel(qtbot, runner):
    reports, results, finished = [], [], []
    started = threading.Event()

    def on_progress(report):
        reports.append(report)
        worker.cancel()  # from the first report on, nothing more may arrive

    worker = runner.start(many_steps, started, owner="test", on_progress=on_progress, on_result=results.append,
                          on_finished=lambda: finished.append(True))
    qtbot.waitUntil(lambda: finished == [True], timeout=10000)
    qtbot.wait(50)  # any late queued signal would have been delivered by now
    assert len(reports) == 1 and results == [] and worker.is_cancelled


def test_callbacks_stop_when_their_owner_is_deleted(qtbot, runner):
    owner = QObject()
    gate = threading.Event()
    results, finished = [], []

    def waits():
        gate.wait(5)
        return "late"

    worker = runner.start(waits, owner=owner, on_result=results.append, on_finished=lambda: finished.append(True))
    shiboken6.delete(owner)  # e.g. a tab closed while its job runs
    gate.set()
    qtbot.waitUntil(lambda: worker.is_finished and not runner.running(), timeout=5000)
    qtbot.wait(50)
    assert results == [] and finished == []
