"""Text for the real-renderer OCR set: sentences the OCR trainer never reads, plus UI-like strings.

The recogniser's trainer (engine/ocr/synth.py) reads People's Daily January 1998
(cws/pd199801), the regulated-verse couplets and the 楹联 pairs.  This set reads the
SIGHAN 2005 *test* texts instead (cws/sighan2005/msr_test.utf8 and pku_test.utf8):
different news and different years, and no 20-character window of a 200-line sample
of either occurs in pd199801.  The generated strings add what screens and forms show
and the corpora lack: dates, prices, versions, units and symbols (℃ ％ ／ － ● ○ ° 「」 …).
"""

from __future__ import annotations

import random
import unicodedata
from functools import lru_cache
from pathlib import Path

from engine.ocr.synth import DATA_DIR

SOURCES = ("sighan2005/msr_test.utf8", "sighan2005/pku_test.utf8")

# Which text the pages show: "test", the held-out text above (the evaluation sets), or "train", the OCR trainer's
# own training lines (pages whose lines train the recogniser: ``build.py --text train``).  Never both in one set.
TEXT = {"source": "test"}


def use_training_text() -> None:
    TEXT["source"] = "train"
    sentences.cache_clear()
    words.cache_clear()


def _raw_lines() -> list[str]:
    if TEXT["source"] == "train":
        from engine.ocr.synth import split_lines

        return list(split_lines("news", held_out=False))
    return [line for name in SOURCES for line in (Path(DATA_DIR) / "cws" / name).read_text(encoding="utf-8").splitlines()]


@lru_cache(maxsize=1)
def sentences() -> tuple[str, ...]:
    """Sentences (10–80 characters), cut at the sentence's own punctuation when longer."""
    out = []
    for raw in _raw_lines():
        line = "".join(raw.split())
        while len(line) > 80:  # cut long ones after a 。；， near the middle
            cut = max((line.rfind(p, 20, 70) for p in "。；，"), default=-1)
            cut = cut + 1 if cut > 0 else 60
            out.append(line[:cut])
            line = line[cut:]
        if len(line) >= 10:
            out.append(line)
    return tuple(out)


@lru_cache(maxsize=1)
def words() -> tuple[str, ...]:
    """Two-to-four-character words of the MSR test gold segmentation, or of the trainer's People's Daily lines
    (for UI labels)."""
    if TEXT["source"] == "train":
        from engine.ocr.synth import HOLDOUT_EVERY

        path = Path(DATA_DIR) / "cws" / "pd199801" / "pd199801_seg.utf8"
        lines = [l for i, l in enumerate(path.read_text(encoding="utf-8").splitlines()) if i % HOLDOUT_EVERY]
    else:
        lines = (Path(DATA_DIR) / "cws" / "sighan2005" / "msr_test_gold.utf8").read_text(encoding="utf-8").splitlines()
    seen = dict.fromkeys(w for line in lines for w in line.split()
                         if 2 <= len(w) <= 4 and all("\u4e00" <= c <= "\u9fff" for c in w))
    return tuple(seen)


LATIN = ("Wi-Fi", "Bluetooth", "USB-C", "iPhone", "Android", "Windows", "Python", "GitHub", "PDF", "Excel",
         "OCR", "AI", "API", "HTTP", "Linux", "macOS", "Email", "VPN", "Mixed", "text", "Update", "Settings",
         "Download", "Cloud", "Office", "Chrome", "Beta", "Pro", "Max", "Plus", "Smart", "Home", "Note")
UNITS = ("℃", "°C", "%", "％", "kg", "km", "MB", "GB", "KB/s", "MB/s", "mm", "cm", "m²", "元", "小时", "分钟", "个", "件", "‰")
BULLETS = ("●", "○", "■", "□", "◆", "★", "☆", "▲", "•", "·", "√", "×", "→", "①", "②", "③")
BRACKETS = (("「", "」"), ("『", "』"), ("【", "】"), ("《", "》"), ("〈", "〉"), ("（", "）"), ("(", ")"), ("“", "”"))


def _num(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.3:
        return str(rng.randint(0, 99))
    if r < 0.6:
        return f"{rng.uniform(0, 999):.{rng.choice([1, 2])}f}"
    if r < 0.8:
        return str(rng.randint(100, 99999))
    return f"{rng.randint(1, 9)},{rng.randint(0, 999):03d}"


def _fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


def mixed(rng: random.Random) -> str:
    """One UI-like string: Chinese words with numbers, dates, units, Latin words and symbols.  Training pages use
    the trainer's own generator instead, so no template of the evaluation strings is trained on."""
    if TEXT["source"] == "train":
        from engine.ocr.synth import symbol_text

        return symbol_text(rng, list(sentences()))[:40].strip()
    w = words()
    kind = rng.randrange(12)
    a, b = rng.choice(w), rng.choice(w)
    if kind == 0:
        s = f"{rng.randint(1998, 2030)}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日 {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"
    elif kind == 1:
        s = f"{a}：{_num(rng)}{rng.choice(UNITS)}"
    elif kind == 2:
        s = f"温度 {rng.randint(-20, 40)}{rng.choice(['℃', '°C', '°'])}，湿度 {rng.randint(10, 99)}{rng.choice(['%', '％'])}"
    elif kind == 3:
        s = f"价格：￥{rng.randint(1, 9999)}.{rng.randint(0, 99):02d}／{rng.choice(['件', '个', '斤', '月'])}"
    elif kind == 4:
        s = f"{rng.choice(LATIN)} {a}{b} {rng.choice(LATIN)} {_num(rng)}"
    elif kind == 5:
        o, c = rng.choice(BRACKETS)
        s = f"{a}{o}{b}{c}{rng.choice(w)}"
    elif kind == 6:
        s = f"版本 v{rng.randint(1, 12)}.{rng.randint(0, 9)}.{rng.randint(0, 30)}（{rng.choice(LATIN)} {a}）"
    elif kind == 7:
        s = f"{a}{b} － {rng.choice(w)} {_fullwidth(str(rng.randint(1, 999)))}"
    elif kind == 8:
        s = f"订单号 {rng.choice('ABCDEFGHJK')}{rng.randint(10000000, 99999999)}  {a}"
    elif kind == 9:
        s = f"{a}{rng.choice(['增长', '下降', '约'])}{rng.randint(1, 99)}.{rng.randint(0, 9)}%，{b}{_num(rng)}{rng.choice(UNITS)}"
    elif kind == 10:
        s = f"Mixed 中英文 text {rng.randint(2000, 2030)}年{rng.randint(1, 12)}月"
    else:
        s = f"{a} {rng.choice(['→', '->', '/', '|', '～', '—'])} {b}"
    return s


def snippet(rng: random.Random, lo: int = 8, hi: int = 30) -> str:
    """A held-out sentence or a piece of one, lo..hi characters."""
    s = rng.choice(sentences())
    n = rng.randint(lo, hi)
    if len(s) <= n:
        return s
    start = 0 if rng.random() < 0.5 else rng.randrange(len(s) - n + 1)  # half the time from the sentence start
    return s[start:start + n]


def read_charset(path: Path) -> set[str]:
    return {l for l in path.read_text(encoding="utf-8").splitlines() if l}


def in_charset(ch: str, symbols: set[str]) -> bool:
    """A character a recogniser with ``symbols`` can get right after NFKC (％ → %, Ａ → A; not ℃ → °C)."""
    if ch.isspace() or ch in symbols:
        return True
    n = unicodedata.normalize("NFKC", ch)
    return bool(n) and all(c in symbols or c.isspace() for c in n)


def outside(text: str, symbols: set[str]) -> str:
    """The distinct characters of ``text`` outside ``symbols`` (in first-seen order)."""
    return "".join(dict.fromkeys(c for c in text if not in_charset(c, symbols)))
