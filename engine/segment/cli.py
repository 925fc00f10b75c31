"""``python -m engine segment``: segment text, one output line per input line.

Input: a file or stdin in UTF-8 (with or without BOM), UTF-16 or GB18030 (the rule of
:mod:`engine.files`); binary data, or a line that is not valid in the file's encoding, is
refused with one clear message (exit 2).  Lines are split on LF only (a CRLF's CR is
dropped, other control characters stay inside their line and act as word boundaries), so
the output always has exactly as many lines as the input — the SIGHAN scorer compares line
by line.  Input is read and segmented in blocks of lines (batched inference) with a tqdm
bar on stderr.

``-o FILE`` is written atomically (a temp file renamed onto FILE when the run succeeds: an
interrupted or failed run leaves no FILE), is never the input (also through a symlink or a
hard link), and does not replace an existing file unless ``--force``.  torch is imported
only in ``run``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError(f"{value} is out of range 1..1000000")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", nargs="?", default="-",
                        help="text file (UTF-8, UTF-16 or GB18030), or - for stdin (default)")
    parser.add_argument("--model", help="model name (default: the default segmentation model)")
    parser.add_argument("--user-dict", type=Path, help="user dictionary in jieba format (word [freq] [tag] per line): its words are never split")
    parser.add_argument("--format", choices=["text", "jsonl"], default="text",
                        help="text: words separated by single spaces; jsonl: words, tags, probabilities per line")
    parser.add_argument("-o", "--output", type=Path,
                        help="write here instead of stdout (atomically; never the input; an existing file only with --force)")
    parser.add_argument("--force", action="store_true", help="let -o replace an existing file")
    parser.add_argument("--block-lines", type=_positive_int, default=4000, help="lines segmented per batch")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.epilog = ("exit codes: 0 done; 2 a usage error or an input, output or model that cannot be used "
                     "(one line on stderr, no output file left behind); 130 interrupted")


def _blocks(lines, block_lines: int):
    """(lines, bytes read) blocks from engine.files.text_lines."""
    block, size = [], 0
    for line, consumed, _ in lines:
        block.append(line)
        size += consumed
        if len(block) >= block_lines:
            yield block, size
            block, size = [], 0
    if block:
        yield block, size


def run(args: argparse.Namespace) -> int:
    import contextlib

    from engine.files import atomic_output, check_output, open_input, read_text_file, text_lines

    user_dict = None
    if args.user_dict is not None:
        from engine.segment.text import UserDictionary

        text, _ = read_text_file(args.user_dict)  # same decoding rule; refuses binary
        user_dict = UserDictionary()
        user_dict.update_from_text(text)
    inputs = ([] if args.input == "-" else [args.input]) + ([args.user_dict] if args.user_dict else [])
    if args.output is not None:
        # before anything is opened for writing: the input must survive every refusal
        check_output(args.output, inputs, force=args.force)
    if args.input == "-":
        handle, total, name = sys.stdin.buffer, None, "standard input"
    else:
        handle = open_input(args.input)
        total, name = Path(args.input).stat().st_size, Path(args.input).name

    from tqdm import tqdm

    from engine.segment.api import resolve_model, segment

    with contextlib.ExitStack() as stack:
        if handle is not sys.stdin.buffer:
            stack.callback(handle.close)
        model = resolve_model(args.model)
        out = stack.enter_context(atomic_output(args.output, replace=args.force)) if args.output else sys.stdout
        want_probs = args.format == "jsonl"
        bar = tqdm(total=total, unit="B", unit_scale=True, desc="segment", disable=args.quiet, file=sys.stderr)
        stack.callback(bar.close)
        for block, size in _blocks(text_lines(handle, name), args.block_lines):
            results = segment(block, model=model, user_dict=user_dict, probabilities=want_probs)
            if want_probs:
                out.write("".join(json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in results))
            else:
                out.write("".join(" ".join(r.words) + "\n" for r in results))
            bar.update(size)
        out.flush()
    return 0
