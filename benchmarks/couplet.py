"""Couplet benchmark: every shipped couplet model and the human lines, on held-out modern couplets.

    python benchmarks/couplet.py [--split test|dev] [--limit 600] [--models A B ...] [--inputs]

The pairs come from ``engine.couplet.data.load_modern_splits``: modern 楹联/春联 whose upper
lines no shipped model trained on (the first models' 3% modern hold-out, split in two;
``dev`` selects models, ``test`` reports them).  For each model, the best beam candidate
(1 line) of each upper line is scored, and the human lower lines are scored the same way:

* character BLEU-2 and BLEU-4 (corpus level, one reference) and per-position exact match;
* the hard rules (length, punctuation, repeats, no same-position copy), the 重字 rate
  (a character of the upper line anywhere in the lower line), the 平 ending after a 仄
  upper ending and the share of positions with opposed 平仄;
* corpus distinct-1 / distinct-2 over the lines produced and the number of distinct
  characters used (narrow vocabularies show here);
* milliseconds per upper line on this machine (mean and median);
* answered lines of 1 and of 40–50 characters (``--long``).

``--inputs`` also prints the best line of each model for the 20 fixed user inputs
(``USER_INPUTS``) that the model cards show before and after a change.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

USER_INPUTS = [
    "春回大地千山秀", "天增岁月人增寿", "明月松间照", "风声雨声读书声，声声入耳", "手机一扫万事通",
    "辞旧迎新春满院", "海阔凭鱼跃", "一帆风顺年年好", "书山有路勤为径", "福满人间喜事多",
    "花开富贵家家乐", "欢度佳节迎新春", "梅开五福", "天", "春风得意马蹄疾",
    "山清水秀风光好", "国泰民安歌盛世", "月圆人团圆", "绿水青山就是金山银山", "高铁飞驰千里近",
]


def ngrams(text: str, n: int) -> Counter:
    return Counter(text[i:i + n] for i in range(len(text) - n + 1))


def corpus_bleu(hypotheses: list[str], references: list[str], max_n: int = 4) -> float:
    """Corpus-level BLEU over characters (Papineni et al. 2002), one reference each; an n-gram
    order without any match counts 0.1 matches (smoothing method 1 of Chen & Cherry 2014)."""
    matches = [0] * max_n
    totals = [0] * max_n
    hyp_len = ref_len = 0
    for hyp, ref in zip(hypotheses, references):
        hyp_len += len(hyp)
        ref_len += len(ref)
        for n in range(1, max_n + 1):
            h, r = ngrams(hyp, n), ngrams(ref, n)
            matches[n - 1] += sum(min(c, r[g]) for g, c in h.items())
            totals[n - 1] += max(0, len(hyp) - n + 1)
    if min(totals) == 0:
        return 0.0
    log_precision = sum(math.log((m or 0.1) / t) for m, t in zip(matches, totals)) / max_n
    brevity = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / max(1, hyp_len))
    return 100 * brevity * math.exp(log_precision)


def strip_punct(text: str) -> str:
    from engine.couplet.data import PUNCTUATION

    return "".join(ch for ch in text if ch not in PUNCTUATION)


def line_metrics(pairs, lowers: list[str]) -> dict:
    """Everything that depends only on (upper, lower) text: used for models and humans alike."""
    from engine.couplet.rules import check_rules

    reports = [check_rules(p.upper, low) for p, low in zip(pairs, lowers)]
    hyps = [strip_punct(l) for l in lowers]
    refs = [strip_punct(p.lower) for p in pairs]
    exact = sum(h == r for p, low in zip(pairs, lowers) for h, r in zip(low, p.lower) if strip_punct(r))
    positions = sum(1 for p in pairs for r in p.lower if strip_punct(r))
    ze = [r.ping_ending for r in reports if r.ping_ending is not None]
    rate = lambda attr: sum(getattr(r, attr) for r in reports) / len(reports)  # noqa: E731
    unigrams = [ch for h in hyps for ch in h]
    bigrams = [h[i:i + 2] for h in hyps for i in range(len(h) - 1)]
    return {
        "bleu4": corpus_bleu(hyps, refs), "bleu2": corpus_bleu(hyps, refs, max_n=2),
        "exact_match": exact / max(1, positions),
        "same_length": rate("same_length"), "punctuation": rate("punctuation"), "repeats": rate("repeats"),
        "no_copy": rate("no_copy"), "reuse": 1 - rate("no_reuse"),
        "ping_ending": sum(ze) / max(1, len(ze)), "ze_uppers": len(ze),
        "tone_opposition": statistics.mean(r.tone_opposition for r in reports),
        "distinct1": len(set(unigrams)) / max(1, len(unigrams)), "distinct2": len(set(bigrams)) / max(1, len(bigrams)),
        "chars_used": len(set(unigrams)),
    }


def evaluate(model, pairs) -> tuple[dict, list[str]]:
    from engine.couplet.decode import generate_couplet

    generate_couplet(pairs[0].upper, model=model)  # warm-up (lazy tone tables, allocator)
    lowers, times = [], []
    for pair in pairs:
        t0 = time.perf_counter()
        result = generate_couplet(pair.upper, model=model, n=1)
        times.append(1000 * (time.perf_counter() - t0))
        lowers.append(result.best.text)
    metrics = line_metrics(pairs, lowers)
    metrics.update(ms_mean=statistics.mean(times), ms_median=statistics.median(times))
    return metrics, lowers


def long_and_short(model) -> str:
    """'ok' when a one-character line and a 50-character line both get a valid answer."""
    from engine.couplet.decode import generate_couplet

    out = []
    for upper in ("天", ("春风得意马蹄疾，" * 7)[:50]):
        try:  # hard_ok includes the length of the (normalised) line
            out.append("ok" if generate_couplet(upper, model=model).best.rules.hard_ok else "bad")
        except Exception as exc:  # noqa: BLE001 - reported in the table
            out.append(type(exc).__name__)
    return " / ".join(out)


ROWS = [
    ("char BLEU-2", "bleu2", "{:.2f}"), ("char BLEU-4", "bleu4", "{:.2f}"),
    ("per-position exact match", "exact_match", "{:.1%}"),
    ("hard: same length", "same_length", "{:.1%}"), ("hard: punctuation in place", "punctuation", "{:.1%}"),
    ("hard: repeats mirror upper", "repeats", "{:.1%}"), ("hard: no same-position copy", "no_copy", "{:.1%}"),
    ("重字 (upper character reused)", "reuse", "{:.1%}"),
    ("平 ending after 仄 upper ending", "ping_ending", "{:.1%}"), ("平仄 opposition (positions)", "tone_opposition", "{:.1%}"),
    ("distinct-1 (corpus)", "distinct1", "{:.3f}"), ("distinct-2 (corpus)", "distinct2", "{:.3f}"),
    ("distinct characters used", "chars_used", "{:d}"),
    ("ms / line (mean)", "ms_mean", "{:.1f}"), ("ms / line (median)", "ms_median", "{:.1f}"),
    ("1-char / 50-char line answered", "extremes", "{}"),
]


def table(columns: dict[str, dict]) -> str:
    names = list(columns)
    lines = ["| metric | " + " | ".join(names) + " |", "| --- | " + " | ".join("---:" for _ in names) + " |"]
    for label, key, fmt in ROWS:
        cells = []
        for name in names:
            value = columns[name].get(key)
            cells.append("–" if value is None or (isinstance(value, float) and math.isnan(value)) else fmt.format(value))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def load_any(name: str):
    """A registry name, or a model folder (a new run's export before it is shipped)."""
    if Path(name).is_dir():
        from engine.couplet.model import load_bert, load_cnn, load_unilm
        from engine.weights import read_config

        kind = read_config(Path(name)).get("kind")
        return {"cnn": load_cnn, "bert": load_bert, "unilm": load_unilm}[kind](Path(name)), Path(name).name
    from engine.registry import load_model

    return load_model(name, task="couplet"), name


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="*", help="couplet model names or model folders (default: every shipped one)")
    parser.add_argument("--split", choices=["dev", "test"], default="test",
                        help="modern held-out split: dev selects models, test reports them")
    parser.add_argument("--limit", type=int, default=600, help="pairs sampled from the split (0: all)")
    parser.add_argument("--inputs", action="store_true", help="also print each model's line for the 20 user inputs")
    parser.add_argument("--dump", type=Path, help="write upper, human and model lines as TSV here")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a decoding setting in each model's config, e.g. lm_weight=0.3 (model selection "
                             "on the dev split)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    import torch

    from engine.couplet.data import load_modern_splits
    from engine.registry import list_models

    torch.set_num_threads(args.threads)
    _, dev, test = load_modern_splits()
    pool = [p for p in (test if args.split == "test" else dev) if len(p.upper) >= 2]
    pairs = random.Random(0).sample(pool, args.limit) if 0 < args.limit < len(pool) else pool
    names = args.models or [e.name for e in list_models("couplet")]
    columns, outputs, models = {}, {}, {}
    for name in names:
        model, label = load_any(name)
        for item in args.set:
            key, _, value = item.partition("=")
            model.config = {**model.config, key: float(value)}
            label += f" {item}"
        models[label] = model
        t0 = time.time()
        columns[label], outputs[label] = evaluate(model, pairs)
        columns[label]["extremes"] = long_and_short(model)
        print(f"{label}: {time.time() - t0:.0f} s", file=sys.stderr)
    columns["human lines"] = line_metrics(pairs, [p.lower for p in pairs])
    print(f"{args.split} pairs: {len(pairs)} held-out modern couplets; {columns['human lines']['ze_uppers']} upper lines "
          f"end in 仄; {torch.get_num_threads()} CPU thread(s)\n")
    print(table(columns))
    if args.dump:
        from engine.files import atomic_write_text

        rows = ["upper\thuman\t" + "\t".join(outputs)]
        rows += [f"{p.upper}\t{p.lower}\t" + "\t".join(outputs[m][i] for m in outputs) for i, p in enumerate(pairs)]
        atomic_write_text(args.dump, "\n".join(rows) + "\n")
    if args.inputs:
        from engine.couplet.decode import generate_couplet

        print("\n| upper line | " + " | ".join(models) + " |\n| --- | " + " | ".join("---" for _ in models) + " |")
        for upper in USER_INPUTS:
            cells = []
            for model in models.values():
                try:
                    cells.append(generate_couplet(upper, model=model).best.text)
                except Exception as exc:  # noqa: BLE001 - a refusal is part of the record
                    cells.append(f"({type(exc).__name__}: {exc})")
            print(f"| {upper} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
