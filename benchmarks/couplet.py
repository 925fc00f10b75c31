"""Couplet benchmark: shipped couplet models side by side on the held-out dev split.

    python benchmarks/couplet.py [--models A B ...] [--limit 600] [--n 5] [--markdown]

For each model, on the same deterministic sample of dev pairs (half classical poetry
couplets, half modern 楹联/春联; split by poem / upper line in engine.couplet.data):

* character BLEU-4 (corpus level, one reference) and per-position exact match of the best
  candidate (beam search, 1 candidate) against the reference lower line, overall and per style;
* compliance rate of each hard constraint (same length, punctuation, repeats, no copy) over
  every candidate produced (beam and sampled), and the 平-ending rate after a 仄 upper ending;
* distinct-1 / distinct-2 across ``--n`` sampled candidates per line (temperature 0.8, top-k 20);
* milliseconds per upper line for one candidate on this machine (mean and median).

The human references are scored with the same rule checks as a yardstick.
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


def evaluate(model, pairs, n_sampled: int, seed: int = 0) -> dict:
    from engine.couplet.decode import generate_couplet
    from engine.couplet.rules import check_rules

    generate_couplet(pairs[0].upper, model=model)  # warm-up (lazy tone tables, allocator)
    hyps, refs, times, styles = [], [], [], []
    reports = []
    ze_uppers = ping_after_ze = 0
    exact = positions = 0
    d1, d2 = [], []
    for k, pair in enumerate(pairs):
        t0 = time.perf_counter()
        result = generate_couplet(pair.upper, model=model, n=1)
        times.append(1000 * (time.perf_counter() - t0))
        best = result.best
        hyps.append(strip_punct(best.text))
        refs.append(strip_punct(pair.lower))
        styles.append(pair.source)
        reports.append(best.rules)
        if best.rules.ping_ending is not None:
            ze_uppers += 1
            ping_after_ze += best.rules.ping_ending
        for h, r in zip(best.text, pair.lower):
            if strip_punct(r):
                positions += 1
                exact += h == r
        if n_sampled > 1:
            sampled = generate_couplet(pair.upper, model=model, n=n_sampled, temperature=0.8, top_k=20,
                                       seed=seed + k)
            texts = [strip_punct(c.text) for c in sampled.candidates]
            reports.extend(c.rules for c in sampled.candidates)
            unigrams = [ch for t in texts for ch in t]
            bigrams = [t[i:i + 2] for t in texts for i in range(len(t) - 1)]
            d1.append(len(set(unigrams)) / max(1, len(unigrams)))
            if bigrams:
                d2.append(len(set(bigrams)) / len(bigrams))
        assert check_rules(result.upper, best.text) == best.rules
    by_style = {}
    for style in sorted(set(styles)):
        idx = [i for i, s in enumerate(styles) if s == style]
        by_style[style] = corpus_bleu([hyps[i] for i in idx], [refs[i] for i in idx])
    rate = lambda attr: sum(getattr(r, attr) for r in reports) / len(reports)  # noqa: E731
    return {
        "bleu4": corpus_bleu(hyps, refs), "bleu2": corpus_bleu(hyps, refs, max_n=2), **{f"bleu4_{s}": v for s, v in by_style.items()},
        "exact_match": exact / max(1, positions),
        "same_length": rate("same_length"), "punctuation": rate("punctuation"),
        "repeats": rate("repeats"), "no_copy": rate("no_copy"),
        "ping_ending": ping_after_ze / max(1, ze_uppers), "ze_uppers": ze_uppers,
        "tone_opposition": statistics.mean(r.tone_opposition for r in reports),
        "distinct1": statistics.mean(d1) if d1 else float("nan"),
        "distinct2": statistics.mean(d2) if d2 else float("nan"),
        "ms_mean": statistics.mean(times), "ms_median": statistics.median(times),
        "candidates_checked": len(reports),
    }


def reference_row(pairs) -> dict:
    from engine.couplet.rules import check_rules

    reports = [check_rules(p.upper, p.lower) for p in pairs]
    ze = [r.ping_ending for r in reports if r.ping_ending is not None]
    rate = lambda attr: sum(getattr(r, attr) for r in reports) / len(reports)  # noqa: E731
    return {"bleu4": 100.0, "bleu2": 100.0, "exact_match": 1.0, "same_length": rate("same_length"),
            "punctuation": rate("punctuation"), "repeats": rate("repeats"), "no_copy": rate("no_copy"),
            "ping_ending": sum(ze) / max(1, len(ze)), "ze_uppers": len(ze),
            "tone_opposition": statistics.mean(r.tone_opposition for r in reports)}


ROWS = [
    ("char BLEU-4", "bleu4", "{:.2f}"), ("char BLEU-2", "bleu2", "{:.2f}"), ("  BLEU-4 classical poetry", "bleu4_poetry", "{:.2f}"),
    ("  BLEU-4 modern 楹联/春联", "bleu4_modern", "{:.2f}"), ("per-position exact match", "exact_match", "{:.1%}"),
    ("hard: same length", "same_length", "{:.1%}"), ("hard: punctuation in place", "punctuation", "{:.1%}"),
    ("hard: repeats mirror upper", "repeats", "{:.1%}"), ("hard: no same-position copy", "no_copy", "{:.1%}"),
    ("平 ending after 仄 upper ending", "ping_ending", "{:.1%}"), ("平仄 opposition (positions)", "tone_opposition", "{:.1%}"),
    ("distinct-1 (N sampled)", "distinct1", "{:.3f}"), ("distinct-2 (N sampled)", "distinct2", "{:.3f}"),
    ("ms / line, 1 candidate (mean)", "ms_mean", "{:.1f}"), ("ms / line (median)", "ms_median", "{:.1f}"),
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="*",
                        help="couplet model names or BERT model folders, e.g. a new run's export before it is shipped "
                             "(default: every shipped couplet model)")
    parser.add_argument("--limit", type=int, default=600, help="dev pairs (half poetry, half modern)")
    parser.add_argument("--n", type=int, default=5, help="sampled candidates per line for distinct-1/2 (0: skip)")
    parser.add_argument("--refine", type=int, nargs="*", default=None,
                        help="also run conditional models with these mask-predict rounds (e.g. 0 1 2)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    import torch

    from engine.couplet.data import MODERN, POETRY, load_splits
    from engine.registry import list_models, load_model

    torch.set_num_threads(args.threads)
    _, dev = load_splits()
    rng = random.Random(0)
    half = args.limit // 2
    pairs = []
    for style in (POETRY, MODERN):
        pool = [p for p in dev if p.source == style and len(p.upper) >= 2]  # one character is not a line
        pairs += rng.sample(pool, min(half, len(pool)))
    names = args.models or [e.name for e in list_models("couplet")]
    columns = {}
    for name in names:
        if Path(name).is_dir():
            from engine.couplet.model import load_bert

            model = load_bert(Path(name))
            name = f"{Path(name).name} ({name})"
        else:
            model = load_model(name)
        variants = [None]
        if args.refine is not None and getattr(model, "conditional", False):
            variants = args.refine
        for refine in variants:
            label = name if refine is None else f"{name} (refine {refine})"
            if refine is not None:
                model.config = {**model.config, "refine_steps": refine}
            t0 = time.time()
            columns[label] = evaluate(model, pairs, args.n)
            print(f"{label}: {time.time() - t0:.0f} s", file=sys.stderr)
    columns["human reference"] = reference_row(pairs)
    print(f"dev pairs: {len(pairs)} ({half} classical + {len(pairs) - half} modern); "
          f"{columns[next(iter(columns))].get('ze_uppers')} upper lines end in 仄; "
          f"{torch.get_num_threads()} CPU thread(s)\n")
    print(table(columns))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
