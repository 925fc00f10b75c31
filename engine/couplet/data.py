"""Couplet training data: read, clean, deduplicate, split and batch upper/lower line pairs.

Upper and lower lines of a couplet (对联) align character by character, which is the
premise of the seed post 基于CNN和序列标注的对联机器人: writing the lower line is a
sequence-labelling problem over the upper line.  This module turns the two corpora under
``/work/shared/data/couplet`` into aligned pairs of equal length:

* ``poetry_regulated_verse`` — 颔联/颈联 of Tang and Song regulated verse (classical,
  5 or 7 characters), split into train/dev by ``poem_id`` so the two couplets of one poem
  never land on both sides;
* ``zijianzhao`` — modern and classical 楹联/春联 plus couplet primers (variable length,
  internal punctuation), split by a hash of the upper line's characters, so the copies of
  one couplet with and without punctuation stay on one side;
* ``modern_extra`` — 87k more modern couplets (four collections, ``pairs.tsv`` each),
  split by the same hash.

:func:`load_splits` is the split the first models were trained on (dev: 1% of poems, 3%
of modern uppers).  :func:`load_modern_splits` adds ``modern_extra`` and carves its dev
and test sets out of that same 3% of modern uppers (hash < 0.015 → dev, < 0.03 → test),
so no shipped model — old or new — has trained on either: the modern dev split selects
models, the modern test split reports them.

Cleaning keeps CJK characters and the couplet punctuation ``，、；：。？！`` in place (ASCII
forms are mapped to full width), drops trailing punctuation, and rejects pairs that do not
align (different length or punctuation at different positions) or contain anything else.
The modern collections are much smaller than the poetry corpus, so the trainer oversamples
them (``modern_repeat``) to make both styles work.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# the corpora live beside the repository (../shared/data/couplet), never in it
DATA_DIR = Path(os.environ.get("MOWEN_COUPLET_DATA") or Path(__file__).resolve().parents[3] / "shared" / "data" / "couplet")
CACHE_DIR = Path(__file__).resolve().parents[2] / "checkpoints" / "couplet" / "data"

PUNCTUATION = "，、；：。？！"  # clause marks: the ones the training data keeps
# other marks a user's couplet may hold; copied to the lower line in place, never generated
COPIED_MARKS = "—…·“”‘’《》「」『』（）"
# the one map from other spellings to the full-width marks, for training data and user input
PUNCT_MAP = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！", ".": "。", "．": "。", "､": "、",
             "-": "—", "－": "—", "―": "—", "(": "（", ")": "）", '"': "“"}
MAX_LEN = 30  # longest line the models are trained on
MAX_INPUT_LEN = 50  # longest line a user may give (longer positions are extrapolated)
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PAD, UNK, CLS, SEP, MASK = range(5)

POETRY = "poetry"
MODERN = "modern"  # 楹联/春联 collections and primers


def is_cjk(ch: str) -> bool:
    """A CJK unified ideograph (basic block + extension A + compatibility)."""
    o = ord(ch)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF


def is_punct(ch: str) -> bool:
    """A mark the lower line copies in place (clause marks and the other accepted marks)."""
    return ch in PUNCTUATION or ch in COPIED_MARKS


def clean_line(text: str) -> str | None:
    """Normalise one line (spaces dropped, ASCII punctuation to full width, trailing
    punctuation removed); None when it holds anything but CJK and couplet punctuation."""
    out = []
    for ch in text.strip():
        if ch.isspace():
            continue
        ch = PUNCT_MAP.get(ch, ch)
        if is_cjk(ch) or ch in PUNCTUATION:  # training pairs keep the clause marks only
            out.append(ch)
        else:
            return None
    line = "".join(out).rstrip(PUNCTUATION)
    if not line or line[0] in PUNCTUATION:
        return None
    # two punctuation marks in a row never belong to a couplet line
    if any(a in PUNCTUATION and b in PUNCTUATION for a, b in zip(line, line[1:])):
        return None
    return line


def aligned(upper: str, lower: str) -> bool:
    """Equal length and punctuation at the same positions (and only there)."""
    if len(upper) != len(lower):
        return False
    return all(is_punct(a) == is_punct(b) for a, b in zip(upper, lower))


@dataclass(frozen=True)
class Pair:
    upper: str
    lower: str
    source: str  # POETRY or MODERN
    group: str  # split key: poem id, or a hash of the upper line's characters


def _stable_fraction(key: str) -> float:
    digest = hashlib.sha1(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def read_poetry(data_dir: Path = DATA_DIR) -> list[Pair]:
    folder = data_dir / "poetry_regulated_verse"
    uppers = (folder / "in.txt").read_text(encoding="utf-8").split("\n")
    lowers = (folder / "out.txt").read_text(encoding="utf-8").split("\n")
    with lzma.open(folder / "meta.tsv.xz", "rt", encoding="utf-8") as handle:
        meta = handle.read().split("\n")
    header = meta[0].split("\t")
    id_col = header.index("poem_id")
    pairs = []
    for i, (u, l) in enumerate(zip(uppers, lowers)):
        if not u.strip():
            continue
        poem_id = meta[i + 1].split("\t")[id_col] if i + 1 < len(meta) else f"line{i}"
        pairs.append((u, l, POETRY, poem_id))
    return _clean_pairs(pairs)


def _modern_pairs(paths, separator: str) -> list[tuple[str, str, str, str]]:
    """Raw (upper, lower, MODERN, key) from files of ``upper<separator>lower`` lines; the split
    key is the upper line's Chinese characters, so copies with and without punctuation stay together."""
    pairs = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").split("\n"):
            parts = line.split(separator)
            if len(parts) == 2:
                u, l = parts
                pairs.append((u, l, MODERN, "".join(ch for ch in u if is_cjk(ch))))
    return pairs


def _zijianzhao_raw(data_dir: Path):
    return _modern_pairs(sorted((data_dir / "zijianzhao").glob("*.txt")), "\t=>\t")


def _modern_extra_raw(data_dir: Path):
    return _modern_pairs(sorted((data_dir / "modern_extra").glob("*/pairs.tsv")), "\t")


def read_modern(data_dir: Path = DATA_DIR) -> list[Pair]:
    return _clean_pairs(_zijianzhao_raw(data_dir))


def _clean_pairs(raw) -> list[Pair]:
    seen = set()
    out = []
    for u, l, source, group in raw:
        cu, cl = clean_line(u), clean_line(l)
        if cu is None or cl is None or len(cu) > MAX_LEN or not aligned(cu, cl):
            continue
        if (cu, cl) in seen:
            continue
        seen.add((cu, cl))
        out.append(Pair(cu, cl, source, group))
    return out


def read_modern_extra(data_dir: Path = DATA_DIR) -> list[Pair]:
    """The ``modern_extra`` collections: ``upper<TAB>lower`` per line in each ``*/pairs.tsv``."""
    return _clean_pairs(_modern_extra_raw(data_dir))


def split_pairs(pairs: list[Pair], dev_fraction: float) -> tuple[list[Pair], list[Pair]]:
    """Deterministic split by group (poem / upper line), so related pairs stay together."""
    train, dev = [], []
    for p in pairs:
        (dev if _stable_fraction(p.source + ":" + p.group) < dev_fraction else train).append(p)
    return train, dev


def _write_tsv(path: Path, pairs: list[Pair]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(f"{p.upper}\t{p.lower}\t{p.source}\t{p.group}\n" for p in pairs), encoding="utf-8")
    tmp.replace(path)


def _read_tsv(path: Path) -> list[Pair]:
    out = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if line:
            u, l, s, g = line.split("\t")
            out.append(Pair(u, l, s, g))
    return out


def load_splits(data_dir: Path = DATA_DIR, cache_dir: Path = CACHE_DIR) -> tuple[list[Pair], list[Pair]]:
    """(train, dev) pairs; built once from ``data_dir`` and cached as TSV in ``cache_dir``.

    Dev: 1% of poems and 3% of modern upper lines (about 2.5k + 1.3k pairs)."""
    train_path, dev_path = cache_dir / "train.tsv", cache_dir / "dev.tsv"
    if train_path.is_file() and dev_path.is_file():
        return _read_tsv(train_path), _read_tsv(dev_path)
    if not (data_dir / "poetry_regulated_verse" / "in.txt").is_file():
        raise FileNotFoundError(f"couplet data not found under {data_dir}")
    p_train, p_dev = split_pairs(read_poetry(data_dir), 0.01)
    m_train, m_dev = split_pairs(read_modern(data_dir), 0.03)
    train, dev = p_train + m_train, p_dev + m_dev
    # a dev pair whose upper line also occurs in train would flatter the metrics
    train_uppers = {p.upper for p in train}
    dev = [p for p in dev if p.upper not in train_uppers]
    _write_tsv(train_path, train)
    _write_tsv(dev_path, dev)
    return train, dev


def load_modern_splits(data_dir: Path = DATA_DIR, cache_dir: Path = CACHE_DIR.parent / "data-modern"
                       ) -> tuple[list[Pair], list[Pair], list[Pair]]:
    """(train, modern dev, modern test); cached as TSV in ``cache_dir``.

    Modern pairs (``zijianzhao`` + ``modern_extra``) go to dev when the hash of their upper
    line's characters is below 0.015 and to test below 0.03 — inside the 3% that
    :func:`load_splits` already kept out of training.  Poetry keeps its 1% dev out of train.
    A train pair that shares a line with a dev or test pair is dropped."""
    paths = [cache_dir / f"{k}.tsv" for k in ("train", "dev", "test")]
    if all(p.is_file() for p in paths):
        return tuple(_read_tsv(p) for p in paths)  # type: ignore[return-value]
    if not (data_dir / "poetry_regulated_verse" / "in.txt").is_file():
        raise FileNotFoundError(f"couplet data not found under {data_dir}")
    p_train, _ = split_pairs(read_poetry(data_dir), 0.01)
    modern = _clean_pairs(_zijianzhao_raw(data_dir) + _modern_extra_raw(data_dir))  # deduplicated across both
    m_train, held = split_pairs(modern, 0.03)
    dev = [p for p in held if _stable_fraction(p.source + ":" + p.group) < 0.015]
    test = [p for p in held if _stable_fraction(p.source + ":" + p.group) >= 0.015]
    held_lines = {x for p in held for x in (p.upper, p.lower)}
    train = [p for p in p_train + m_train if p.upper not in held_lines and p.lower not in held_lines]
    for path, pairs in zip(paths, (train, dev, test)):
        _write_tsv(path, pairs)
    return train, dev, test


def build_vocab(pairs: list[Pair], min_count: int = 2) -> list[str]:
    """Special tokens, then punctuation, then characters seen ≥ ``min_count`` times (by frequency)."""
    counts = Counter()
    for p in pairs:
        counts.update(p.upper)
        counts.update(p.lower)
    chars = [c for c, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
             if n >= min_count and not is_punct(c)]
    return SPECIAL_TOKENS + list(PUNCTUATION) + chars


def encode(text: str, index: dict[str, int]) -> list[int]:
    return [index.get(ch, UNK) for ch in text]


def training_examples(train: list[Pair], modern_repeat: int, poetry_fraction: float = 1.0,
                      rng: random.Random | None = None, swapped_repeat: int = 0) -> list[Pair]:
    """The training list with modern couplets repeated ``modern_repeat`` times and a random
    ``poetry_fraction`` of the poetry pairs (style balance: users write modern couplets).

    ``swapped_repeat`` adds each modern couplet that many times the other way round (lower line
    asked, upper line answered): parallelism runs both ways, and the causal half reads twice as
    much modern text, where modern pairs are the scarce data."""
    out = []
    for p in train:
        if p.source == MODERN:
            out.extend([p] * modern_repeat)
            out.extend([Pair(p.lower, p.upper, p.source, p.group)] * swapped_repeat)
        elif poetry_fraction >= 1.0 or (rng or random).random() < poetry_fraction:
            out.append(p)
    return out


def length_batches(pairs: list[Pair], batch_size: int, rng: random.Random,
                   max_tokens: int | None = None) -> list[list[Pair]]:
    """Shuffled batches of pairs of one exact length (no padding needed).

    ``max_tokens`` caps batch_size × length so long lines make smaller batches."""
    by_len: dict[int, list[Pair]] = {}
    for p in pairs:
        by_len.setdefault(len(p.upper), []).append(p)
    batches = []
    for n, group in by_len.items():
        rng.shuffle(group)
        size = batch_size if max_tokens is None else max(1, min(batch_size, max_tokens // n))
        batches.extend(group[i:i + size] for i in range(0, len(group), size))
    rng.shuffle(batches)
    return batches
