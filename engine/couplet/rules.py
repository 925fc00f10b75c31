"""The rules of 对仗 as code: input validation, tones (平仄) and the rule report.

Hard constraints (decoding guarantees them; :func:`check_rules` verifies them):

* the lower line has the upper line's length, with the same punctuation at the same places;
* the lower line repeats characters exactly where the upper line does (same partition of
  positions into equal characters);
* no position holds the upper line's character at that position;
* no 重字: the lower line uses no character of the upper line at all (human lower lines
  almost never do; 辞旧迎新 → 迎新送旧 is what a reader rejects).

Soft rules (scored, reported): tones from pypinyin's standard Mandarin reading, tones 1–2
are 平 (level) and 3–4 仄 (oblique); a lower line should end in 平 when the upper ends in
仄, and positions should oppose each other in 平仄.  Mandarin tones only approximate the
classical categories (入声 characters read in tones 1–2 today count as 平 here), as the
issue asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from engine.couplet.data import MAX_INPUT_LEN, PUNCT_MAP, PUNCTUATION, is_cjk, is_punct
from engine.errors import InputError

PING, ZE = "平", "仄"
_OPENING_MARKS = "“‘《「『（"


class InvalidLine(InputError):  # a MowenError: the CLI prints one line, the GUI a message
    """An upper line (or a lock) that cannot be paired; the message says why, for people."""


def normalise_upper(text: str, max_len: int = MAX_INPUT_LEN) -> str:
    """The upper line cleaned for the models, or :class:`InvalidLine` with a clear reason.

    Spaces are removed and other spellings of the marks become full-width (``PUNCT_MAP``,
    the map the training data uses).  Accepted: one to ``max_len`` characters, Chinese
    characters with clause marks ``，、；：。？！`` and the marks copied in place (dashes,
    ellipses, quotes, book-title marks, brackets).  Rejected: empty lines, anything else
    (Latin, digits, emoji…), a line that starts with a clause mark, two clause marks in a
    row, a line with no Chinese character."""
    if text is None or not text.strip():
        raise InvalidLine("empty line: type an upper line (上联) of Chinese characters")
    out = []
    for ch in text.strip():
        if ch.isspace():
            continue
        ch = PUNCT_MAP.get(ch, ch)
        if not (is_cjk(ch) or is_punct(ch)):
            kind = "Latin letters" if ch.isascii() and ch.isalpha() else \
                "digits" if ch.isdigit() else f"the character {ch!r} (U+{ord(ch):04X})"
            raise InvalidLine(f"not a Chinese line: it contains {kind}; only Chinese characters and "
                              f"punctuation are supported")
        out.append(ch)
    line = "".join(out)
    if not any(is_cjk(ch) for ch in line):
        raise InvalidLine("no Chinese character: type an upper line (上联) of Chinese characters")
    if is_punct(line[0]) and line[0] not in _OPENING_MARKS:
        raise InvalidLine("the line starts with punctuation")
    if any(a in PUNCTUATION and b in PUNCTUATION for a, b in zip(line, line[1:])):
        raise InvalidLine("two punctuation marks in a row: write one mark between the clauses")
    if len(line.rstrip(PUNCTUATION)) > max_len:
        raise InvalidLine(f"too long: {len(line)} characters, at most {max_len} are supported")
    return line


@lru_cache(maxsize=65536)
def tone_of(ch: str) -> int:
    """Mandarin tone 1–4 of a character's most common reading; 0 if unknown or neutral."""
    if not is_cjk(ch):
        return 0
    from pypinyin import Style, lazy_pinyin

    syllable = lazy_pinyin(ch, style=Style.TONE3, neutral_tone_with_five=True, errors="ignore")
    if not syllable or not syllable[0] or not syllable[0][-1].isdigit():
        return 0
    tone = int(syllable[0][-1])
    return tone if 1 <= tone <= 4 else 0


def ping_ze(ch: str) -> str:
    """'平' for tones 1–2, '仄' for 3–4, '' when unknown."""
    tone = tone_of(ch)
    return PING if tone in (1, 2) else ZE if tone in (3, 4) else ""


@lru_cache(maxsize=65536)
def pinyin_of(ch: str, marks: bool = True) -> str:
    """Pinyin with the tone mark (``chūn``) or number (``chun1``, marks=False); '' for punctuation."""
    if not is_cjk(ch):
        return ""
    from pypinyin import Style, lazy_pinyin

    syllable = lazy_pinyin(ch, style=Style.TONE if marks else Style.TONE3, neutral_tone_with_five=not marks,
                           errors="ignore")
    return syllable[0] if syllable else ""


def last_char(line: str) -> str:
    stripped = line.rstrip(PUNCTUATION)
    return stripped[-1] if stripped else ""


def repeat_groups(line: str) -> list[list[int]]:
    """Positions of the non-punctuation characters grouped by character, in order of first use."""
    groups: dict[str, list[int]] = {}
    for i, ch in enumerate(line):
        if not is_punct(ch):
            groups.setdefault(ch, []).append(i)
    return list(groups.values())


@dataclass(frozen=True)
class RuleReport:
    """Which rules a lower line meets for its upper line."""

    same_length: bool
    punctuation: bool  # same marks at the same places, none elsewhere
    repeats: bool  # repeats exactly where the upper line repeats
    no_copy: bool  # no position copies the upper character
    ping_ending: bool | None  # ends in 平 after a 仄 upper ending; None when the upper does not end in 仄
    tone_opposition: float  # share of positions with known tones whose 平仄 are opposed
    no_reuse: bool = True  # no 重字: no character of the upper line anywhere in the lower line

    @property
    def hard_ok(self) -> bool:
        return self.same_length and self.punctuation and self.repeats and self.no_copy

    def as_dict(self) -> dict:
        return {"same_length": self.same_length, "punctuation": self.punctuation, "repeats": self.repeats,
                "no_copy": self.no_copy, "no_reuse": self.no_reuse, "ping_ending": self.ping_ending,
                "tone_opposition": round(self.tone_opposition, 3), "hard_ok": self.hard_ok}


def check_rules(upper: str, lower: str) -> RuleReport:
    same_length = len(upper) == len(lower)
    pairs = list(zip(upper, lower))
    punctuation = same_length and all((u == l) if is_punct(u) else (is_cjk(l)) for u, l in pairs)
    repeats = same_length and all(
        (u1 == u2) == (l1 == l2)
        for i, (u1, l1) in enumerate(pairs) if not is_punct(u1)
        for (u2, l2) in pairs[i + 1:] if not is_punct(u2))
    no_copy = same_length and all(is_punct(u) or u != l for u, l in pairs)
    ping_ending = None
    if ping_ze(last_char(upper)) == ZE:
        ping_ending = ping_ze(last_char(lower)) == PING
    known = [(ping_ze(u), ping_ze(l)) for u, l in pairs if not is_punct(u)]
    known = [(a, b) for a, b in known if a and b]
    opposition = sum(a != b for a, b in known) / len(known) if known else 0.0
    upper_chars = {u for u in upper if not is_punct(u)}
    no_reuse = not any(l in upper_chars for l in lower if not is_punct(l))
    return RuleReport(same_length, punctuation, repeats, no_copy, ping_ending, opposition, no_reuse)
