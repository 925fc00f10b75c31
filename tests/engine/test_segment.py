"""Segmentation API, normalisation, user dictionary, files and CLI.

Runs on a tiny random model (always) and on the shipped model when it is installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.segment.bmes import TAGS, is_valid
from engine.segment.text import UserDictionary, normalise_for_model, rule_restrictions, to_half_width

ROOT = Path(__file__).resolve().parents[2]
SIGHAN = Path("/work/shared/data/cws/sighan2005")
CHARS = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于年月日新世纪经济发展希望充满迈向"


def tiny_model_dir(folder: Path) -> Path:
    """A random tiny model saved like a shipped one (config, vocab, bigrams, weights)."""
    import torch

    from engine.segment.model import SPECIAL_BIGRAMS, SPECIAL_CHARS, Tagger, TaggerConfig
    from engine.weights import save_model_dir, write_vocab

    torch.manual_seed(0)
    chars = SPECIAL_CHARS + sorted(set(CHARS + "0a.%,"))
    bigrams = SPECIAL_BIGRAMS + [f"{a}\t{b}" for a, b in zip(CHARS, CHARS[1:])]
    config = TaggerConfig(len(chars), len(bigrams), char_dim=8, bigram_dim=8, type_dim=4, hidden=16).to_dict()
    tagger = Tagger(TaggerConfig.from_dict(config))
    save_model_dir(folder, tagger.state_dict(), dict(config, name="tiny"), vocab=chars)
    write_vocab(folder, bigrams, "bigrams.txt")
    return folder


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    return tiny_model_dir(tmp_path_factory.mktemp("segment") / "tiny")


@pytest.fixture(scope="module")
def tiny(tiny_dir):
    from engine.segment.model import load

    return load(tiny_dir, precision="fp32")


def shipped_or_skip():
    from engine.registry import ModelMissing, load_model

    try:
        return load_model(task="segment")
    except ModelMissing as exc:
        pytest.skip(f"no shipped segmentation model: {exc}")


# -- normalisation and rules -----------------------------------------------------------

def test_normalisation_keeps_length_and_maps_width():
    text = "２０２３年ＧＰＵ增长３．５％，ABC\u3000好"
    normal = normalise_for_model(text)
    assert len(normal) == len(text)
    assert to_half_width("２０２３ＧＰＵ３．５％") == "2023GPU3.5%"
    assert normal.startswith("0000年aaa增长0.0%,aaa 好")


def test_result_keeps_the_original_characters(tiny):
    from engine.segment.api import segment

    text = "２０２３年ＧＰＵ增长３．５％，ABC 的 https://example.com/a?b=1 新世纪😀\x07end"
    result = segment(text, model=tiny)
    assert "".join(result.words) == "".join(c for c in text if not c.isspace() and c != "\x07")
    for word, (a, b) in zip(result.words, result.spans):
        assert text[a:b] == word
    assert len(result.tags) == len(text)
    assert result.probabilities.shape == (len(text), 4)
    assert "https://example.com/a?b=1" in result.words
    assert "２０２３" in "".join(w for w in result.words if "２０２３" in w)
    assert any("ＧＰＵ" in w for w in result.words)
    # a number is never cut inside
    assert any("３．５％" in w for w in result.words)


def test_rules_force_boundaries_at_whitespace():
    r = rule_restrictions("中 国")
    assert r.separators.tolist() == [False, True, False]
    assert not r.allowed[0, TAGS.index("B")] and not r.allowed[0, TAGS.index("M")]


# -- the API on the tiny model --------------------------------------------------------------

def test_tags_are_legal_and_probabilities_sum_to_one(tiny):
    from engine.segment.api import segment

    results = segment(["迈向充满希望的新世纪", "中国", "的", ""], model=tiny)
    for r in results:
        assert is_valid(r.tags)
        assert "".join(r.words) == r.text
        if r.text:
            assert np.allclose(r.probabilities.sum(1), 1.0, atol=1e-4)
            assert len(r.confidences) == len(r.words)
            assert all(0.0 <= c <= 1.0 + 1e-6 for c in r.confidences)
    assert results[3].words == ()


@pytest.mark.parametrize("word", ["新世纪", "希望的", "迈向充满希望", "的新"])
def test_user_dictionary_words_are_never_split(tiny, word):
    from engine.segment.api import segment

    text = "迈向充满希望的新世纪，中国经济发展的新世纪"
    result = segment(text, model=tiny, user_dict=[word])
    assert word in result.words
    assert result.words.count(word) == text.count(word)


def test_user_dictionary_file_round_trip(tmp_path):
    path = tmp_path / "dict.txt"
    path.write_text("\ufeff云计算 5 n\n机器学习\n# comment\n\n  大模型 3  \n", encoding="utf-8")
    d = UserDictionary.load(path)
    assert d.words == ["云计算", "大模型", "机器学习"]
    d.add("深度学习")
    d.remove("大模型")
    d.save(tmp_path / "out.txt")
    again = UserDictionary.load(tmp_path / "out.txt")
    assert again.words == ["云计算", "机器学习", "深度学习"]
    assert "云计算 5 n" in (tmp_path / "out.txt").read_text(encoding="utf-8")
    assert not d.add("  ") and not d.add("a b")


def test_long_text_is_chunked_without_losing_characters(tiny):
    from engine.segment.api import segment

    text = ("迈向充满希望的新世纪。" * 300) + "的" * 1000   # a 4000-char paste, 1000 chars with no punctuation
    result = segment(text, model=tiny, probabilities=False)
    assert "".join(result.words) == text
    assert is_valid(result.tags)


def test_bad_inputs_do_not_crash(tiny):
    from engine.segment.api import segment

    texts = ["", "   \t  ", "😀😀中国😀", "\x00\x01\x02中国\x1b[31m", "Ελληνικά русский 日本語のテキスト 한국어",
             "\ud800bad surrogate", "\ufeff开头"]
    results = segment(texts, model=tiny)
    assert results[0].words == () and results[1].words == ()
    for text, r in zip(texts, results):
        assert all(not any(c.isspace() for c in w) for w in r.words)
        assert all(w for w in r.words)
        assert len(r.tags) == len(text)


def test_segment_job_reports_progress(tiny):
    from engine.progress import drive
    from engine.segment.api import segment_job

    reports = []
    results = drive(segment_job(["中国"] * 50, model=tiny, batch_chars=20), reports.append)
    assert len(results) == 50
    assert reports[-1].step == reports[-1].total == 100
    assert len(reports) > 1


# -- files --------------------------------------------------------------------------------

def test_decoding_and_refusal(tmp_path):
    from engine.segment.files import UnsupportedFile, decode_text

    text = "迈向新世纪\n第二行"
    assert decode_text(text.encode("utf-8"))[0] == text
    assert decode_text(b"\xef\xbb\xbf" + text.encode("utf-8"))[0] == text
    assert decode_text(text.encode("utf-16"))[0] == text
    assert decode_text(text.encode("gb18030")) == (text, "gb18030")
    with pytest.raises(UnsupportedFile, match="binary"):
        decode_text(bytes(range(256)) * 4)
    with pytest.raises(UnsupportedFile, match="not UTF-8"):
        decode_text(b"\x80\xff\x80\xff abc")


def test_segment_files_never_overwrites(tiny, tmp_path):
    from engine.progress import drive
    from engine.segment.files import segment_files_job

    src = tmp_path / "in.txt"
    src.write_bytes("迈向新世纪\r\n中国\r\n".encode("utf-8"))
    (tmp_path / "in.seg.txt").write_text("old", encoding="utf-8")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\x00\x01binary")
    outcomes = drive(segment_files_job([src, bad], model=tiny))
    assert outcomes[0].output == tmp_path / "in.seg (2).txt"
    assert (tmp_path / "in.seg.txt").read_text(encoding="utf-8") == "old"
    assert src.read_bytes() == "迈向新世纪\r\n中国\r\n".encode("utf-8")
    lines = outcomes[0].output.read_text(encoding="utf-8").split("\n")
    assert len(lines) == 3 and lines[2] == ""
    assert outcomes[1].output is None and "binary" in outcomes[1].error


# -- CLI -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def models_root(tiny_dir, tmp_path_factory):
    """A registry folder holding only the tiny model, for CLI subprocesses."""
    import shutil

    from engine.registry import write_manifest

    root = tmp_path_factory.mktemp("models")
    target = root / "segment" / "tiny"
    shutil.copytree(tiny_dir, target)
    write_manifest(target, name="tiny", task="segment", loader="engine.segment.model:load", default=True)
    return root


def run_cli(models_root, *args, stdin: bytes = b""):
    env = dict(os.environ, MOWEN_MODELS_DIR=str(models_root), MOWEN_SEGMENT_PRECISION="fp32")
    return subprocess.run([sys.executable, "-m", "engine", "segment", "--quiet", *args], input=stdin,
                          capture_output=True, cwd=ROOT, env=env, timeout=120)


def test_cli_one_line_out_per_line_in(models_root, tmp_path):
    lines = ["迈向充满希望的新世纪", "", "   ", "中国\x0b经济\x1c发展", "😀 1998年 ＧＰＵ", "\x1f"]
    data = ("\r\n".join(lines) + "\r\n").encode("utf-8")
    proc = run_cli(models_root, "-", stdin=data)
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode("utf-8").split("\n")
    assert out[-1] == "" and len(out) - 1 == len(lines)
    assert out[1] == "" and out[2] == ""
    assert out[0].replace(" ", "") == lines[0]
    assert "  " not in proc.stdout.decode("utf-8")
    # a line that is not UTF-8 is refused with one line naming it, not turned into U+FFFD
    proc = run_cli(models_root, "-", stdin=data + b"\xff\xfe broken utf-8\n")
    assert proc.returncode == 2 and "line 7: not valid UTF-8" in proc.stderr.decode()

    user = tmp_path / "user.txt"
    user.write_text("充满希望的新世纪 10 n\n", encoding="utf-8")
    proc = run_cli(models_root, "--user-dict", str(user), "--format", "jsonl", "-", stdin="迈向充满希望的新世纪\n".encode())
    record = json.loads(proc.stdout.decode())
    assert "充满希望的新世纪" in record["words"]
    assert len(record["tags"]) == len(record["probabilities"]) == 10


def test_cli_reports_a_missing_model(tmp_path):
    proc = run_cli(tmp_path, "-", stdin="中国\n".encode())
    assert proc.returncode == 2
    assert "no segment model" in proc.stderr.decode()


# -- the shipped model ------------------------------------------------------------------------

def test_folded_input_layer_gives_the_same_emissions(tiny_dir):
    """load() folds the input projection into the embedding tables; the emissions must not change."""
    import torch

    from engine.segment.model import load

    folded = load(tiny_dir, precision="fp32")
    assert folded.tagger.folded_input is not None
    texts = ["迈向充满希望的新世纪", "他来了，2023年增长3.5%", "x"]
    with_fold, lengths = folded.emissions(texts)
    folded.tagger.folded_input = None                    # back to concatenation + projection
    without, _ = folded.emissions(texts)
    for row_a, row_b, n in zip(with_fold, without, lengths):
        assert np.allclose(row_a[:n], row_b[:n], atol=1e-5)
    # a model in training mode never uses the folded tables (they would go stale)
    tagger = load(tiny_dir, precision="fp32").tagger.train()
    chars, bigrams, types, mask = folded.featuriser.batch(texts)
    torch.manual_seed(0)
    tagger.input_dropout.p = 0.0
    for block in tagger.blocks:
        block.dropout.p = 0.0
    with torch.no_grad():
        tagger.folded_input.zero_()
        trained = tagger.emissions(*(torch.from_numpy(a) for a in (chars, bigrams, types, mask))).numpy()
    assert np.allclose(trained[0, :lengths[0]], without[0, :lengths[0]], atol=1e-5)


def test_shipped_model_segments_sensibly():
    model = shipped_or_skip()
    from engine.segment.api import segment

    assert segment("迈向充满希望的新世纪", model=model).words == ("迈向", "充满", "希望", "的", "新", "世纪")
    words = segment("2023年GPU的价格上涨了３．５％", model=model).words
    assert "GPU" in words and "３．５％" in words and words[0] in ("2023年", "2023")


@pytest.mark.needs_shared("cws/pd199801/pd199801_seg.utf8")
def test_shipped_model_dev_sample_f1(shared_data):
    """Dev sentences (every 20th, never trained on): F1 well above a dictionary baseline."""
    data = shared_data / "cws/pd199801/pd199801_seg.utf8"
    model = shipped_or_skip()
    from engine.segment.api import segment
    from engine.segment.bmes import span_f1

    lines = [l.split() for l in data.read_text(encoding="utf-8").split("\n") if l.strip()][::20][:200]
    results = segment(["".join(w) for w in lines], model=model, probabilities=False)

    def spans(words):
        out, i = [], 0
        for w in words:
            out.append((i, i + len(w)))
            i += len(w)
        return out

    _, _, f1 = span_f1([spans(w) for w in lines], [spans(r.words) for r in results])
    assert f1 > 0.93
