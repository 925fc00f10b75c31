"""A blind reading of lower lines: models and the human line, shuffled and unlabelled.

    python benchmarks/couplet_reading.py sheet --models couplet-bert couplet-unilm --n 60 --out DIR
    python benchmarks/couplet_reading.py sheet --split dev --models couplet-unilm "couplet-unilm@word_weight=2" --out DIR
    (read DIR/sheet.md, fill DIR/marks.txt: one line per item, a + or - per line, e.g. "7 A+ B- C+")
    python benchmarks/couplet_reading.py tally DIR

``sheet`` draws ``--n`` upper lines from the held-out modern *test* split (``--split dev``
for choosing decoding settings; seeded) and writes each model's best line (beam search, the
model's decoding settings; ``NAME@KEY=VALUE,KEY=VALUE`` overrides some, as
``benchmarks/couplet.py --set`` does, so that one model can be read with two settings) and
the human lower line in a random order as A, B, C… (``sheet.md``).  It keeps which is which
in ``key.json`` (a line two systems share is shown once and its mark counts for both) and
writes a ``marks.txt`` template.  Read the sheet as a strict couplet reader: a line is
acceptable when it means something, reads as Chinese, pairs with the upper line (对仗: parts
of speech, structure) and stays on its topic; tones alone do not save a line.  ``tally``
unblinds the marks and prints the acceptance rate per system, with the sheet, for the model
card.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

LETTERS = "ABCDEFGH"


def load_variant(spec: str):
    """(model, label) for ``NAME`` or ``NAME@KEY=VALUE,KEY=VALUE`` (decoding settings overridden)."""
    from benchmarks.couplet import load_any

    name, _, settings = spec.partition("@")
    model, label = load_any(name)
    model = copy.copy(model)  # the registry hands out one cached object per name; the weights stay shared
    for item in filter(None, settings.split(",")):
        key, _, value = item.partition("=")
        model.config = {**model.config, key: float(value)}
    return model, label + (f"@{settings}" if settings else "")


def make_sheet(models: list[str], n: int, seed: int, out: Path, split: str = "test") -> None:
    from engine.couplet.data import load_modern_splits
    from engine.couplet.decode import generate_couplet
    from engine.files import atomic_write_text

    _, dev, test = load_modern_splits()
    rng = random.Random(seed)
    pairs = rng.sample([p for p in (dev if split == "dev" else test) if len(p.upper) >= 2], n)
    loaded = [load_variant(spec) for spec in models]
    items, key = [], []
    for k, pair in enumerate(pairs, 1):
        lines = [("human", pair.lower)] + [(label, generate_couplet(pair.upper, model=m).best.text) for m, label in loaded]
        by_text: dict[str, list[str]] = {}  # a line two systems share is shown (and marked) once
        for who, text in lines:
            by_text.setdefault(text, []).append(who)
        lines = [(who[0] if len(who) == 1 else who, text) for text, who in by_text.items()]
        rng.shuffle(lines)
        items.append(f"{k}. {pair.upper}\n" + "".join(f"   {LETTERS[i]}. {text}\n" for i, (_, text) in enumerate(lines)))
        key.append({LETTERS[i]: who for i, (who, _) in enumerate(lines)})
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "sheet.md", "\n".join(items))
    atomic_write_text(out / "key.json", json.dumps(key, ensure_ascii=False, indent=1) + "\n")
    marks = out / "marks.txt"
    if not marks.exists():  # never overwrite a reader's marks
        atomic_write_text(marks, "".join(f"{k} " + " ".join(f"{letter}?" for letter in item) + "\n"
                                         for k, item in enumerate(key, 1)))
    print(f"wrote {out / 'sheet.md'} ({n} items, up to {len(models) + 1} lines each); mark {marks}")


def tally(folder: Path) -> str:
    key = json.loads((folder / "key.json").read_text(encoding="utf-8"))
    counts: dict[str, list[int]] = {}
    for line in (folder / "marks.txt").read_text(encoding="utf-8").splitlines():
        m = re.match(r"\s*(\d+)\s+(.*)", line)
        if not m:
            continue
        item = key[int(m.group(1)) - 1]
        for letter, mark in re.findall(r"([A-H])([+-?])", m.group(2)):
            if mark == "?":
                raise SystemExit(f"marks.txt: item {m.group(1)} line {letter} is not marked yet")
            who = item[letter]
            for system in [who] if isinstance(who, str) else who:  # a shared line counts for each system
                got = counts.setdefault(system, [0, 0])
                got[0] += mark == "+"
                got[1] += 1
    rows = ["| system | accepted | of | rate |", "| --- | ---: | ---: | ---: |"]
    for who, (ok, total) in sorted(counts.items(), key=lambda kv: -kv[1][0]):
        rows.append(f"| {who} | {ok} | {total} | {ok / total:.0%} |")
    return "\n".join(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sheet")
    s.add_argument("--models", nargs="+", required=True)
    s.add_argument("--n", type=int, default=60)
    s.add_argument("--seed", type=int, default=2026)
    s.add_argument("--split", choices=["dev", "test"], default="test",
                   help="held-out modern split: dev for choosing settings, test for the record")
    s.add_argument("--out", type=Path, required=True)
    t = sub.add_parser("tally")
    t.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    if args.command == "sheet":
        make_sheet(args.models, args.n, args.seed, args.out, args.split)
    else:
        print(tally(args.folder))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
