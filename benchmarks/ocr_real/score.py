"""Score OCR systems on the real-renderer set (benchmarks/ocr_real/build.py).

    .venv/bin/python -m benchmarks.ocr_real.score --set DIR [--systems mowen,rapidocr,tesseract]
        [--subsets screens,docs,photos] [--limit N] [--dump DIR] [--json FILE] [--threads 1] [--errors N]

A system name ``mowen:MODEL`` (also ``mowen-greedy:MODEL``, ``mowen-gtlines:MODEL``) reads with that registry
model instead of the default, so two recognisers can be compared in one run.

Each system reads whole images the way it is meant to be used on pages:
  mowen      engine.ocr.pipeline.ocr_page (the shipped model, beam + LM); "mowen-greedy" without the LM
  rapidocr   RapidOCR's page pipeline (detector + classifier + recogniser, models from its wheel),
             its boxes sorted into reading order: rows top to bottom, boxes left to right in a row,
             after turning the box centres by the page's median skew (photos and scans are rotated)
  tesseract  ``tesseract IMG - -l chi_sim`` (Debian tesseract-ocr-chi-sim), default page segmentation
  mowen-gtlines  diagnostic, not a page system: Mowen's recogniser (beam + LM) on the ground-truth line
             quads (warped flat, a little ground added), so recognition error shows without line finding

Scores (summed over a subset: total edits / total reference characters):
  CER strict  lines joined without separator, runs of whitespace → one space, no other normalisation
              (so full-width vs ASCII, lost spaces between Latin words and 「 vs 『 all count)
  CER NFKC    NFKC on both sides, all whitespace removed (the issue's headline number); a list marker
              (· • ● ○ ■ □ ◆ ◇ …) at the start of a line is ignored on both sides
  in-charset  CER NFKC over the images whose whole ground truth is inside Mowen's symbol set
  line acc    share of ground-truth lines (NFKC, no whitespace) that some output line equals exactly
  s/img       wall-clock seconds per image, ``--threads`` threads for every system
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.ocr_real import text as T  # noqa: E402
from benchmarks.ocr_real.build import atomic_write, shipped_charset  # noqa: E402

SUBSETS = ("screens", "docs", "photos")


def distance(a: str, b: str) -> int:
    try:
        from rapidfuzz.distance import Levenshtein
        return Levenshtein.distance(a, b)
    except ImportError:
        from engine.ocr.metrics import edit_distance
        return edit_distance(a, b)


def strict(lines: list[str]) -> str:
    return "".join(" ".join(l.split()) for l in lines)


# A list marker at the start of a line is drawn by CSS (no text) on some pages and typed (●) on others,
# and systems print it as · • ● or nothing; the NFKC score ignores it on both sides.  A marker read as
# something else (参, 令, 。) still counts, and the strict score keeps every character.
MARKERS = "·•●○■□◆◇▪▫・∙‧◦"


def loose(line: str) -> str:
    return "".join(unicodedata.normalize("NFKC", line).lstrip().lstrip(MARKERS).split())


# ------------------------------------------------------------------ systems
class Mowen:
    def __init__(self, threads: int, use_lm: bool = True, model: str | None = None):
        import torch
        from engine.registry import load_model

        torch.set_num_threads(threads)
        self.model = load_model(model, task="ocr")  # the default model unless one is named
        self.use_lm = use_lm
        self.symbols = set(self.model.symbols)

    def read(self, path: Path, gt: dict) -> dict:
        from engine.ocr.pipeline import ocr_page

        page = ocr_page(str(path), self.use_lm, model=self.model)
        return {"lines": [l.text for l in page.result.lines], "boxes": [list(l.box) for l in page.result.lines],
                "extra": dict(page.extra)}


class MowenOnLines(Mowen):
    def read(self, path: Path, gt: dict) -> dict:
        import cv2
        import numpy as np

        from engine.ocr.pipeline import read_lines
        from engine.ocr.recognise import prepare_line

        gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        crops = []
        for line in gt["lines"]:
            x0, y0, x1, y1 = line["box"]
            q = np.array(line.get("quad") or [[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)
            h = float(np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1])) / 2
            w = float(np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[2] - q[3])) / 2
            px, py = 0.2 * h, 0.05 * h
            dst = np.array([[px, py], [px + w, py], [px + w, py + h], [px, py + h]], np.float32)
            m = cv2.getPerspectiveTransform(q, dst)
            crops.append(cv2.warpPerspective(gray, m, (int(w + 2 * px), int(h + 2 * py)), flags=cv2.INTER_LINEAR,
                                             borderMode=cv2.BORDER_REPLICATE))
        decoded = read_lines(self.model, [prepare_line(c) for c in crops], self.use_lm) if crops else []
        return {"lines": [d.text for d in decoded]}


def reading_order(boxes: list, texts: list[str]) -> list[str]:
    """Quads (TL, TR, BR, BL) + texts → one string per row, in reading order.

    The page's skew is the median slope of the boxes' top edges; box centres are turned by it,
    so a page photographed at 5° still has its lines one below the other.  Then rows top to
    bottom (a box joins the row whose centre line is within half a box height), boxes left to
    right inside a row, joined by a space.
    """
    import math
    import statistics

    if not boxes:
        return []
    angles, items = [], []
    for quad, t in zip(boxes, texts):
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = quad[:4]
        angles.append(math.atan2(y1 - y0, x1 - x0))
        items.append(((x0 + x1 + x2 + x3) / 4, (y0 + y1 + y2 + y3) / 4,
                      (math.hypot(x3 - x0, y3 - y0) + math.hypot(x2 - x1, y2 - y1)) / 2, x0, t))
    a = statistics.median(angles)
    c, s = math.cos(a), math.sin(a)
    turned = sorted((-s * cx + c * cy, c * cx + s * cy, h, t) for cx, cy, h, _, t in items)
    rows: list[list] = []  # [centre y, height, [(x, text)]]
    for y, x, h, t in turned:
        for row in rows:
            if abs(y - row[0]) < 0.5 * min(h, row[1]):
                row[2].append((x, t))
                break
        else:
            rows.append([y, h, [(x, t)]])
    rows.sort(key=lambda r: r[0])
    return [" ".join(t for _, t in sorted(r[2])) for r in rows]


class Rapid:
    def __init__(self, threads: int):
        from rapidocr import RapidOCR

        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        self.engine = RapidOCR(params={"EngineConfig.onnxruntime.intra_op_num_threads": threads,
                                       "EngineConfig.onnxruntime.inter_op_num_threads": 1})
        logging.getLogger("RapidOCR").setLevel(logging.ERROR)

    def read(self, path: Path, gt: dict) -> dict:
        import cv2

        out = self.engine(cv2.imread(str(path)))
        if out.boxes is None or out.txts is None:
            return {"lines": []}
        boxes = [[[float(x), float(y)] for x, y in q] for q in out.boxes]
        return {"lines": reading_order(boxes, list(out.txts)), "boxes": boxes}


class Tesseract:
    def __init__(self, threads: int):
        self.env = dict(os.environ, OMP_THREAD_LIMIT=str(threads))
        subprocess.run(["tesseract", "--version"], check=True, capture_output=True)

    def read(self, path: Path, gt: dict) -> dict:
        out = subprocess.run(["tesseract", str(path), "-", "-l", "chi_sim"], capture_output=True, text=True,
                             env=self.env, check=True).stdout
        return {"lines": [l for l in out.splitlines() if l.strip()]}


def make_system(name: str, threads: int):
    name, _, model = name.partition(":")  # mowen:crnn-ctc-s7 reads with that model instead of the default
    if name == "mowen":
        return Mowen(threads, model=model or None)
    if name == "mowen-greedy":
        return Mowen(threads, use_lm=False, model=model or None)
    if name == "mowen-gtlines":
        return MowenOnLines(threads, model=model or None)
    if name == "rapidocr":
        return Rapid(threads)
    if name == "tesseract":
        return Tesseract(threads)
    raise SystemExit(f"unknown system {name!r}")


# ------------------------------------------------------------------ scoring
def line_hits(gt_lines: list[str], hyp_lines: list[str]) -> int:
    pool = Counter(loose(l) for l in hyp_lines)
    hits = 0
    for l in gt_lines:
        k = loose(l)
        if pool[k] > 0:
            pool[k] -= 1
            hits += 1
    return hits


def score_item(gt: dict, hyp: list[str], symbols: set[str]) -> dict:
    ref_lines = [l["text"] for l in gt["lines"]]
    ref_s, ref_l = strict(ref_lines), "".join(loose(l) for l in ref_lines)
    return {"edits_strict": distance(strict(hyp), ref_s), "chars_strict": len(ref_s),
            "edits": distance("".join(loose(l) for l in hyp), ref_l), "chars": len(ref_l),
            "in_charset": not T.outside(gt["text"], symbols),
            "lines_hit": line_hits(ref_lines, hyp), "lines": len(ref_lines)}


# Look-alike pairs the issue names: each is counted in the error table whether or not it is frequent.
WATCHED = (("「", "『"), ("」", "』"), ("土", "士"), ("士", "土"), ("℃", "C"), ("％", "%"), ("●", "参"), ("●", "令"))


def confusions(ref: str, hyp: str) -> Counter:
    """(reference character, what was read instead: a character, or "" when it was lost) over one strict pair;
    insertions are ("", character)."""
    from rapidfuzz.distance import Levenshtein

    out = Counter()
    for op in Levenshtein.editops(ref, hyp):
        if op.tag == "replace":
            out[ref[op.src_pos], hyp[op.dest_pos]] += 1
        elif op.tag == "delete":
            out[ref[op.src_pos], ""] += 1
        else:
            out["", hyp[op.dest_pos]] += 1
    return out


def confusion_table(counts: dict[str, Counter], top: int) -> str:
    rows = ["| system | most frequent errors (GT → read; ∅ = nothing) | watched pairs |", "|---|---|---|"]
    show = lambda k: f"{k[0] or '∅'}→{k[1] or '∅'}"
    for system, c in counts.items():
        common = ", ".join(f"{show(k)} {n}" for k, n in c.most_common(top) if k[0].strip() or k[1].strip())
        watched = ", ".join(f"{show(k)} {c[k]}" for k in WATCHED)
        rows.append(f"| {system} | {common} | {watched} |")
    return "\n".join(rows)


def summarise(records: list[dict]) -> dict:
    def ratio(a, b):
        return sum(r[a] for r in records) / max(1, sum(r[b] for r in records))

    inside = [r for r in records if r["in_charset"]]
    return {"n": len(records), "cer_strict": ratio("edits_strict", "chars_strict"), "cer": ratio("edits", "chars"),
            "cer_in": sum(r["edits"] for r in inside) / max(1, sum(r["chars"] for r in inside)), "n_in": len(inside),
            "line_acc": ratio("lines_hit", "lines"), "sec": sum(r["seconds"] for r in records) / max(1, len(records))}


def table(results: dict[str, list[dict]]) -> str:
    rows = ["| system | subset | images | CER strict | CER NFKC | CER NFKC, in-charset images (n) | line acc | s/img |",
            "|---|---|---:|---:|---:|---:|---:|---:|"]
    for system, records in results.items():
        groups = defaultdict(list)
        for r in records:
            groups[r["subset"]].append(r)
        for subset in [s for s in SUBSETS if s in groups] + ["all"]:
            s = summarise(records if subset == "all" else groups[subset])
            rows.append(f"| {system} | {subset} | {s['n']} | {100 * s['cer_strict']:.2f}% | {100 * s['cer']:.2f}% | "
                        f"{100 * s['cer_in']:.2f}% ({s['n_in']}) | {100 * s['line_acc']:.1f}% | {s['sec']:.2f} |")
    return "\n".join(rows)


def draw_boxes(image_path: Path, gt: dict, boxes: list, target: Path) -> None:
    import cv2

    img = cv2.imread(str(image_path))
    for l in gt["lines"]:
        x0, y0, x1, y1 = l["box"]
        cv2.rectangle(img, (x0, y0), (x1, y1), (0, 200, 0), 1)
    thick = max(1, round(max(img.shape[:2]) / 800))
    for x0, y0, x1, y1 in boxes:
        cv2.rectangle(img, (x0, y0), (x1, y1), (0, 0, 255), thick)
    ok, data = cv2.imencode(".png", img)
    atomic_write(target, data.tobytes())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", required=True, type=Path)
    ap.add_argument("--systems", default="mowen,rapidocr,tesseract")
    ap.add_argument("--subsets", default=",".join(SUBSETS))
    ap.add_argument("--limit", type=int, default=0, help="at most N images per subset")
    ap.add_argument("--dump", type=Path, help="write each system's text per image (and Mowen's boxes) here")
    ap.add_argument("--json", type=Path, help="write the per-image records here")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reuse", type=Path, help="score the outputs a former --dump wrote there instead of running the systems")
    ap.add_argument("--errors", type=int, default=0, metavar="N",
                    help="also print each system's N most frequent character errors (strict text) and the watched "
                         "look-alike pairs")
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_THREAD_LIMIT", str(args.threads))

    index = json.loads((args.set / "index.json").read_text(encoding="utf-8"))
    wanted = args.subsets.split(",")
    per = defaultdict(list)
    for item in index["items"]:
        if item["subset"] in wanted and (not args.limit or len(per[item["subset"]]) < args.limit):
            per[item["subset"]].append(item)
    items = [i for s in wanted for i in per[s]]
    symbols = T.read_charset(shipped_charset())
    results, errors = {}, {}
    for name in args.systems.split(","):
        system = None if args.reuse else make_system(name, args.threads)
        sym = getattr(system, "symbols", None) or symbols  # Mowen's own set when it is loaded
        records = []
        errors[name] = Counter()
        for item in items:
            gt = json.loads((args.set / item["gt"]).read_text(encoding="utf-8"))
            started = time.perf_counter()
            if args.reuse:
                out = json.loads((args.reuse / name / f"{item['name']}.json").read_text(encoding="utf-8"))
                seconds = out["seconds"]
            else:
                try:
                    out = system.read(args.set / item["image"], gt)
                except Exception as exc:  # a crash on one image is a result, not the end of the run
                    out = {"lines": [], "error": f"{type(exc).__name__}: {exc}"}
                seconds = time.perf_counter() - started
            rec = {"system": name, "name": item["name"], "subset": item["subset"], "seconds": seconds,
                   **score_item(gt, out["lines"], sym)}
            if "error" in out:
                rec["error"] = out["error"]
            records.append(rec)
            if args.errors:
                errors[name] += confusions(strict([l["text"] for l in gt["lines"]]), strict(out["lines"]))
            if args.dump and not args.reuse:
                atomic_write(args.dump / name / f"{item['name']}.txt", ("\n".join(out["lines"]) + "\n").encode())
                atomic_write(args.dump / name / f"{item['name']}.json",
                             json.dumps({**out, "seconds": seconds}, ensure_ascii=False,
                                        default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)).encode())
                if "boxes" in out and name.startswith("mowen"):
                    draw_boxes(args.set / item["image"], gt, out.get("boxes", []), args.dump / name / f"{item['name']}.png")
            print(f"{name:10s} {item['name']:40s} CER {rec['edits'] / max(1, rec['chars']):6.1%}  {seconds:5.2f} s"
                  + (f"  {rec['error']}" if "error" in rec else ""), file=sys.stderr, flush=True)
        results[name] = records
        del system
    print(table(results))
    if args.errors:
        print()
        print(confusion_table(errors, args.errors))
    if args.json:
        atomic_write(args.json, json.dumps([r for rs in results.values() for r in rs], ensure_ascii=False,
                                           indent=0).encode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
