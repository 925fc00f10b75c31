"""Does averaging several segmentation models help?  Dev-split figures for each model and their ensembles.

    .venv/bin/python benchmarks/segment_ensemble.py checkpoints/segment/tail-d02/best checkpoints/segment/tail-s2/best ...

Scores the models on the training corpus's dev split (``--dev-tail`` by default, the split the models
were selected on; the PKU test set is not touched) and then every ensemble of the first k models,
k = 2..N, combined two ways:
- *marginals*: average the per-character tag probabilities (CRF forward-backward) of the models and
  take the best legal tag path through the averaged log-probabilities;
- *product*: add the models' emission and transition scores (a product of the CRFs) and Viterbi-decode.
Run time grows with the number of models, so an ensemble only pays if its gain is worth that.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    from engine.segment.bmes import span_f1, tags_to_spans
    from engine.segment.crf import NEG, marginals_np, numpy_scores, viterbi_np
    from engine.segment.model import load
    from engine.train.segment import DEFAULT_DATA, Example, read_corpus, split_dev

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path, help="model folders (e.g. checkpoints/segment/RUN/best)")
    parser.add_argument("--interleaved", action="store_true", help="use the interleaved dev split instead of the tail")
    args = parser.parse_args(argv)

    import torch
    torch.set_num_threads(1)
    _, dev_sentences = split_dev(read_corpus(DEFAULT_DATA), tail=not args.interleaved)
    dev = sorted((Example(s) for s in dev_sentences), key=lambda e: len(e.text))
    models = [load(m, precision="fp32") for m in args.models]

    # legal-transition scores (0 or NEG) shared by the marginal ensembles
    legal = tuple(np.where(s > NEG / 2, 0.0, NEG).astype(np.float32) for s in numpy_scores(models[0].tagger.crf))

    gold, single = [], [[] for _ in models]
    marg_ens = {k: [] for k in range(2, len(models) + 1)}
    prod_ens = {k: [] for k in range(2, len(models) + 1)}
    batch = 64
    for i in range(0, len(dev), batch):
        chunk = dev[i:i + batch]
        texts = [e.text for e in chunk]
        gold += [tags_to_spans(e.tags) for e in chunk]
        outputs = [(*m.emissions(texts), numpy_scores(m.tagger.crf)) for m in models]
        lengths = outputs[0][1]
        margs = []
        for j, (em, _, scores) in enumerate(outputs):
            paths = viterbi_np(em, lengths, scores)
            single[j] += [tags_to_spans(paths[b, :n].tolist()) for b, n in enumerate(lengths.tolist())]
            margs.append(marginals_np(em, lengths, scores))
        for k in marg_ens:
            avg = np.log(np.mean(margs[:k], axis=0) + 1e-9).astype(np.float32)
            paths = viterbi_np(avg, lengths, legal)
            marg_ens[k] += [tags_to_spans(paths[b, :n].tolist()) for b, n in enumerate(lengths.tolist())]
            em = sum(o[0] for o in outputs[:k])
            scores = tuple(sum(o[2][p] for o in outputs[:k]) for p in range(3))
            paths = viterbi_np(em, lengths, scores)
            prod_ens[k] += [tags_to_spans(paths[b, :n].tolist()) for b, n in enumerate(lengths.tolist())]

    split = "interleaved" if args.interleaved else "tail"
    print(f"dev split: {split}, {len(dev)} sentences, {sum(len(e.text) for e in dev)} characters")
    print(f"{'system':<48} {'P':>7} {'R':>7} {'F1':>7}")
    for path, pred in zip(args.models, single):
        p, r, f = span_f1(gold, pred)
        print(f"{str(path):<48} {100 * p:7.2f} {100 * r:7.2f} {100 * f:7.2f}")
    for k in marg_ens:
        for name, preds in (("marginals", marg_ens[k]), ("product", prod_ens[k])):
            p, r, f = span_f1(gold, preds)
            print(f"{f'ensemble of first {k}, {name}':<48} {100 * p:7.2f} {100 * r:7.2f} {100 * f:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
