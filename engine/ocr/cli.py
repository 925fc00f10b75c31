"""``python -m engine ocr IMAGE... [--format text|jsonl] [--no-lm]``: read text from images.

``text`` prints each image's text (a ``==> path <==`` header when there are several);
``jsonl`` prints one JSON object per image: {"path", "text", "lines": [{"box", "text",
"confidence"}], "seconds"} or {"path", "error"} for an unreadable file.  The run goes on
after a bad file (one line ``mowen: error: <file>: reason`` on stderr); exit codes: 0 at
least one image read, 1 every input failed, 2 a usage error or no usable model.  Torch is
imported only when the first image is read.
"""

from __future__ import annotations

import json
import sys


def add_arguments(parser) -> None:
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, BMP, TIFF, WebP, GIF)")
    parser.add_argument("--format", choices=("text", "jsonl"), default="text", help="output format (default: text)")
    parser.add_argument("--no-lm", action="store_true", help="greedy CTC decoding without the language model")
    parser.epilog = ("exit codes: 0 at least one image was read; 1 every input failed (one line per file on "
                     "stderr); 2 a usage error or no usable OCR model")


def run(args) -> int:
    from engine.ocr.pipeline import ocr_batch
    from engine.progress import drive

    many = len(args.images) > 1

    def show(report) -> None:
        if report.partial is None:
            return
        path, result = report.partial
        if isinstance(result, str):   # the image could not be read: its message
            if args.format == "jsonl":
                print(json.dumps({"path": path, "error": result}, ensure_ascii=False), flush=True)
            else:
                print(f"mowen: error: {result}", file=sys.stderr)
        elif args.format == "jsonl":
            record = {"path": path, "text": result.text,
                      "lines": [{"box": list(l.box), "text": l.text, "confidence": round(l.confidence, 4)}
                                for l in result.lines],
                      "seconds": round(result.seconds, 4)}
            if result.warnings:
                record["warnings"] = list(result.warnings)
            print(json.dumps(record, ensure_ascii=False), flush=True)
        else:
            if many:
                print(f"==> {path} <==")
            print(result.text, flush=True)
            for w in result.warnings:
                print(f"mowen: warning: {w}", file=sys.stderr)

    # the GUI's batch runs the same loop (engine.ocr.pipeline.ocr_batch)
    results = drive(ocr_batch(args.images, not args.no_lm), show)
    failures = sum(isinstance(outcome, str) for _, outcome in results)
    return 1 if failures == len(args.images) else 0
