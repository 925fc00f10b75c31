"""Issue 14, "Hangs and silent nonsense": options out of range are refused before any work,
every normaliser follows one rule for NaN, ±inf, huge scores and tiny temperatures, long
score vectors come from a file or stdin, and the OCR loader keeps its memory bounded."""

from __future__ import annotations

import math
import time

import pytest
import torch

from tests.engine.hostile.conftest import needs_couplet

GOOD = "春回大地千山秀"


# -- couplet options -------------------------------------------------------------------------

@pytest.mark.parametrize("option", [
    ["--n", "0"], ["--n", "-1"], ["--n", "51"], ["--beam", "0"], ["--beam", "65"], ["--temperature", "-1"],
    ["--temperature", "nan"], ["--temperature", "inf"], ["--top-p", "2"], ["--top-p", "0"], ["--top-p", "nan"],
    ["--top-k", "-5"], ["--top-k", "10000000"], ["--refine", "100000"], ["--refine", "-1"],
    ["--acrostic", "春风秋"], ["--acrostic", "a"], ["--seed", "-1"], ["--n", "two"],
])
def test_couplet_options_out_of_range_are_refused_at_once(cli, option):
    start = time.monotonic()
    cli("couplet", *option, stdin=(GOOD + "\n").encode()).usage_error(option[0])
    assert time.monotonic() - start < 5


def test_couplet_top_k_above_the_vocabulary(cli, models_root):
    needs_couplet(models_root)
    cli("couplet", "--model", "couplet-cnn", "--temperature", "1", "--top-k", "999999",
        stdin=(GOOD + "\n").encode()).refused("vocabulary")


def test_couplet_two_character_acrostic_is_checked_per_line(cli, models_root):
    needs_couplet(models_root)
    result = cli("couplet", "--model", "couplet-cnn", "--acrostic", "春风", stdin=f"{GOOD}\n天增岁月人增寿\n".encode())
    rows = result.out.split("\n")[:-1]
    assert result.code == 0 and rows[0].startswith("风") and rows[1] == ""
    assert "line 2: 藏头" in result.err


@pytest.mark.parametrize("option", [["--temperature", "1", "--top-k", "VOCAB"], ["--refine", "10"]])
def test_couplet_largest_allowed_values_finish(cli, models_root, option):
    """The largest values the CLI allows finish in bounded time (the quadratic fallback of
    decode.py was reached with top-k 10^7, which the CLI now refuses)."""
    needs_couplet(models_root)
    from engine.registry import REGISTRY, load_model

    model = "couplet-bert" if "--refine" in option else "couplet-cnn"
    if model not in REGISTRY.entries():
        pytest.skip(f"{model} is not shipped")
    vocab = len(load_model(model, task="couplet").vocab)
    option = [str(vocab) if v == "VOCAB" else v for v in option]
    start = time.monotonic()
    result = cli("couplet", "--model", model, "--seed", "1", *option, stdin=(GOOD + "\n").encode())
    assert result.code == 0 and result.out.strip(), result.err
    assert time.monotonic() - start < 120


# -- normalisers: one rule for every kind -------------------------------------------------------

from engine.attention.normalizers import KINDS, normalize  # noqa: E402

INF = math.inf


def run_kind(kind, scores, **kw):
    k = kw.pop("k", 2)
    return normalize(torch.tensor(scores, dtype=torch.float64), kind, k=k,
                     generator=torch.Generator().manual_seed(0), **kw)


def mass(kind, k=2):
    return float(k) if kind == "smooth_topk" else 1.0


@pytest.mark.parametrize("kind", KINDS)
def test_nan_is_refused_by_every_normaliser(kind):
    from engine.errors import MowenError

    with pytest.raises(MowenError, match="NaN"):
        run_kind(kind, [1.0, math.nan, 2.0])


@pytest.mark.parametrize("kind", KINDS)
def test_plus_inf_entries_share_the_mass(kind):
    p = run_kind(kind, [1.0, INF, 2.0, INF], k=1)
    assert p.tolist() == [0.0, 0.5, 0.0, 0.5]
    p = run_kind(kind, [1.0, INF, 2.0], k=1)
    assert p.tolist() == [0.0, 1.0, 0.0]


def test_smooth_topk_with_fewer_inf_than_k():
    p = run_kind("smooth_topk", [1.0, INF, 2.0, -3.0], k=2.5)
    assert p[1] == 1.0 and float(p.sum()) == pytest.approx(2.5) and p[3] < p[0] < p[2]


@pytest.mark.parametrize("kind", KINDS)
def test_minus_inf_entries_get_zero(kind):
    p = run_kind(kind, [1.0, -INF, 2.0, 0.5], k=2)
    assert p[1] == 0.0 and torch.isfinite(p).all()
    assert float(p.sum()) == pytest.approx(mass(kind))
    from engine.errors import MowenError

    with pytest.raises(MowenError, match="-inf"):
        run_kind(kind, [-INF, -INF, -INF], k=2)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("scores", [[1e308, 1e308, -1e308], [1e308, -1e308, 0.0, 5.0], [-1e308, -1e308, -1.7e308],
                                    [1e300, -1e300, 0.0], [1e-320, 0.0, -1e-320]])
def test_huge_and_tiny_scores_give_a_distribution(kind, scores):
    p = run_kind(kind, scores, k=2)
    assert torch.isfinite(p).all() and (p >= 0).all(), p
    assert float(p.sum()) == pytest.approx(mass(kind), abs=1e-9), p


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("tau", [1e-320, 1e-300, 1e300])
def test_extreme_temperatures_give_the_limits(kind, tau):
    p = run_kind(kind, [1.0, 2.0, 3.0, 0.5], k=2, tau=tau)
    assert torch.isfinite(p).all() and float(p.sum()) == pytest.approx(mass(kind), abs=1e-9), p
    if tau < 1 and kind != "gumbel_softmax":  # tau -> 0: the arg max (the top 2 for smooth top-k)
        expected = [0.0, 1.0, 1.0, 0.0] if kind == "smooth_topk" else [0.0, 0.0, 1.0, 0.0]
        if kind == "taylor_softmax":  # p ∝ s^order / order!: the largest |s| dominates polynomially
            expected = [1.0 / 14.25, 4.0 / 14.25, 9.0 / 14.25, 0.25 / 14.25]
        assert p.tolist() == pytest.approx(expected, abs=1e-9)


def test_issue_cases_exactly(cli):
    out = cli("attention", "normalize", "--kind", "softmax", "1", "inf", "2").out.split()
    assert [float(v) for v in out] == [0.0, 1.0, 0.0]
    out = cli("attention", "normalize", "--kind", "smooth_topk", "--k", "2", "1e308", "1e308", "-1e308").out.split()
    assert sum(float(v) for v in out) == pytest.approx(2.0)
    for argv in (["1e308", "1", "2"], ["--tau", "1e-320", "1", "2", "3"]):
        values = [float(v) for v in cli("attention", "normalize", "--kind", "taylor_softmax", *argv).out.split()]
        assert all(math.isfinite(v) for v in values) and sum(values) == pytest.approx(1.0)


def test_normalize_reads_a_long_vector_from_a_file_and_stdin(cli, tmp_path):
    n = 150_000
    text = " ".join(str((i % 97) / 10) for i in range(n))
    (tmp_path / "scores.txt").write_text(text, encoding="utf-8")
    start = time.monotonic()
    from_file = cli("attention", "normalize", "--kind", "entmax", "--file", str(tmp_path / "scores.txt"))
    from_stdin = cli("attention", "normalize", "--kind", "entmax", "--file", "-", stdin=text.replace(" ", "\n").encode())
    assert from_file.code == from_stdin.code == 0 and from_file.out == from_stdin.out
    values = [float(v) for v in from_file.out.split()]
    assert len(values) == n and sum(values) == pytest.approx(1.0)
    assert time.monotonic() - start < 60
    (tmp_path / "bad.txt").write_text("1 2 three", encoding="utf-8")
    cli("attention", "normalize", "--file", str(tmp_path / "bad.txt")).refused("score 3", "not a number")
    cli("attention", "normalize", "--file", str(tmp_path / "none.txt")).refused("No such file")
    cli("attention", "normalize", "--file", "-", stdin=b"").refused("no scores")
    cli("attention", "normalize", "--file", "-", "1", "2").refused("not both")


# -- OCR loader memory ---------------------------------------------------------------------------

def test_16_bit_13000_square_png_stays_under_a_gigabyte(tmp_path):
    """Issue 14: a 360 KB 16-bit PNG of 13000×13000 took 3.4 GB (a full-size float64 copy)."""
    import subprocess
    import sys

    from tests.engine.hostile.conftest import ROOT

    path = tmp_path / "deep.png"
    make = ("import numpy as np; from PIL import Image; a = np.zeros((13000, 13000), np.uint16); "
            "a[::40] = 50000; Image.fromarray(a).save(sys.argv[1])")
    subprocess.run([sys.executable, "-c", "import sys; " + make, str(path)], check=True, timeout=300)
    from tests.engine.hostile.conftest import PEAK_KB

    probe = ("import sys; from engine.ocr.load import load_image; r = load_image(sys.argv[1]); "
             "print(r.rgb.shape[0] * r.rgb.shape[1], r.rgb.max(), " + PEAK_KB + " // 1024)")
    out = subprocess.run([sys.executable, "-c", probe, str(path)], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    pixels, brightest, peak_mb = (int(v) for v in out.stdout.split())
    assert pixels <= 40_000_000 and brightest > 0
    assert peak_mb < 1000, f"peak {peak_mb} MB"


@pytest.mark.parametrize("call", ["top_k=10**7, temperature=1.0", "refine_steps=100_000"])
def test_engine_level_couplet_options_are_bounded(models_root, call):
    """The CLI refuses these values; the engine API (engine/couplet/decode.py, being rewritten
    by the lead) must refuse or bound them too.  Run in a subprocess so a hang costs 20 s."""
    import os
    import subprocess
    import sys

    from tests.engine.hostile.conftest import ROOT

    needs_couplet(models_root)
    code = ("from engine.couplet.decode import generate_couplet\n"
            "from engine.errors import MowenError\n"
            f"try:\n    generate_couplet('春回大地千山秀', seed=1, {call})\nexcept MowenError as exc:\n    print(exc)\n")
    env = dict(os.environ, MOWEN_MODELS_DIR=str(models_root), MOWEN_DEVICE="cpu")
    try:
        proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=20)
    except subprocess.TimeoutExpired:
        pytest.xfail(f"generate_couplet({call}) runs for minutes: decode.py needs a range check or a bound "
                     f"(the CLI already refuses the value)")
    assert proc.returncode == 0, proc.stderr
