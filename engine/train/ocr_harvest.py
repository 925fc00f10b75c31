"""Training lines cut the way the page pipeline cuts them, from a page set built with ``--text train``.

    python -m engine.train.ocr_harvest --set checkpoints/ocr-train-104 --out checkpoints/ocr-lines-104

``engine.train.ocr --real-lines`` teaches the recogniser ground-truth quads warped flat straight from the photo.
At run time it reads something else: crops of the flattened, illumination-corrected page, cut by
``detect.cut_line`` around the ink the line finder found.  On the photos of dev seed 16 the recogniser read those
ground-truth crops worse than the pipeline's own (CER 8.4% against 5.7%), so the two kinds of crop differ enough to
matter.  This runs the pipeline's stages (load → preprocess → detect_lines → cut_line) on every page, matches each
found line to the one ground-truth line it covers, and saves the crop with that line's text:
``<out>/lines.jsonl`` (one ``{"file", "text", "page"}`` per crop) and the crops as PNG.

A found line is kept only when its ink box lies mostly inside one ground-truth line, spans 85–115% of that line's
width, and the shipped model's reading of it is within 40% CER of the label: a line the finder split, merged or cut
short would teach the wrong text.  A list marker the finder skipped is left out of the label when the reading says so.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

MARKERS = "·•●○■□◆◇▪▫・∙‧◦★☆"


def _gt_boxes(gt: dict, matrix, scale: float):
    """Ground-truth lines → axis-aligned boxes (x0, y0, x1, y1) in preprocessed-page coordinates."""
    import cv2
    import numpy as np

    boxes = []
    for line in gt["lines"]:
        x0, y0, x1, y1 = line["box"]
        quad = np.float64(line.get("quad") or [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]) * scale
        pts = cv2.perspectiveTransform(quad[None], np.asarray(matrix, np.float64))[0]
        boxes.append((pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max()))
    return boxes


def _inter(a, b) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def match_line(core, boxes) -> int | None:
    """Index of the one ground-truth box the ink box ``core`` belongs to, or None when it is not clearly one."""
    area = max(1.0, (core[2] - core[0]) * (core[3] - core[1]))
    overlaps = sorted(((_inter(core, b) / area, i) for i, b in enumerate(boxes)), reverse=True)
    # ground-truth boxes take in the line spacing, so a neighbour's box overlaps a found line by up to about a
    # quarter; two lines the finder merged overlap it by about a half each
    if not overlaps or overlaps[0][0] < 0.7 or (len(overlaps) > 1 and overlaps[1][0] > 0.4):
        return None
    i = overlaps[0][1]
    gw = boxes[i][2] - boxes[i][0]
    return i if 0.85 * gw <= core[2] - core[0] <= 1.15 * gw else None


def choose_label(text: str, reading: str) -> str:
    """The ground-truth text, without its leading list marker when the crop was read without one."""
    from engine.ocr.metrics import edit_distance

    bare = text.lstrip().lstrip(MARKERS).lstrip()
    squeeze = lambda s: "".join(s.split())  # noqa: E731
    reading = squeeze(reading)
    if bare != text and edit_distance(squeeze(bare), reading) <= edit_distance(squeeze(text), reading):
        return bare
    return text


def harvest(set_dir: Path, out: Path, model, limit: int = 0):
    """Yield (pages done, pages, lines kept) while writing ``out``."""
    import cv2

    from engine.ocr.detect import cut_line, detect_lines
    from engine.ocr.load import load_image
    from engine.ocr.metrics import edit_distance
    from engine.ocr.pipeline import read_lines
    from engine.ocr.preprocess import preprocess
    from engine.ocr.recognise import prepare_line
    from engine.train.ocr import tidy_label
    from engine.files import atomic_write_bytes

    index = json.loads((set_dir / "index.json").read_text(encoding="utf-8"))
    items = index["items"][:limit] if limit else index["items"]
    out.mkdir(parents=True, exist_ok=True)
    records = []
    for k, item in enumerate(items):
        gt = json.loads((set_dir / item["gt"]).read_text(encoding="utf-8"))
        loaded = load_image(set_dir / item["image"])
        pre = preprocess(loaded.rgb)
        layout = detect_lines(pre)
        found = [l for l in layout.lines if l.core is not None]
        if found and not layout.vertical:
            boxes = _gt_boxes(gt, pre.matrix, loaded.scale)
            crops = [cut_line(pre.gray, line, pre.binary) for line in found]
            readings = read_lines(model, [prepare_line(c) for c in crops])
            for j, (line, crop, read) in enumerate(zip(found, crops, readings)):
                i = match_line(line.core, boxes)
                if i is None:
                    continue
                label = tidy_label(choose_label(gt["lines"][i]["text"], read.text))
                if not label or edit_distance(label, read.text) > 0.4 * len(label):
                    continue
                name = f"{item['name']}_{j:03d}.png"
                ok, png = cv2.imencode(".png", crop)
                if ok:
                    atomic_write_bytes(out / name, png.tobytes())
                    records.append({"file": name, "text": label, "page": item["name"]})
        yield k + 1, len(items), len(records)
    atomic_write_bytes(out / "lines.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m engine.train.ocr_harvest", description=__doc__.splitlines()[0])
    ap.add_argument("--set", required=True, type=Path, help="a page set from benchmarks.ocr_real.build --text train")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--model", default=None, help="registry name of the recogniser that checks the labels")
    ap.add_argument("--limit", type=int, default=0, help="at most N pages")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    if not (args.set / "index.json").is_file():
        print(f"error: {args.set} has no index.json (build it with benchmarks.ocr_real.build)", file=sys.stderr)
        return 2
    import torch
    from tqdm import tqdm

    from engine.registry import load_model

    torch.set_num_threads(args.threads)
    model = load_model(args.model, "ocr")
    bar = tqdm(unit="page")
    for _, total, kept in harvest(args.set, args.out, model, args.limit):
        bar.total = total
        bar.set_postfix(lines=kept)
        bar.update(1)
    bar.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
