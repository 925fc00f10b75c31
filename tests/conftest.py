"""Shared test set-up: Qt offscreen by default, isolated settings, a JobRunner fixture, and
the ``needs_shared`` marker.

Engine tests never import Qt; the Qt pieces here are imported only when a GUI test
asks for them (pytest-qt's own fixtures import Qt lazily as well).

Training corpora live beside the repository (``../shared/data``, or ``$MOWEN_DATA_DIR``),
never in it: CI has them, a user's clone does not.  A test that reads them says so with
``@pytest.mark.needs_shared("relative/path", ...)`` and is skipped, with the missing path as
the reason, where they are absent (tests/test_fresh_clone.py checks this on a copy).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MOWEN_DEVICE", "cpu")

ROOT = Path(__file__).resolve().parent.parent
# the same folder engine/ocr/synth.py's DATA_DIR defaults to
SHARED_DATA = Path(os.environ.get("MOWEN_DATA_DIR") or ROOT.parent / "shared" / "data")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session", autouse=True)
def _isolated_settings(tmp_path_factory):
    """QSettings go to a temporary folder, never the developer's real config."""
    config = tmp_path_factory.mktemp("xdg-config")
    os.environ["XDG_CONFIG_HOME"] = str(config)
    yield


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_shared(*paths): reads these paths under ../shared/data; "
                                       "skipped where they are absent")


def missing_shared(paths) -> list[str]:
    return [p for p in (paths or (".",)) if not (SHARED_DATA / p).exists()]


def pytest_runtest_setup(item):
    for mark in item.iter_markers("needs_shared"):
        missing = missing_shared(mark.args)
        if missing:
            pytest.skip(f"shared data absent: {', '.join(str(SHARED_DATA / p) for p in missing)} "
                        "(training corpora live beside the repo, not in it)")


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"training data folder {SHARED_DATA} is not present")
    return SHARED_DATA


@pytest.fixture
def runner(qtbot):
    """A JobRunner on the global pool; waits for every job at teardown."""
    from PySide6.QtCore import QThreadPool

    from gui.worker import JobRunner

    job_runner = JobRunner()
    yield job_runner
    job_runner.shutdown(timeout_ms=30000)
    QThreadPool.globalInstance().waitForDone(30000)
    qtbot.wait(10)  # deliver the last queued signals before widgets go away


@pytest.fixture(autouse=True)
def _drain_thread_pool(request):
    """GUI tests: no job may outlive its test (avoids signals to deleted widgets)."""
    yield
    if "qtbot" in request.fixturenames:
        from PySide6.QtCore import QThreadPool

        QThreadPool.globalInstance().waitForDone(30000)
