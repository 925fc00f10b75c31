"""Shared test set-up: Qt offscreen by default, isolated settings, a JobRunner fixture.

Engine tests never import Qt; the Qt pieces here are imported only when a GUI test
asks for them (pytest-qt's own fixtures import Qt lazily as well).
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
SHARED_DATA = ROOT.parent / "shared" / "data"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session", autouse=True)
def _isolated_settings(tmp_path_factory):
    """QSettings go to a temporary folder, never the developer's real config."""
    config = tmp_path_factory.mktemp("xdg-config")
    os.environ["XDG_CONFIG_HOME"] = str(config)
    yield


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
