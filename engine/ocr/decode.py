"""Stage 5: turn the recogniser's per-column scores into text (CTC decoding).

* ``greedy_decode``: best symbol per column, merge repeats, drop blanks (Graves et al. 2006).
* ``beam_decode``: CTC prefix beam search in which every new character is also scored by
  a character n-gram language model (shallow fusion) — the modern form of the seed post's
  (OCR技术浅探) idea of correcting the recogniser's top candidates with a language model
  and Viterbi search.

Both return a :class:`Decoded` with the text and one confidence per character (the
mean posterior of the character over the columns where it is the best symbol).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Decoded:
    text: str
    confidences: tuple[float, ...]  # one per character of text, in [0, 1]
    columns: tuple[int, ...] = ()   # output column where each character was emitted


def _is_cjk(ch: str) -> bool:
    return ord(ch) >= 0x2E80


def _kept(text: str) -> list[int]:
    """Positions of ``text`` to keep: a space only between words — one, not at either end, and not between two
    CJK characters (a letter-spaced Chinese line shows gaps that are not spaces)."""
    keep = []
    for i, ch in enumerate(text):
        if ch == " ":
            before = next((c for c in reversed(text[:i]) if c != " "), None)
            after = text[i + 1] if i + 1 < len(text) else None
            if before is None or after is None or after == " " or (_is_cjk(before) and _is_cjk(after)):
                continue
        keep.append(i)
    return keep


def tidy_text(text: str) -> str:
    """``text`` with only the spaces between words (the rule of :func:`tidy_spaces`; training labels use it)."""
    return "".join(text[i] for i in _kept(text))


# What the recogniser reads for a narrow Latin mark that comes right before an Arabic digit, where only the
# Latin mark fits: a minus sign (晴 -5°C), the v of a version number (版本v11.3).
BEFORE_DIGIT = {"一": "-", "ν": "v", "∨": "v"}


def _before_digits(text: str) -> str:
    """``text`` with the lookalikes of BEFORE_DIGIT read as what they must be before an Arabic digit, and 一
    read as a dash standing alone between spaces."""
    out = list(text)
    for i, ch in enumerate(text):
        if ch not in BEFORE_DIGIT:
            continue
        after = text[i + 1] if i + 1 < len(text) else ""
        before = text[i - 1] if i else ""
        if "0" <= after <= "9" or (ch == "一" and before == " " and after == " "):
            out[i] = BEFORE_DIGIT[ch]
    return "".join(out)


# Readings that no text has, each replaced by one of the same length (confidences and columns stay aligned).
# °℃ and ℃C: the recogniser reads a °C drawn as two glyphs as ℃ and also reads one of its two glyphs alone.
IMPOSSIBLE_PAIRS = {"°℃": "°C", "℃C": "°C"}


def tidy_spaces(decoded: Decoded) -> Decoded:
    """``decoded`` with only the spaces between words, each kept character keeping its confidence and column,
    lookalikes read as what they must be before a digit (:func:`_before_digits`) and IMPOSSIBLE_PAIRS replaced."""
    text = decoded.text
    if any(ch in BEFORE_DIGIT for ch in text):
        text = _before_digits(text)
    for pair, reading in IMPOSSIBLE_PAIRS.items():
        text = text.replace(pair, reading)
    if text != decoded.text:
        decoded = Decoded(text, decoded.confidences, decoded.columns)
    if " " not in decoded.text:
        return decoded
    keep = _kept(decoded.text)
    pick = lambda seq: tuple(seq[i] for i in keep) if seq else seq
    return Decoded("".join(decoded.text[i] for i in keep), pick(decoded.confidences), pick(decoded.columns))


# What may stand for the full stop of a list number: the stop itself, and the digit-with-stop forms ⒈–⒛,
# which the recogniser learned from synthetic lines and reads for a typed 2. as often as not.
DIGIT_STOPS = "".join(chr(c) for c in range(0x2488, 0x249C))   # ⒈ … ⒛
LIST_STOPS = ".．" + DIGIT_STOPS


# What follows a number that goes on from the line above (…14.5 / 6亿公斤), not a list number.
AFTER_NUMBERS = set("亿万千百十元角分年月日号时秒点个只件次位名岁倍周天斤吨米克度")


def list_number_stop(log_probs: np.ndarray, decoded: Decoded, symbols, threshold: float = 0.2) -> Decoded:
    """``decoded`` with the full stop of a list number that opens the line (1.价格) put back where the
    recogniser saw one but its blank won, and kept once where it was read twice (⒉. is 2..).

    A small stop close to a narrow 1 gets under half the posterior in its one or two columns (0.16–0.44 on
    seed-1 pages, the blank the rest), and the beam drops it: 11 of seed 1's 100 NFKC edits.  The stop is
    restored when a line opens with one or two digits and then a letter or hanzi that does not go with a number
    (AFTER_NUMBERS; a space between allowed), and some column from the last digit's to the next character's
    gives the forms of LIST_STOPS at least ``threshold`` (true stops on seed-1 pages 0.22–0.45; the most a
    number going on from the line above got, 6亿 and 8亿 on seeds 5 and 11, 0.14).
    """
    text, columns, confidences = decoded.text, decoded.columns, decoded.confidences
    if len(columns) != len(text) or len(confidences) != len(text):
        return decoded
    if len(text) > 1 and text[0] in DIGIT_STOPS and text[1] in ".．":   # ⒉. is 2..: the stop read twice
        return Decoded(text[0] + text[2:], confidences[:1] + confidences[2:], columns[:1] + columns[2:])
    k = 0
    while k < min(len(text), 3) and "0" <= text[k] <= "9":
        k += 1
    after = text[k + 1] if k < len(text) and text[k] == " " and k + 1 < len(text) else text[k:k + 1]
    if not 1 <= k <= 2 or not after.isalpha() or after in AFTER_NUMBERS:
        return decoded
    ids = [i + 1 for i, sym in enumerate(symbols) if sym in LIST_STOPS]
    if not ids:
        return decoded
    span = np.exp(log_probs[columns[k - 1]:columns[k], ids]).sum(axis=1)
    if span.size == 0 or span.max() < threshold:
        return decoded
    at = columns[k - 1] + int(span.argmax())
    return Decoded(text[:k] + "." + text[k:], confidences[:k] + (float(span.max()),) + confidences[k:],
                   columns[:k] + (at,) + columns[k:])


def greedy_decode(log_probs: np.ndarray, symbols) -> Decoded:
    """log_probs: (T, S + 1) log-posteriors, column 0 = blank; symbols[i] is class i + 1."""
    if log_probs.size == 0:
        return Decoded("", ())
    best = log_probs.argmax(axis=1)
    probs = np.exp(log_probs.max(axis=1))
    chars, confs, cols = [], [], []
    previous = 0
    run: list[float] = []
    for t, k in enumerate(best):
        k = int(k)
        if k != previous:
            if previous != 0:
                confs.append(float(np.mean(run)))
            run = []
            if k != 0:
                chars.append(symbols[k - 1])
                cols.append(t)
        if k != 0:
            run.append(float(probs[t]))
        previous = k
    if previous != 0:
        confs.append(float(np.mean(run)))
    return tidy_spaces(Decoded("".join(chars), tuple(confs), tuple(cols)))


def beam_decode(log_probs: np.ndarray, symbols, lm=None, *, beam_width: int = 8, lm_weight: float = 0.3,
                length_bonus: float = 0.6, candidates: int = 6, prune_logp: float = -8.0,
                blank_skip: float = 0.999) -> Decoded:
    """CTC prefix beam search with optional character-LM shallow fusion.

    log_probs: (T, S + 1) log-posteriors (column 0 = blank); symbols[i] is class i + 1;
    lm: anything with ``logp(context: str, char: str) -> float`` (context = up to two preceding characters) or None.
    A prefix's score is log P_ctc(prefix) + lm_weight * log P_lm(prefix) + length_bonus * len(prefix);
    the bonus offsets the LM's per-character cost so it does not favour deleting characters.
    Per column only the ``candidates`` best non-blank symbols above ``prune_logp`` are expanded.
    """
    T = log_probs.shape[0]
    if T == 0:
        return Decoded("", ())
    if lm is None or lm_weight == 0:
        lm = None
    # prefix (tuple of class ids) -> [log p ending in blank, log p ending in non-blank]
    beams: dict[tuple, list[float]] = {(): [0.0, -math.inf]}
    lm_cache: dict[tuple, tuple[float, int]] = {(): (0.0, 0)}
    conf: dict[tuple, tuple] = {(): ()}   # per-character (confidence, column) of the best path so far

    # A space is scored by the recogniser alone: the LM skips it (its context is the last two other characters)
    # and it earns no length bonus.  lm_cache holds (LM log-probability, characters other than spaces).
    space = next((k + 1 for k, c in enumerate(symbols) if c == " "), None)

    def lm_total(prefix: tuple) -> tuple[float, int]:
        value = lm_cache.get(prefix)
        if value is None:
            before, count = lm_total(prefix[:-1])
            if prefix[-1] == space:
                value = (before, count)
            else:
                context = "".join(symbols[k - 1] for k in prefix[:-1] if k != space)[-2:]
                value = (before + (lm.logp(context, symbols[prefix[-1] - 1]) if lm else 0.0), count + 1)
            lm_cache[prefix] = value
        return value

    def total(prefix: tuple, scores: list[float]) -> float:
        lm_logp, count = lm_total(prefix)
        return np.logaddexp(scores[0], scores[1]) + lm_weight * lm_logp + length_bonus * count

    blank_col = log_probs[:, 0]
    for t in range(T):
        row = log_probs[t]
        if math.exp(blank_col[t]) > blank_skip:
            # almost surely blank: every prefix just stays (ending in blank now)
            for prefix, (pb, pnb) in beams.items():
                beams[prefix] = [np.logaddexp(pb, pnb) + blank_col[t], -math.inf]
            continue
        k_best = min(candidates, row.shape[0] - 1)
        top = np.argpartition(row[1:], -k_best)[-k_best:] + 1
        top = [int(k) for k in top if row[k] > prune_logp]
        nxt: dict[tuple, list[float]] = {}

        def add(prefix, which, value):
            entry = nxt.setdefault(prefix, [-math.inf, -math.inf])
            entry[which] = np.logaddexp(entry[which], value)

        for prefix, (pb, pnb) in beams.items():
            p_all = np.logaddexp(pb, pnb)
            add(prefix, 0, p_all + row[0])                 # blank: prefix unchanged
            last = prefix[-1] if prefix else None
            if last is not None:
                add(prefix, 1, pnb + row[last])           # repeat of last symbol collapses
                c = conf[prefix]
                if row[last] > math.log(max(c[-1][0], 1e-9)):
                    conf[prefix] = c[:-1] + ((math.exp(row[last]), c[-1][1]),)
            for k in top:
                new = prefix + (k,)
                if k == last:
                    add(new, 1, pb + row[k])               # a real repeat needs a blank between
                else:
                    add(new, 1, p_all + row[k])
                if new not in conf or math.exp(row[k]) > conf[new][-1][0]:
                    conf[new] = conf[prefix] + ((math.exp(row[k]), t),)
        ranked = sorted(nxt.items(), key=lambda item: total(item[0], item[1]), reverse=True)[:beam_width]
        beams = dict(ranked)
    best = max(beams.items(), key=lambda item: total(item[0], item[1]))[0]
    details = conf.get(best, ())
    return tidy_spaces(Decoded("".join(symbols[k - 1] for k in best),
                               tuple(float(c) for c, _ in details), tuple(int(col) for _, col in details)))
