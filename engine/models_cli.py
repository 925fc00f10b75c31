"""``python -m engine models``: list the shipped models, verify their files.

A broken manifest or a model name claimed by two folders is listed with the reason (the
other models stay usable).  Exit codes: 0 fine; 1 a broken manifest or a duplicate name, or
``--verify`` found a missing, damaged or unreadable file; 2 a usage error.
"""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--verify", action="store_true", help="check every file's sha256 against its manifest")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.epilog = ("exit codes: 0 fine; 1 a broken manifest or duplicate name, or --verify found a missing, "
                     "damaged or unreadable file; 2 usage error")


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
    for name in REGISTRY.conflicts:
        rows.append({"name": name, "task": "?", "default": False, "metrics": {},
                     "status": REGISTRY.conflict_message(name)})
    for problem in REGISTRY.problems.values():
        rows.append({"name": "?", "task": "?", "default": False, "metrics": {}, "status": problem})
    failures += len(REGISTRY.conflicts) + len(REGISTRY.problems)
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
    return 1 if failures and (args.verify or REGISTRY.conflicts or REGISTRY.problems) else 0
