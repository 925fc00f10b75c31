"""Text handling around the tagger: normalisation, rule spans, the user dictionary.

* ``normalise_for_model`` maps every character to exactly one character (so offsets
  never move): full-width ASCII (``１２Ａ，％``) to half-width, then digits to ``0`` and
  Latin letters to ``a``.  The PKU training text writes ``１９９８年`` while the test
  text writes ``1998年``; after this both read ``0000年`` to the model.  The user's
  original characters are what every output shows.
* ``rule_restrictions`` finds spans that must stay whole whatever the model thinks:
  URLs/e-mail addresses (forced to be exactly one word), runs of Latin letters and
  numbers such as ``3.5%`` (no cut inside; the model still decides whether ``年`` or
  ``月`` joins them, as in ``2023年``), and whitespace/control characters, which are
  word boundaries and never part of a word.
* ``UserDictionary`` reads/writes jieba's format (``word [freq] [tag]``) and finds the
  dictionary words of a text by forward maximum matching; those spans are forced to
  be exactly one word (constrained decoding), so a dictionary word is never split.

All restrictions are expressed as one boolean array ``allowed`` of shape (len(text), 4)
over the BMES tags; the CRF turns False entries into impossible choices.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from engine.segment.bmes import B, E, M, S

# -- normalisation ----------------------------------------------------------------

_FULL_TO_HALF = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_FULL_TO_HALF[0x3000] = 0x20
_HALF = str.maketrans(_FULL_TO_HALF)
_DIGITS_LETTERS = str.maketrans(
    {**{c: "0" for c in "0123456789"},
     **{c: "a" for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"}})


def codepoints(text: str) -> np.ndarray:
    """(len(text),) uint32 code points (lone surrogates allowed)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def to_half_width(text: str) -> str:
    """Full-width ASCII forms (U+FF01–FF5E) and the ideographic space to ASCII; same length."""
    return text.translate(_HALF)


def normalise_for_model(text: str) -> str:
    """What the model reads: half-width, digits → '0', Latin letters → 'a'; same length."""
    return to_half_width(text).translate(_DIGITS_LETTERS)


# Whitespace and control/format/private-use/surrogate/noncharacter code points.
SEPARATOR_CLASS = (r"\s\x00-\x1f\x7f-\x9f\xad\u061c\u180e\u200b-\u200c\u200e-\u200f\u2028-\u202e"
                   r"\u2060-\u206f\ud800-\uf8ff\ufeff\ufff0-\uffff\U000e0000-\U0010ffff")
_SEPARATOR = re.compile(f"[{SEPARATOR_CLASS}]")


def is_separator(char: str) -> bool:
    """Whitespace and control/format characters: word boundaries, never part of a word."""
    return _SEPARATOR.match(char) is not None


def has_separator(text: str) -> bool:
    return _SEPARATOR.search(text) is not None


# -- rule spans ---------------------------------------------------------------------

_URL = re.compile(r"(?:[a-z][a-z0-9+.-]*://|www\.)[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+"
                  r"|[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+", re.IGNORECASE)
# Both widths, matched on the original text (no copy of it needed).
_L = "A-Za-zＡ-Ｚａ-ｚ"
_D = "0-9０-９"
_LATIN = re.compile(f"[{_L}]+(?:['’.\\-．－][{_L}]+)*")
_NUMBER = re.compile(f"[{_D}]+(?:[,，][{_D}]{{3}}(?![{_D}]))*(?:[.．:：][{_D}]+)?[%％‰]?")
_TRAILING = ".,:;!?)]}'\""
# What a reader sees as one character although it is several code points (grapheme clusters):
# flags (two regional indicators), keycaps, emoji with modifiers / variation selectors / tag
# characters and their ZWJ sequences, letters with combining marks.  Never cut inside one.
_PICTO = ("\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u2199\u21a9\u21aa\u231a\u231b\u2328\u23cf"
          "\u23e9-\u23f3\u23f8-\u23fa\u24c2\u25aa\u25ab\u25b6\u25c0\u25fb-\u25fe\u2600-\u27bf\u2934\u2935"
          "\u2b05-\u2b07\u2b1b\u2b1c\u2b50\u2b55\U0001F000-\U0001FAFF")
_EXTEND = "\u0300-\u036f\u1ab0-\u1aff\u20d0-\u20ff\ufe00-\ufe0f\U0001F3FB-\U0001F3FF\U000E0020-\U000E007F"
_CLUSTER = re.compile("[\U0001F1E6-\U0001F1FF]{2}"
                      "|[0-9#*]\ufe0f?\u20e3"
                      f"|[{_PICTO}][{_EXTEND}]*(?:\u200d[{_PICTO}][{_EXTEND}]*)+"
                      f"|[^\\s{_EXTEND}][{_EXTEND}]+")


def grapheme_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every multi-code-point grapheme cluster of ``text`` (see _CLUSTER)."""
    return [m.span() for m in _CLUSTER.finditer(text) if m.end() - m.start() > 1]


@dataclass(frozen=True)
class Restrictions:
    """Per-character tag restrictions of one text (see module docstring)."""

    allowed: np.ndarray        # (len(text), 4) bool
    separators: np.ndarray     # (len(text),) bool: whitespace/control, not part of any word


def _force_word(allowed: np.ndarray, start: int, end: int) -> None:
    """Make text[start:end] exactly one word."""
    if end - start == 1:
        allowed[start] = False
        allowed[start, S] = True
        return
    allowed[start:end] = False
    allowed[start, B] = True
    allowed[start + 1:end - 1, M] = True
    allowed[end - 1, E] = True


def _keep_whole(allowed: np.ndarray, start: int, end: int) -> None:
    """No word boundary inside text[start:end] (its ends are left to the model)."""
    allowed[start:end - 1, E] = False
    allowed[start:end - 1, S] = False


def rule_restrictions(text: str, user_spans: Iterable[tuple[int, int]] = ()) -> Restrictions:
    """Restrictions for ``text`` from the rules and from dictionary spans ``user_spans``."""
    n = len(text)
    allowed = np.ones((n, 4), dtype=bool)
    separators = np.zeros(n, dtype=bool)
    for match in _SEPARATOR.finditer(text):
        separators[match.start()] = True
    taken = np.zeros(n, dtype=bool)
    for match in _URL.finditer(text):
        start, end = match.span()
        while end > start + 1 and text[end - 1] in _TRAILING:
            end -= 1
        _force_word(allowed, start, end)
        taken[start:end] = True
    for start, end in user_spans:
        if not taken[start:end].any() and not separators[start:end].any():
            _force_word(allowed, start, end)
            taken[start:end] = True
    for pattern in (_LATIN, _NUMBER):
        for match in pattern.finditer(text):
            start, end = match.span()
            if not taken[start:end].any():
                _keep_whole(allowed, start, end)
                taken[start:end] = True
    for start, end in grapheme_spans(text):
        separators[start:end] = False  # tag characters of a flag belong to it
        _keep_whole(allowed, start, end)
    if separators.any():
        # A separator is a one-character "word" that is dropped from the output, and the
        # character before it must end a word.
        idx = np.flatnonzero(separators)
        allowed[idx] = False
        allowed[idx, S] = True
        before = idx[idx > 0] - 1
        before = before[~separators[before]]
        allowed[before, B] = False
        allowed[before, M] = False
    # A restriction must never leave a character with no tag at all.
    empty = ~allowed.any(axis=1)
    if empty.any():
        allowed[empty] = True
    return Restrictions(allowed=allowed, separators=separators)


# -- user dictionary ------------------------------------------------------------------

class UserDictionary:
    """Words that must never be split; jieba's file format; thread-safe edits.

    ``spans(text)`` finds dictionary words by forward maximum matching (longest word
    first, left to right, non-overlapping).
    """

    def __init__(self, words: Iterable[str] = ()):
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[str, str]] = {}   # word -> (freq, tag) as written
        self._max_len = 0
        for word in words:
            self.add(word)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, word: str) -> bool:
        return word in self._entries

    def __iter__(self):
        return iter(sorted(self._entries))

    @property
    def words(self) -> list[str]:
        return sorted(self._entries)

    def add(self, word: str, freq: str = "", tag: str = "") -> bool:
        """Add a word (surrounding whitespace stripped); False if empty or with inner whitespace."""
        word = word.strip()
        if not word or any(is_separator(c) for c in word):
            return False
        with self._lock:
            self._entries[word] = (freq, tag)
            self._max_len = max(self._max_len, len(word))
        return True

    def remove(self, word: str) -> bool:
        with self._lock:
            if self._entries.pop(word.strip(), None) is None:
                return False
            self._max_len = max((len(w) for w in self._entries), default=0)
        return True

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._max_len = 0

    def spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of the dictionary words found in ``text`` by forward maximum matching."""
        with self._lock:
            entries, max_len = self._entries, self._max_len
            if not entries:
                return []
            found = []
            i, n = 0, len(text)
            while i < n:
                for length in range(min(max_len, n - i), 0, -1):
                    if text[i:i + length] in entries:
                        found.append((i, i + length))
                        i += length
                        break
                else:
                    i += 1
            return found

    # -- files ----------------------------------------------------------------
    @classmethod
    def load(cls, path: Path | str) -> "UserDictionary":
        user_dict = cls()
        user_dict.update_from_file(path)
        return user_dict

    def update_from_file(self, path: Path | str) -> int:
        """Add the words of a jieba-format file (UTF-8, BOM allowed); returns how many."""
        text = Path(path).read_bytes().decode("utf-8-sig")
        return self.update_from_text(text)

    def update_from_text(self, text: str) -> int:
        added = 0
        for line in text.splitlines():
            parts = line.strip().split()
            if not parts or parts[0].startswith("#"):
                continue
            word, rest = parts[0], parts[1:]
            freq = rest[0] if rest and rest[0].isdigit() else ""
            tag = rest[-1] if rest and not rest[-1].isdigit() else ""
            added += self.add(word, freq, tag)
        return added

    def to_text(self) -> str:
        lines = []
        for word in self.words:
            freq, tag = self._entries[word]
            lines.append(" ".join(x for x in (word, freq, tag) if x))
        return "".join(line + "\n" for line in lines)

    def save(self, path: Path | str) -> None:
        from engine.registry import atomic_write_text

        atomic_write_text(path, self.to_text())
