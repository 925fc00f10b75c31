"""``python -m engine models``: list the shipped models, verify their files."""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--verify", action="store_true", help="check every file's sha256 against its manifest")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    from engine.device import describe_device
    from engine.registry import REGISTRY, ModelError

    failures = 0
    rows = []
    for entry in REGISTRY.list():
        status = "not checked"
        if args.verify:
            try:
                REGISTRY.verify(entry.name)
                status = "ok"
            except ModelError as exc:
                status = str(exc)
                failures += 1
        rows.append({"name": entry.name, "task": entry.task, "default": entry.default,
                     "metrics": entry.metrics, "status": status})
    if args.json:
        print(json.dumps({"device": describe_device(), "models": rows}, ensure_ascii=False, indent=2))
    else:
        print(f"device: {describe_device()}")
        for row in rows:
            mark = "*" if row["default"] else " "
            metrics = ", ".join(f"{k}={v}" for k, v in row["metrics"].items())
            print(f"{mark} {row['task']:<10} {row['name']:<28} {metrics}  [{row['status']}]")
        if not rows:
            print("(no models installed)")
    return 1 if failures else 0
