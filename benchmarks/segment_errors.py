"""Where the segmenter's PKU test errors come from: new words, or a changed standard.

    .venv/bin/python benchmarks/segment_errors.py [--model NAME_OR_FOLDER] [--top 25]

The training corpus (People's Daily 1998-01) and the SIGHAN 2005 PKU test set (People's Daily
2001) do not segment every string the same way: the test always splits 提出 (提 出), 乡政府 and
生产总值, which the training text keeps whole in 98-99% of 600+ occurrences; it keeps 千年 whole,
which the training text splits every time.  No model trained on the 1998 text can get those right.

This script segments the test set, compares with the gold spans and sorts every error:
- *missed* gold words the model did not produce: out-of-vocabulary (not in the official training
  word list) or in-vocabulary; and "against training" when the training text splits that string
  in at least 90% of its 5 or more occurrences;
- *false* words the model produced that the gold does not have: "against training" when the
  training text keeps that string whole in at least 90% of its 5 or more occurrences.
It prints the counts, the most frequent strings of each kind, and the F1 the same output would
get if the "against training" spans were scored as the training text segments them (an estimate
of how much of the gap to the gold is the change of standard rather than the model).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "cws"
SIGHAN = DATA / "sighan2005"


def spans(words: list[str]) -> set[tuple[int, int]]:
    from engine.segment.bmes import tags_to_spans, words_to_tags

    return set(tags_to_spans(words_to_tags(words)))


class TrainingUsage:
    """How often a string is a whole word in the training corpus, and how often it occurs at all."""

    def __init__(self, corpus: Path):
        lines = corpus.read_text(encoding="utf-8").splitlines()
        self.word_counts = Counter(w for line in lines for w in line.split())
        self.text = "\n".join("".join(line.split()) for line in lines)
        self._occurrences: dict[str, int] = {}

    def occurrences(self, s: str) -> int:
        if s not in self._occurrences:
            self._occurrences[s] = self.text.count(s)
        return self._occurrences[s]

    def word_share(self, s: str) -> float | None:
        """Share of the string's occurrences that are a whole word; None below 5 occurrences."""
        n = self.occurrences(s)
        return None if n < 5 else min(1.0, self.word_counts[s] / n)


def analyse(gold_lines: list[list[str]], hyp_lines: list[list[str]], usage: TrainingUsage,
            vocabulary: set[str]) -> dict:
    missed, false = Counter(), Counter()
    kinds = Counter()
    tp = n_gold = n_hyp = 0
    for gold, hyp in zip(gold_lines, hyp_lines):
        text = "".join(gold)
        if "".join(hyp) != text:
            raise SystemExit("output text differs from the gold text: not the same test file?")
        g, h = spans(gold), spans(hyp)
        tp += len(g & h)
        n_gold += len(g)
        n_hyp += len(h)
        for a, b in g - h:
            w = text[a:b]
            share = usage.word_share(w) if len(w) > 1 else None
            against = share is not None and share <= 0.1
            kinds["missed " + ("OOV" if w not in vocabulary else "IV") + (" against training" if against else "")] += 1
            missed[(w, against)] += 1
        for a, b in h - g:
            w = text[a:b]
            share = usage.word_share(w) if len(w) > 1 else None
            against = share is not None and share >= 0.9
            kinds["false" + (" against training" if against else "")] += 1
            false[(w, against)] += 1
    return {"tp": tp, "gold": n_gold, "hyp": n_hyp, "kinds": kinds, "missed": missed, "false": false}


def f1(tp: int, n_gold: int, n_hyp: int) -> tuple[float, float, float]:
    p, r = tp / n_hyp, tp / n_gold
    return p, r, 2 * p * r / (p + r)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="Mowen model name or model folder, e.g. checkpoints/segment/RUN/best "
                        "(default: the default segmentation model)")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()

    from engine.segment import segment

    test = [line.rstrip("\r") for line in (SIGHAN / "pku_test.utf8").read_text(encoding="utf-8").split("\n")]
    gold = [line.split() for line in (SIGHAN / "pku_test_gold.utf8").read_text(encoding="utf-8").split("\n")]
    model = args.model
    if model and Path(model).is_dir():
        from engine.segment.model import load

        model = load(model)
    results = segment(test, model=model)
    hyp = [list(r.words) for r in results]
    usage = TrainingUsage(DATA / "pd199801" / "pd199801_seg.utf8")
    vocabulary = set((SIGHAN / "pku_training_words.utf8").read_text(encoding="utf-8").split())
    report = analyse(gold, hyp, usage, vocabulary)

    p, r, f = f1(report["tp"], report["gold"], report["hyp"])
    print(f"model {args.model or '(default)'}: P {p:.4f} R {r:.4f} F1 {f:.4f} ({report['gold']} gold words)")
    for kind, n in sorted(report["kinds"].items()):
        print(f"  {kind:32s} {n:6d}")
    for title, counter in (("missed", report["missed"]), ("false", report["false"])):
        for against in (True, False):
            top = [(w, n) for (w, a), n in counter.most_common() if a == against][:args.top]
            label = "against training" if against else "other"
            print(f"{title} ({label}): " + " ".join(f"{w}×{n}" for w, n in top))
    # Re-score as if the spans that contradict the training text had been segmented as the gold
    # wants: each missed gold word becomes a hit; each false word is dropped from the output
    # (its gold pieces would be hits, but those are counted among the missed already).
    missed_against = sum(n for (w, a), n in report["missed"].items() if a)
    false_against = sum(n for (w, a), n in report["false"].items() if a)
    p2, r2, f2 = f1(report["tp"] + missed_against, report["gold"], report["hyp"] - false_against + missed_against)
    print(f"against-training spans: {missed_against} missed, {false_against} false; "
          f"F1 with those scored as the gold wants: {f2:.4f} (P {p2:.4f} R {r2:.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
