"""Start-up stays light: the window comes before torch, and the real app starts and quits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_gui_modules_do_not_import_torch_or_transformers():
    code = (
        "import sys, gui.main_window\n"
        "for module, _cls, _title in gui.main_window.TABS:\n"
        "    if module != 'gui.attention':\n"  # built after the window is shown
        "        __import__(module)\n"
        "print(sorted(m for m in ('torch', 'transformers', 'cv2') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_real_app_shows_window_and_quits(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "main.py", "--quit-after-show"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("window shown after ")


def test_version_flag():
    out = subprocess.run([sys.executable, "main.py", "--version"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and out.stdout.startswith("mowen ")
