"""A word list for reranking lower lines: are the lower line's words real words?

Readers reject lower lines with a non-word (燕色, 徘明) or word salad (老生血手鲁子头才).
The upper line's word boundaries say where the lower line's words should be (对仗 pairs
word with word), so decoding (:mod:`engine.couplet.decode`) segments the upper line with
this list (:meth:`Lexicon.segment`, most probable split under word counts) and checks
that the lower line's characters at each multi-character word's positions form a known word.

The list is words of 1–4 Chinese characters with counts (single characters too, so that the
split is a proper unigram model: 勤为径 splits as 勤/为/径, not as a rare 勤为 + 径), from two sources:
* the PKU 1998 People's Daily corpus (``../shared/data/cws/pd199801``), segmented by people;
* both lines of every training couplet (modern pairs and verse; held-out dev and test lines
  never enter), segmented by Mowen's own segmenter (:func:`engine.segment.segment`); a
  word seen there counts when it is seen at least ``--min-count`` times (verse, which the
  segmenter reads worse, at least ``--min-count-verse``).

The segmenter, trained on news, splits verse into single characters, so the list lacks many
words of couplets (山高, 无涯, 三多).  A two-character span therefore also counts as known
when the pair is *attested*: adjacent in a training couplet phrase at least
``--min-pair-count`` times (山高 287, 无涯 125; the non-words readers rejected: 燕色 0,
徘明 0, 鲁子 2, 头才 7).

    python -m engine.couplet.lexicon --out assets/models/couplet/<name>/lexicon.tsv

The file has ``text<TAB>word count<TAB>pair count`` lines (a count 0 where the text is only
one of the two), words first, most frequent first; a derived list, not corpus text.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from pathlib import Path

from engine.couplet.data import is_cjk

MAX_WORD = 4


def _word(w: str) -> bool:
    return 1 <= len(w) <= MAX_WORD and all(is_cjk(ch) for ch in w)


class Lexicon:
    """``text in lexicon`` (a word, or an attested character pair); ``segment(text)`` →
    spans (start, end) of the most probable split into words."""

    def __init__(self, counts: dict[str, int], pairs: dict[str, int] | None = None):
        self.counts = {w: c for w, c in counts.items() if _word(w) and c > 0}
        self.pairs = {w: c for w, c in (pairs or {}).items() if len(w) == 2 and c > 0}
        total = sum(self.counts.values()) or 1
        self._logp = {w: math.log(c / total) for w, c in self.counts.items()}
        self._unknown = math.log(0.5 / total)  # a character the list never saw, alone

    def __contains__(self, word: str) -> bool:
        return word in self.counts or word in self.pairs

    def __len__(self) -> int:
        return len(self.counts)

    def segment(self, text: str) -> list[tuple[int, int]]:
        """Spans covering ``text``: the split with the highest product of word probabilities
        (count shares; an unseen character stands alone)."""
        n = len(text)
        best = [0.0] + [-math.inf] * n
        back = [0] * (n + 1)
        for end in range(1, n + 1):
            for size in range(1, min(MAX_WORD, end) + 1):
                start = end - size
                step = self._logp.get(text[start:end], self._unknown if size == 1 else None)
                if step is None:
                    continue
                if best[start] + step > best[end]:
                    best[end], back[end] = best[start] + step, start
        spans, end = [], n
        while end > 0:
            spans.append((back[end], end))
            end = back[end]
        return spans[::-1]

    @classmethod
    def load(cls, path: Path | str) -> "Lexicon":
        counts, pairs = {}, {}
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            text, *numbers = line.split("\t")
            word, pair = (int(x) for x in (numbers + ["0"])[:2]) if numbers else (1, 0)
            if text:
                counts[text], pairs[text] = word, pair
        return cls(counts, pairs)

    def save(self, path: Path | str) -> None:
        from engine.files import atomic_write_text

        texts = sorted(self.counts, key=lambda w: (-self.counts[w], w))
        texts += sorted(set(self.pairs) - set(self.counts), key=lambda w: (-self.pairs[w], w))
        atomic_write_text(path, "".join(f"{w}\t{self.counts.get(w, 0)}\t{self.pairs.get(w, 0)}\n" for w in texts))


def pku_counts(folder: Path) -> Counter:
    """Words of the people-segmented PKU corpus (one sentence a line, words split by spaces)."""
    counts: Counter = Counter()
    for path in sorted(folder.glob("*_seg.utf8")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                counts.update(w for w in line.split() if _word(w))
    return counts


def couplet_counts(batch: int = 4000) -> tuple[Counter, Counter, Counter]:
    """(modern, verse) word counts of the training couplets, segmented by Mowen's segmenter,
    and the counts of adjacent character pairs in their phrases."""
    from engine.couplet.data import MODERN, load_modern_splits
    from engine.couplet.lm import phrases
    from engine.segment import segment

    train, _, _ = load_modern_splits()
    modern, verse, pairs = Counter(), Counter(), Counter()
    for pair in train:
        for line in (pair.upper, pair.lower):
            for p in phrases(line):
                pairs.update(p[i:i + 2] for i in range(len(p) - 1))
    for source, counts in ((True, modern), (False, verse)):
        lines = sorted({p for pair in train if (pair.source == MODERN) == source
                        for line in (pair.upper, pair.lower) for p in phrases(line)})
        for i in range(0, len(lines), batch):
            for result in segment(lines[i:i + batch]):
                counts.update(w for w in result.words if _word(w))
    return modern, verse, pairs


def build(pku: Path, min_count: int = 2, min_count_verse: int = 3, min_pair_count: int = 10) -> Lexicon:
    counts = pku_counts(pku) if pku.is_dir() else Counter()
    modern, verse, pairs = couplet_counts()
    for source, least in ((modern, min_count), (verse, min_count_verse)):
        counts.update({w: c for w, c in source.items() if c >= least})
    return Lexicon(counts, {w: c for w, c in pairs.items() if c >= min_pair_count and _word(w)})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.couplet.lexicon", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    from engine.train.segment import DEFAULT_DATA

    parser.add_argument("--pku", type=Path, default=DEFAULT_DATA.parent)
    parser.add_argument("--min-count", type=int, default=2, help="least count of a word segmented from modern couplets")
    parser.add_argument("--min-count-verse", type=int, default=3, help="… from verse couplets")
    parser.add_argument("--min-pair-count", type=int, default=10, help="least count of an attested character pair")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    if not args.pku.is_dir():
        print(f"warning: {args.pku} not found; the list has only the couplet words", file=sys.stderr)
    lexicon = build(args.pku, args.min_count, args.min_count_verse, args.min_pair_count)
    lexicon.save(args.out)
    print(f"{args.out}: {len(lexicon)} words, {len(lexicon.pairs)} attested pairs, "
          f"{args.out.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
