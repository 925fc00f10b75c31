"""Constrained decoding of lower lines: ``generate_couplet(upper, ...) -> CoupletResult``.

A model gives log-probabilities for every lower-line position (:mod:`engine.couplet.model`).
Decoding searches *character slots* rather than positions: positions where the upper
line repeats a character form one slot and receive one character, and different slots
receive different characters, so the repeat structure of the two lines is identical by
construction.  Punctuation positions are copied, the upper character of a slot is removed
from its candidates, and special tokens are never candidates, so every hard constraint of
对仗 holds for every output (:func:`engine.couplet.rules.check_rules` confirms it).

Soft rules enter the search score: a bonus for 平仄 opposition at each position (larger on
the even positions, the ones that matter in 一三五不论，二四六分明) and a large penalty
when the upper line ends in 仄 and the candidate does not end in 平.

No 重字: a lower line never uses a character of the upper line (the rule a reader checks
first; human lower lines keep it), except where the user locks one.

Search: beam search over slots (temperature 0) or sampling with temperature, top-k and
top-p (N candidates, distinct).  An *autoregressive* model (the UniLM seq2seq,
``model.autoregressive``) is searched left to right instead: each character is chosen
given the upper line and the characters already written (``model.start``), so the
line reads as one sentence rather than N independent guesses.  Characters can be locked at chosen positions (and 藏头
mode locks the first character).  For a conditional model (the BERT masked LM) the
candidates are refined by mask-predict (Ghazvininejad et al., 2019): the least confident
slots are masked again and predicted with the rest of the line visible, for
``refine_steps`` rounds.

Reranking (autoregressive beam search, model config ``word_weight`` / ``mmi_weight``): the
whole final beam is rescored before the best ``n`` are kept.  ``word_weight`` is subtracted
for each multi-character word of the upper line (segmented with the model's
``lexicon.tsv``, :mod:`engine.couplet.lexicon`) whose mirrored span in the lower line is not
a known word (readers reject 燕色, 徘明); ``mmi_weight`` × log P(upper | lower), the same
model reading the candidate as the upper line, favours lower lines the upper line follows
from over generic ones (maximum mutual information, Li et al. 2016).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.couplet.data import PUNCTUATION, is_cjk, is_punct
from engine.couplet.rules import PING, ZE, InvalidLine, RuleReport, check_rules, normalise_upper, ping_ze, repeat_groups

ENDING_PENALTY = 8.0  # log-prob units; makes a 仄 ending after a 仄 upper ending very rare
PING_AFTER_PING_PENALTY = 1.0  # an upper line ending in 平 prefers a 仄 lower ending
OPPOSITION_BONUS_EVEN = 0.5  # per position (2nd, 4th, 6th …) whose 平仄 opposes the upper's
OPPOSITION_BONUS_ODD = 0.15
FALLBACK_LOG_PROB = -50.0  # for characters outside the model's vocabulary
LM_SHORTLIST = 32  # candidates per beam the character LM rescores at each step
MAX_CANDIDATES, MAX_BEAM, MAX_REFINE = 50, 64, 10  # option ranges (larger ones run for minutes)
MAX_WORD_WEIGHT, MAX_MMI_WEIGHT = 20.0, 5.0  # reranking weights (config ``word_weight``, ``mmi_weight``)
# characters used only when a model's vocabulary cannot fill every slot (tiny test models)
_FALLBACK_CHARS = ("天地人山水风云日月花草春秋江河湖海星辰雪雨霜露松竹梅兰书画琴棋诗酒茶香金玉石木火土"
                   "东西南北红绿青白黄紫高低长短新旧古今来去大小多少深浅远近明暗开合")


@dataclass(frozen=True)
class Candidate:
    """One lower line.  ``score`` = (model log-prob + rule bonus) per character;
    ``alternatives[i]`` = the model's best (character, probability) at position i (empty for
    punctuation), the upper character at i excluded."""

    text: str
    score: float
    log_prob: float  # mean model log-probability per character
    rules: RuleReport
    alternatives: tuple[tuple[tuple[str, float], ...], ...]

    def as_dict(self) -> dict:
        return {"text": self.text, "score": round(self.score, 4), "log_prob": round(self.log_prob, 4),
                "rules": self.rules.as_dict()}


@dataclass(frozen=True)
class CoupletResult:
    upper: str
    model: str
    candidates: tuple[Candidate, ...]

    @property
    def best(self) -> Candidate:
        return self.candidates[0]


# --------------------------------------------------------------------------------------


def _tone_classes(model) -> np.ndarray:
    """Per vocabulary entry: 1 平, 2 仄, 0 unknown (cached on the model object)."""
    cached = getattr(model, "_tone_classes", None)
    if cached is None:
        cached = np.array([{PING: 1, ZE: 2}.get(ping_ze(t), 0) if len(t) == 1 else 0 for t in model.vocab], np.int8)
        model._tone_classes = cached
    return cached


def _tone_class(ch: str) -> int:
    return {PING: 1, ZE: 2}.get(ping_ze(ch), 0)


def _position_weight(i: int) -> float:
    return OPPOSITION_BONUS_EVEN if i % 2 == 1 else OPPOSITION_BONUS_ODD


def _bonus_vector(upper: str, positions: list[int], classes: np.ndarray, tone: float = 1.0) -> np.ndarray:
    """Rule bonus of every vocabulary entry for a slot covering ``positions``: (V,).
    ``tone`` scales the 平仄-opposition bonus (a model config's ``tone_weight``)."""
    bonus = np.zeros(len(classes), np.float32)
    last = len(upper) - 1
    for i in positions:
        uc = _tone_class(upper[i])
        if uc:
            bonus += tone * _position_weight(i) * ((classes != 0) & (classes != uc))
        if i == last:
            if uc == 2:
                bonus -= ENDING_PENALTY * (classes != 1)
            elif uc == 1:
                bonus -= PING_AFTER_PING_PENALTY * (classes == 1)
    return bonus


def _bonus_of(upper: str, positions: list[int], ch: str, tone: float = 1.0) -> float:
    """The same bonus for one character (used for characters outside the vocabulary)."""
    c = _tone_class(ch)
    total = 0.0
    last = len(upper) - 1
    for i in positions:
        uc = _tone_class(upper[i])
        if uc and c and c != uc:
            total += tone * _position_weight(i)
        if i == last:
            if uc == 2 and c != 1:
                total -= ENDING_PENALTY
            elif uc == 1 and c == 1:
                total -= PING_AFTER_PING_PENALTY
    return total


class _Problem:
    """One upper line: its slots, locks and the model's scores per slot."""

    def __init__(self, model, upper: str, locked: dict[int, str]):
        self.model = model
        self.upper = upper
        self.slots = repeat_groups(upper)
        self.slot_of = {i: g for g, ps in enumerate(self.slots) for i in ps}
        self.locked: dict[int, str] = {}  # slot -> character
        for pos, ch in locked.items():
            self.locked[self.slot_of[pos]] = ch
        self.classes = _tone_classes(model)
        self.tone_weight = float(getattr(model, "config", {}).get("tone_weight", 1.0))
        self.bonus = [_bonus_vector(upper, ps, self.classes) for ps in self.slots]
        self.needed = len(self.slots) + len(self.locked) + 2
        # 重字: no character of the upper line in the lower line (locks excepted)
        self.upper_chars = {u for u in upper if not is_punct(u)}
        self.banned = np.array(sorted(i for ch in self.upper_chars if (i := model.index.get(ch)) is not None), np.int64)

    def fallback(self, count: int, have: set[str]) -> list[str]:
        """``count`` characters outside ``have`` and the upper line, for vocabularies too small to fill a line."""
        out: list[str] = []
        pool = iter(_FALLBACK_CHARS + "".join(chr(c) for c in range(0x4E00, 0x4E00 + 4 * count + 200)))
        for ch in pool:
            if len(out) >= count:
                break
            if ch not in have and ch not in self.upper_chars and ch not in out:
                out.append(ch)
        return out

    def model_logp(self, rows: np.ndarray, g: int, ch: str) -> float:
        idx = self.model.index.get(ch)
        if idx is None or not np.isfinite(rows[self.slots[g], idx]).all():
            return FALLBACK_LOG_PROB * len(self.slots[g])
        return float(rows[self.slots[g], idx].sum())

    def candidates(self, rows: np.ndarray, g: int, how_many: int) -> list[tuple[str, float, float]]:
        """Best (char, total score, model log-prob) for slot g, best first; rows: (n, V)."""
        ps = self.slots[g]
        model_score = rows[ps].sum(axis=0)
        total = model_score + self.bonus[g]
        total[self.banned] = -np.inf
        out = [(self.model.vocab[j], float(total[j]), float(model_score[j])) for j in _top(total, how_many)]
        if len(out) < self.needed:  # tiny vocabularies: top up with fallback characters
            for ch in self.fallback(self.needed - len(out), {c for c, _, _ in out}):
                lp = FALLBACK_LOG_PROB * len(ps)
                out.append((ch, lp + _bonus_of(self.upper, ps, ch), lp))
        return out

    def locked_entry(self, rows: np.ndarray, g: int) -> tuple[str, float, float]:
        ch = self.locked[g]
        lp = self.model_logp(rows, g, ch)
        return ch, lp + _bonus_of(self.upper, self.slots[g], ch), lp


def _beam_search(problem: _Problem, rows: np.ndarray, fixed: dict[int, str], width: int, n_out: int):
    """Best ``n_out`` slot assignments: list of tuple(chars per slot)."""
    n_slots = len(problem.slots)
    how_many = max(width, problem.needed, 8)
    beams = [(0.0, (), frozenset(fixed.values()))]
    for g in range(n_slots):
        expanded = []
        if g in fixed:
            ch = fixed[g]
            lp = problem.model_logp(rows, g, ch)
            step = lp + _bonus_of(problem.upper, problem.slots[g], ch)
            expanded = [(s + step, chars + (ch,), used) for s, chars, used in beams]
        else:
            options = problem.candidates(rows, g, how_many)
            for s, chars, used in beams:
                taken = 0
                for ch, tot, _ in options:
                    if ch in used:
                        continue
                    expanded.append((s + tot, chars + (ch,), used | {ch}))
                    taken += 1
                    if taken >= width:
                        break
        expanded.sort(key=lambda b: -b[0])
        beams = expanded[: max(width, n_out)]
    return [chars for _, chars, _ in beams[:n_out]]


def _sample(problem: _Problem, rows: np.ndarray, fixed: dict[int, str], temperature: float,
            top_k: int, top_p: float, rng: np.random.Generator):
    """One slot assignment drawn slot by slot from the constrained, filtered distribution."""
    used = set(fixed.values())
    chars = []
    how_many = max(problem.needed, top_k or 0, 64)
    for g in range(len(problem.slots)):
        if g in fixed:
            chars.append(fixed[g])
            continue
        options = [(ch, tot) for ch, tot, _ in problem.candidates(rows, g, how_many) if ch not in used]
        if top_k and top_k > 0:
            options = options[:top_k]
        ch = options[_pick([tot for _, tot in options], temperature, top_p, rng)][0]
        used.add(ch)
        chars.append(ch)
    return tuple(chars)


def _autoregressive(problem: _Problem, fixed: dict[int, str], width: int, n_out: int, temperature: float,
                    top_k: int, top_p: float, rng: np.random.Generator, scores: list | None = None
                    ) -> list[tuple[str, ...]]:
    """Lower lines written left to right by ``model.start(upper)`` (an incremental decoder) → slot assignments.

    Temperature 0: beam search of ``width`` (≥ n_out) partial lines, ranked by model log-prob
    plus rule bonus.  Otherwise ``n_out`` lines sampled in parallel (temperature, top-k,
    top-p).  Punctuation is copied, repeated positions take their slot's character, locks
    are forced; elsewhere the upper line's characters (重字) and characters already used by
    another slot are never chosen.  ``scores``, when given, receives each returned line's
    search score (model log-prob + rule bonus + LM term, summed)."""
    model, upper = problem.model, problem.upper
    classes = problem.classes
    sampling = temperature > 0
    lm, lm_weight = _fluency_model(model)
    size = n_out if sampling else max(width, n_out)
    # beams: (score, characters written, slot -> character, index of the parent beam)
    beams: list[tuple[float, list[str], dict[int, str], int]] = [(0.0, [], dict(fixed), 0)]
    if sampling:
        beams = beams * size
    decoder = model.start(upper)
    for i, u in enumerate(upper):
        if i > 0:  # the character just written is the next slot's input
            decoder.advance([parent for *_, parent in beams], [chars[-1] for _, chars, _, _ in beams])
        rows = decoder.next_log_probs()  # also at punctuation: its input enters the cache
        if is_punct(u):
            beams = [(s, chars + [u], slots, b) for b, (s, chars, slots, _) in enumerate(beams)]
            continue
        g = problem.slot_of[i]
        bonus = _bonus_vector(upper, [i], classes, problem.tone_weight)
        expanded = []
        for b, (s, chars, slots, _) in enumerate(beams):
            row = rows[b if len(rows) > 1 else 0]  # sampled lines share the start state
            if g in slots:  # a repeat of an earlier position, or a lock
                ch = slots[g]
                idx = model.index.get(ch)
                lp = float(row[idx]) if idx is not None and np.isfinite(row[idx]) else FALLBACK_LOG_PROB
                expanded.append((s + lp + _bonus_of(upper, [i], ch, problem.tone_weight), chars + [ch], slots, b))
                continue
            total = row + bonus
            total[problem.banned] = -np.inf
            used = [model.index[c] for c in slots.values() if c in model.index]
            total[used] = -np.inf
            keep = max(width, top_k or 0, 64) if sampling else width
            if lm is not None:  # shallow fusion on the model's best few
                options = _top(total, max(4 * width, LM_SHORTLIST, top_k or 0))
                context = _phrase_context(chars)
                for j in options:
                    total[j] += lm_weight * lm.logp(context, model.vocab[j])
                options = sorted(options, key=lambda j: -total[j])[:keep]
            else:
                options = _top(total, keep)
            if not options:  # a vocabulary too small for this line (tiny test models)
                for ch in problem.fallback(1 if sampling else width, set(slots.values())):
                    step = FALLBACK_LOG_PROB + _bonus_of(upper, [i], ch, problem.tone_weight)
                    expanded.append((s + step, chars + [ch], {**slots, g: ch}, b))
                    if sampling:
                        break
            elif sampling:
                if top_k and top_k > 0:
                    options = options[:top_k]
                j = options[_pick([total[j] for j in options], temperature, top_p, rng)]
                expanded.append((s + float(total[j]), chars + [model.vocab[j]], {**slots, g: model.vocab[j]}, b))
            else:
                for j in options:
                    expanded.append((s + float(total[j]), chars + [model.vocab[j]], {**slots, g: model.vocab[j]}, b))
        if not sampling:
            expanded.sort(key=lambda beam: -beam[0])
        beams = expanded[:size]
    out, seen = [], set()
    for score, chars, slots, _ in beams:
        a = tuple(slots[g] for g in range(len(problem.slots)))
        if a not in seen:
            seen.add(a)
            out.append(a)
            if scores is not None:
                scores.append(score)
    if scores is not None:
        del scores[n_out:]
    return out[:n_out]



def _fluency_model(model):
    """(character LM, weight) when the model ships one (``lm.npz``, config ``lm_weight`` ≠ 0), else (None, 0).
    A negative weight subtracts the LM (anti-LM / MMI decoding: lines specific to their upper line)."""
    lm = getattr(model, "lm", None)
    weight = float(getattr(model, "config", {}).get("lm_weight", 0.0))
    return (lm, weight) if lm is not None and weight != 0 else (None, 0.0)


def _phrase_context(chars: list[str]) -> str:
    """The last two characters of the phrase being written (punctuation starts a new phrase)."""
    context = []
    for ch in reversed(chars[-2:]):
        if is_punct(ch):
            break
        context.append(ch)
    return "".join(reversed(context))


def _top(total: np.ndarray, k: int) -> list[int]:
    """Indices of the ``k`` largest finite entries of ``total``, best first."""
    k = min(k, len(total))
    top = np.argpartition(-total, k - 1)[:k]
    top = top[np.argsort(-total[top], kind="stable")]
    return [int(j) for j in top if np.isfinite(total[j])]


def _pick(scores, temperature: float, top_p: float, rng: np.random.Generator) -> int:
    """Index drawn from ``scores`` (best first) tempered by ``temperature`` and cut to the top-p mass."""
    scores = np.asarray(scores, np.float64) / max(temperature, 1e-6)
    probs = np.exp(scores - scores.max())
    probs /= probs.sum()
    if top_p < 1.0:
        keep = int(np.searchsorted(np.cumsum(probs), top_p) + 1)
        probs = probs[:keep] / probs[:keep].sum()
    return int(rng.choice(len(probs), p=probs))


def _assemble(problem: _Problem, chars: tuple[str, ...]) -> str:
    out = list(problem.upper)
    for g, ps in enumerate(problem.slots):
        for i in ps:
            out[i] = chars[g]
    return "".join(out)


def _alternatives(problem: _Problem, rows: np.ndarray, k: int):
    vocab = problem.model.vocab
    out = []
    for i, u in enumerate(problem.upper):
        if is_punct(u) or k <= 0:
            out.append(())
            continue
        row = rows[i].copy()
        row[problem.banned] = -np.inf  # the upper line's characters (重字) are never offered
        out.append(tuple((vocab[j], float(np.exp(row[j]))) for j in _top(row, k)))
    return tuple(out)


def _resolve_model(model):
    if model is None or isinstance(model, str):
        from engine.registry import load_model

        return load_model(model, task="couplet") if model else load_model(task="couplet")
    return model


def _merge_locks(core: str, locked: dict[int, str] | None, acrostic: str | None) -> dict[int, str]:
    locks = dict(locked or {})
    if acrostic:
        acrostic = acrostic.strip()
        if len(acrostic) == 2:
            if core[0] != acrostic[0]:
                raise InvalidLine(f"藏头: the upper line should start with {acrostic[0]!r}")
            acrostic = acrostic[1]
        if len(acrostic) != 1:
            raise InvalidLine("藏头: give the lower line's first character (or the first characters of both lines)")
        if 0 in locks and locks[0] != acrostic:
            raise InvalidLine("藏头 conflicts with the character locked at position 1")
        locks[0] = acrostic
    slots = repeat_groups(core)
    slot_of = {i: g for g, ps in enumerate(slots) for i in ps}
    by_slot: dict[int, str] = {}
    for pos, ch in sorted(locks.items()):
        if not 0 <= pos < len(core) or is_punct(core[pos]):
            raise InvalidLine(f"cannot lock position {pos + 1}: it is punctuation or outside the line")
        if not (isinstance(ch, str) and len(ch) == 1 and is_cjk(ch)):
            raise InvalidLine(f"a locked character must be one Chinese character, not {ch!r}")
        if ch == core[pos]:
            raise InvalidLine(f"cannot lock {ch!r} at position {pos + 1}: it copies the upper line")
        g = slot_of[pos]
        if by_slot.get(g, ch) != ch:
            raise InvalidLine(f"positions {', '.join(str(p + 1) for p in slots[g])} repeat one character in the "
                              "upper line, so they must hold one character in the lower line")
        by_slot[g] = ch
    if len(set(by_slot.values())) != len(by_slot):
        raise InvalidLine("the same character is locked where the upper line has different characters")
    return {slots[g][0]: ch for g, ch in by_slot.items()}



def _check_options(n, temperature, top_k, top_p, beam_width, refine_steps, config: dict | None = None) -> None:
    """Refuse option values that make no sense or would run for minutes (one clear message);
    ``config``: the model's decoding settings (``beam_width``, ``word_weight``, ``mmi_weight``)."""
    from engine.errors import InputError

    def bad(what):
        raise InputError(f"couplet option out of range: {what}")

    if isinstance(n, bool) or int(n) != n or not 1 <= n <= MAX_CANDIDATES:
        bad(f"n must be 1..{MAX_CANDIDATES}, not {n!r}")
    if not math.isfinite(temperature) or not 0 <= temperature <= 100:
        bad(f"temperature must be 0..100, not {temperature!r}")
    if top_k is None or top_k < 0:
        bad(f"top_k must be 0 (all) or more, not {top_k!r}")
    if not (0 < top_p <= 1):
        bad(f"top_p must be in (0, 1], not {top_p!r}")
    if beam_width is not None and not 1 <= beam_width <= MAX_BEAM:
        bad(f"beam width must be 1..{MAX_BEAM}, not {beam_width!r}")
    if refine_steps is not None and not 0 <= refine_steps <= MAX_REFINE:
        bad(f"refinement rounds must be 0..{MAX_REFINE}, not {refine_steps!r}")
    config = config or {}
    width = config.get("beam_width", 5)
    if isinstance(width, bool) or not (isinstance(width, (int, float)) and int(width) == width and 1 <= width <= MAX_BEAM):
        bad(f"config beam_width must be 1..{MAX_BEAM}, not {width!r}")
    for key, top in (("word_weight", MAX_WORD_WEIGHT), ("mmi_weight", MAX_MMI_WEIGHT)):
        value = config.get(key, 0.0)
        if isinstance(value, bool) or not (isinstance(value, (int, float)) and 0 <= value <= top):
            bad(f"config {key} must be 0..{top:g}, not {value!r}")


def generate_couplet(upper: str, *, model=None, n: int = 1, temperature: float = 0.0, top_k: int = 0,
                     top_p: float = 1.0, beam_width: int | None = None, locked: dict[int, str] | None = None,
                     acrostic: str | None = None, refine_steps: int | None = None, seed: int | None = None,
                     alternatives: int = 8) -> CoupletResult:
    """Lower lines for ``upper`` that meet every hard constraint, best first.

    model: a :class:`~engine.couplet.model.CoupletModel`, a registry name, or None (default
    couplet model).  ``temperature`` 0 → beam search (``beam_width``, default max(5, n));
    > 0 → sampling with ``top_k`` (0 = all) and ``top_p``.  ``locked``: {position (0-based,
    in ``upper``): character}.  ``acrostic``: the lower line's first character (or the first
    characters of both lines).  ``refine_steps``: mask-predict rounds for conditional models
    (default: the model config's ``refine_steps`` or 0).  Raises :class:`InvalidLine` with
    a message for people when the line or a lock cannot be used."""
    _check_options(n, temperature, top_k, top_p, beam_width, refine_steps)
    n = int(n)
    model = _resolve_model(model)
    _check_options(n, temperature, top_k, top_p, beam_width, refine_steps, getattr(model, "config", None))
    line = normalise_upper(upper)
    core = line.rstrip(PUNCTUATION)
    tail = line[len(core):]
    if len(core) < 1:
        raise InvalidLine("empty line")
    locks = _merge_locks(core, locked, acrostic)
    rng = np.random.default_rng(seed)
    problem = _Problem(model, core, locks)
    fixed_locks = dict(problem.locked)
    if refine_steps is None:
        refine_steps = int(getattr(model, "config", {}).get("refine_steps", 0))
    if not getattr(model, "conditional", False):
        refine_steps = 0

    sampling = temperature > 0
    width = max(beam_width or int(getattr(model, "config", {}).get("beam_width", 5)), n)
    if getattr(model, "autoregressive", False):
        return _finish_autoregressive(problem, line, core, tail, fixed_locks, width, n, temperature, top_k, top_p,
                                      rng, alternatives)
    partial = [locks.get(i) for i in range(len(core))]
    rows0 = model.log_probs(core, [partial])[0]
    if sampling:
        assignments, seen = [], set()
        for _ in range(5 * n):
            a = _sample(problem, rows0, fixed_locks, temperature, top_k, top_p, rng)
            if a not in seen:
                seen.add(a)
                assignments.append(a)
            if len(assignments) >= n:
                break
        if len(assignments) < n:  # a peaked distribution: fill up with the beam's best
            for a in _beam_search(problem, rows0, fixed_locks, width + n, width + n):
                if a not in seen and len(assignments) < n:
                    seen.add(a)
                    assignments.append(a)
    else:
        assignments = _beam_search(problem, rows0, fixed_locks, width, n)

    originals = list(assignments)
    rows = [rows0.copy() for _ in assignments]
    for step in range(1, refine_steps + 1):
        free = [g for g in range(len(problem.slots)) if g not in fixed_locks]
        m = math.ceil(len(free) * (refine_steps - step + 1) / (refine_steps + 1))
        if m == 0 or not free:
            break
        remask = []
        for a, r in zip(assignments, rows):
            conf = [problem.model_logp(r, g, a[g]) / len(problem.slots[g]) for g in free]
            remask.append({free[j] for j in np.argsort(conf, kind="stable")[:m]})
        lowers = []
        for a, masked in zip(assignments, remask):
            lowers.append([core[i] if is_punct(core[i]) else None if problem.slot_of[i] in masked
                           else a[problem.slot_of[i]] for i in range(len(core))])
        new_rows = model.log_probs(core, lowers)
        for b, (a, masked) in enumerate(zip(assignments, remask)):
            for g in masked:
                rows[b][problem.slots[g]] = new_rows[b][problem.slots[g]]
            keep = {g: a[g] for g in range(len(problem.slots)) if g not in masked}
            if sampling:
                assignments[b] = _sample(problem, rows[b], keep, temperature, top_k, top_p, rng)
            else:
                assignments[b] = _beam_search(problem, rows[b], keep, width, 1)[0]

    candidates, seen_text = [], set()
    n_chars = sum(1 for ch in core if not is_punct(ch))
    # refinement can make candidates converge; the unrefined ones keep N distinct lines
    pool = list(zip(assignments, rows)) + ([(a, rows0) for a in originals] if refine_steps else [])
    for a, r in pool:
        text = _assemble(problem, a)
        if text in seen_text:
            continue
        seen_text.add(text)
        logp = sum(problem.model_logp(r, g, a[g]) for g in range(len(problem.slots)))
        bonus = sum(_bonus_of(core, problem.slots[g], a[g]) for g in range(len(problem.slots)))
        full = text + tail
        candidates.append(Candidate(text=full, score=(logp + bonus) / n_chars, log_prob=logp / n_chars,
                                    rules=check_rules(line, full),
                                    alternatives=_alternatives(problem, r, alternatives) + tuple(() for _ in tail)))
    candidates.sort(key=lambda c: -c.score)
    candidates = candidates[:n]
    return CoupletResult(upper=line, model=getattr(model, "name", "?"), candidates=tuple(candidates))


def _rerank_weights(model) -> tuple[float, float]:
    """(word_weight, mmi_weight) of the model config, 0 where the model lacks what the term needs."""
    config = getattr(model, "config", {})
    word = float(config.get("word_weight", 0.0))
    word = word if word and getattr(model, "lexicon", None) is not None else 0.0  # the list is read only if asked
    mmi = float(config.get("mmi_weight", 0.0)) if hasattr(model, "pair_log_probs") else 0.0
    return word, mmi


def _known_span(lexicon, word: str) -> bool:
    """A lower-line span mirroring an upper-line word reads as words: a known word, or (3–4
    characters) a known word of two or more characters with at most one character besides."""
    if word in lexicon:
        return True
    if len(word) == 3:
        return word[:2] in lexicon or word[1:] in lexicon
    if len(word) == 4:
        return (word[:2] in lexicon and word[2:] in lexicon) or word[:3] in lexicon or word[1:] in lexicon
    return False


def unknown_words(lexicon, upper: str, lower: str) -> int:
    """How many multi-character words of ``upper`` (segmented by ``lexicon``) face a span of
    ``lower`` that is not a word.  Reduplicated upper words (声声) are left to the repeat rule."""
    count, start = 0, 0
    for end in [i for i, ch in enumerate(upper) if is_punct(ch)] + [len(upper)]:
        for s, e in lexicon.segment(upper[start:end]):
            s, e = start + s, start + e
            if e - s >= 2 and len(set(upper[s:e])) == e - s and not _known_span(lexicon, lower[s:e]):
                count += 1
        start = end + 1
    return count


def _rerank_terms(model, core: str, texts: list[str], word_weight: float, mmi_weight: float) -> list[float]:
    """Reranking bonus of each candidate lower line (log-prob units, summed over the line)."""
    terms = [0.0] * len(texts)
    if word_weight:
        terms = [t - word_weight * unknown_words(model.lexicon, core, text) for t, text in zip(terms, texts)]
    if mmi_weight and texts:
        backward = model.pair_log_probs(texts, [core] * len(texts))
        terms = [t + mmi_weight * float(b) for t, b in zip(terms, backward)]
    return terms


def _finish_autoregressive(problem, line, core, tail, fixed, width, n, temperature, top_k, top_p, rng,
                           alternatives) -> CoupletResult:
    """Candidates from :func:`_autoregressive`, scored by the model given each line's own prefix
    (and, in beam search, reranked over the whole final beam when the config asks)."""
    model = problem.model
    word_weight, mmi_weight = _rerank_weights(model)
    rerank = temperature == 0 and (word_weight or mmi_weight)
    if rerank:  # the whole final beam, ranked by search score + rerank terms; the best n go on
        scores: list[float] = []
        assignments = _autoregressive(problem, fixed, width, width, temperature, top_k, top_p, rng, scores)
        texts = [_assemble(problem, a) for a in assignments]
        terms = _rerank_terms(model, core, texts, word_weight, mmi_weight)
        order = sorted(range(len(texts)), key=lambda j: -(scores[j] + terms[j]))[:n]
        assignments, texts, extra = [assignments[j] for j in order], [texts[j] for j in order], [terms[j] for j in order]
    else:
        assignments = _autoregressive(problem, fixed, width, n, temperature, top_k, top_p, rng)
        texts = [_assemble(problem, a) for a in assignments]
        extra = [0.0] * len(texts)
    all_rows = model.log_probs(core, [list(t) for t in texts])  # only the lines returned
    n_chars = sum(1 for ch in core if not is_punct(ch))
    lm, lm_weight = _fluency_model(model)
    candidates = []
    for a, text, rows, rerank_term in zip(assignments, texts, all_rows, extra):
        logp = fluency = 0.0
        for i, ch in enumerate(text):
            if not is_punct(ch):
                idx = model.index.get(ch)
                logp += float(rows[i, idx]) if idx is not None and np.isfinite(rows[i, idx]) else FALLBACK_LOG_PROB
                if lm is not None:
                    fluency += lm_weight * lm.logp(_phrase_context(list(text[:i])), ch)
        bonus = fluency + rerank_term + sum(_bonus_of(core, problem.slots[g], a[g], problem.tone_weight)
                                            for g in range(len(problem.slots)))
        full = text + tail
        candidates.append(Candidate(text=full, score=(logp + bonus) / n_chars, log_prob=logp / n_chars,
                                    rules=check_rules(line, full),
                                    alternatives=_alternatives(problem, rows, alternatives) + tuple(() for _ in tail)))
    candidates.sort(key=lambda c: -c.score)
    return CoupletResult(upper=line, model=getattr(model, "name", "?"), candidates=tuple(candidates[:n]))
