"""A clone with no ../shared beside it: every test that reads the training corpora skips, none errors.

The repository's tracked files are copied to a temporary folder (nothing beside it) and the
``needs_shared`` tests are run there in a subprocess; collection of the whole suite happens
on the way, so a module that reads shared data at import fails here too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tracked_files() -> list[str]:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True)
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    return [name for name in out.stdout.decode().split("\0") if name]


def _copy_tree(files: list[str], target: Path) -> None:
    for name in files:
        source, dest = ROOT / name, target / name
        if not source.is_file():
            continue  # deleted in the working tree, not yet committed
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, dest)  # the model weights are big; a hard link costs nothing
        except OSError:
            shutil.copy2(source, dest)


def test_a_clone_without_shared_data_skips_the_tests_that_need_it(tmp_path):
    clone = tmp_path / "mowen"
    _copy_tree(_tracked_files(), clone)
    assert not (clone.parent / "shared").exists()
    env = {k: v for k, v in os.environ.items() if k != "MOWEN_DATA_DIR"}
    env["MOWEN_COUPLET_DATA"] = str(tmp_path / "absent")   # the couplet loader's absolute default
    junit = tmp_path / "results.xml"
    out = subprocess.run([sys.executable, "-m", "pytest", "-m", "needs_shared", "-p", "no:cacheprovider",
                          f"--junitxml={junit}", "tests"], cwd=clone, env=env, capture_output=True, text=True,
                         timeout=600)
    report = out.stdout + out.stderr
    assert out.returncode == 0, report
    cases = {case.get("name"): case for case in ElementTree.parse(junit).iter("testcase")}
    assert len(cases) >= 8 and "test_ocr_trainer_resumes_and_starts_from_other_weights" in cases, report
    for name, case in cases.items():
        skipped = case.find("skipped")
        assert skipped is not None and "shared data absent" in skipped.get("message", ""), (name, report)
