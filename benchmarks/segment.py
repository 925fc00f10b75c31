"""Mowen's segmenter against jieba (precise mode) on the SIGHAN 2005 PKU test set, in one run.

    .venv/bin/python benchmarks/segment.py [--model NAME] [--repeat 3]

Prints, for both: whole-file speed in characters/s (best of ``--repeat`` runs, model and
dictionary loading excluded), the official SIGHAN scorer's P/R/F1, OOV and IV recall;
the speed ratio; the MSR test F1 (a different segmentation standard: cross-standard
figure only); and the latency of segmenting one typed 50-character sentence (with
probabilities, as the GUI does).  Needs perl and ../shared/data/cws/sighan2005.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SIGHAN = ROOT.parent / "shared" / "data" / "cws" / "sighan2005"
SENTENCE_50 = "近年来，人工智能技术迅速发展，2023年全球GPU出货量增长了３．５％，带动了上下游相关产业的升级。"


def read_lines(path: Path) -> list[str]:
    return [line.rstrip("\r") for line in path.read_bytes().decode("utf-8").split("\n")]


def score(words_file: str, gold: str, output: list[str]) -> dict[str, float]:
    """Run the official scorer on ``output`` lines; returns its summary figures."""
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(output))
        name = handle.name
    proc = subprocess.run(["perl", str(SIGHAN / "score"), str(SIGHAN / words_file), str(SIGHAN / gold), name],
                          capture_output=True, text=True, check=True)
    figures = {}
    for key, label in [("recall", "TOTAL TRUE WORDS RECALL"), ("precision", "TOTAL TEST WORDS PRECISION"),
                       ("f1", "F MEASURE"), ("oov_rate", "OOV Rate"), ("oov_recall", "OOV Recall Rate"),
                       ("iv_recall", "IV Recall Rate")]:
        match = re.search(rf"=== {re.escape(label)}:\s*([0-9.]+)", proc.stdout)
        figures[key] = float(match.group(1)) if match else float("nan")
    Path(name).unlink()
    return figures


def timed(fn, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="Mowen model name (default: the default segmentation model)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if not (SIGHAN / "score").is_file():
        print(f"SIGHAN 2005 data not found under {SIGHAN}", file=sys.stderr)
        return 2

    import logging

    import jieba
    import torch

    from engine.device import describe_device
    from engine.registry import load_model
    from engine.segment.api import segment

    if args.threads:
        torch.set_num_threads(args.threads)
    jieba.setLogLevel(logging.WARNING)
    start = time.perf_counter()
    jieba.initialize()
    jieba_load = time.perf_counter() - start
    start = time.perf_counter()
    model = load_model(args.model, task="segment")
    mowen_load = time.perf_counter() - start

    pku = read_lines(SIGHAN / "pku_test.utf8")
    msr = read_lines(SIGHAN / "msr_test.utf8")
    n_chars = sum(len(line) for line in pku)

    def run_mowen(lines):
        return [" ".join(r.words) for r in segment(lines, model=model, probabilities=False)]

    def run_jieba(lines):
        return [" ".join(w for w in jieba.cut(line) if w.strip()) for line in lines]

    run_mowen(pku[:50])  # warm-up (first-call allocations)
    mowen_s, mowen_out = timed(lambda: run_mowen(pku), args.repeat)
    jieba_s, jieba_out = timed(lambda: run_jieba(pku), args.repeat)
    mowen_pku = score("pku_training_words.utf8", "pku_test_gold.utf8", mowen_out)
    jieba_pku = score("pku_training_words.utf8", "pku_test_gold.utf8", jieba_out)
    mowen_msr = score("msr_training_words.utf8", "msr_test_gold.utf8", run_mowen(msr))
    jieba_msr = score("msr_training_words.utf8", "msr_test_gold.utf8", run_jieba(msr))

    sentence = SENTENCE_50[:50]
    latencies = []
    for _ in range(30):
        start = time.perf_counter()
        segment(sentence, model=model, probabilities=True)
        latencies.append(time.perf_counter() - start)
    jieba_lat = []
    for _ in range(30):
        start = time.perf_counter()
        list(jieba.cut(sentence))
        jieba_lat.append(time.perf_counter() - start)

    print(f"device: {describe_device()}; Mowen model {model.name} ({model.precision}); "
          f"load Mowen {mowen_load:.2f} s, jieba {jieba_load:.2f} s")
    print(f"PKU test: {len(pku)} lines, {n_chars} characters; best of {args.repeat} runs")
    print(f"{'':8} {'chars/s':>10} {'P':>7} {'R':>7} {'F1':>7} {'OOV R':>7} {'IV R':>7} {'MSR F1':>7}")
    for name, seconds, pku_fig, msr_fig in [("Mowen", mowen_s, mowen_pku, mowen_msr),
                                            ("jieba", jieba_s, jieba_pku, jieba_msr)]:
        print(f"{name:8} {n_chars / seconds:10.0f} {pku_fig['precision'] * 100:7.2f} {pku_fig['recall'] * 100:7.2f} "
              f"{pku_fig['f1'] * 100:7.2f} {pku_fig['oov_recall'] * 100:7.2f} {pku_fig['iv_recall'] * 100:7.2f} "
              f"{msr_fig['f1'] * 100:7.2f}")
    print(f"speed ratio Mowen/jieba: {jieba_s / mowen_s:.2f}x (PKU OOV rate {mowen_pku['oov_rate']:.3f})")
    print(f"one typed {len(sentence)}-char sentence, with probabilities: median {statistics.median(latencies) * 1000:.1f} ms, "
          f"max {max(latencies) * 1000:.1f} ms (jieba median {statistics.median(jieba_lat) * 1000:.2f} ms)")
    print("Mowen:", " / ".join(segment(sentence, model=model).words))
    return 0


if __name__ == "__main__":
    sys.exit(main())
