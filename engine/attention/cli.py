"""``python -m engine attention ...``: normalisers, mask patterns, studies and model attention.

Subcommands:

* ``normalize --kind KIND [--tau T] [--alpha A] [--k K] SCORE...`` (or ``--file FILE|-``):
  one probability per line, printed as Python's ``repr`` of a float (full precision).
  Negative scores work with or without a ``--`` before them; a file or stdin holds scores
  separated by spaces, commas or newlines (for vectors too long for a command line).
  NaN is refused, ±inf and huge scores follow the rule of
  :func:`engine.attention.normalizers.normalize`.
* ``mask --kind KIND --n N [--window W] [--dilation D] [--stride S] [--prefix P] [--causal]``:
  the 0/1 matrix, one row per line, digits separated by single spaces; 1 where query i
  (row) may attend to key j (column).  n is at most 8192; rows are printed as they are made.

Exit codes: 0 done; 2 a usage error or a value out of range (one line on stderr).
* ``study NAME``: run a study (noise, entropy_scale, entropy_init) and print its curves as CSV.
* ``extract --model NAME TEXT [--pair LOWER]``: tokens and per-head entropies of a model's attention.
* ``models``: the shipped models that can show their attention.

Light at import: numpy and torch are imported inside :func:`run`.
"""

from __future__ import annotations

import argparse
import re
import sys

NORMALIZE_KINDS = ("softmax", "sparse_softmax", "sparsemax", "entmax", "smooth_topk", "taylor_softmax",
                   "gumbel_softmax")
MASK_KINDS = ("bidirectional", "causal", "unilm", "local", "atrous", "strided")
STUDY_NAMES = ("noise", "entropy_scale", "entropy_init")

# argparse's own test for "a negative number, not an option" misses -1e-3 and -inf; this
# one accepts every negative float literal (no option of ours looks like a number).
_NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|infinity|nan)$", re.IGNORECASE)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="attention_command", metavar="SUBCOMMAND")
    sub.required = True

    normalize = sub.add_parser("normalize", help="turn scores into probabilities with one normaliser",
                               description="Print one probability per line (full float precision). "
                               "Negative scores may follow directly or after '--'.")
    normalize.add_argument("--kind", choices=NORMALIZE_KINDS, default="softmax")
    normalize.add_argument("--tau", type=float, default=1.0, help="temperature: scores are divided by it (default 1)")
    normalize.add_argument("--alpha", type=float, default=1.5, help="entmax alpha >= 1 (default 1.5)")
    normalize.add_argument("--k", type=float, default=2, help="k for sparse_softmax (integer) and smooth_topk (default 2)")
    normalize.add_argument("--order", type=int, default=2, help="Taylor softmax order, even (default 2)")
    normalize.add_argument("--seed", type=int, default=0, help="random seed for gumbel_softmax (default 0)")
    normalize.add_argument("--file", metavar="FILE|-", help="read the scores from a text file, or - for stdin")
    normalize.add_argument("scores", nargs="*", metavar="SCORE", type=float)
    if hasattr(normalize, "_negative_number_matcher"):  # private in argparse; harmless if it goes
        normalize._negative_number_matcher = _NEGATIVE_NUMBER

    mask = sub.add_parser("mask", help="print an attention mask pattern as a 0/1 matrix",
                          description="Print the n x n 0/1 matrix, one row per line, digits separated by "
                          "spaces; 1 where query i (row) may attend to key j (column).")
    mask.add_argument("--kind", choices=MASK_KINDS, required=True)
    mask.add_argument("--n", type=int, required=True)
    mask.add_argument("--window", type=int, default=1, help="local: attend to |i-j| <= window (default 1)")
    mask.add_argument("--dilation", type=int, default=2, help="atrous: attend where (i-j) %% dilation == 0 (default 2)")
    mask.add_argument("--stride", type=int, default=3, help="strided: |i-j| < stride or (i-j) %% stride == 0 (default 3)")
    mask.add_argument("--prefix", type=int, default=None, help="unilm: source (prefix) length (default n // 2)")
    mask.add_argument("--causal", action="store_true", help="intersect local/atrous/strided with the causal mask")

    study = sub.add_parser("study", help="run an attention study and print its curves as CSV")
    study.add_argument("name", choices=STUDY_NAMES)
    study.add_argument("--seed", type=int, default=0)
    study.add_argument("--quiet", action="store_true", help="no progress bar on stderr")

    extract = sub.add_parser("extract", help="summarise a shipped model's attention for a text")
    extract.add_argument("--model", default=None, help="model name (default: the first attention-capable model)")
    extract.add_argument("--pair", default=None, help="second segment, e.g. the lower line of a couplet")
    extract.add_argument("text")

    sub.add_parser("models", help="list shipped models that can show their attention")


def run(args: argparse.Namespace) -> int:
    command = args.attention_command
    if command == "normalize":
        return _run_normalize(args)
    if command == "mask":
        from engine.attention.masks import format_rows, iter_mask_rows

        blocks = iter_mask_rows(args.kind, args.n, window=args.window, dilation=args.dilation,
                                stride=args.stride, prefix=args.prefix, causal=args.causal)
        for block in blocks:  # a block at a time: memory stays small for any allowed n
            sys.stdout.write("".join(row + "\n" for row in format_rows(block)))
        return 0
    if command == "study":
        from engine.attention.studies import STUDIES
        from engine.progress import drive, drive_with_tqdm

        job = STUDIES[args.name][0](seed=args.seed)
        curves = drive(job) if args.quiet else drive_with_tqdm(job, desc=args.name)
        sys.stdout.write(curves.to_csv())
        return 0
    if command == "extract":
        from engine.attention.extract import extract_attention, list_attention_models, load_attention_model
        from engine.registry import ModelMissing

        name = args.model
        if name is None:
            names = list_attention_models()
            if not names:
                raise ModelMissing("no shipped transformer model can show its attention yet")
            name = names[0]
        from engine.errors import InputError

        if not args.text.strip() or (args.pair is not None and not args.pair.strip()):
            raise InputError("give a non-empty text (and a non-empty --pair, if any)")
        model = load_attention_model(name)
        config = getattr(getattr(model, "hf_model", None), "config", None)
        limit = getattr(config, "max_position_embeddings", None)
        needed = max(len(args.text), len(args.pair or "")) + 2  # each segment: its tokens and [CLS]/[SEP]
        if isinstance(limit, int) and needed > limit:
            raise InputError(f"{name} reads at most {limit - 2} characters per segment; got {needed - 2}")
        try:
            result = extract_attention(model, args.text, args.pair)
        except ValueError as exc:  # e.g. a pair of another length than the text
            raise InputError(f"{name}: {exc}") from None
        print(f"model: {name}")
        print(result.summary())
        return 0
    if command == "models":
        from engine.attention.extract import list_attention_models

        for name in list_attention_models():
            print(name)
        return 0
    raise AssertionError(command)


MAX_SCORES = 10_000_000


def _read_scores(source: str) -> list[float]:
    """Scores from a text file or stdin ('-'): numbers separated by spaces, commas or newlines."""
    from engine.errors import InputError
    from engine.files import decode_text, read_text_file

    if source == "-":
        text, _ = decode_text(sys.stdin.buffer.read(), "standard input")
    else:
        text, _ = read_text_file(source)
    tokens = text.replace(",", " ").split()
    if len(tokens) > MAX_SCORES:
        raise InputError(f"{len(tokens)} scores: at most {MAX_SCORES} are accepted")
    scores = []
    for number, token in enumerate(tokens, start=1):
        try:
            scores.append(float(token))
        except ValueError:
            raise InputError(f"score {number} ({token[:40]!r}) is not a number") from None
    return scores


def _run_normalize(args: argparse.Namespace) -> int:
    import torch

    from engine.attention.normalizers import normalize
    from engine.errors import InputError

    if args.file is not None and args.scores:
        raise InputError("give the scores on the command line or with --file, not both")
    values = _read_scores(args.file) if args.file is not None else args.scores
    if not values:
        raise InputError("no scores given: list them after the options, or use --file FILE|-")
    scores = torch.tensor(values, dtype=torch.float64)
    generator = torch.Generator().manual_seed(args.seed)
    with torch.no_grad():
        probabilities = normalize(scores, args.kind, tau=args.tau, alpha=args.alpha, k=args.k,
                                  order=args.order, generator=generator)
    sys.stdout.write("".join(repr(float(value)) + "\n" for value in probabilities.tolist()))
    return 0
