"""Issue 14, "Tracebacks where a clear message belongs": each case exits with one line
``mowen: error: ...`` (or argparse's usage error), never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import time

import pytest

from tests.engine.hostile.conftest import needs_couplet, snapshot

GOOD = "春回大地千山秀"


# -- couplet ------------------------------------------------------------------------------

def test_couplet_missing_file_and_folder(cli, tmp_path):
    cli("couplet", str(tmp_path / "missing.txt")).refused("No such file")
    cli("couplet", str(tmp_path)).refused("folder")


def test_couplet_unreadable_file(cli, tmp_path, monkeypatch):
    """Root reads any file, so the permission error is simulated where the input is opened."""
    import builtins

    import engine.files

    path = tmp_path / "secret.txt"
    path.write_text(GOOD + "\n", encoding="utf-8")

    def refuse(file, *a, **k):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return builtins.open(file, *a, **k)

    monkeypatch.setattr(engine.files, "open", refuse, raising=False)
    cli("couplet", str(path)).refused("Permission denied")


def test_couplet_one_bad_line_does_not_abort_the_batch(cli, models_root, tmp_path):
    needs_couplet(models_root)
    good = [GOOD] * 40
    data = ("\n".join(good) + "\n").encode("utf-8") + b"\xff\xfe\xfd\n" + (GOOD + "\n").encode("utf-8")
    path = tmp_path / "batch.txt"
    path.write_bytes(data)
    result = cli("couplet", "--model", "couplet-cnn", str(path))
    assert result.code == 0, result.err
    rows = result.out.split("\n")[:-1]
    assert len(rows) == 42 and rows[40] == "" and all(rows[i] for i in range(40)) and rows[41]
    assert "line 41: not valid UTF-8" in result.err
    assert result.err.strip().splitlines()[-1] == "41 of 42 lines written, 1 skipped"
    assert path.read_bytes() == data


def test_couplet_bom_on_line_one(cli, models_root):
    needs_couplet(models_root)
    result = cli("couplet", "--model", "couplet-cnn", stdin=b"\xef\xbb\xbf" + GOOD.encode() + b"\n")
    assert result.code == 0 and result.out.strip() and result.err == "", result.err


def test_couplet_strict_stops_at_the_first_bad_line(cli, models_root):
    needs_couplet(models_root)
    result = cli("couplet", "--model", "couplet-cnn", "--strict", stdin=f"{GOOD}\nabc\n{GOOD}\n".encode())
    assert result.code == 1 and len(result.out.split("\n")[:-1]) == 1
    assert result.err.strip().splitlines() == [result.err.strip()] and "line 2" in result.err


def test_couplet_help_documents_exit_codes(cli):
    result = cli("couplet", "--help")
    assert result.code == 0 and "exit codes" in result.out and "--strict" in result.out


# -- segment ------------------------------------------------------------------------------

def test_segment_model_of_another_task(cli, models_root, tmp_path):
    needs_couplet(models_root)
    (tmp_path / "in.txt").write_text(GOOD, encoding="utf-8")
    cli("segment", "--quiet", "--model", "couplet-cnn", str(tmp_path / "in.txt")).refused("not a segment model")


def test_segment_missing_input_and_user_dictionary(cli, tmp_path):
    cli("segment", "--quiet", str(tmp_path / "nope.txt")).refused("No such file")
    (tmp_path / "in.txt").write_text(GOOD, encoding="utf-8")
    cli("segment", "--quiet", "--user-dict", str(tmp_path / "nodict.txt"), str(tmp_path / "in.txt")).refused("nodict")
    (tmp_path / "bin.dict").write_bytes(bytes(range(256)))
    cli("segment", "--quiet", "--user-dict", str(tmp_path / "bin.dict"), str(tmp_path / "in.txt")).refused("binary")


@pytest.mark.parametrize("value", ["0", "-3", "abc", "1e9"])
def test_segment_block_lines_out_of_range(cli, value):
    cli("segment", "--block-lines", value).usage_error("--block-lines")


# -- attention normalize / mask ---------------------------------------------------------------

@pytest.mark.parametrize("kind", ["sparsemax", "entmax", "softmax", "smooth_topk", "taylor_softmax", "sparse_softmax"])
def test_normalize_nan_is_one_clear_line(cli, kind):
    cli("attention", "normalize", "--kind", kind, "1", "nan", "2").refused("NaN")


@pytest.mark.parametrize("kind", ["sparsemax", "entmax"])
@pytest.mark.parametrize("scores", [["1", "inf", "2"], ["-inf", "1", "2"], ["1e308", "-1e308", "3"]])
def test_sparsemax_and_entmax_on_inf_and_huge(cli, kind, scores):
    result = cli("attention", "normalize", "--kind", kind, *scores)
    assert result.code == 0, result.err
    values = [float(v) for v in result.out.split()]
    assert all(0 <= v <= 1 for v in values) and abs(sum(values) - 1) < 1e-12


@pytest.mark.parametrize("option", [["--k", "nan"], ["--k", "inf"], ["--tau", "nan"], ["--tau", "-1"],
                                    ["--tau", "inf"], ["--alpha", "nan"], ["--alpha", "0.5"], ["--order", "3"],
                                    ["--order", "1000000"]])
def test_normalize_bad_parameters(cli, option):
    kind = {"--k": "smooth_topk", "--alpha": "entmax", "--order": "taylor_softmax"}.get(option[0], "softmax")
    cli("attention", "normalize", "--kind", kind, *option, "1", "2", "3").refused()


def test_mask_huge_n_is_refused_quickly(cli):
    start = time.monotonic()
    cli("attention", "mask", "--kind", "local", "--n", "100000").refused("8192")
    cli("attention", "mask", "--kind", "causal", "--n", "20000").refused("8192")
    cli("attention", "mask", "--kind", "causal", "--n", "-1").refused("n must")
    assert time.monotonic() - start < 2


def test_mask_largest_n_streams_in_bounded_memory(tmp_path):
    """n = 8192 (the cap) prints 8192 rows in bounded memory and time: rows are streamed
    (the old code took 6.9 GB and 30 s at n = 20000)."""
    import subprocess
    import sys

    from tests.engine.hostile.conftest import ROOT

    from tests.engine.hostile.conftest import PEAK_KB

    probe = ("import sys; from engine.__main__ import main; code = main(sys.argv[1:]); "
             "sys.stdout.flush(); sys.stderr.write(str(" + PEAK_KB + ")); sys.exit(code)")
    start = time.monotonic()
    with open(os.devnull, "wb") as sink:
        proc = subprocess.run([sys.executable, "-c", probe, "attention", "mask", "--kind", "strided", "--n", "8192"],
                              cwd=ROOT, stdout=sink, stderr=subprocess.PIPE, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - start < 60
    peak_mb = int(proc.stderr.decode().strip().splitlines()[-1]) / 1024
    assert peak_mb < 400, peak_mb


# -- models ---------------------------------------------------------------------------------

@pytest.fixture
def model_folder(tmp_path):
    """A registry with one tiny segment model (a copy, so it can be damaged)."""
    from engine.registry import write_manifest
    from tests.engine.test_segment import tiny_model_dir

    target = tmp_path / "models" / "segment" / "tiny"
    tiny_model_dir(target)
    write_manifest(target, name="tiny", task="segment", loader="engine.segment.model:load", default=True)
    return tmp_path / "models"


def use_registry(monkeypatch, root):
    from engine import registry

    fresh = registry.Registry(root)
    monkeypatch.setattr(registry, "REGISTRY", fresh)
    return fresh


def test_models_unreadable_weights(cli, model_folder, monkeypatch, tmp_path):
    import builtins

    import engine.registry

    use_registry(monkeypatch, model_folder)
    weights = model_folder / "segment" / "tiny" / "model.safetensors"

    def refuse(file, *a, **k):
        if str(file) == str(weights):
            raise PermissionError(13, "Permission denied", str(file))
        return builtins.open(file, *a, **k)

    monkeypatch.setattr(engine.registry, "open", refuse, raising=False)
    result = cli("models", "--verify")
    assert result.code == 1 and "cannot be read" in result.out
    (tmp_path / "in.txt").write_text(GOOD, encoding="utf-8")
    cli("segment", "--quiet", str(tmp_path / "in.txt")).refused("cannot be read")


def test_models_missing_loader_module(cli, model_folder, monkeypatch, tmp_path):
    manifest = model_folder / "segment" / "tiny" / "manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    manifest.write_text(json.dumps(dict(data, loader="engine.no_such_module:load")), encoding="utf-8")
    use_registry(monkeypatch, model_folder)
    (tmp_path / "in.txt").write_text(GOOD, encoding="utf-8")
    cli("segment", "--quiet", str(tmp_path / "in.txt")).refused("loader", "cannot be imported")


def test_one_broken_manifest_does_not_disable_the_others(cli, model_folder, monkeypatch, tmp_path):
    broken = model_folder / "segment" / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json", encoding="utf-8")
    use_registry(monkeypatch, model_folder)
    listing = cli("models")
    assert listing.code == 1 and "tiny" in listing.out and "unreadable" in listing.out
    (tmp_path / "in.txt").write_text(GOOD, encoding="utf-8")
    result = cli("segment", "--quiet", str(tmp_path / "in.txt"))
    assert result.code == 0 and result.out.replace(" ", "").strip() == GOOD, result.err


def test_duplicate_model_names_are_refused(cli, model_folder, monkeypatch, tmp_path):
    shutil.copytree(model_folder / "segment" / "tiny", model_folder / "segment" / "stray-copy")
    use_registry(monkeypatch, model_folder)
    (tmp_path / "in.txt").write_text(GOOD, encoding="utf-8")
    before = snapshot(tmp_path / "models")
    cli("segment", "--quiet", "--model", "tiny", str(tmp_path / "in.txt")).refused("claim the name 'tiny'")
    cli("segment", "--quiet", str(tmp_path / "in.txt")).refused("claim the name")
    assert "claim the name" in cli("models").out
    assert snapshot(tmp_path / "models") == before


def test_every_refusal_class_is_a_mowen_error():
    from engine.couplet.rules import InvalidLine
    from engine.errors import MowenError
    from engine.files import UnsupportedFile
    from engine.ocr.result import OcrInputError
    from engine.registry import ModelCorrupt, ModelError, ModelMissing

    for cls in (InvalidLine, UnsupportedFile, OcrInputError, ModelError, ModelMissing, ModelCorrupt):
        assert issubclass(cls, MowenError), cls
    for cls in (InvalidLine, UnsupportedFile, OcrInputError):
        assert issubclass(cls, ValueError), cls  # older callers catch ValueError


def test_a_bug_still_shows_its_traceback(monkeypatch, capsys):
    """Only MowenError is turned into one line: anything else is a bug and must stay visible."""
    from engine import __main__ as entry
    from engine.attention import cli as attention_cli

    def broken(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(attention_cli, "run", broken)
    with pytest.raises(ZeroDivisionError):
        entry.main(["attention", "models"])


# -- attention extract ------------------------------------------------------------------------

@pytest.mark.parametrize("argv, reason", [([""], "non-empty"), (["春风", "--pair", ""], "non-empty"),
                                          (["春" * 10_000], "characters per segment"),
                                          (["春风", "--pair", "秋"], "length"),
                                          (["--model", "nope", "春风"], "no model named")])
def test_extract_bad_text_is_one_clear_line(cli, models_root, argv, reason):
    needs_couplet(models_root)
    cli("attention", "extract", *argv).refused(reason)
