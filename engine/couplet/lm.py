"""A character trigram language model of couplet lines, for fluency in decoding.

The couplet model sees the upper line and writes the lower one; a plain language model
of couplet text knows which character sequences are Chinese at all (the idea of the OCR
seed post, 语言模型 + Viterbi, applied to writing instead of reading).  Decoding adds
``lm_weight × log P_lm(char | two characters before)`` to the model's score of each
candidate character (shallow fusion, :mod:`engine.couplet.decode`), which pushes the beam
away from non-words such as 燕色 or 徘明.

It is the interpolated absolute-discounting n-gram that OCR uses too
(:class:`engine.ngram.CharNgramLM`), trained on both lines of every couplet in the
training split (modern couplets weighted up as in training); held-out dev and test lines
never enter it.  Clause punctuation splits a line into the phrases that are counted.

    python -m engine.couplet.lm --out assets/models/couplet/<name>/lm.npz
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

_CLAUSES = re.compile(r"[，、；：。？！—…·“”‘’《》「」『』（）]+")


def phrases(text: str) -> list[str]:
    return [p for p in _CLAUSES.split(text) if p]


def training_texts(modern_repeat: int = 2):
    from engine.couplet.data import MODERN, load_modern_splits

    train, _, _ = load_modern_splits()
    for pair in train:
        for _ in range(modern_repeat if pair.source == MODERN else 1):
            for line in (pair.upper, pair.lower):
                yield from phrases(line)


def main(argv=None) -> int:
    from engine.ngram import train_char_lm

    parser = argparse.ArgumentParser(prog="python -m engine.couplet.lm", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--min-count", type=int, default=2)
    parser.add_argument("--min-count-trigram", type=int, default=3)
    args = parser.parse_args(argv)
    lm = train_char_lm(training_texts(), min_count=args.min_count, order=3, min_count_trigram=args.min_count_trigram)
    lm.save(args.out)
    print(f"{args.out}: {len(lm.chars)} characters, {len(lm._bigram)} bigrams, {len(lm._trigram)} trigrams, "
          f"{args.out.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
