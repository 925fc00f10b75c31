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
    assert "Traceback" not in err, err


@pytest.fixture(scope="session")
def models_root(tmp_path_factory):
    """A registry folder: a tiny segmentation model, and the shipped couplet models (symlinked)."""
    from engine.registry import write_manifest
    from tests.engine.test_segment import tiny_model_dir

    root = tmp_path_factory.mktemp("hostile-models")
    tiny_model_dir(root / "segment" / "tiny")
    write_manifest(root / "segment" / "tiny", name="tiny", task="segment",
                   loader="engine.segment.model:load", default=True)
    shipped = ROOT / "assets" / "models" / "couplet"
    if shipped.is_dir():
        (root / "couplet").mkdir()
        for folder in shipped.iterdir():
            if (folder / "manifest.json").is_file():
                os.symlink(folder, root / "couplet" / folder.name)
    return root


@pytest.fixture
def cli(models_root, capsys, monkeypatch):
    """Run ``main(argv)`` in-process against ``models_root``; stdin from bytes."""
    import io

    from engine import registry
    from engine.__main__ import main

    monkeypatch.setattr(registry, "REGISTRY", registry.Registry(models_root))
    monkeypatch.setenv("MOWEN_SEGMENT_PRECISION", "fp32")

    def run(*argv: str, stdin: bytes = b"") -> Outcome:
        fake = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
        monkeypatch.setattr(sys, "stdin", fake)
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse usage errors
            code = exc.code if isinstance(exc.code, int) else 2
        captured = capsys.readouterr()
        no_traceback(captured.err)
        return Outcome(code, captured.out, captured.err)

    return run


@pytest.fixture
def cli_process(models_root):
    """Run ``python -m engine`` as a subprocess (stdin bytes, optional stdout file)."""

    def run(*argv: str, stdin: bytes = b"", stdout=None, timeout: float = 120) -> Outcome:
        env = dict(os.environ, MOWEN_MODELS_DIR=str(models_root), MOWEN_SEGMENT_PRECISION="fp32",
                   MOWEN_DEVICE="cpu")
        proc = subprocess.run([sys.executable, "-m", "engine", *argv], input=stdin, cwd=ROOT, env=env,
                              stdout=stdout if stdout is not None else subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout)
        err = proc.stderr.decode("utf-8", "replace")
        no_traceback(err)
        out = proc.stdout.decode("utf-8", "replace") if proc.stdout is not None else ""
        return Outcome(proc.returncode, out, err)

    return run


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file's bytes under ``folder`` (to assert inputs unchanged, nothing partial left)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


__all__ = ["Outcome", "no_traceback", "snapshot", "shutil"]
