"""Couplet N-best reranking: the word list (engine.couplet.lexicon), the unknown-word and MMI
terms, their options, and the reading sheet that compares two settings of one model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine.couplet.data import PUNCTUATION, SPECIAL_TOKENS
from engine.couplet.decode import _known_span, _rerank_terms, generate_couplet, unknown_words
from engine.couplet.lexicon import Lexicon, pku_counts
from engine.couplet.model import build_net, wrap
from engine.errors import InputError

ALPHABET = "天地人山水风云日月花草春秋江河湖海马蹄疾得意一心"
VOCAB = SPECIAL_TOKENS + list(PUNCTUATION) + list(ALPHABET)
WORDS = {"春风": 50, "得意": 40, "秋月": 30, "山水": 20, "江河": 20, "日月": 20, "天地": 20, "人心": 10,
         "春": 100, "风": 100, "得": 100, "意": 100, "一": 300, "心": 80}


def tiny_unilm(seed: int = 0, **config):
    torch.manual_seed(seed)
    base = {"kind": "unilm", "vocab_size": len(VOCAB), "dim": 16, "layers": 2, "heads": 2, "max_len": 30}
    model = wrap(build_net(base), VOCAB, {**base, **config}, name="tiny-unilm")
    model.lexicon = Lexicon(WORDS)
    return model


def test_lexicon_splits_by_word_probability_and_round_trips(tmp_path):
    lex = Lexicon({"春风": 50, "风得": 1, "得意": 40, "春": 5, "风": 5, "得": 5, "意": 5, "一": 1000, "心": 1000})
    assert lex.segment("春风得意") == [(0, 2), (2, 4)]
    assert lex.segment("一心") == [(0, 1), (1, 2)]  # two frequent characters beat an unknown pair
    assert lex.segment("龘春风") == [(0, 1), (1, 3)]  # an unseen character stands alone
    assert "春风" in lex and "风春" not in lex
    lex.save(tmp_path / "lexicon.tsv")
    again = Lexicon.load(tmp_path / "lexicon.tsv")
    assert again.counts == lex.counts and again.segment("春风得意") == [(0, 2), (2, 4)]
    first = (tmp_path / "lexicon.tsv").read_text(encoding="utf-8").splitlines()[0]
    assert first == "一\t1000\t0"  # most frequent first (ties by character)


def test_attested_pairs_count_as_known_but_do_not_split_words(tmp_path):
    lex = Lexicon({"春风": 5, "山": 9, "高": 9}, {"山高": 287, "春风": 40})
    assert "山高" in lex and "高山" not in lex
    assert lex.segment("山高") == [(0, 1), (1, 2)]  # pairs are not words for the upper line's split
    lex.save(tmp_path / "lexicon.tsv")
    again = Lexicon.load(tmp_path / "lexicon.tsv")
    assert again.counts == lex.counts and again.pairs == lex.pairs
    (tmp_path / "old.tsv").write_text("春风\t5\n", encoding="utf-8")  # two columns: words only
    assert Lexicon.load(tmp_path / "old.tsv").pairs == {}


def test_pku_counts_keep_chinese_words_only(tmp_path):
    (tmp_path / "x_seg.utf8").write_text("迈向  充满  希望  的  新  世纪  ——  １９９８年\n新  世纪\n", encoding="utf-8")
    counts = pku_counts(tmp_path)
    assert counts["世纪"] == 2 and counts["新"] == 2 and "——" not in counts and "１９９８年" not in counts


def test_unknown_words_mirror_the_upper_lines_words():
    lex = Lexicon(WORDS)
    assert unknown_words(lex, "春风得意", "秋月山水") == 0
    assert unknown_words(lex, "春风得意", "秋山月水") == 2  # 秋山, 月水: not words
    assert unknown_words(lex, "春风，得意", "秋月，山河") == 1  # phrases are split at punctuation
    assert unknown_words(lex, "一心", "天地") == 0  # single-character upper words are not checked
    assert _known_span(lex, "秋月天") and _known_span(lex, "春风山水") and not _known_span(lex, "风春水山")


def test_word_term_picks_the_beam_line_with_known_words():
    plain = tiny_unilm(beam_width=12)
    reranked = tiny_unilm(beam_width=12, word_weight=20.0)
    upper = "春风得意"
    before = generate_couplet(upper, model=plain, n=12)
    after = generate_couplet(upper, model=reranked, n=3)
    unknown = {c.text: unknown_words(plain.lexicon, upper, c.text) for c in before.candidates}
    assert unknown_words(plain.lexicon, upper, after.best.text) == min(unknown.values())
    assert all(c.rules.hard_ok for c in after.candidates)
    assert [c.score for c in after.candidates] == sorted((c.score for c in after.candidates), reverse=True)
    assert len(after.best.alternatives) == len(upper) and after.best.alternatives[0]


def test_zero_weights_decode_as_before_and_sampling_ignores_reranking():
    upper = "春风得意马蹄疾"
    assert generate_couplet(upper, model=tiny_unilm()).best.text == \
        generate_couplet(upper, model=tiny_unilm(word_weight=0.0, mmi_weight=0.0)).best.text
    a = generate_couplet(upper, model=tiny_unilm(), temperature=1.0, n=3, seed=4)
    b = generate_couplet(upper, model=tiny_unilm(word_weight=5.0, mmi_weight=1.0), temperature=1.0, n=3, seed=4)
    assert [c.text for c in a.candidates] == [c.text for c in b.candidates]


def test_mmi_term_is_the_models_score_of_the_upper_line_given_the_lower():
    model = tiny_unilm()
    upper, lowers = "春风，得意", ["秋月，山水", "江河，日月"]
    terms = _rerank_terms(model, upper, lowers, 0.0, 0.5)
    for term, lower in zip(terms, lowers):
        rows = model.log_probs(lower, [list(upper)])[0]  # the lower line read as the upper one
        want = sum(rows[i, model.index[ch]] for i, ch in enumerate(upper) if ch != "，")
        assert term == pytest.approx(0.5 * want, abs=1e-4)
    best = generate_couplet(upper, model=tiny_unilm(beam_width=8, mmi_weight=1.0)).best
    assert best.rules.hard_ok


def test_a_model_without_a_lexicon_ignores_the_word_weight():
    model = tiny_unilm(word_weight=3.0)
    model.lexicon = None
    plain = tiny_unilm()
    assert generate_couplet("春风得意", model=model).best.text == generate_couplet("春风得意", model=plain).best.text


@pytest.mark.parametrize("config", [{"word_weight": -1.0}, {"word_weight": 21.0}, {"mmi_weight": 6.0},
                                    {"mmi_weight": float("nan")}, {"beam_width": 0}, {"beam_width": 65},
                                    {"beam_width": 2.5}])
def test_rerank_settings_out_of_range_are_refused(config):
    with pytest.raises(InputError, match="couplet option out of range"):
        generate_couplet("春风得意", model=tiny_unilm(**config))


def test_reading_sheet_shows_a_line_two_systems_share_once(tmp_path, monkeypatch):
    """Two settings of one model on the dev split: a shared line is one letter whose key
    names both systems, and the tally counts its mark for each."""
    import benchmarks.couplet_reading as reading
    from engine.couplet import data

    pairs = [data.Pair("春风得意", "秋月含情", data.MODERN, "a"), data.Pair("山水江河", "日月天地", data.MODERN, "b")]
    monkeypatch.setattr(data, "load_modern_splits", lambda: ([], pairs, []))
    monkeypatch.setattr(reading, "load_variant", lambda spec: (tiny_unilm(), spec))
    reading.make_sheet(["a", "a@word_weight=1"], 2, 0, tmp_path, split="dev")
    key = json.loads((tmp_path / "key.json").read_text(encoding="utf-8"))
    assert all(len(item) == 2 and sorted(map(str, item.values()))[0].startswith("['a'") for item in key)
    (tmp_path / "marks.txt").write_text("".join(f"{k} " + " ".join(f"{l}+" for l in item) + "\n"
                                                for k, item in enumerate(key, 1)), encoding="utf-8")
    table = reading.tally(tmp_path)
    assert "| a | 2 | 2 | 100% |" in table and "| a@word_weight=1 | 2 | 2 | 100% |" in table


def test_reading_variants_of_one_model_keep_their_own_settings(monkeypatch):
    """The registry hands out one cached object per name: each variant must be its own copy."""
    import benchmarks.couplet
    import benchmarks.couplet_reading as reading

    shared = tiny_unilm()
    monkeypatch.setattr(benchmarks.couplet, "load_any", lambda name: (shared, name))
    plain, label_a = reading.load_variant("m")
    tuned, label_b = reading.load_variant("m@beam_width=10,mmi_weight=1")
    assert (label_a, label_b) == ("m", "m@beam_width=10,mmi_weight=1")
    assert "mmi_weight" not in plain.config and tuned.config["mmi_weight"] == 1.0 and tuned.config["beam_width"] == 10
    assert tuned.net is plain.net  # the weights are not copied
