"""Double-click launch on Linux: write a freedesktop ``.desktop`` file.

Launchers need absolute paths, so the file is generated on the user's machine, with
``Exec`` pointing at this installation's ``mowen`` entry point (or, failing that, at
this Python running main.py) and ``Icon`` at the bundled icon.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ICON = ROOT / "assets" / "icons" / "mowen.png"
TEMPLATE = ROOT / "assets" / "mowen.desktop"


def launch_command() -> str:
    script = Path(sys.executable).with_name("mowen")
    if script.is_file() and os.access(script, os.X_OK):
        return shlex.quote(str(script))
    found = shutil.which("mowen")
    if found:
        return shlex.quote(str(Path(found).resolve()))
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(ROOT / 'main.py'))}"


def desktop_entry_text() -> str:
    """assets/mowen.desktop with this installation's launcher and icon filled in (``%F``
    lets "Open with Mowen" pass files; MimeType lists what it opens)."""
    template = TEMPLATE.read_text(encoding="utf-8")
    return template.replace("@EXEC@", launch_command()).replace("@ICON@", str(ICON))


def install_desktop_entry(applications_dir: Path | None = None) -> Path:
    from engine.registry import atomic_write_text

    if applications_dir is None:
        data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
        applications_dir = data_home / "applications"
    applications_dir.mkdir(parents=True, exist_ok=True)
    target = applications_dir / "mowen.desktop"
    atomic_write_text(target, desktop_entry_text())
    target.chmod(0o755)
    return target
