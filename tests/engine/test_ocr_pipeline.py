"""Stage 4 (recognise), the whole pipeline, the CLI, and (when shipped) the real model on clean lines."""

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.ocr import synth
from engine.ocr.recognise import batch_lines, prepare_line

ROOT = Path(__file__).resolve().parents[2]
FACE = synth.default_face()
needs_font = pytest.mark.skipif(FACE is None, reason="no CJK font installed to render test images")
SHIPPED = sorted((ROOT / "assets" / "models" / "ocr").glob("*/manifest.json"))
needs_model = pytest.mark.skipif(not SHIPPED, reason="no OCR model weights shipped in assets/models/ocr")


def tiny_model(symbols="一二三国人"):
    """A randomly initialised recogniser: right shapes, meaningless text."""
    import torch

    from engine.ocr.model import LineRecogniser, OcrModel

    torch.manual_seed(0)
    net = LineRecogniser(len(symbols), (4, 4, 8, 8), 8).eval()
    config = {"num_symbols": len(symbols), "channels": [4, 4, 8, 8], "hidden": 8}
    return OcrModel(net, tuple(symbols), config, None, Path("."))


def test_prepare_line_normalises_polarity_and_height():
    dark_on_light = np.full((40, 100), 230, np.uint8)
    dark_on_light[10:30, 20:40] = 20
    light_on_dark = 255 - dark_on_light
    a, b = prepare_line(dark_on_light), prepare_line(light_on_dark)
    assert a.shape == b.shape == (32, 80)
    assert a.dtype == np.float32
    assert np.allclose(a, b, atol=0.02)
    assert a[16, 24] > 0.9 and a[2, 2] < 0.05  # ink → 1, ground → 0
    images, widths = batch_lines([a, prepare_line(dark_on_light[:, :50])])
    assert images.shape == (2, 1, 32, 80) and widths.tolist() == [80, 40]


def test_recognise_shapes_and_probabilities():
    from engine.ocr.recognise import recognise

    model = tiny_model()
    crops = [np.full((32, w), 255, np.uint8) for w in (64, 200, 17)]
    out = recognise(model, crops)
    assert [o.shape for o in out] == [(8, 6), (25, 6), (2, 6)]
    for o in out:
        assert np.allclose(np.exp(o).sum(axis=1), 1.0, atol=1e-4)


def test_stride_four_has_twice_the_columns_and_the_same_weights():
    import dataclasses

    from engine.ocr.model import LineRecogniser
    from engine.ocr.recognise import recognise

    model = tiny_model()
    net = LineRecogniser(len(model.symbols), (4, 4, 8, 8), 8, width_stride=4).eval()
    net.load_state_dict(model.net.state_dict())      # no weight depends on the stride
    crops = [np.full((32, w), 255, np.uint8) for w in (64, 200, 17)]
    out = recognise(dataclasses.replace(model, net=net), crops)
    assert [o.shape for o in out] == [(16, 6), (50, 6), (4, 6)]
    with pytest.raises(ValueError):
        LineRecogniser(5, width_stride=2)


def test_model_folder_round_trip(tmp_path):
    import torch

    from engine.ocr.lm import train_char_lm
    from engine.ocr.model import load
    from engine.registry import ModelCorrupt
    from engine.weights import save_model_dir, write_vocab

    model = tiny_model()
    save_model_dir(tmp_path, model.net.state_dict(), dict(model.config))
    write_vocab(tmp_path, list(model.symbols), "charset.txt")
    train_char_lm(["一二三", "国人"], min_count=1).save(tmp_path / "lm.bin")
    again = load(tmp_path)
    assert again.symbols == model.symbols and again.lm is not None
    x = torch.rand(1, 1, 32, 48)
    assert torch.allclose(again.net(x), model.net(x))
    write_vocab(tmp_path, list("一二"), "charset.txt")
    with pytest.raises(ModelCorrupt, match="charset.txt"):
        load(tmp_path)


@needs_font
def test_cli_jsonl_reports_errors_and_goes_on(tmp_path, monkeypatch, capsys):
    import engine.ocr.pipeline as pipeline
    from engine.__main__ import main

    monkeypatch.setattr(pipeline, "default_model", lambda: tiny_model())
    page = synth.render_page(["一二三国人"], FACE, 28, chars_per_line=5)
    good = tmp_path / "good.png"
    Image.fromarray(page.image).save(good)
    bad = tmp_path / "bad.png"
    bad.write_text("not an image", encoding="utf-8")
    assert main(["ocr", "--format", "jsonl", "--no-lm", str(bad), str(good)]) == 0
    records = [json.loads(l) for l in capsys.readouterr().out.splitlines()]
    assert records[0]["path"] == str(bad) and "not an image" in records[0]["error"]
    assert set(records[1]) >= {"path", "text", "lines", "seconds"}
    assert all(len(l["box"]) == 4 and "confidence" in l for l in records[1]["lines"])
    assert main(["ocr", str(bad), str(bad)]) == 1  # every input failed


def test_engine_ocr_modules_import_neither_torch_nor_qt():
    modules = ["engine.ocr", "engine.ocr.cli", "engine.ocr.pipeline", "engine.ocr.load", "engine.ocr.preprocess",
               "engine.ocr.detect", "engine.ocr.decode", "engine.ocr.lm", "engine.ocr.synth", "engine.ocr.recognise"]
    code = ("import sys\n" + "".join(f"import {m}\n" for m in modules) +
            "bad = [m for m in ('torch', 'PySide6', 'pyqtgraph') if m in sys.modules]\n"
            "sys.exit(1 if bad else 0)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


# ---------------------------------------------------------------- the shipped model
CLEAN_LINES = ["中华人民共和国", "我们的生活", "经济发展", "今天天气很好", "2024年1月", "人民日报"]


@needs_model
@needs_font
@pytest.mark.parametrize("text", CLEAN_LINES)
def test_shipped_model_reads_clean_lines_exactly(text):
    from engine.ocr.pipeline import ocr

    gray = synth.render_text_image(text, FACE, 36, random.Random(0), degrade=False)
    result = ocr(gray)
    assert result.text == text
    assert len(result.lines) == 1 and len(result.lines[0].confidences) == len(text)


@needs_model
@needs_font
def test_shipped_model_reads_a_page_in_order():
    from engine.ocr.pipeline import ocr

    page = synth.render_page(["中国人民的生活", "经济发展很快"], FACE, 30, chars_per_line=7, paragraph_gap=1.5)
    result = ocr(page.image)
    assert result.text.split("\n") == list(page.lines)


@needs_font
def test_ocr_batch_yields_progress_and_keeps_going(tmp_path):
    from engine.ocr.pipeline import ocr_batch
    from engine.ocr.result import OcrResult
    from engine.progress import drive

    page = synth.render_page(["一二三国人"], FACE, 28, chars_per_line=5)
    good = tmp_path / "good.png"
    Image.fromarray(page.image).save(good)
    bad = tmp_path / "empty.png"
    bad.write_bytes(b"")
    reports = []
    results = drive(ocr_batch([good, bad], False, model=tiny_model()), reports.append)
    assert [(r.step, r.total) for r in reports] == [(0, 2), (1, 2), (2, 2)]
    assert isinstance(results[0][1], OcrResult) and results[0][1].image_size == page.image.shape[1::-1]
    assert "empty" in results[1][1]


def test_short_unsure_lines_are_junk_and_the_rest_are_kept():
    from engine.ocr.decode import Decoded
    from engine.ocr.pipeline import SHORT_LINE_MIN_CONFIDENCE, is_junk

    low, high = SHORT_LINE_MIN_CONFIDENCE - 0.1, SHORT_LINE_MIN_CONFIDENCE + 0.1
    assert is_junk(Decoded("｛｝", (low, low)))                    # an avatar's rim
    assert is_junk(Decoded("画", (low,)))
    assert is_junk(Decoded("国 ", (low, 1.0)))                    # a space does not count
    assert not is_junk(Decoded("钦", (high,)))                     # a one-character line read surely
    assert not is_junk(Decoded("国）", (1.0, low)))                 # the mean decides, not the least
    assert not is_junk(Decoded("110", (low, low, low)))            # three characters: kept, however unsure
