"""Batch segmentation of text files: decoding, output naming, a cancellable job.

Accepted encodings (the one rule of :mod:`engine.files`): UTF-8 (with or without BOM),
UTF-16 (with or without BOM), GB18030 (which includes GBK/GB2312).  Anything else — and
binary files, recognised by NUL bytes or by a high share of control characters after
decoding — is refused with :class:`UnsupportedFile` and a message saying why.  Outputs never overwrite an existing
file (least of all the input): ``name.seg.txt``, then ``name.seg (2).txt``, ...
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

# one decoding rule for every text input (CLI, batch, GUI): see engine.files
from engine.files import UnsupportedFile, decode_text, read_text_file  # noqa: F401  (re-exported)
from engine.progress import Job, Progress


def output_path(input_path: Path | str, out_dir: Path | str | None = None, suffix: str = ".seg") -> Path:
    """Where the segmented copy of ``input_path`` goes; never an existing file."""
    input_path = Path(input_path)
    folder = Path(out_dir) if out_dir is not None else input_path.parent
    stem, ext = input_path.stem, input_path.suffix or ".txt"
    candidate = folder / f"{stem}{suffix}{ext}"
    n = 2
    while candidate.exists() or candidate.resolve() == input_path.resolve():
        candidate = folder / f"{stem}{suffix} ({n}){ext}"
        n += 1
    return candidate


@dataclass(frozen=True)
class FileOutcome:
    input: Path
    output: Path | None       # None when the file was refused
    characters: int
    error: str = ""


def segment_files_job(paths: Sequence[Path | str], *, out_dir: Path | str | None = None, model=None,
                      user_dict=None, block_lines: int = 2000) -> Job[list[FileOutcome]]:
    """Segment each file line by line (words separated by spaces) into a new file.

    Yields Progress over the total number of characters (message: current file); refused
    files are reported in the result, not raised, so one bad file does not stop the batch.
    """
    from engine.errors import OutputError
    from engine.files import atomic_write_text
    from engine.segment.api import resolve_model, segment_job

    segmenter = resolve_model(model)
    decoded: list[tuple[Path, str | None, str]] = []
    for p in paths:
        p = Path(p)
        try:
            text, _ = read_text_file(p)
            decoded.append((p, text, ""))
        except UnsupportedFile as exc:
            decoded.append((p, None, str(exc)))
    total = sum(len(t) for _, t, _ in decoded if t is not None)
    done = 0
    outcomes = []
    for p, text, error in decoded:
        if text is None:
            outcomes.append(FileOutcome(p, None, 0, error))
            continue
        lines = text.split("\n")
        out_lines = []
        for start in range(0, len(lines), block_lines):
            block = [line[:-1] if line.endswith("\r") else line for line in lines[start:start + block_lines]]
            job = segment_job(block, model=segmenter, user_dict=user_dict, probabilities=False)
            while True:
                try:
                    report = next(job)
                except StopIteration as stop:
                    results = stop.value
                    break
                yield Progress(done + report.step, total, p.name)
            out_lines.extend(" ".join(r.words) for r in results)
            done += sum(len(line) + 1 for line in block)
            yield Progress(min(done, total), total, p.name)
        error = ""
        while True:  # never replace a file, even one that appears while this file is segmented
            target = output_path(p, out_dir)
            try:
                atomic_write_text(target, "\n".join(out_lines), replace=False)
                break
            except OutputError as exc:
                if not target.exists():  # a full or read-only disk: report it, go on with the batch
                    error = str(exc)
                    break
        outcomes.append(FileOutcome(p, None, 0, error) if error else FileOutcome(p, target, len(text)))
    return outcomes
