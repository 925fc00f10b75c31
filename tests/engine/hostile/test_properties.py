"""Property tests, one group per CLI: random bytes and random Unicode as files and stdin,
random option values inside and outside their ranges.  Every run must end with an allowed
exit code, no traceback, a refusal as one clear line, input files unchanged, nothing partial
under a final name (no stray temp files either), in bounded time.

In-process ``main(argv)`` calls keep this fast (torch and the models load once); a few
subprocess examples cover the real entry point.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.engine.hostile.conftest import needs_couplet, snapshot

# MOWEN_HOSTILE_EXAMPLES=500 for a deeper search than CI's few examples per property
EXAMPLES = int(os.environ.get("MOWEN_HOSTILE_EXAMPLES", "20"))
FEW = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                      HealthCheck.too_slow])
SECONDS = 60  # per call; the slowest legitimate case here takes a few seconds

texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)
chinese = st.text(st.sampled_from("春风得意马蹄疾天增岁月人增寿一心两全其美，。山水花月"), min_size=0, max_size=12)
raw_bytes = st.binary(max_size=3000)


def payloads():
    """Bytes a user might feed: random bytes, random Unicode in several encodings, Chinese lines."""
    encoded = st.tuples(texts, st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "gb18030"])).map(
        lambda t: t[0].encode(t[1], errors="replace"))
    lines = st.lists(chinese, max_size=3).map(lambda ls: "\n".join(ls).encode())
    return st.one_of(raw_bytes, encoded, lines)


def checked(outcome, allowed, started):
    assert outcome.code in allowed, (outcome.code, outcome.err)
    assert time.monotonic() - started < SECONDS
    if outcome.code == 2:
        lines = outcome.err.strip().split("\n")  # not splitlines(): a user's U+0085 is not a line end
        if outcome.err.startswith("mowen: error:"):
            assert len(lines) == 1, outcome.err
        else:  # argparse: a usage line, then "prog: error: ..." (which may echo the user's own newlines)
            assert outcome.err.startswith("usage:") and ": error: " in outcome.err, outcome.err
    return outcome


def fresh(tmp_path: Path) -> Path:
    return Path(tempfile.mkdtemp(dir=tmp_path))


def expected_lines(data: bytes) -> int | None:
    """Lines a decodable UTF-8 input has (the CLI keeps one output line per input line)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    text = text.removeprefix("\ufeff")
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


# -- segment ------------------------------------------------------------------------------

@FEW
@given(data=payloads(), block=st.one_of(st.integers(-5, 10), st.integers(3_000_000, 10**9)),
       fmt=st.sampled_from(["text", "jsonl"]), to_file=st.booleans(), force=st.booleans())
def test_segment_on_anything(cli, tmp_path, data, block, fmt, to_file, force):
    folder = fresh(tmp_path)
    source = folder / "input.txt"
    source.write_bytes(data)
    out = folder / "out.txt"
    argv = ["segment", "--quiet", "--format", fmt, "--block-lines", str(block), str(source)]
    if to_file:
        argv += ["-o", str(out)] + (["--force"] if force else [])
    before = snapshot(folder)
    started = time.monotonic()
    result = checked(cli(*argv), {0, 2}, started)
    after = snapshot(folder)
    assert after.get("input.txt") == data
    assert set(after) <= {"input.txt", "out.txt"}  # no temp file left behind
    if result.code == 0:
        produced = out.read_text(encoding="utf-8") if to_file else result.out
        lines = expected_lines(data)
        if lines is not None:
            assert produced.count("\n") == lines
    else:
        assert after == before  # a refusal writes nothing
    piped = checked(cli("segment", "--quiet", "-", stdin=data), {0, 2}, time.monotonic())
    if piped.code == 0 and expected_lines(data) is not None:
        assert piped.out.count("\n") == expected_lines(data)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=payloads())
def test_segment_subprocess_on_anything(cli_process, data):
    started = time.monotonic()
    checked(cli_process("segment", "--quiet", "-", stdin=data), {0, 2}, started)


# -- couplet ------------------------------------------------------------------------------

numbers = st.one_of(st.integers(-3, 70).map(str), st.sampled_from(["nan", "inf", "-inf", "1e9", "x", "2.5"]))
reals = st.one_of(st.floats(-2, 3, allow_nan=False).map(repr), st.sampled_from(["nan", "inf", "0", "1", "x"]))
VALID_COUPLET = {  # option -> values inside its range
    "--n": st.integers(1, 4).map(str), "--beam": st.integers(1, 8).map(str),
    "--top-k": st.integers(0, 50).map(str), "--top-p": st.floats(0.05, 1).map(repr),
    "--temperature": st.sampled_from(["0", "0.5", "1.3"]), "--refine": st.integers(0, 2).map(str),
}


def couplet_run(cli, tmp_path, data, options, fmt, acrostic):
    folder = fresh(tmp_path)
    source = folder / "upper.txt"
    source.write_bytes(data)
    argv = ["couplet", "--model", "couplet-cnn", "--seed", "3", "--format", fmt, *options]
    if acrostic is not None:
        argv += ["--acrostic", acrostic]
    started = time.monotonic()
    result = checked(cli(*argv, str(source)), {0, 2}, started)
    assert snapshot(folder) == {"upper.txt": data}
    if result.code == 0:
        lines = expected_lines(data)
        if lines is not None:
            assert result.out.count("\n") == lines
            if fmt == "jsonl":
                assert all(line.startswith("{") for line in result.out.split("\n")[:-1])
    piped = checked(cli(*argv, "-", stdin=data), {0, 2}, time.monotonic())
    assert piped.code == result.code or result.code == 2
    return result


@FEW
@given(data=payloads(), values=st.fixed_dictionaries(VALID_COUPLET), fmt=st.sampled_from(["text", "jsonl"]),
       acrostic=st.one_of(st.none(), st.sampled_from(["风", "春风", "天地"])))
def test_couplet_on_anything_with_valid_options(cli, models_root, tmp_path, data, values, fmt, acrostic):
    needs_couplet(models_root)
    options = [part for option, value in values.items() for part in (option, value)]
    result = couplet_run(cli, tmp_path, data, options, fmt, acrostic)
    assert result.code == 0 or "mowen: error:" in result.err  # valid options: only the input can be refused


@FEW
@given(data=payloads(), option=st.sampled_from(sorted(VALID_COUPLET)), value=st.one_of(numbers, reals),
       fmt=st.sampled_from(["text", "jsonl"]), acrostic=st.one_of(st.none(), chinese, texts.map(lambda t: t[:3])))
def test_couplet_on_anything_with_a_random_option(cli, models_root, tmp_path, data, option, value, fmt, acrostic):
    needs_couplet(models_root)
    couplet_run(cli, tmp_path, data, [option, value], fmt, acrostic)


# -- attention normalize / mask ---------------------------------------------------------------

score_text = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                       st.sampled_from(["1e308", "-1e308", "1e-320", "nan", "inf", "-inf", "abc", "0x10", ""]))


@FEW
@given(scores=st.lists(score_text, max_size=12), kind=st.sampled_from(
           ["softmax", "sparse_softmax", "sparsemax", "entmax", "smooth_topk", "taylor_softmax", "gumbel_softmax"]),
       tau=reals, k=numbers, alpha=reals, order=numbers, via=st.sampled_from(["argv", "file", "stdin"]))
def test_normalize_on_anything(cli, tmp_path, scores, kind, tau, k, alpha, order, via):
    options = ["--kind", kind, "--tau", tau, "--k", k, "--alpha", alpha, "--order", order]
    folder = fresh(tmp_path)
    text = " ".join(scores)
    if via == "argv":
        argv, stdin = ["attention", "normalize", *options, "--", *[s for s in scores if s]], b""
    elif via == "file":
        (folder / "scores.txt").write_text(text, encoding="utf-8")
        argv, stdin = ["attention", "normalize", *options, "--file", str(folder / "scores.txt")], b""
    else:
        argv, stdin = ["attention", "normalize", *options, "--file", "-"], text.encode()
    started = time.monotonic()
    result = checked(cli(*argv, stdin=stdin), {0, 2}, started)
    if result.code == 0:
        values = [float(v) for v in result.out.split()]
        assert values and all(math.isfinite(v) and v >= 0 for v in values)
        total = float(k) if kind == "smooth_topk" else 1.0
        assert sum(values) == pytest.approx(total, abs=1e-6)
    if via == "file":
        assert (folder / "scores.txt").read_text(encoding="utf-8") == text


@FEW
@given(kind=st.sampled_from(["bidirectional", "causal", "unilm", "local", "atrous", "strided", "nonsense"]),
       n=st.one_of(st.integers(-5, 40), st.integers(8193, 10**12), st.sampled_from(["x", "1.5", "nan"])),
       window=st.integers(-3, 50), dilation=st.integers(-3, 50), stride=st.integers(-3, 50),
       prefix=st.integers(-5, 60), causal=st.booleans())
def test_mask_on_anything(cli, kind, n, window, dilation, stride, prefix, causal):
    argv = ["attention", "mask", "--kind", kind, "--n", str(n), "--window", str(window), "--dilation", str(dilation),
            "--stride", str(stride), "--prefix", str(prefix)] + (["--causal"] if causal else [])
    started = time.monotonic()
    result = checked(cli(*argv), {0, 2}, started)
    if result.code == 0:
        rows = result.out.splitlines()
        assert len(rows) == int(n) and all(len(r.split()) == int(n) for r in rows)


@FEW
@given(text=texts.map(lambda t: t[:80]), pair=st.one_of(st.none(), texts.map(lambda t: t[:80]), chinese))
def test_extract_on_anything(cli, models_root, text, pair):
    needs_couplet(models_root)
    argv = ["attention", "extract", "--model", "couplet-bert", "--", text]
    if pair is not None:
        argv = ["attention", "extract", "--model", "couplet-bert", "--pair", pair, "--", text]
    started = time.monotonic()
    result = checked(cli(*argv), {0, 2}, started)
    if result.code == 0:
        assert result.out.startswith("model: couplet-bert")


# -- ocr ----------------------------------------------------------------------------------

@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(st.one_of(raw_bytes, st.just(b""), st.binary(min_size=8, max_size=64).map(
           lambda b: b"\x89PNG\r\n\x1a\n" + b)), min_size=1, max_size=3),
       fmt=st.sampled_from(["text", "jsonl"]), no_lm=st.booleans())
def test_ocr_on_anything(cli, tmp_path, files, fmt, no_lm):
    """Random bytes as images through the CLI: exit 1 (every input failed), one line or one
    JSON error record per file, files unchanged."""
    from engine.registry import REGISTRY

    if not REGISTRY.list("ocr"):
        pytest.skip("no shipped OCR model")
    folder = fresh(tmp_path)
    paths = []
    for number, data in enumerate(files):
        paths.append(folder / f"image{number}.png")
        paths[-1].write_bytes(data)
    before = snapshot(folder)
    started = time.monotonic()
    result = checked(cli("ocr", "--format", fmt, *(["--no-lm"] if no_lm else []), *map(str, paths)), {1}, started)
    if fmt == "jsonl":
        records = [line for line in result.out.splitlines() if line]
        assert len(records) == len(files) and all('"error"' in r for r in records)
    else:
        lines = result.err.strip().splitlines()
        assert len(lines) == len(files) and all(line.startswith("mowen: error: ") for line in lines)
    assert snapshot(folder) == before


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(st.one_of(raw_bytes, st.just(b""), st.binary(min_size=8, max_size=64).map(
           lambda b: b"\x89PNG\r\n\x1a\n" + b)), min_size=1, max_size=3),
       fmt=st.sampled_from(["text", "jsonl"]), no_lm=st.booleans())
def test_ocr_loader_on_anything(tmp_path, files, fmt, no_lm):
    """Random bytes as images: one clear OcrInputError each (the CLI prints it as one line)."""
    from engine.errors import MowenError
    from engine.ocr.load import load_image

    folder = fresh(tmp_path)
    for number, data in enumerate(files):
        path = folder / f"image{number}.png"
        path.write_bytes(data)
        started = time.monotonic()
        with pytest.raises(MowenError) as refusal:
            load_image(path)
        assert "\n" not in str(refusal.value) and path.name in str(refusal.value)
        assert time.monotonic() - started < SECONDS
        assert path.read_bytes() == data


def test_ocr_cli_on_bad_files(cli, tmp_path):
    """Every input refused: exit 1, one line per file; a good file among bad ones still counts."""
    (tmp_path / "a.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    (tmp_path / "b.jpg").write_bytes(b"")
    result = cli("ocr", str(tmp_path / "a.png"), str(tmp_path / "b.jpg"), str(tmp_path / "missing.png"))
    lines = result.err.strip().splitlines()
    assert result.code == 1 and len(lines) == 3 and all(line.startswith("mowen: error: ") for line in lines)


# -- models and the entry point --------------------------------------------------------------

@FEW
@given(argv=st.lists(st.one_of(texts.map(lambda t: t[:20]), st.sampled_from(
    ["--verify", "--json", "--device", "cpu", "cuda", "models", "segment", "couplet", "attention", "-o", "--"])),
    max_size=5))
def test_entry_point_on_random_arguments(cli, argv):
    """Random words after ``models``: the listing or a usage error, nothing else."""
    started = time.monotonic()
    checked(cli("models", *argv), {0, 1, 2}, started)
