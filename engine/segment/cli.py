"""``python -m engine segment``: segment UTF-8 text, one output line per input line.

Lines are split on LF only (a CRLF's CR is dropped, other control characters stay inside
their line and act as word boundaries), so the output always has exactly as many lines as
the input — the SIGHAN scorer compares line by line.  Input is read and segmented in
blocks of lines (batched inference) with a tqdm bar on stderr.  torch is imported only in
``run``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", nargs="?", default="-", help="UTF-8 text file, or - for stdin (default)")
    parser.add_argument("--model", help="model name (default: the default segmentation model)")
    parser.add_argument("--user-dict", type=Path, help="user dictionary in jieba format (word [freq] [tag] per line): its words are never split")
    parser.add_argument("--format", choices=["text", "jsonl"], default="text",
                        help="text: words separated by single spaces; jsonl: words, tags, probabilities per line")
    parser.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    parser.add_argument("--block-lines", type=int, default=4000, help="lines segmented per batch")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _read_blocks(handle, block_lines: int):
    """(lines, bytes read) blocks: LF-split, trailing CR dropped, invalid UTF-8 replaced."""
    block, first, size = [], True, 0
    for raw in handle:
        size += len(raw)
        if raw.endswith(b"\n"):
            raw = raw[:-1]
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        line = raw.decode("utf-8-sig" if first else "utf-8", errors="replace")
        first = False
        block.append(line)
        if len(block) >= block_lines:
            yield block, size
            block, size = [], 0
    if block:
        yield block, size


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from engine.segment.api import resolve_model, segment
    from engine.segment.text import UserDictionary

    user_dict = None
    if args.user_dict is not None:
        try:
            user_dict = UserDictionary.load(args.user_dict)
        except (OSError, UnicodeDecodeError) as exc:
            print(f"mowen-cli segment: cannot read user dictionary {args.user_dict}: {exc}", file=sys.stderr)
            return 2
    if args.input == "-":
        handle, total = sys.stdin.buffer, None
    else:
        path = Path(args.input)
        try:
            handle, total = open(path, "rb"), path.stat().st_size
        except OSError as exc:
            print(f"mowen-cli segment: cannot read {path}: {exc}", file=sys.stderr)
            return 2
    model = resolve_model(args.model)
    out = open(args.output, "w", encoding="utf-8", newline="\n") if args.output else sys.stdout
    want_probs = args.format == "jsonl"
    bar = tqdm(total=total, unit="B", unit_scale=True, desc="segment", disable=args.quiet, file=sys.stderr)
    try:
        for block, size in _read_blocks(handle, args.block_lines):
            results = segment(block, model=model, user_dict=user_dict, probabilities=want_probs)
            if want_probs:
                out.write("".join(json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in results))
            else:
                out.write("".join(" ".join(r.words) + "\n" for r in results))
            bar.update(size)
        out.flush()
    finally:
        bar.close()
        if handle is not sys.stdin.buffer:
            handle.close()
        if out is not sys.stdout:
            out.close()
    return 0
