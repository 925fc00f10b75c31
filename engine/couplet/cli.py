"""``python -m engine couplet``: lower lines (下联) for upper lines (上联), one per input line.

Output stays aligned with the input: each input line gives exactly one output line — the
best lower line, N tab-separated candidates (``--n``), or a JSON object (``--format jsonl``,
with scores and the rule report).  A line that cannot be used (empty, not Chinese, too
long, not valid in the file's encoding…) prints ``line N: reason`` on stderr and an empty
output line (``{"upper", "error"}`` in jsonl); the run goes on, and ends with a summary on
stderr (``996 of 1000 lines written, 4 skipped``).  ``--strict`` stops at the first such
line instead.  Input: UTF-8 (BOM allowed), UTF-16 or GB18030 (the rule of
:mod:`engine.files`).  Every option is range-checked before the model is loaded.  torch is
imported only inside :func:`run`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

EXIT_CODES = ("exit codes: 0 done (rejected lines are empty output lines, counted in the summary); "
              "1 --strict and a line was rejected; 2 a usage error or an input file, option or model "
              "that cannot be used (one line 'mowen: error: ...' on stderr); 130 interrupted")


def _int_in(lo: int, hi: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{value} is out of range {lo}..{hi}")
        return value
    return parse


def _float_in(lo: float, hi: float, *, open_low: bool = False):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or value > hi or value < lo or (open_low and value == lo):
            low = f"({lo}" if open_low else f"[{lo}"
            raise argparse.ArgumentTypeError(f"{text} is out of range {low}, {hi}]")
        return value
    return parse


def _acrostic(text: str) -> str:
    from engine.couplet.data import is_cjk

    text = text.strip()
    if not 1 <= len(text) <= 2 or not all(is_cjk(ch) for ch in text):
        raise argparse.ArgumentTypeError(
            f"{text!r}: give one Chinese character (the lower line's first) or two (the first characters "
            f"of the upper and the lower line)")
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", nargs="?", default="-", metavar="FILE|-",
                        help="text file with one upper line per line (default: standard input)")
    parser.add_argument("--model", help="couplet model name (default: the registry's default couplet model)")
    parser.add_argument("--n", type=_int_in(1, 50), default=1, help="candidates per line, tab-separated (1..50, default 1)")
    parser.add_argument("--temperature", type=_float_in(0.0, 100.0), default=0.0,
                        help="0 = beam search (default); > 0 = sampling with this temperature (at most 100)")
    parser.add_argument("--top-k", type=_int_in(0, 1_000_000), default=0,
                        help="sample only among the k best characters (0 = all; at most the model's vocabulary)")
    parser.add_argument("--top-p", type=_float_in(0.0, 1.0, open_low=True), default=1.0,
                        help="nucleus sampling mass in (0, 1] (default 1.0)")
    parser.add_argument("--beam", type=_int_in(1, 64), default=None,
                        help="beam width 1..64 (default: the model config's beam_width, 5 if unset; at least n)")
    parser.add_argument("--refine", type=_int_in(0, 10), default=None,
                        help="mask-predict rounds 0..10 (BERT model; default from the model)")
    parser.add_argument("--acrostic", type=_acrostic,
                        help="藏头: the lower line's first character, or the first characters of both lines "
                             "(checked against each upper line)")
    parser.add_argument("--seed", type=_int_in(0, 2**32 - 1), default=None, help="random seed for sampling")
    parser.add_argument("--format", choices=["text", "jsonl"], default="text")
    parser.add_argument("--strict", action="store_true", help="stop with exit code 1 at the first rejected line")
    parser.epilog = EXIT_CODES


def run(args: argparse.Namespace) -> int:
    from engine.errors import InputError
    from engine.files import open_input, text_lines

    if args.input == "-":
        handle, name = getattr(sys.stdin, "buffer", None), "standard input"
        if handle is None:  # a text stream without bytes underneath (tests, embedding)
            import io

            handle = io.BytesIO(sys.stdin.read().encode("utf-8"))
    else:
        handle, name = open_input(args.input), args.input
    try:
        from engine.couplet.decode import generate_couplet
        from engine.couplet.rules import InvalidLine
        from engine.registry import load_model

        model = load_model(args.model, task="couplet")
        vocab = len(getattr(model, "vocab", ())) or None
        if vocab is not None and args.top_k > vocab:
            raise InputError(f"--top-k {args.top_k} is larger than the model's vocabulary ({vocab} characters)")
        written = skipped = 0
        for number, (upper, _, error) in enumerate(text_lines(handle, name, bad_lines="report"), start=1):
            try:
                if upper is None:
                    raise InvalidLine(error.split(": ", 1)[-1])
                result = generate_couplet(upper, model=model, n=args.n, temperature=args.temperature,
                                          top_k=args.top_k, top_p=args.top_p, beam_width=args.beam,
                                          refine_steps=args.refine, acrostic=args.acrostic,
                                          seed=None if args.seed is None else args.seed + number)
            except InvalidLine as exc:
                if getattr(args, "strict", False):
                    print(f"mowen: error: line {number}: {exc}", file=sys.stderr)
                    return 1
                skipped += 1
                print(f"line {number}: {exc}", file=sys.stderr)
                print(json.dumps({"upper": upper, "error": str(exc)}, ensure_ascii=False)
                      if args.format == "jsonl" else "", flush=True)
                continue
            written += 1
            if args.format == "jsonl":
                print(json.dumps({"upper": result.upper, "model": result.model,
                                  "candidates": [c.as_dict() for c in result.candidates]}, ensure_ascii=False),
                      flush=True)
            else:
                print("\t".join(c.text for c in result.candidates), flush=True)
    finally:
        if args.input != "-":
            handle.close()
    if skipped:
        print(f"{written} of {written + skipped} lines written, {skipped} skipped", file=sys.stderr)
    return 0
