"""Choose the OCR beam search's LM weight and length bonus for a trained recogniser.

    python benchmarks/ocr_decoding.py MODEL_DIR [--lm LM_FILE] [--lines 200]
                                      [--weights 0,0.1,0.15,0.2,0.3] [--bonuses 0.5,1,1.5,2]

Renders held-out lines (seeds 700,000,000+ for degraded and 710,000,000+ for clean lines, so never
the same images as the trainer's validation set or benchmarks/ocr.py's test set), runs the
recogniser once, and prints greedy CER and the CER of every (weight, bonus) pair.  The chosen
pair goes to ``python -m engine.train.ocr --ship NAME --lm-weight W --length-bonus B``.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model_dir", type=Path, help="an exported model folder (config.json, charset.txt, weights)")
    parser.add_argument("--lm", type=Path, help="character LM (default: the shipped OCR model's lm.npz)")
    parser.add_argument("--lines", type=int, default=200, help="degraded lines; half as many clean lines")
    parser.add_argument("--weights", default="0,0.1,0.15,0.2,0.3")
    parser.add_argument("--bonuses", default="0.5,1,1.5,2")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    from engine.ocr import synth
    from engine.ocr.decode import beam_decode, greedy_decode
    from engine.ocr.lm import CharNgramLM
    from engine.ocr.metrics import corpus_cer
    from engine.ocr.model import load
    from engine.ocr.recognise import recognise

    torch.set_num_threads(args.threads)
    model = load(args.model_dir)
    if args.lm is None:
        from engine.registry import REGISTRY

        args.lm = REGISTRY.default("ocr").path / "lm.npz"
    lm = CharNgramLM.load(args.lm)
    coverage = synth.coverage_table(str(Path("checkpoints/ocr/font_coverage.json")))
    synthesizer = synth.LineSynthesizer(synth.build_charset(coverage), coverage, held_out=True)
    groups = {
        "degraded": [synthesizer.sample(700_000_000 + i) for i in range(args.lines)],
        "clean": [synthesizer.sample(710_000_000 + i, degrade=False, font=synthesizer.fonts[i % len(synthesizer.fonts)])
                  for i in range(args.lines // 2)],
    }
    weights = [float(x) for x in args.weights.split(",")]
    bonuses = [float(x) for x in args.bonuses.split(",")]
    print("subset    weight bonus  CER")
    for name, samples in groups.items():
        log_probs = recognise(model, [s.image for s in samples])
        refs = [s.text for s in samples]
        greedy = corpus_cer([(greedy_decode(lp, model.symbols).text, r) for lp, r in zip(log_probs, refs)])
        print(f"{name:9s} greedy       {greedy:.4f}", flush=True)
        for w, b in itertools.product(weights, bonuses):
            cer = corpus_cer([(beam_decode(lp, model.symbols, lm, lm_weight=w, length_bonus=b).text, r)
                              for lp, r in zip(log_probs, refs)])
            print(f"{name:9s} {w:6.2f} {b:5.2f}  {cer:.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
