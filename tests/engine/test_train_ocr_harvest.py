"""Training lines cut by the page pipeline (engine.train.ocr_harvest) and read back by the OCR trainer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.train.ocr_harvest import choose_label, harvest, match_line

DATA = Path(__file__).resolve().parents[1] / "data" / "ocr"

# three ground-truth lines 50 px apart whose boxes take in the spacing (as the real-renderer sets' boxes do)
BOXES = [(100, 90, 1000, 145), (100, 135, 1000, 190), (100, 180, 1000, 235)]


def test_a_found_line_is_matched_to_the_one_line_it_lies_in():
    assert match_line((105, 140, 990, 178), BOXES) == 1


def test_two_merged_lines_a_cut_short_line_and_stray_ink_are_not_matched():
    assert match_line((105, 100, 990, 178), BOXES) is None    # two lines the finder merged
    assert match_line((105, 140, 500, 178), BOXES) is None    # half a line (a false column cut)
    assert match_line((105, 300, 990, 330), BOXES) is None    # below every line


def test_the_leading_list_marker_follows_what_the_crop_shows():
    assert choose_label("● 温度 21℃", "温度 21℃") == "温度 21℃"
    assert choose_label("● 温度 21℃", "●温度 21℃") == "● 温度 21℃"
    assert choose_label("温度 21℃", "温度 2l℃") == "温度 21℃"


def test_harvest_keeps_each_line_of_a_photo_with_its_text(tmp_path):
    """A photo whose ground truth is the pipeline's own reading, as quads in the file's coordinates (as the
    real-renderer sets give photo lines): every line must come back matched through the page warp, with its text,
    so the coordinate bookkeeping is right."""
    cv2 = pytest.importorskip("cv2")
    from engine.ocr.pipeline import ocr_page
    from engine.registry import load_model

    model = load_model(None, "ocr")
    image = DATA / "photo_page.jpg"
    page = ocr_page(image, model=model)
    lines = page.result.lines
    assert len(lines) >= 5
    to_file = np.diag([1 / page.scale, 1 / page.scale, 1]) @ np.linalg.inv(np.asarray(page.extra["matrix"]))

    def quad(line):
        x0, y0, x1, y1 = line.page_box
        corners = np.float64([[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]])
        return cv2.perspectiveTransform(corners, to_file)[0].tolist()

    (tmp_path / "set").mkdir()
    gt = {"lines": [{"text": l.text, "box": list(l.box), "quad": quad(l)} for l in lines]}
    (tmp_path / "set" / "page.json").write_text(json.dumps(gt, ensure_ascii=False), encoding="utf-8")
    index = {"items": [{"name": "page", "subset": "photos", "image": str(image), "gt": "page.json"}]}
    (tmp_path / "set" / "index.json").write_text(json.dumps(index), encoding="utf-8")

    steps = list(harvest(tmp_path / "set", tmp_path / "out", model))
    assert steps[-1][:2] == (1, 1)
    kept = [json.loads(r) for r in (tmp_path / "out" / "lines.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(kept) >= len(lines) - 1
    assert {r["text"] for r in kept} <= {" ".join(l.text.split()) for l in lines}
    assert all((tmp_path / "out" / r["file"]).is_file() for r in kept)


def test_the_trainer_reads_harvested_lines_with_a_validation_split(tmp_path):
    cv2 = pytest.importorskip("cv2")
    from engine.train.ocr import pipeline_lines

    crop = np.full((30, 90), 255, np.uint8)
    cv2.putText(crop, "12", (5, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.9, 0, 2)
    rows = []
    for page in range(12):
        name = f"p{page}.png"
        cv2.imwrite(str(tmp_path / name), crop)
        rows.append({"file": name, "text": "12", "page": f"page{page}"})
    rows.append({"file": "p0.png", "text": "1𠀋", "page": "page1"})   # a symbol outside the set: left out
    (tmp_path / "lines.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    train, val = pipeline_lines([tmp_path], ["1", "2"], lambda g: g.astype(np.float32) / 255)
    assert (len(train), len(val)) == (10, 2)          # pages 0 and 10 validate
    assert all(label == "12" and image.shape == (30, 90) for image, label in train + val)
