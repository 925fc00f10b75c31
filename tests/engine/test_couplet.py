"""Couplet engine: data cleaning, rules, constrained decoding (property tests), models, CLI."""

from __future__ import annotations

import io
import json
import sys
import types

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.couplet.data import PUNCTUATION, SPECIAL_TOKENS, aligned, build_vocab, clean_line, Pair
from engine.couplet.decode import generate_couplet
from engine.couplet.model import BertCouplet, build_net, export_state, load_bert, load_cnn, wrap
from engine.couplet.rules import InvalidLine, check_rules, normalise_upper, ping_ze, repeat_groups, tone_of

ALPHABET = "天地人山水风云日月花草春秋江河湖海马蹄疾得意一心"
VOCAB = SPECIAL_TOKENS + list(PUNCTUATION) + list(ALPHABET)


def tiny_model(kind: str, seed: int = 0):
    torch.manual_seed(seed)
    config = {"kind": kind, "vocab_size": len(VOCAB), "dim": 16, "layers": 2, "heads": 2, "max_len": 30}
    return wrap(build_net(config), VOCAB, config, name=f"tiny-{kind}")


MODELS = {"cnn": tiny_model("cnn"), "bert": tiny_model("bert"), "unilm": tiny_model("unilm")}
KINDS = sorted(MODELS)


# ---------------------------------------------------------------------------- data / rules

def test_clean_line_keeps_punctuation_in_place_and_rejects_other_characters():
    assert clean_line("一 世 清 名 ， 英 年 早 逝 。") == "一世清名，英年早逝"
    assert clean_line("春风,得意") == "春风，得意"
    assert clean_line("春风 ABC") is None
    assert clean_line("春风（得意）") is None
    assert aligned("春风，得意", "秋月，含情") and not aligned("春风，得意", "秋月含，情")


def test_vocab_has_special_tokens_first_and_drops_rare_characters():
    pairs = [Pair("春风", "秋月", "modern", "a"), Pair("春雨", "秋霜", "modern", "b")]
    vocab = build_vocab(pairs, min_count=2)
    assert vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert "春" in vocab and "秋" in vocab and "风" not in vocab


def test_training_examples_repeat_modern_pairs_and_add_them_swapped():
    import random

    from engine.couplet.data import training_examples

    modern, verse = Pair("春风，得意", "秋月，含情", "modern", "a"), Pair("白日", "黄河", "poetry", "p")
    examples = training_examples([modern, verse], modern_repeat=2, poetry_fraction=1.0,
                                 rng=random.Random(0), swapped_repeat=1)
    assert examples.count(modern) == 2 and examples.count(verse) == 1
    # the punctuation stays in place, so the swapped pair is still aligned; verse is never swapped
    assert [(e.upper, e.lower) for e in examples if e.upper == "秋月，含情"] == [("秋月，含情", "春风，得意")]
    assert len(examples) == 4
    assert training_examples([modern, verse], 2, 1.0, random.Random(0)) == [modern, modern, verse]


@pytest.mark.parametrize("bad, reason", [
    ("", "empty"), ("   ", "empty"), ("——", "no Chinese character"), ("山" * 100, "too long"),
    ("hello world", "Latin"), ("春风😀得意", r"U\+1F600"), ("春风123", "digits"),
    ("春风，，得意", "two punctuation"), ("【春风】得意", "not a Chinese line"), ("，春风", "starts with"),
])
def test_bad_upper_lines_get_clear_messages(bad, reason):
    with pytest.raises(InvalidLine, match=reason):
        normalise_upper(bad)


def test_normalise_maps_ascii_punctuation_and_spaces():
    assert normalise_upper(" 春风 得意, 马蹄疾. ") == "春风得意，马蹄疾。"


def test_tones_and_ping_ze():
    assert tone_of("春") == 1 and tone_of("疾") == 2 and tone_of("马") == 3 and tone_of("月") == 4
    assert ping_ze("春") == "平" and ping_ze("疾") == "平" and ping_ze("马") == "仄" and ping_ze("，") == ""


def test_check_rules_detects_each_violation():
    assert check_rules("春风得意", "秋月含情").hard_ok
    assert not check_rules("春风得意", "秋月含").same_length
    assert not check_rules("春风，得意", "秋月含，情").punctuation
    assert not check_rules("春风得意", "春月含情").no_copy
    assert not check_rules("一心一意", "两全其美").repeats  # upper repeats 一, lower does not
    assert not check_rules("春风得意", "秋秋含情").repeats  # lower repeats where upper does not
    report = check_rules("白日依山尽", "黄河入海流")  # 尽 jin4 仄 → 流 liu2 平
    assert report.hard_ok and report.ping_ending is True
    assert check_rules("春风", "夏雨").ping_ending is None  # 风 is 平: rule not applicable


# ---------------------------------------------------------------------------- decoding

line_chars = st.sampled_from(list(ALPHABET + "龙虎鹤松竹梅"))


@st.composite
def upper_lines(draw):
    """Random upper lines, 2–30 characters, with repeats and internal punctuation."""
    n = draw(st.integers(2, 30))
    chars = draw(st.lists(line_chars, min_size=n, max_size=n))
    for i in range(2, n - 1):  # internal punctuation, never two marks in a row
        if draw(st.integers(0, 9)) == 0 and chars[i - 1] not in PUNCTUATION:
            chars[i] = draw(st.sampled_from("，；、"))
    if draw(st.booleans()):
        chars.append("。")
    return "".join(chars)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(upper=upper_lines(), kind=st.sampled_from(KINDS), n=st.integers(1, 4),
       temperature=st.sampled_from([0.0, 0.7, 1.5]), top_k=st.sampled_from([0, 3, 20]),
       top_p=st.sampled_from([1.0, 0.8]), refine=st.integers(0, 2), seed=st.integers(0, 1000))
def test_every_candidate_meets_every_hard_constraint(upper, kind, n, temperature, top_k, top_p, refine, seed):
    result = generate_couplet(upper, model=MODELS[kind], n=n, temperature=temperature, top_k=top_k,
                              top_p=top_p, refine_steps=refine, seed=seed)
    assert 1 <= len(result.candidates) <= n
    texts = [c.text for c in result.candidates]
    assert len(set(texts)) == len(texts)
    for cand in result.candidates:
        report = check_rules(result.upper, cand.text)
        assert report.hard_ok, (result.upper, cand.text, report)
        assert report.no_reuse, (result.upper, cand.text)  # no 重字
        assert cand.rules == report
        assert len(cand.alternatives) == len(result.upper)
        assert not any(tok in cand.text for tok in ("[", "]"))


@settings(max_examples=30, deadline=None)
@given(upper=upper_lines(), kind=st.sampled_from(KINDS), data=st.data())
def test_locked_characters_are_kept(upper, kind, data):
    core = upper.rstrip(PUNCTUATION)
    groups = repeat_groups(core)
    group = data.draw(st.sampled_from(groups))
    pos = data.draw(st.sampled_from(group))
    ch = data.draw(st.sampled_from([c for c in "龟蛇鱼鸟" if c != core[pos]]))
    result = generate_couplet(upper, model=MODELS[kind], n=2, locked={pos: ch}, refine_steps=1)
    for cand in result.candidates:
        assert all(cand.text[i] == ch for i in group)  # the lock spreads over repeated positions
        assert cand.rules.hard_ok


@pytest.mark.parametrize("kind", KINDS)
def test_ping_ending_after_ze_upper_ending(kind):
    # 疾 is tone 2 (平), 马 tone 3 (仄): uppers ending in 仄 must get a 平 ending
    for upper in ["春风得意马", "天地人山水月", "日月江河海"]:
        assert ping_ze(upper[-1]) == "仄"
        best = generate_couplet(upper, model=MODELS[kind]).best
        assert best.rules.ping_ending is True, best.text


def test_acrostic_and_bad_locks():
    model = MODELS["cnn"]
    assert generate_couplet("春风得意", model=model, acrostic="龙").best.text[0] == "龙"
    assert generate_couplet("春风得意", model=model, acrostic="春龙").best.text[0] == "龙"
    with pytest.raises(InvalidLine, match="should start"):
        generate_couplet("春风得意", model=model, acrostic="秋龙")
    with pytest.raises(InvalidLine, match="copies the upper line"):
        generate_couplet("春风得意", model=model, locked={1: "风"})
    with pytest.raises(InvalidLine, match="must hold one character"):
        generate_couplet("一心一意", model=model, locked={0: "两", 2: "三"})
    with pytest.raises(InvalidLine, match="same character is locked"):
        generate_couplet("春风得意", model=model, locked={0: "龙", 1: "龙"})
    with pytest.raises(InvalidLine, match="punctuation"):
        generate_couplet("春风，得意", model=model, locked={2: "龙"})


def test_autoregressive_beam_is_exact_when_wide_enough():
    """With a beam wider than the number of legal lines, the left-to-right search must find
    the line with the best total (model log-prob given its own prefix + rule bonus), checked
    against enumerating every legal line."""
    import itertools

    from engine.couplet.decode import _Problem, _autoregressive, _bonus_of

    model = MODELS["unilm"]
    upper = "春风得"
    chars = [c for c in ALPHABET if c not in upper]
    best, best_line = -np.inf, None
    for line in itertools.permutations(chars, 3):  # distinct characters: the upper line has no repeats
        rows = model.log_probs(upper, [list(line)])[0]
        total = sum(rows[i, model.index[ch]] + _bonus_of(upper, [i], ch) for i, ch in enumerate(line))
        if total > best:
            best, best_line = total, "".join(line)
    # the search itself (generate_couplet caps the beam at 64 for users)
    problem = _Problem(model, upper, {})
    found = _autoregressive(problem, {}, len(chars) ** 3, 1, 0.0, 0, 1.0, np.random.default_rng(0))
    assert "".join(found[0]) == best_line


def test_unilm_is_causal_and_conditions_on_what_is_written():
    model = MODELS["unilm"]
    a = model.log_probs("春风得意", [list("秋月含情"), list("秋山含情"), list("秋月心情")])
    np.testing.assert_allclose(a[0, :2], a[1, :2], atol=1e-5)  # positions before the change are untouched
    assert not np.allclose(a[0, 2], a[1, 2])  # the position after it is conditioned on it
    np.testing.assert_allclose(a[0, :3], a[2, :3], atol=1e-5)
    nxt = model.next_log_probs("春风得意", [list("秋月")])[0]
    np.testing.assert_allclose(nxt, a[0, 2], atol=1e-5)
    tokens, inputs = model.attention_inputs("春风得意", "秋月含情")
    assert tokens == ["[CLS]", "春", "风", "得", "意", "[SEP]", "[MASK]", "秋", "月", "含"]
    with torch.inference_mode():
        attentions = model.hf_model(**inputs, output_attentions=True).attentions
    assert attentions[0].shape == (1, 2, len(tokens), len(tokens))
    upper_rows = attentions[0][0, :, :6]
    assert float(upper_rows[..., 6:].abs().max()) == 0.0  # the upper line never sees the lower one
    assert float(attentions[0][0, :, 7, 8:].abs().max()) == 0.0  # nor a lower slot its future


@pytest.mark.parametrize("kind", KINDS)
def test_single_characters_long_lines_and_copied_marks_are_answered(kind):
    model = MODELS[kind]
    assert len(generate_couplet("天", model=model).best.text) == 1
    long_line = ("春风得意马蹄疾，" * 7)[:50]
    assert len(generate_couplet(long_line, model=model).best.text) == len(long_line.rstrip("，"))
    for upper in ["春风——得意", "“春风”得意", "《春风》得意"]:
        best = generate_couplet(upper, model=model).best
        assert best.rules.hard_ok and [c for c in best.text if not c.isalpha()] == [c for c in upper if not c.isalpha()]


def test_incremental_unilm_decoder_matches_the_full_pass():
    model = MODELS["unilm"]
    upper, lower = "春风，得意马", list("秋月，含情水")
    full = model.log_probs(upper, [lower])[0]
    stepper = model.start(upper)
    for i in range(len(upper)):
        if i:
            stepper.advance([0, 0], [lower[i - 1]] * 2)  # two identical beams from one
        rows = stepper.next_log_probs()
        assert rows.shape[0] == (1 if i == 0 else 2)
        np.testing.assert_allclose(rows[-1][np.isfinite(full[i])], full[i][np.isfinite(full[i])], atol=1e-4)


def test_int8_linears_read_as_the_float_net_does():
    from engine.couplet import model as couplet_model

    torch.manual_seed(3)
    config = {"kind": "unilm", "vocab_size": len(VOCAB), "dim": 64, "layers": 2, "heads": 2, "max_len": 30}
    float_model = wrap(build_net(config), VOCAB, config, name="float")
    quantised = wrap(couplet_model.int8_linears(float_model.net), VOCAB, config, name="int8")  # a copy
    assert any("quantized" in type(m).__module__ for m in quantised.net.modules())
    upper, lower = "春风，得意马", list("秋月，含情水")
    a, b = float_model.log_probs(upper, [lower])[0], quantised.log_probs(upper, [lower])[0]
    finite = np.isfinite(a)
    assert np.array_equal(finite, np.isfinite(b))
    assert np.abs(a[finite] - b[finite]).max() < 0.1
    assert (a.argmax(axis=1) == b.argmax(axis=1)).mean() >= 0.8


def test_int8_linears_keeps_the_float_net_where_torch_cannot_quantise(monkeypatch):
    from engine.couplet import model as couplet_model

    net = build_net({"kind": "unilm", "vocab_size": len(VOCAB), "dim": 16, "layers": 1, "heads": 2, "max_len": 30})

    def unavailable(*args, **kwargs):
        raise RuntimeError("Didn't find engine for operation quantized::linear_prepack NoQEngine")

    monkeypatch.setattr(torch.ao.quantization, "quantize_dynamic", unavailable)
    assert couplet_model.int8_linears(net) is net


def test_huge_top_k_and_refine_do_not_hang():
    import time

    t0 = time.perf_counter()
    for kind in KINDS:
        generate_couplet("春风得意马蹄疾", model=MODELS[kind], n=3, temperature=1.0, top_k=10_000_000, seed=1)
    assert time.perf_counter() - t0 < 20


def test_beam_candidates_are_sorted_and_probabilities_are_valid():
    result = generate_couplet("春风得意马蹄疾", model=MODELS["bert"], n=4)
    scores = [c.score for c in result.candidates]
    assert scores == sorted(scores, reverse=True) and len(scores) == 4
    for alts in result.best.alternatives:
        probs = [p for _, p in alts]
        assert all(0 <= p <= 1 for p in probs) and probs == sorted(probs, reverse=True)
        assert sum(probs) <= 1 + 1e-5


# ---------------------------------------------------------------------------- models

def test_bert_attention_interface_matches_tokens():
    model = MODELS["bert"]
    assert isinstance(model, BertCouplet)
    assert model.hf_model.config._attn_implementation == "eager"
    tokens, inputs = model.attention_inputs("春风得意", "秋月含情")
    assert tokens == ["[CLS]", "春", "风", "得", "意", "[SEP]", "秋", "月", "[MASK]" if "含" not in VOCAB else "含",
                      "[MASK]" if "情" not in VOCAB else "情", "[SEP]"][:2] + tokens[2:]
    assert tokens[0] == "[CLS]" and tokens[5] == "[SEP]" and tokens[6:8] == ["秋", "月"] and tokens[-1] == "[SEP]"
    with torch.inference_mode():
        attentions = model.hf_model(**inputs, output_attentions=True).attentions
    assert len(attentions) == 2
    assert attentions[0].shape == (1, 2, len(tokens), len(tokens))
    torch.testing.assert_close(attentions[0].sum(-1), torch.ones(1, 2, len(tokens)))
    masked_tokens, _ = model.attention_inputs("春风")
    assert masked_tokens == ["[CLS]", "春", "风", "[SEP]", "[MASK]", "[MASK]", "[SEP]"]
    vocab, logits = model.position_logits("春风得意", 2)
    assert vocab == VOCAB and logits.shape == (len(VOCAB),)


def test_cnn_ignores_lower_context_and_bert_uses_it():
    cnn, bert = MODELS["cnn"], MODELS["bert"]
    a = cnn.log_probs("春风得意", [[None] * 4, ["秋", None, None, None]])
    torch.testing.assert_close(torch.from_numpy(a[0]), torch.from_numpy(a[1]))
    b = bert.log_probs("春风得意", [[None] * 4, ["秋", None, None, None]])
    assert not torch.allclose(torch.from_numpy(b[0, 1]), torch.from_numpy(b[1, 1]))


@pytest.mark.parametrize("kind, loader", [("cnn", load_cnn), ("bert", load_bert)])
def test_shipped_layout_roundtrip_through_registry(tmp_path, kind, loader):
    from engine.registry import Registry, write_manifest
    from engine.weights import save_model_dir

    model = MODELS[kind]
    folder = tmp_path / "couplet" / f"tiny-{kind}"
    save_model_dir(folder, export_state(model.net), model.config, VOCAB)
    write_manifest(folder, name=f"tiny-{kind}", task="couplet", loader=f"engine.couplet.model:load_{kind}")
    loaded = Registry(tmp_path).load(f"tiny-{kind}")
    assert type(loaded) is type(model)
    upper = "春风得意马蹄疾"
    a, b = model.log_probs(upper), loaded.log_probs(upper)
    finite = np.isfinite(a)
    assert (finite == np.isfinite(b)).all() and finite.any()
    assert abs(a[finite] - b[finite]).max() < 0.05  # fp16 storage
    assert generate_couplet(upper, model=loaded).best.rules.hard_ok


# ---------------------------------------------------------------------------- CLI

def test_cli_keeps_outputs_aligned_with_bad_lines(monkeypatch, capsys):
    import engine.registry
    from engine.couplet import cli

    monkeypatch.setattr(engine.registry, "load_model", lambda name=None, task=None: MODELS["cnn"])
    lines = ["春风得意马蹄疾", "", "hello", "山" * 100, "一心一意，两全其美。", "——"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines) + "\n"))
    args = types.SimpleNamespace(input="-", model=None, n=3, temperature=0.0, top_k=0, top_p=1.0, beam=None,
                                 refine=None, acrostic=None, seed=None, format="text")
    assert cli.run(args) == 0  # rejected lines are empty output lines, counted in the summary
    out, err = capsys.readouterr()
    rows = out.split("\n")[:-1]
    assert len(rows) == len(lines)
    assert rows[1] == rows[2] == rows[3] == rows[5] == ""
    first = rows[0].split("\t")
    assert len(first) == 3 and all(check_rules(lines[0], c).hard_ok for c in first)
    assert all(len(c) == len("一心一意，两全其美。") for c in rows[4].split("\t"))
    for number in (2, 3, 4, 6):
        assert f"line {number}:" in err
    assert err.strip().splitlines()[-1] == "2 of 6 lines written, 4 skipped"

    monkeypatch.setattr(sys, "stdin", io.StringIO("春风得意\nabc\n"))
    args.format, args.n = "jsonl", 2
    cli.run(args)
    out, _ = capsys.readouterr()
    good, bad = [json.loads(r) for r in out.strip().split("\n")]
    assert len(good["candidates"]) == 2 and good["candidates"][0]["rules"]["hard_ok"] is True
    assert "error" in bad and "Latin" in bad["error"]


def test_cli_module_does_not_import_torch():
    import subprocess

    code = "import sys, engine.couplet.cli, engine.couplet.rules; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# ---------------------------------------------------------------------------- real data (skipped without it)

@pytest.mark.needs_shared("couplet")
def test_modern_corpus_cleans_to_aligned_pairs_and_splits_by_upper_line(shared_data):
    from engine.couplet.data import is_cjk, is_punct, read_modern, split_pairs

    pairs = read_modern(shared_data / "couplet")
    assert len(pairs) > 30000
    assert len({(p.upper, p.lower) for p in pairs}) == len(pairs)  # deduplicated
    for p in pairs:
        assert aligned(p.upper, p.lower) and len(p.upper) <= 30
        assert all(is_cjk(c) or is_punct(c) for c in p.upper + p.lower)
        assert not is_punct(p.upper[-1])
    train, dev = split_pairs(pairs, 0.03)
    assert 0.02 < len(dev) / len(pairs) < 0.04
    assert not {p.group for p in train} & {p.group for p in dev}
    assert split_pairs(pairs, 0.03)[1] == dev  # deterministic


def test_shipped_models_write_valid_lines():
    from engine.registry import REGISTRY, ModelError

    entries = REGISTRY.list("couplet")
    if not entries:
        pytest.skip("no couplet model is shipped in assets/models/couplet")
    for entry in entries:
        try:
            model = REGISTRY.load(entry.name)
        except ModelError as exc:  # a damaged checkout must say so, not crash
            pytest.fail(f"shipped model {entry.name} does not load: {exc}")
        for upper in ["春风得意马蹄疾", "一心一意，两全其美。", "白日依山尽"]:
            result = generate_couplet(upper, model=model, n=3)
            assert len(result.candidates) == 3
            for cand in result.candidates:
                assert cand.rules.hard_ok and cand.rules.ping_ending in (True, None), (upper, cand.text)
