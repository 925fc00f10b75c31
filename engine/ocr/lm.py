"""The OCR package's character n-gram LM: :class:`engine.ngram.CharNgramLM` built from the
OCR training corpora.

Idea: the seed post OCR技术浅探 corrects the recogniser's top candidates with a language
model and a Viterbi search; here the LM scores every character the CTC beam search
(:func:`engine.ocr.decode.beam_decode`) proposes.  Build from the training part of the
corpora (held-out lines excluded):

    python -m engine.ocr.lm --out assets/models/ocr/<name>/lm.npz [--order 3] [--synthetic N]

``--synthetic N`` (default SYNTHETIC_LINES, what ships; 0 for the corpora alone) adds N seeded lines of each synthetic text kind the recogniser also trains on
(:func:`engine.ocr.synth.mixed_text`, ``symbol_text``, ``ui_text``: digits, units, dates, versions,
Latin words; their hanzi are pieces of the training news lines).  The corpora alone hardly hold a ℃ or
a kg, so the LM's weight pushed the beam to drop such a symbol where the recogniser was unsure of it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.ngram import UNSEEN_MASS, CharNgramLM, train_char_lm  # noqa: F401  (re-exported: OCR callers)


SYNTHETIC_LINES = 20_000   # per synthetic kind in the shipped LM (docs/notes/ocr.md, session 10)


def build_lm(synthetic: int = SYNTHETIC_LINES, order: int = 3, min_count: int = 2, min_count_trigram: int = 3):
    """The OCR LM from :func:`training_texts` (the recipe ``--ship`` and this module's CLI share)."""
    return train_char_lm(training_texts(synthetic), min_count=min_count, order=order,
                         min_count_trigram=min_count_trigram)


def training_texts(synthetic: int = 0):
    """The corpora's training lines (every HOLDOUT_EVERY-th line is held out for the benchmark), then
    ``synthetic`` lines of each synthetic kind, seeded by their index."""
    import random

    from engine.ocr.synth import mixed_text, split_lines, symbol_text, ui_text

    for source in ("news", "poem", "couplet"):
        yield from split_lines(source, held_out=False)
    news = split_lines("news", held_out=False)
    for k, make in enumerate((mixed_text, symbol_text, ui_text)):
        for i in range(synthetic):
            yield make(random.Random(1_000_003 * (k + 1) + i), news)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.ocr.lm", description="build the OCR character n-gram LM")
    parser.add_argument("--out", required=True)
    parser.add_argument("--order", type=int, choices=(2, 3), default=3)
    parser.add_argument("--min-count", type=int, default=2, help="keep bigrams seen at least this often")
    parser.add_argument("--min-count-trigram", type=int, default=3, help="keep trigrams seen at least this often")
    parser.add_argument("--synthetic", type=int, default=SYNTHETIC_LINES, metavar="N",
                        help="add N lines of each synthetic kind (mixed, symbols, ui); 0 = the corpora only "
                             "(default: %(default)s, as shipped)")
    args = parser.parse_args(argv)
    if args.synthetic < 0:
        parser.error("--synthetic must be 0 or more")
    lm = build_lm(args.synthetic, order=args.order, min_count=args.min_count,
                  min_count_trigram=args.min_count_trigram)
    lm.save(args.out)
    print(f"{args.out}: order {lm.order}, {len(lm.chars)} characters, {len(lm._bigram)} bigrams, "
          f"{len(lm._trigram)} trigrams, {Path(args.out).stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
