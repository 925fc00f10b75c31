"""The only code in Mowen that touches threads.

A job is any callable; if it returns a generator (the engine's long jobs yield
``engine.progress.Progress`` and return a result), the worker drives it on a
``QThreadPool`` thread, emitting ``progressed`` for each report and stopping at the
next yield once cancelled.  Signals are delivered on the GUI thread (queued), so
slots may touch widgets.

Tabs start work through a shared :class:`JobRunner`; the main window listens to the
runner to drive the status bar's progress bar and Cancel button, and cancels and
waits for all jobs when it closes.
"""

from __future__ import annotations

import inspect
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot


class Cancelled(Exception):
    """Raised inside a job's thread when the job was cancelled (never reaches slots)."""


class WorkerSignals(QObject):
    progressed = Signal(object)  # engine.progress.Progress (or anything the job yields)
    returned = Signal(object)    # the job's result
    errored = Signal(str)        # a one-line message for the user
    finished = Signal()          # always last: after returned, errored or cancellation


class Worker(QRunnable):
    """Runs ``fn(*args, **kwargs)`` off the GUI thread."""

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any):
        super().__init__()
        self.setAutoDelete(False)  # the runner keeps and drops the reference
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.signals = WorkerSignals()
        self.progressed, self.returned = self.signals.progressed, self.signals.returned
        self.errored, self.finished = self.signals.errored, self.signals.finished
        self._cancelled = False
        self.is_finished = False
        self.owner: object | None = None

    def cancel(self) -> None:
        self._cancelled = True

    @property
    def is_cancelled(self) -> bool:
        return self._cancelled

    def run(self) -> None:  # runs on a pool thread
        try:
            result = self.fn(*self.args, **self.kwargs)
            if inspect.isgenerator(result):
                result = self._drive(result)
            if not self._cancelled:
                self.signals.returned.emit(result)
        except Cancelled:
            pass
        except Exception as exc:  # every failure becomes a message, never a crash
            if not self._cancelled:
                self.signals.errored.emit(_message_for(exc))
                traceback.print_exc()
        finally:
            self.is_finished = True
            self.signals.finished.emit()

    def _drive(self, job):
        while True:
            if self._cancelled:
                job.close()
                raise Cancelled()
            try:
                report = next(job)
            except StopIteration as stop:
                return stop.value
            if not self._cancelled:
                self.signals.progressed.emit(report)


def _message_for(exc: BaseException) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    # Engine errors are written for users; anything else gets its type as context.
    if type(exc).__module__.startswith("engine") or isinstance(exc, (ValueError, OSError)):
        return text
    return f"{exc.__class__.__name__}: {text}"


class JobRunner(QObject):
    """Starts workers, keeps them referenced, cancels them; one instance per window."""

    started = Signal(object)   # Worker, just started
    message = Signal(str)      # text for the status bar

    def __init__(self, parent: QObject | None = None, pool: QThreadPool | None = None):
        super().__init__(parent)
        self.pool = pool or QThreadPool.globalInstance()
        self._running: dict[Worker, _Relay] = {}

    def start(self, fn: Callable[..., Any], *args: Any, owner: object | None = None,
              on_result: Callable[[Any], None] | None = None,
              on_progress: Callable[[Any], None] | None = None,
              on_error: Callable[[str], None] | None = None,
              on_finished: Callable[[], None] | None = None, **kwargs: Any) -> Worker:
        """Run ``fn`` in the pool; ``owner`` (usually the tab) lets it cancel its own jobs.

        The callbacks run on the GUI thread whatever they are (lambdas included):
        they are called from a relay object that lives on the thread that called start.
        Errors go to ``on_error`` if given, else to the runner's ``message`` signal.
        """
        worker = Worker(fn, *args, **kwargs)
        worker.owner = owner
        relay = _Relay(self, worker, on_result, on_progress,
                       on_error if on_error is not None else self.message.emit, on_finished)
        worker.progressed.connect(relay.progressed)
        worker.returned.connect(relay.returned)
        worker.errored.connect(relay.errored)
        worker.finished.connect(relay.finished)
        self._running[worker] = relay
        self.started.emit(worker)
        self.pool.start(worker)
        return worker

    def _forget(self, worker: Worker) -> None:
        relay = self._running.pop(worker, None)
        if relay is not None:
            relay.deleteLater()

    def running(self, owner: object | None = None) -> list[Worker]:
        return [w for w in self._running if owner is None or w.owner is owner]

    def cancel(self, owner: object | None = None) -> None:
        for worker in self.running(owner):
            worker.cancel()

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Cancel everything and wait for the pool to drain (window close)."""
        self.cancel()
        return self.pool.waitForDone(timeout_ms)


class _Relay(QObject):
    """Lives on the GUI thread; its slots receive a worker's queued signals."""

    def __init__(self, runner: JobRunner, worker: Worker, on_result, on_progress, on_error, on_finished):
        super().__init__(runner)
        self._runner, self._worker = runner, worker
        self._on_result, self._on_progress = on_result, on_progress
        self._on_error, self._on_finished = on_error, on_finished

    @Slot(object)
    def progressed(self, report: Any) -> None:
        if self._on_progress is not None and not self._worker.is_cancelled:
            self._on_progress(report)

    @Slot(object)
    def returned(self, result: Any) -> None:
        if self._on_result is not None:
            self._on_result(result)

    @Slot(str)
    def errored(self, text: str) -> None:
        self._on_error(text)

    @Slot()
    def finished(self) -> None:
        self._runner._forget(self._worker)
        if self._on_finished is not None:
            self._on_finished()
