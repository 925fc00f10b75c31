"""Synthetic text-line images for training and benchmarking the line recogniser.

Idea: there is no real-image Chinese OCR set with transcriptions here, so — as in the
seed post OCR技术浅探 and in the PP-OCR / SynthText line of work — printed lines are
*rendered* from real Chinese text (People's Daily 1998, couplets, regulated-verse
poems, plus digits / Latin / punctuation) with the Debian CJK fonts, then degraded
(blur, noise, JPEG artefacts, rotation, perspective, coloured or textured
backgrounds, underlines, light-on-dark) so the recogniser sees what screenshots,
scans and photos of print look like.

Everything is seeded: ``render_sample(seed)`` always gives the same image and label,
so a worker pool can produce a reproducible stream (``render_batch``) and the
benchmark can render a fixed test set from text the trainer never saw
(``held_out`` lines: every ``HOLDOUT_EVERY``-th corpus line is reserved for testing).

Fonts are read from the system (``/usr/share/fonts``) at render time, plus the UI font bundled in assets/fonts.
"""

from __future__ import annotations

import functools
import json
import math
import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA_DIR = Path(os.environ.get("MOWEN_DATA_DIR", Path(__file__).resolve().parents[3] / "shared" / "data"))
# System fonts first; the app's bundled WenQuanYi Micro Hei lets tests render on machines without CJK fonts.
FONT_DIRS = ("/usr/share/fonts", str(Path(__file__).resolve().parents[2] / "assets" / "fonts"))
HOLDOUT_EVERY = 50  # corpus line i is test-only when i % HOLDOUT_EVERY == 0

CHINESE_PUNCTUATION = "，。、；：？！“”‘’（）《》〈〉【】「」『』—…·～￥"
ASCII_PRINTABLE = "".join(chr(c) for c in range(0x21, 0x7F))


def _gb2312_row(row: int) -> str:
    # the row's unassigned cells do not decode and are skipped
    return "".join(bytes([0xA0 + row, c]).decode("gb2312", errors="ignore") for c in range(0xA1, 0xFF))


# What Chinese screens and pages show besides hanzi, ASCII and CJK punctuation: the GB2312 symbol rows 1 (marks,
# math, units, shapes, arrows), 2 (list numbers ⒈ ⑴ ① ㈠ Ⅰ), 3 (full-width forms), 6 (Greek) and 8's pinyin
# letters, plus Latin-1 letters and the marks screens use.  Left out on purpose: kana (row 4-5), Cyrillic (7),
# bopomofo and box drawing (8-9) are rare in Chinese text and look like hanzi or dashes (エ 工, ロ 口, カ 力, ─ 一);
# and symbols drawn exactly like one already in the set (― U+2015 like —, ∶ like ：, Greek capitals like Latin ones,
# µ like μ; ‖ ˉ ¨ ¤ 〓), whose labels would contradict each other.
_LOOKALIKES = "　―∶‖ˉˇ¨¤〓ΑΒΕΖΗΙΚΜΝΟΡΤΥΧοµ"
EXTRA_SYMBOLS = "".join(dict.fromkeys(
    "".join(_gb2312_row(r) for r in (1, 2, 3, 6)) + _gb2312_row(8)[:26]
    + "⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳•‱™©®✓✔✗✕€£¢℉Ⅰ"
    + "".join(chr(c) for c in range(0xC0, 0x100) if chr(c) not in "×÷")
    + "¡¿«»±×÷°µ¶§¬"))
EXTRA_SYMBOLS = "".join(c for c in EXTRA_SYMBOLS if c not in _LOOKALIKES)
SPACE = " "  # a class of its own: the gap between Latin words (and between Latin and hanzi) is read as one space

# (file name, family the face must have) — the fonts named in the issue.
FONT_FACES = (
    ("NotoSansCJK-Regular.ttc", "Noto Sans CJK SC"),
    ("NotoSansCJK-Bold.ttc", "Noto Sans CJK SC"),
    ("NotoSerifCJK-Regular.ttc", "Noto Serif CJK SC"),
    ("NotoSerifCJK-Bold.ttc", "Noto Serif CJK SC"),
    ("wqy-microhei.ttc", "WenQuanYi Micro Hei"),
    ("wqy-zenhei.ttc", "WenQuanYi Zen Hei"),
    ("ukai.ttc", "AR PL UKai CN"),
    ("uming.ttc", "AR PL UMing CN"),
)


@dataclass(frozen=True)
class FontFace:
    path: str
    index: int
    name: str  # e.g. "Noto Sans CJK SC Bold"


@dataclass(frozen=True)
class LineSample:
    image: np.ndarray  # (H, W) uint8 grayscale crop of one line, any height
    text: str          # label: single spaces where the text has them, if the charset has the space; else none
    font: str
    kind: str          # text source: "news", "poem", "couplet", "mixed", "symbols", "ui", "random"


# ---------------------------------------------------------------- text normalisation
_FULLWIDTH_ALNUM = {c: c - 0xFEE0 for c in range(0xFF10, 0xFF1A)}
_FULLWIDTH_ALNUM.update({c: c - 0xFEE0 for c in range(0xFF21, 0xFF3B)})
_FULLWIDTH_ALNUM.update({c: c - 0xFEE0 for c in range(0xFF41, 0xFF5B)})
_FULLWIDTH_ALNUM[0x3000] = 0x20


def normalise_text(text: str) -> str:
    """Full-width digits/letters → ASCII (what OCR of print should output); keep CJK punctuation."""
    return text.translate(_FULLWIDTH_ALNUM)


def strip_space(text: str) -> str:
    return "".join(text.split())


# ---------------------------------------------------------------- character set
def read_charset_levels(data_dir: Path = DATA_DIR) -> list[list[str]]:
    """The 通用规范汉字表 levels 1-3 as lists of characters."""
    levels = []
    for level in (1, 2, 3):
        path = Path(data_dir) / "charset" / f"tygf2013_level{level}.txt"
        levels.append([line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()])
    return levels


def find_fonts() -> list[FontFace]:
    """The training faces that are installed (subset of FONT_FACES)."""
    from PIL import ImageFont

    found = []
    by_name = {}
    for root in FONT_DIRS:
        for path in Path(root).rglob("*"):
            by_name.setdefault(path.name, str(path))
    for filename, family in FONT_FACES:
        path = by_name.get(filename)
        if path is None:
            continue
        for index in range(12):
            try:
                font = ImageFont.truetype(path, 20, index=index)
            except OSError:
                break
            fam, style = font.getname()
            if fam == family:
                found.append(FontFace(path, index, f"{fam} {style}"))
                break
    return found


def _glyph_signature(font, ch: str) -> bytes:
    mask = font.getmask(ch)
    return bytes(mask.size) + bytes(mask)


def font_coverage(face: FontFace, chars: list[str]) -> set[str]:
    """Characters ``face`` really draws (not its .notdef box, not blank).

    PIL has no cmap query, so a missing glyph is recognised by rendering exactly like a
    code point no CJK font has (a private-use one) or by rendering nothing.
    """
    from PIL import ImageFont

    font = ImageFont.truetype(face.path, 24, index=face.index)
    notdef = {_glyph_signature(font, probe) for probe in ("\U000F0001", "\U000F0002")}
    covered = set()
    for ch in chars:
        mask = font.getmask(ch)
        if mask.size[0] == 0 or mask.size[1] == 0 or max(mask) == 0:
            continue
        if _glyph_signature(font, ch) in notdef:
            continue
        covered.add(ch)
    return covered


@functools.lru_cache(maxsize=1)
def coverage_table(cache_path: str | None = None) -> dict[str, frozenset[str]]:
    """face name → set of covered characters (cached as JSON because it takes seconds)."""
    fonts = find_fonts()
    chars = [c for level in read_charset_levels() for c in level] + list(ASCII_PRINTABLE + CHINESE_PUNCTUATION
                                                                          + EXTRA_SYMBOLS)
    cache = Path(cache_path) if cache_path else None
    key = [f"{f.path}#{f.index}" for f in fonts]
    if cache and cache.is_file():
        data = json.loads(cache.read_text(encoding="utf-8"))
        if data.get("key") == key and data.get("n") == len(chars):
            return {name: frozenset(v) for name, v in data["coverage"].items()}
    table = {f.name: frozenset(font_coverage(f, chars)) for f in fonts}
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({"key": key, "n": len(chars),
                                     "coverage": {k: "".join(sorted(v)) for k, v in table.items()}},
                                    ensure_ascii=False), encoding="utf-8")
    return table


def build_charset(coverage: dict[str, frozenset[str]]) -> list[str]:
    """Recognisable symbols: 通用规范汉字 levels 1-3 that at least one font draws, ASCII, CJK punctuation,
    then (appended, so the older 8,227-symbol models keep their class ids) the extra symbols and the space."""
    drawable = set().union(*coverage.values()) if coverage else set()
    hanzi = [c for level in read_charset_levels() for c in level if c in drawable]
    extra = [c for c in ASCII_PRINTABLE + CHINESE_PUNCTUATION + EXTRA_SYMBOLS if c in drawable]
    return list(dict.fromkeys(hanzi + extra + [SPACE]))


# ---------------------------------------------------------------- corpora
@functools.lru_cache(maxsize=4)
def corpus_lines(source: str, data_dir: str = str(DATA_DIR)) -> tuple[str, ...]:
    """All lines of one source ("news", "poem", "couplet"), normalised, in file order."""
    root = Path(data_dir)
    if source == "news":
        raw = (root / "cws/pd199801/pd199801_seg.utf8").read_text(encoding="utf-8").splitlines()
        lines = [normalise_text(l.replace("  ", "")).strip() for l in raw]
    elif source == "poem":
        ins = (root / "couplet/poetry_regulated_verse/in.txt").read_text(encoding="utf-8").splitlines()
        outs = (root / "couplet/poetry_regulated_verse/out.txt").read_text(encoding="utf-8").splitlines()
        lines = [strip_space(a) + "，" + strip_space(b) + "。" for a, b in zip(ins, outs)]
    elif source == "couplet":
        lines = []
        for name in ("cldldq+zgdl+zgdldq+zgdlw.txt", "lwdy+slqm+xmpj.txt", "mannual.txt"):
            for l in (root / "couplet/zijianzhao" / name).read_text(encoding="utf-8").splitlines():
                up, _, down = l.partition("\t=>\t")
                if down:
                    lines.append(normalise_text(strip_space(up) + "；" + strip_space(down)))
    else:
        raise ValueError(f"unknown corpus {source!r}")
    return tuple(l for l in lines if l)


def split_lines(source: str, held_out: bool) -> list[str]:
    """Training (held_out=False) or test-only (held_out=True) lines of a corpus.

    Held-out lines that also occur verbatim among the training lines (boilerplate such as
    "图片：") are dropped, so test text is never seen in training.
    """
    lines = corpus_lines(source)
    train = [l for i, l in enumerate(lines) if i % HOLDOUT_EVERY != 0]
    if not held_out:
        return train
    seen = set(train)
    return [l for i, l in enumerate(lines) if i % HOLDOUT_EVERY == 0 and l not in seen]


_LATIN_WORDS = ("OCR", "CPU", "GDP", "WTO", "China", "Beijing", "PDF", "USB", "Wi-Fi", "iPhone", "Linux",
                "Python", "email", "http://", "www.", ".com", "ID", "No.", "km", "kg", "A4", "Email", "Qt",
                "NBA", "CCTV", "APEC", "test", "data", "model", "version", "page")


def mixed_text(rng: random.Random, hanzi_source: list[str]) -> str:
    """Chinese mixed with numbers, dates, Latin words and ASCII/CJK punctuation."""
    parts = []
    for _ in range(rng.randint(2, 5)):
        r = rng.random()
        if r < 0.3:
            line = rng.choice(hanzi_source)
            start = rng.randrange(max(1, len(line) - 4))
            parts.append(line[start:start + rng.randint(2, 8)])
        elif r < 0.45:
            parts.append(str(rng.randint(0, 10 ** rng.randint(1, 7))))
        elif r < 0.55:
            parts.append(f"{rng.randint(1949, 2030)}年{rng.randint(1, 12)}月{rng.randint(1, 31)}日")
        elif r < 0.62:
            parts.append(f"{rng.uniform(0, 100):.{rng.randint(1, 2)}f}%")
        elif r < 0.75:
            parts.append(rng.choice(_LATIN_WORDS))
        elif r < 0.85:
            parts.append("".join(rng.choice(ASCII_PRINTABLE) for _ in range(rng.randint(1, 6))))
        else:
            parts.append(rng.choice(CHINESE_PUNCTUATION + ",.:;!?()-/"))
    return "".join(parts)


_ENGLISH_WORDS = ("Open", "file", "Save", "settings", "the", "new", "version", "update", "Mixed", "text", "Download",
                  "Cancel", "OK", "Menu", "Home", "Login", "user", "name", "Hello", "World", "mode", "Dark", "Light",
                  "Wi-Fi", "Bluetooth", "App", "Store", "Google", "Chrome", "Windows", "Office", "Word", "Excel",
                  "report", "of", "and", "for", "to", "in", "on", "is", "at", "by", "with", "from")
_BULLETS = "●○■□◆◇★☆•·▲△※→√✓✔◎⊙"
_LIST_MARKS = ("①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳", "⑴⑵⑶⑷⑸⑹⑺⑻⑼⑽⑾⑿⒀⒁⒂⒃⒄⒅⒆⒇", "⒈⒉⒊⒋⒌⒍⒎⒏⒐⒑⒒⒓⒔⒕⒖⒗⒘⒙⒚⒛",
               "㈠㈡㈢㈣㈤㈥㈦㈧㈨㈩", "ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩⅪⅫ")
_BRACKETS = ("〔〕", "〖〗", "【】", "「」", "『』", "《》", "〈〉", "（）", "［］", "｛｝", "«»")
_MATH = "±×÷≤≥≠≈∞√∑∏∈∪∩∧∨⊥∥∠∫∮≡≌∽∝≮≯∵∴∷⌒"
_UNITS = ("℃", "℉", "°", "°C", "％", "‰", "‱", "′", "″", "€", "£", "￡", "＄", "￥", "¢", "￠", "№", "§", "©", "®", "™")
_PINYIN_VOWELS = "āáǎàaēéěèeīíǐìiōóǒòoūúǔùuǖǘǚǜü"
_GREEK = "ΓΔΘΛΞΠΣΦΨΩαβγδεζηθικλμνξπρστυφχψω"


def fullwidth(text: str) -> str:
    """ASCII 0x21-0x7E → the full-width forms (as typed with a Chinese input method in full-width mode)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _piece(rng: random.Random, lines: list[str], lo: int, hi: int) -> str:
    """lo to hi characters from a random place in a random line of ``lines``."""
    line = rng.choice(lines)
    start = rng.randrange(max(1, len(line) - lo))
    return line[start:start + rng.randint(lo, hi)]


_CHINESE_NUMERALS = "一二三四五六七八九十"


def typed_list_number(rng: random.Random) -> str:
    """A list number as typed, not as one symbol: 1. 2、 (3) （4） 5) 一、 — the . of a heading's "1. " was read
    as nothing on the development pages (16 times), the light （ that opens an item likewise."""
    k = rng.randint(1, 12)
    form = rng.choice(("{}.", "{}.", "{}、", "({})", "（{}）", "{})", "cn"))
    mark = _CHINESE_NUMERALS[(k - 1) % 10] + "、" if form == "cn" else form.format(k)
    return mark + (" " if mark[-1] in ".)" and rng.random() < 0.5 else "")


def symbol_text(rng: random.Random, hanzi_source: list[str]) -> str:
    """A line rich in what screens and documents show besides hanzi: units (25℃, 3.5％), bullets and list numbers,
    brackets, math, full-width forms, Greek, pinyin with tones, Latin-1 names and English words with spaces."""
    def hanzi(lo=2, hi=8):
        return _piece(rng, hanzi_source, lo, hi)

    def number():
        return str(rng.randint(0, 10 ** rng.randint(1, 4))) if rng.random() < 0.6 else f"{rng.uniform(0, 100):.1f}"

    parts: list[str] = []
    if rng.random() < 0.35:  # a list item: bullet or list number first
        marks = rng.choice((_BULLETS, *_LIST_MARKS, None, None, None))  # None: a typed number
        if marks is None:
            parts.append(typed_list_number(rng))
        else:
            # most lists stop by 10, but long ones reach ⑪–⑳ (a page of 15 items read ⑪ as ⑩ and ⑫ as 必)
            reach = len(marks) if rng.random() < 0.3 else min(len(marks), 10)
            parts.append(rng.choice(marks) if marks is _BULLETS else marks[rng.randrange(reach)])
    for _ in range(rng.randint(2, 5)):
        r = rng.random()
        if r < 0.25:
            parts.append(hanzi())
        elif r < 0.4:
            parts.append(number() + rng.choice(_UNITS) if rng.random() < 0.8 else rng.choice(_UNITS) + number())
        elif r < 0.5:
            a, b = rng.choice(_BRACKETS)
            parts.append(a + (hanzi(2, 6) if rng.random() < 0.7 else number()) + b)
        elif r < 0.58:
            parts.append(number() + rng.choice(_MATH) + number())
        elif r < 0.68:
            chunk = rng.choice((number(), rng.choice(_LATIN_WORDS), rng.choice(_ENGLISH_WORDS),
                                "".join(rng.choice(ASCII_PRINTABLE) for _ in range(rng.randint(1, 4)))))
            parts.append(fullwidth(chunk))
        elif r < 0.74:
            parts.append("".join(rng.choice(_GREEK) for _ in range(rng.randint(1, 2))) + rng.choice(("", "-", "=")))
        elif r < 0.8:
            syllable = lambda: (rng.choice("bpmfdtnlgkhjqxzcsrwy") + rng.choice(_PINYIN_VOWELS)
                                + rng.choice(("", "n", "ng", "o", "i")))
            parts.append(" ".join(syllable() for _ in range(rng.randint(1, 3))))
        elif r < 0.92:
            words = [rng.choice(_ENGLISH_WORDS) for _ in range(rng.randint(1, 4))]
            if rng.random() < 0.25:
                words[0] = rng.choice(("Café", "Müller", "José", "Zoë", "naïve", "São", "Ångström", "façade"))
            parts.append(" ".join(words))
        else:
            parts.append(rng.choice(_BULLETS + _MATH + "→←↑↓※§¶¡¿…—～·、"))
    text = parts[0]
    for part in parts[1:]:
        latin = text[-1:].isascii() and text[-1:].isalnum() or part[:1].isascii() and part[:1].isalnum()
        text += " " + part if latin and rng.random() < 0.6 else part
    return text


_UI_WORDS = ("API", "UI", "AI", "IT", "ID", "VPN", "CPU", "GPU", "iOS", "iPad", "Android", "Plus", "Pro", "Max",
             "Lite", "Home", "PDF", "SDK", "IoT", "HTTP", "LTE", "5G", "Wi-Fi", "VIP", "QQ", "App", "IP", "I/O")


def ui_text(rng: random.Random, hanzi_source: list[str]) -> str:
    """What an app's screen shows between hanzi: versions (版本v3.6.29), clock times, ISO dates, meta lines
    joined by · , temperatures and ranges with a minus sign, prices, grouped digits, capitals such as API
    (whose I a sans face draws as l), and the dashes typed between words (-, ---, —, ——)."""
    def hanzi(lo=2, hi=6):
        return _piece(rng, hanzi_source, lo, hi)

    def n(lo, hi):
        return str(rng.randint(lo, hi))

    pieces = (
        lambda: rng.choice(("版本", "版本号", "", "ver ")) + rng.choice("vV") + ".".join(
            n(0, 20) for _ in range(rng.randint(2, 3))),
        lambda: f"{n(0, 23).zfill(2)}:{n(0, 59).zfill(2)}" + (f":{n(0, 59).zfill(2)}" if rng.random() < 0.3 else ""),
        lambda: (lambda sep: f"{n(1990, 2030)}{sep}{n(1, 12).zfill(2)}{sep}{n(1, 28).zfill(2)}")(rng.choice("-/.")),
        lambda: f"{n(2000, 2030)}-{n(1, 12).zfill(2)}-{n(1, 28).zfill(2)} · {hanzi(2, 3)} {n(0, 99999)}",
        lambda: f"{n(-30, 40)}°C" + (f"/{n(-30, 40)}°C" if rng.random() < 0.5 else "") + rng.choice(("", "，", " ")),
        lambda: f"{n(1, 9)}-{n(10, 30)}{rng.choice(('天', '人', '元', '个', '小时', 'km', 'mm'))}",
        lambda: rng.choice("￥$") + f"{rng.uniform(0, 9999):.2f}",
        lambda: f"{rng.randint(1, 999):,}" if rng.random() < 0.3 else f"{rng.randint(1000, 9999999):,}",
        lambda: rng.choice(_UI_WORDS) + rng.choice(("", " ", "(", "）")),
        lambda: hanzi() + rng.choice(("-", "---", "—", "——", "--", "－")) + hanzi(),
        lambda: f"{n(0, 99)}.{n(0, 9)}{rng.choice(('mm', 'kg', 'cm', '%', 'GB', 'MB', 'k'))}",
        lambda: hanzi(),
    )
    parts = [rng.choice(pieces)() for _ in range(rng.randint(2, 4))]
    return rng.choice(("", "", " ", "：", "，")).join(parts)


# ---------------------------------------------------------------- rendering
@functools.lru_cache(maxsize=256)
def _font(path: str, index: int, size: int):
    from PIL import ImageFont

    return ImageFont.truetype(path, size, index=index)


def _background(rng: random.Random, h: int, w: int, light: bool) -> np.ndarray:
    """(H, W, 3) uint8: flat, gradient, noisy-textured or paper-like background."""
    base = np.array([rng.randint(180, 255) if light else rng.randint(0, 90) for _ in range(3)], np.float32)
    if rng.random() < 0.5:  # mostly near-grey, sometimes coloured
        base[:] = base.mean() + (base - base.mean()) * 0.2
    img = np.empty((h, w, 3), np.float32)
    img[:] = base
    r = rng.random()
    if r < 0.25:  # linear gradient (uneven lighting)
        ramp = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
        img += (ramp - 0.5) * rng.uniform(-60, 60)
    elif r < 0.45:  # texture: smoothed noise
        import cv2

        noise = np.random.default_rng(rng.randrange(1 << 30)).normal(0, 1, (max(2, h // 4), max(2, w // 4), 1))
        noise = cv2.resize(noise.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
        img += noise[..., None] * rng.uniform(5, 25) if noise.ndim == 2 else noise * rng.uniform(5, 25)
    return np.clip(img, 0, 255).astype(np.uint8)


def render_text_image(text: str, face: FontFace, size: int, rng: random.Random, *, degrade: bool = True,
                      pad: float | None = None) -> np.ndarray:
    """Render one line of ``text``; returns (H, W) uint8 grayscale, text roughly centred.

    With ``degrade=False`` the line is black on white with no effects (clean subset).
    """
    import cv2
    from PIL import Image, ImageDraw

    font = _font(face.path, face.index, size)
    light_on_dark = degrade and rng.random() < 0.12
    bold = degrade and size >= 16 and rng.random() < 0.15
    stroke = max(1, size // 24) if bold else 0
    left, top, right, bottom = font.getbbox(text, stroke_width=stroke)
    ascent, descent = font.getmetrics()
    line_h = ascent + descent
    pad_v = pad if pad is not None else (rng.uniform(0.05, 0.3) if degrade else 0.15)
    pad_px = int(round(line_h * pad_v))
    pad_l = int(round(line_h * (rng.uniform(0.05, 0.5) if degrade else 0.25)))
    pad_r = int(round(line_h * (rng.uniform(0.05, 0.5) if degrade else 0.25)))
    width = right + pad_l + pad_r + 2 * stroke
    height = line_h + 2 * pad_px + 2 * stroke
    if degrade:
        bg = _background(rng, height, width, light=not light_on_dark)
        fg_level = rng.randint(200, 255) if light_on_dark else rng.randint(0, 90)
        fg = tuple(int(np.clip(fg_level + rng.randint(-30, 30), 0, 255)) for _ in range(3))
        if rng.random() < 0.6:
            fg = (fg_level,) * 3
        image = Image.fromarray(bg)
    else:
        fg = (0, 0, 0)
        image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.text((pad_l + stroke, pad_px + stroke), text, font=font, fill=fg, stroke_width=stroke, stroke_fill=fg)
    if degrade and rng.random() < 0.08:  # underline
        y = pad_px + stroke + ascent + max(1, descent // 2)
        draw.line([(pad_l, y), (pad_l + right, y)], fill=fg, width=max(1, size // 16))
    gray = cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2GRAY)
    if not degrade:
        return gray
    border = int(np.median(np.concatenate([gray[0], gray[-1]])))
    h, w = gray.shape
    if rng.random() < 0.3:  # slight rotation
        angle = rng.uniform(-2.0, 2.0)
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        gray = cv2.warpAffine(gray, m, (w, h), borderMode=cv2.BORDER_CONSTANT, borderValue=border)
    if rng.random() < 0.2:  # slight perspective
        d = 0.04 * h
        src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        dst = src + np.float32([[rng.uniform(-d, d), rng.uniform(-d, d)] for _ in range(4)])
        gray = cv2.warpPerspective(gray, cv2.getPerspectiveTransform(src, dst), (w, h),
                                   borderMode=cv2.BORDER_CONSTANT, borderValue=border)
    if rng.random() < 0.3:  # blur (out of focus, low-resolution scan)
        k = rng.choice((3, 3, 5))
        gray = cv2.GaussianBlur(gray, (k, k), rng.uniform(0.5, 1.2) * size / 32 + 0.3)
    if rng.random() < 0.12:  # motion blur: a phone moved while the shutter was open (a fifth to a third of a glyph)
        n = max(3, round(size * rng.uniform(0.2, 0.35)))
        kernel = np.zeros((n, n), np.float32)
        kernel[n // 2, :] = 1.0
        turn = cv2.getRotationMatrix2D((n / 2 - 0.5, n / 2 - 0.5), rng.uniform(0, 180), 1.0)
        kernel = cv2.warpAffine(kernel, turn, (n, n))
        gray = cv2.filter2D(gray, -1, kernel / max(1e-6, float(kernel.sum())), borderType=cv2.BORDER_REPLICATE)
    if rng.random() < 0.25:  # downscale-upscale: small screen fonts
        f = rng.uniform(0.4, 0.8)
        small = cv2.resize(gray, (max(1, int(w * f)), max(1, int(h * f))), interpolation=cv2.INTER_AREA)
        gray = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.3:  # sensor noise
        noise = np.random.default_rng(rng.randrange(1 << 30)).normal(0, rng.uniform(3, 18), gray.shape)
        gray = np.clip(gray.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    if rng.random() < 0.3:  # JPEG artefacts
        ok, buf = cv2.imencode(".jpg", gray, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(15, 70)])
        if ok:
            gray = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    return gray


class LineSynthesizer:
    """Seeded renderer of (image, label) line samples.

    ``weights`` sets how often each text source is drawn; "random" lines are uniform
    over the whole character set so that rare characters are seen at all.
    """

    def __init__(self, charset: list[str], coverage: dict[str, frozenset[str]], *, held_out: bool = False,
                 weights: dict[str, float] | None = None, size_range: tuple[int, int] = (12, 64),
                 max_chars: int = 24):
        self.charset = charset
        self.charset_set = frozenset(charset)
        self.fonts = [f for f in find_fonts() if f.name in coverage]
        self.coverage = coverage
        self.held_out = held_out
        self.weights = weights or {"news": 0.5, "poem": 0.15, "couplet": 0.12, "mixed": 0.15, "random": 0.08}
        self.size_range = size_range
        self.max_chars = max_chars
        self.sources = {s: split_lines(s, held_out) for s in ("news", "poem", "couplet")}
        self.hanzi = [c for c in charset if ord(c) >= 0x3400 and c not in CHINESE_PUNCTUATION]

    def _text(self, rng: random.Random, kind: str) -> str:
        if kind == "random":
            n = rng.randint(1, self.max_chars)
            return "".join(rng.choice(self.hanzi) for _ in range(n))
        if kind == "mixed":
            return mixed_text(rng, self.sources["news"])[: self.max_chars * 2]
        if kind == "symbols":
            return symbol_text(rng, self.sources["news"])[: self.max_chars * 2]
        if kind == "ui":
            return ui_text(rng, self.sources["news"])[: self.max_chars * 2]
        line = rng.choice(self.sources[kind])
        n = rng.randint(1, self.max_chars)
        start = rng.randrange(max(1, len(line) - n + 1))
        return line[start:start + n]

    def sample(self, seed: int, *, degrade: bool = True, kind: str | None = None,
               font: FontFace | None = None) -> LineSample:
        rng = random.Random(seed)
        if kind is None:
            kinds, w = zip(*self.weights.items())
            kind = rng.choices(kinds, w)[0]
        text = ""
        for _ in range(10):
            text = "".join(c for c in self._text(rng, kind) if c in self.charset_set or c == " ")
            if strip_space(text):
                break
        if not strip_space(text):
            text = rng.choice(self.hanzi)
        face = font or rng.choice(self.fonts)
        cov = self.coverage[face.name]
        if any(c not in cov for c in strip_space(text)):
            able = [f for f in self.fonts if all(c in self.coverage[f.name] for c in strip_space(text))]
            if font is None and able:
                face = rng.choice(able)
            else:
                text = "".join(c for c in text if c in self.coverage[face.name] or c == " ") or "一"
        lo, hi = self.size_range
        size = int(round(math.exp(rng.uniform(math.log(lo), math.log(hi)))))
        image = render_text_image(text, face, size, rng, degrade=degrade)
        label = " ".join(text.split()) if SPACE in self.charset_set else strip_space(text)
        return LineSample(image, label, face.name, kind)


# ---------------------------------------------------------------- multi-process batches
_WORKER_SYNTH: LineSynthesizer | None = None


def _init_worker(charset, coverage, held_out):
    global _WORKER_SYNTH
    _WORKER_SYNTH = LineSynthesizer(charset, coverage, held_out=held_out)


def _render_one(seed: int) -> LineSample:
    return _WORKER_SYNTH.sample(seed)


def render_batch(charset: list[str], coverage: dict[str, frozenset[str]], seeds: list[int], *,
                 processes: int = 1, held_out: bool = False) -> list[LineSample]:
    """Render samples for ``seeds`` (same result for any ``processes``)."""
    if processes <= 1:
        synth = LineSynthesizer(charset, coverage, held_out=held_out)
        return [synth.sample(s) for s in seeds]
    import multiprocessing as mp

    with mp.get_context("fork").Pool(processes, _init_worker, (charset, coverage, held_out)) as pool:
        return pool.map(_render_one, seeds, chunksize=64)


# ---------------------------------------------------------------- pages
@dataclass(frozen=True)
class PageSample:
    image: np.ndarray           # (H, W, 3) uint8 RGB
    lines: tuple[str, ...]      # expected line texts in reading order (no whitespace)
    boxes: tuple[tuple[int, int, int, int], ...]  # where each line was drawn (x0, y0, x1, y1)


def wrap(text: str, width: int) -> list[str]:
    """Cut a paragraph into lines of at most ``width`` characters."""
    return [text[i:i + width] for i in range(0, len(text), width)] or [""]


def render_page(paragraphs: list[str], face: FontFace, size: int, *, columns: int = 1, chars_per_line: int = 16,
                line_spacing: float = 1.6, paragraph_gap: float = 1.0, margin: int = 40, gutter: float = 3.0,
                title: str | None = None, title_size: int | None = None, background=(255, 255, 255),
                ink=(0, 0, 0)) -> PageSample:
    """Lay out paragraphs (wrapped at ``chars_per_line``) in 1 or 2 columns, optional title on top.

    Column 1 is filled before column 2, paragraphs split evenly between columns, so the
    expected reading order is: title, column 1 top to bottom, column 2 top to bottom.
    """
    from PIL import Image, ImageDraw

    font = _font(face.path, face.index, size)
    col_width = int(font.getlength("国" * chars_per_line)) + 2
    step = int(round(size * line_spacing))
    per_column: list[list[str]] = [[] for _ in range(columns)]
    for i, p in enumerate(paragraphs):
        per_column[min(columns - 1, i * columns // max(1, len(paragraphs)))].append(p)
    gutter_px = int(size * gutter)
    width = 2 * margin + columns * col_width + (columns - 1) * gutter_px
    top = margin
    title_font = None
    if title:
        title_font = _font(face.path, face.index, title_size or int(size * 1.6))
        width = max(width, 2 * margin + int(title_font.getlength(title)) + 2)
        top += int((title_size or size * 1.6) * 1.8)
    heights = []
    for col in per_column:
        lines = sum(len(wrap(p, chars_per_line)) for p in col)
        heights.append(lines * step + max(0, len(col) - 1) * int(size * paragraph_gap * line_spacing))
    height = top + max(heights + [0]) + margin
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    texts, boxes = [], []
    if title:
        draw.text((margin, margin), title, font=title_font, fill=ink)
        texts.append(strip_space(title))
        boxes.append(tuple(int(v) for v in draw.textbbox((margin, margin), title, font=title_font)))
    for c, col in enumerate(per_column):
        x = margin + c * (col_width + gutter_px)
        y = top
        for k, paragraph in enumerate(col):
            if k:
                y += int(size * paragraph_gap * line_spacing)
            for line in wrap(paragraph, chars_per_line):
                draw.text((x, y), line, font=font, fill=ink)
                texts.append(strip_space(line))
                boxes.append(tuple(int(v) for v in draw.textbbox((x, y), line, font=font)))
                y += step
    return PageSample(np.asarray(image).copy(), tuple(texts), tuple(boxes))


def default_face(name: str = "Noto Sans CJK SC Regular") -> FontFace | None:
    """An installed training face by name (None if fonts are missing)."""
    for face in find_fonts():
        if face.name == name:
            return face
    fonts = find_fonts()
    return fonts[0] if fonts else None
