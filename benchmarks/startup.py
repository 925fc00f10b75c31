"""Time from launching Mowen to its window being shown (median of N runs).

    python benchmarks/startup.py [--runs 5] [--platform offscreen|xcb]

Each run starts ``python main.py --quit-after-show`` in a fresh process and measures
the wall time from spawning it to the moment it prints that the window is shown
(interpreter start-up included), then lets it quit.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def one_run(platform: str) -> tuple[float, float]:
    env = dict(os.environ, QT_QPA_PLATFORM=platform, XDG_CONFIG_HOME=tempfile.mkdtemp())
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "--quit-after-show"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    shown = time.perf_counter() - start
    proc.wait(timeout=120)
    if "window shown" not in line:
        raise RuntimeError(f"unexpected output: {line!r}")
    inside = float(line.split("after")[1].split()[0])
    return shown, inside


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--platform", default=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    args = parser.parse_args()
    one_run(args.platform)  # warm the file cache once, as a second launch would be
    walls, insides = zip(*(one_run(args.platform) for _ in range(args.runs)))
    print(f"platform: {args.platform}, runs: {args.runs}")
    print("wall from spawn to window shown (s): " + " ".join(f"{w:.3f}" for w in walls))
    print(f"median: {statistics.median(walls):.3f} s (inside Python after main.py started: "
          f"{statistics.median(insides):.3f} s)")


if __name__ == "__main__":
    main()
