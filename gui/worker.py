"""The only code in Mowen that touches threads.

A job is any callable; if it returns a generator (the engine's long jobs yield
``engine.progress.Progress`` and return a result), the worker drives it on a
``QThreadPool`` thread, emitting ``progressed`` for each report and stopping at the
next yield once cancelled.  Signals are delivered on the GUI thread (queued), so
slots may touch widgets.

Tabs start work through a shared :class:`JobRunner` (through ``gui.task.TaskTab``); the
main window listens to the runner to drive the status bar's progress bar, status text
and Cancel button (the one progress surface), and cancels and waits for all jobs when
it closes.  A failure crosses the thread as the exception object itself: a user error
(:func:`is_user_error`) is shown as its message, any other is a bug whose traceback
goes to stderr.
"""

from __future__ import annotations

import inspect
import traceback
from typing import Any, Callable

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot


class Cancelled(Exception):
    """Raised inside a job's thread when the job was cancelled (never reaches slots)."""


class WorkerSignals(QObject):
    progressed = Signal(object)  # engine.progress.Progress (or anything the job yields)
    returned = Signal(object)    # the job's result
    errored = Signal(object)     # the exception (its traceback already printed if it is a bug)
    finished = Signal()          # always last: after returned, errored or cancellation
    done = Signal(object)        # the worker itself, after finished (the runner's bookkeeping)


class Worker(QRunnable):
    """Runs ``fn(*args, **kwargs)`` off the GUI thread."""

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any):
        super().__init__()
        self.quiet = False   # typing-driven: never shown on the status bar
        self.status = ""     # what the status bar says while the job runs
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
                self._emit(self.signals.returned, result)
        except Cancelled:
            pass
        except Exception as exc:  # every failure reaches a slot, never a crash
            if not self._cancelled:
                if not is_user_error(exc):
                    traceback.print_exc()  # a bug: keep the details for the terminal
                self._emit(self.signals.errored, exc)
        finally:
            self.is_finished = True
            self._emit(self.signals.finished)
            self._emit(self.signals.done, self)

    @staticmethod
    def _emit(signal, *args: Any) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:
            pass  # the receiving objects are gone (application shutting down)

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
                self._emit(self.signals.progressed, report)


def _user_error_classes() -> tuple[type, ...]:
    try:
        from engine.errors import MowenError
    except ImportError:  # an engine without the common base: its own errors below still count
        return (OSError,)
    return (MowenError, OSError)


def is_user_error(exc: BaseException) -> bool:
    """The engine's refusals (``MowenError``; older engine ValueErrors) and unreadable or
    unwritable files have messages written for users; anything else is a bug."""
    if isinstance(exc, _user_error_classes()):
        return True
    return isinstance(exc, ValueError) and type(exc).__module__.startswith("engine")


def message_for(exc: BaseException) -> str:
    """One line for the user: a user error's own message, else the bug's type and message."""
    text = str(exc).strip() or exc.__class__.__name__
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        text = f"{exc.filename}: {exc.strerror}"
    if is_user_error(exc):
        return text
    return f"Internal error ({exc.__class__.__name__}: {text}); details are on the terminal (stderr)."


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
              on_error: Callable[[BaseException], None] | None = None,
              on_finished: Callable[[], None] | None = None,
              quiet: bool = False, status: str = "", **kwargs: Any) -> Worker:
        """Run ``fn`` in the pool; ``owner`` (usually the tab) lets it cancel its own jobs.

        The callbacks run on the GUI thread whatever they are (lambdas included):
        they are called from a relay object that lives on the thread that called start.
        If ``owner`` is a QObject the relay is its child, so callbacks stop when the
        owner is deleted.  Errors (the exception object) go to ``on_error`` if given,
        else their message goes to ``message``.  ``quiet`` jobs (typing-driven) are not
        shown on the status bar; ``status`` is its text while the job runs.
        """
        worker = Worker(fn, *args, **kwargs)
        worker.owner, worker.quiet, worker.status = owner, quiet, status
        relay = _Relay(owner if isinstance(owner, QObject) else self, worker, on_result, on_progress,
                       on_error if on_error is not None else (lambda exc: self.message.emit(message_for(exc))),
                       on_finished)
        worker.progressed.connect(relay.progressed)
        worker.returned.connect(relay.returned)
        worker.errored.connect(relay.errored)
        worker.finished.connect(relay.finished)
        worker.signals.done.connect(self._forget)
        self._running[worker] = relay
        self.started.emit(worker)
        self.pool.start(worker)
        return worker

    @Slot(object)
    def _forget(self, worker: Worker) -> None:
        relay = self._running.pop(worker, None)
        if relay is not None and shiboken6.isValid(relay):
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

    def __init__(self, parent: QObject, worker: Worker, on_result, on_progress, on_error, on_finished):
        super().__init__(parent)
        self._worker = worker
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

    @Slot(object)
    def errored(self, exc: BaseException) -> None:
        self._on_error(exc)

    @Slot()
    def finished(self) -> None:
        if self._on_finished is not None:
            self._on_finished()
