"""``python -m engine couplet``: lower lines (下联) for upper lines (上联), one per input line.

Output stays aligned with the input: each input line gives exactly one output line — the
best lower line, N tab-separated candidates (``--n``), or a JSON object (``--format jsonl``,
with scores and the rule report).  A line that cannot be used (empty, not Chinese, too
long…) prints a message naming the line on stderr and an empty output line (``{}`` in jsonl
with an ``error`` field).  torch is imported only inside :func:`run`.
"""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", nargs="?", default="-", metavar="FILE|-",
                        help="text file with one upper line per line (default: standard input)")
    parser.add_argument("--model", help="couplet model name (default: the registry's default couplet model)")
    parser.add_argument("--n", type=int, default=1, help="candidates per line, tab-separated (default 1)")
    parser.add_argument("--temperature", type=float, default=0.0,
                        help="0 = beam search (default); > 0 = sampling with this temperature")
    parser.add_argument("--top-k", type=int, default=0, help="sample only among the k best characters (0 = all)")
    parser.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling mass (default 1.0)")
    parser.add_argument("--beam", type=int, default=None, help="beam width (default max(5, n))")
    parser.add_argument("--refine", type=int, default=None, help="mask-predict rounds (BERT model; default from the model)")
    parser.add_argument("--acrostic", help="藏头: the lower line's first character")
    parser.add_argument("--seed", type=int, default=None, help="random seed for sampling")
    parser.add_argument("--format", choices=["text", "jsonl"], default="text")


def run(args: argparse.Namespace) -> int:
    from engine.couplet.decode import generate_couplet
    from engine.couplet.rules import InvalidLine
    from engine.registry import load_model

    model = load_model(args.model, task="couplet") if args.model else load_model(task="couplet")
    stream = sys.stdin if args.input == "-" else open(args.input, encoding="utf-8")
    failures = 0
    try:
        for number, raw in enumerate(stream, start=1):
            upper = raw.rstrip("\r\n")
            try:
                result = generate_couplet(upper, model=model, n=args.n, temperature=args.temperature,
                                          top_k=args.top_k, top_p=args.top_p, beam_width=args.beam,
                                          refine_steps=args.refine, acrostic=args.acrostic,
                                          seed=None if args.seed is None else args.seed + number)
            except InvalidLine as exc:
                failures += 1
                print(f"line {number}: {exc}", file=sys.stderr)
                print(json.dumps({"upper": upper, "error": str(exc)}, ensure_ascii=False)
                      if args.format == "jsonl" else "", flush=True)
                continue
            if args.format == "jsonl":
                print(json.dumps({"upper": result.upper, "model": result.model,
                                  "candidates": [c.as_dict() for c in result.candidates]}, ensure_ascii=False),
                      flush=True)
            else:
                print("\t".join(c.text for c in result.candidates), flush=True)
    finally:
        if stream is not sys.stdin:
            stream.close()
    return 1 if failures else 0
