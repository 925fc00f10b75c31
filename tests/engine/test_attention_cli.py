"""``python -m engine attention ...``: printed probabilities, masks and errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.__main__ import main
from engine.attention.masks import make_mask
from engine.attention.normalizers import normalize_numpy

ROOT = Path(__file__).resolve().parents[2]


def printed_floats(capsys) -> list[float]:
    return [float(line) for line in capsys.readouterr().out.split()]


@pytest.mark.parametrize("argv", [["-1.5", "2", "0.25"], ["--", "-1.5", "2", "0.25"],
                                  ["-1.5", "--", "2", "0.25"]])
def test_negative_scores_with_and_without_double_dash(capsys, argv):
    assert main(["attention", "normalize", "--kind", "softmax", *argv]) == 0
    assert printed_floats(capsys) == normalize_numpy([-1.5, 2, 0.25], "softmax").tolist()


@pytest.mark.parametrize("kind,extra,params", [
    ("sparsemax", [], {}),
    ("entmax", ["--alpha", "1.3"], {"alpha": 1.3}),
    ("sparse_softmax", ["--k", "2"], {"k": 2}),
    ("smooth_topk", ["--k", "2", "--tau", "0.5"], {"k": 2, "tau": 0.5}),
    ("taylor_softmax", ["--tau", "2"], {"tau": 2}),
])
def test_each_kind_prints_full_precision(capsys, kind, extra, params):
    scores = ["-1e-3", "2", "0.7", "-3"]
    assert main(["attention", "normalize", "--kind", kind, *extra, *scores]) == 0
    values = printed_floats(capsys)
    # exact equality: repr round-trips a float, so nothing was rounded on the way out
    assert values == normalize_numpy([float(s) for s in scores], kind, **params).tolist()
    assert sum(values) == pytest.approx(2.0 if kind == "smooth_topk" else 1.0)


def test_mask_rows_are_printed(capsys):
    assert main(["attention", "mask", "--kind", "unilm", "--n", "5", "--prefix", "2"]) == 0
    rows = [[int(c) for c in line.split()] for line in capsys.readouterr().out.splitlines()]
    np.testing.assert_array_equal(np.array(rows, dtype=bool), make_mask("unilm", 5, prefix=2))
    assert main(["attention", "mask", "--kind", "strided", "--n", "6", "--stride", "2", "--causal"]) == 0
    rows = [[int(c) for c in line.split()] for line in capsys.readouterr().out.splitlines()]
    np.testing.assert_array_equal(np.array(rows, dtype=bool), make_mask("strided", 6, stride=2, causal=True))


def test_bad_parameters_exit_nonzero(capsys):
    """A value out of range is a user error: exit 2, one line 'mowen: error: ...'."""
    assert main(["attention", "normalize", "--kind", "sparse_softmax", "--k", "1.5", "1", "2"]) == 2
    assert main(["attention", "normalize", "--tau", "0", "1", "2"]) == 2
    assert main(["attention", "mask", "--kind", "atrous", "--n", "4", "--dilation", "0"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3 and all(line.startswith("mowen: error: ") for line in err) and "dilation" in err[2]


def test_study_prints_csv(capsys):
    assert main(["attention", "study", "noise", "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("n,simulated_sigma=")
    assert len(lines) == 10


def test_extract_without_models_is_a_clear_error(tmp_path, monkeypatch, capsys):
    import engine.registry as registry

    monkeypatch.setattr(registry, "REGISTRY", registry.Registry(tmp_path))
    assert main(["attention", "extract", "春风"]) == 2
    assert "no shipped transformer model" in capsys.readouterr().err


def test_module_entry_point_in_a_fresh_interpreter():
    out = subprocess.run([sys.executable, "-m", "engine", "attention", "normalize", "--kind", "sparsemax",
                          "-1.5", "2", "1.8"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert [float(v) for v in out.stdout.split()] == pytest.approx([0.0, 0.6, 0.4])


def test_importing_the_cli_does_not_import_torch():
    code = "import sys, engine.attention.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
