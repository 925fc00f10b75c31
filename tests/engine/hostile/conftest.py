"""Fixtures of the hostile-input suite: a models folder with a tiny segmenter, CLI runners.

Most cases call ``engine.__main__.main(argv)`` in-process (fast: torch is imported once);
the cases that need a real process (kill -9, /dev/full, the interpreter's exit) run
``python -m engine`` as a subprocess.  Every runner asserts the common promises: no
traceback on stderr, and a refusal is exactly one line ``mowen: error: ...``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    def usage_error(self, *fragments: str) -> "Outcome":
        """argparse's refusal: exit 2, a usage line and one 'error:' line naming the problem."""
        assert self.code == 2, (self.code, self.err)
        last = self.err.strip().splitlines()[-1]
        assert "error:" in last, self.err
        for fragment in fragments:
            assert fragment in last, (fragment, last)
        return self

    def refused(self, *fragments: str, code: int = 2) -> "Outcome":
        """Exit ``code`` with one clear line on stderr that contains every fragment."""
        assert self.code == code, (self.code, self.err)
        lines = [line for line in self.err.splitlines() if line.strip()]
        assert len(lines) == 1, self.err
        assert lines[0].startswith("mowen: error: "), lines[0]
        for fragment in fragments:
            assert fragment in lines[0], (fragment, lines[0])
        return self


def no_traceback(err: str) -> None:
    RUNS["traceback"] += "Traceback" in err
    assert "Traceback" not in err, err


# every CLI run of the suite, by outcome (printed at the end: the counts issue 14 asks for)
RUNS = {"runs": 0, "result": 0, "clear refusal": 0, "traceback": 0, "slow (> 60 s)": 0}


def _count(code: int, err: str, seconds: float) -> None:
    RUNS["runs"] += 1
    RUNS["result" if code == 0 else "clear refusal"] += 1
    RUNS["slow (> 60 s)"] += seconds > 60


def pytest_terminal_summary(terminalreporter):
    if RUNS["runs"]:
        terminalreporter.write_line("hostile-input CLI runs: " + ", ".join(f"{k} {v}" for k, v in RUNS.items()))


@pytest.fixture(scope="session")
def models_root(tmp_path_factory):
    """A registry folder: a tiny segmentation model, and the shipped couplet and OCR models (symlinked)."""
    from engine.registry import write_manifest
    from tests.engine.test_segment import tiny_model_dir

    root = tmp_path_factory.mktemp("hostile-models")
    tiny_model_dir(root / "segment" / "tiny")
    write_manifest(root / "segment" / "tiny", name="tiny", task="segment",
                   loader="engine.segment.model:load", default=True)
    for task in ("couplet", "ocr"):
        shipped = ROOT / "assets" / "models" / task
        if shipped.is_dir():
            (root / task).mkdir()
            for folder in shipped.iterdir():
                if (folder / "manifest.json").is_file():
                    os.symlink(folder, root / task / folder.name)
    return root


@pytest.fixture(scope="session")
def session_registry(models_root):
    """One registry for the in-process runs, so each model is loaded once per session."""
    from engine.registry import Registry

    return Registry(models_root)


@pytest.fixture
def cli(session_registry, capsys, monkeypatch):
    """Run ``main(argv)`` in-process against ``models_root``; stdin from bytes."""
    import io

    from engine import registry
    from engine.__main__ import main

    monkeypatch.setattr(registry, "REGISTRY", session_registry)
    monkeypatch.setenv("MOWEN_SEGMENT_PRECISION", "fp32")

    def run(*argv: str, stdin: bytes = b"") -> Outcome:
        fake = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
        monkeypatch.setattr(sys, "stdin", fake)
        started = time.monotonic()
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse usage errors
            code = exc.code if isinstance(exc.code, int) else 2
        captured = capsys.readouterr()
        _count(code, captured.err, time.monotonic() - started)
        no_traceback(captured.err)
        return Outcome(code, captured.out, captured.err)

    return run


@pytest.fixture
def cli_process(models_root):
    """Run ``python -m engine`` as a subprocess (stdin bytes, optional stdout file)."""

    def run(*argv: str, stdin: bytes = b"", stdout=None, timeout: float = 120) -> Outcome:
        env = dict(os.environ, MOWEN_MODELS_DIR=str(models_root), MOWEN_SEGMENT_PRECISION="fp32",
                   MOWEN_DEVICE="cpu")
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "engine", *argv], input=stdin, cwd=ROOT, env=env,
                              stdout=stdout if stdout is not None else subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout)
        err = proc.stderr.decode("utf-8", "replace")
        _count(proc.returncode, err, time.monotonic() - started)
        no_traceback(err)
        out = proc.stdout.decode("utf-8", "replace") if proc.stdout is not None else ""
        return Outcome(proc.returncode, out, err)

    return run


def needs_couplet(models_root: Path) -> None:
    if not (models_root / "couplet").is_dir():
        pytest.skip("no shipped couplet model in assets/models/couplet")


# an expression for a child process's own peak memory in KiB: VmHWM belongs to the process's
# address space, while getrusage's ru_maxrss survives exec and reports the (large) pytest parent
PEAK_KB = ("int(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')))")


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file's bytes under ``folder`` (to assert inputs unchanged, nothing partial left)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


__all__ = ["Outcome", "needs_couplet", "no_traceback", "snapshot", "shutil"]
