"""Progress reports for long jobs.

Long engine jobs (batch OCR, batch segmentation, training, studies) are generators
that ``yield Progress(...)`` and ``return`` their result.  Whoever drives the
generator decides what to do with the reports (a Qt progress bar, a tqdm bar on
stderr, nothing); cancelling means simply not asking for the next item.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Generator, Optional, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """``step`` of ``total`` done; ``partial`` carries an optional partial result."""

    step: int
    total: int
    message: str = ""
    partial: Any = None

    @property
    def fraction(self) -> float:
        return 0.0 if self.total <= 0 else min(1.0, max(0.0, self.step / self.total))


Job = Generator[Progress, None, T]


def drive(job: Job[T], on_progress: Optional[Callable[[Progress], None]] = None) -> T:
    """Run a progress generator to completion and return its result."""
    while True:
        try:
            report = next(job)
        except StopIteration as stop:
            return stop.value
        if on_progress is not None:
            on_progress(report)


def drive_with_tqdm(job: Job[T], desc: str = "", disable: bool = False) -> T:
    """Run a job with a tqdm progress bar on stderr (CLI and trainers)."""
    from tqdm import tqdm

    bar = None
    try:
        def update(p: Progress) -> None:
            nonlocal bar
            if bar is None:
                bar = tqdm(total=p.total, desc=desc, disable=disable, unit="it", dynamic_ncols=True)
            if bar.total != p.total:
                bar.total = p.total
            bar.n = p.step
            if p.message:
                bar.set_postfix_str(p.message, refresh=False)
            bar.refresh()

        return drive(job, update)
    finally:
        if bar is not None:
            bar.close()
