"""OCR benchmark: Mowen vs RapidOCR vs Tesseract on a rendered test set of held-out text.

    python benchmarks/ocr.py [--lines 60] [--pages 6] [--systems mowen,mowen-greedy,rapidocr,tesseract]
    (also mowen-rec and rapidocr-rec: each recogniser alone on the line crops, no line finding; the page pipeline
    on pages.  CER after NFKC, whitespace removed.)

The test set is rendered here with a fixed seed from corpus lines the trainer never
sees (``engine.ocr.synth.split_lines(..., held_out=True)``: every 50th line of People's
Daily 1998, the regulated-verse couplets and the 楹联 pairs, minus any that also occur
among the training lines):

* ``clean-<font>``: black-on-white single lines, one subset per training font;
* ``degraded``: single lines with the trainer's degradations (blur, noise, JPEG,
  rotation, perspective, coloured/textured grounds, underlines, light-on-dark), mixed text;
* ``page-screen``: screenshot-like multi-line pages (1 or 2 columns, light or dark theme);
* ``page-scan``: scan-like pages (slight rotation, uneven light, blur, noise, JPEG).

Every system gets the same image (a whole line or page, it must find the text itself).
CER = edit distance / reference length with all whitespace removed, summed over a subset;
seconds per image are wall-clock, one thread each (torch, onnxruntime, Tesseract's OpenMP).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from engine.ocr import synth  # noqa: E402
from engine.ocr.metrics import edit_distance  # noqa: E402

SEED = 20260101


# ------------------------------------------------------------------ test set
def build_test_set(n_lines: int, n_pages: int):
    """[(subset, image (H, W, 3) uint8 RGB, reference text)] — deterministic."""
    fonts = synth.find_fonts()
    if not fonts:
        raise SystemExit("no CJK fonts installed (fonts-noto-cjk, fonts-wqy-*, fonts-arphic-*)")
    coverage = synth.coverage_table(str(Path("checkpoints/ocr/font_coverage.json")))
    charset = synth.build_charset(coverage)
    sources = {s: synth.split_lines(s, held_out=True) for s in ("news", "poem", "couplet")}
    rng = random.Random(SEED)
    items = []

    def pick_text(max_chars=20):
        kind = rng.choice(["news", "news", "poem", "couplet"])
        line = rng.choice(sources[kind])
        n = rng.randint(6, max_chars)
        start = rng.randrange(max(1, len(line) - n + 1))
        return line[start:start + n]

    per_font = max(1, n_lines // len(fonts))
    for face in fonts:
        cov = coverage[face.name]
        for _ in range(per_font):
            text = "".join(c for c in pick_text() if c in cov)
            size = rng.choice([16, 20, 24, 32, 40, 48])
            gray = synth.render_text_image(text, face, size, rng, degrade=False)
            items.append((f"clean-{face.name}", cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB), synth.strip_space(text)))
    degraded = synth.LineSynthesizer(charset, coverage, held_out=True)
    for i in range(n_lines):
        s = degraded.sample(SEED + i)
        items.append(("degraded", cv2.cvtColor(s.image, cv2.COLOR_GRAY2RGB), s.text))
    for i in range(n_pages):
        face = fonts[i % len(fonts)]
        cov = coverage[face.name]
        paragraphs = ["".join(c for c in rng.choice(sources["news"])[:60] if c in cov) for _ in range(rng.randint(2, 4))]
        columns = 2 if i % 3 == 2 else 1
        size = rng.choice([18, 22, 26])
        for style in ("screen", "scan"):
            dark = style == "screen" and i % 2 == 1
            page = synth.render_page(paragraphs, face, size, columns=columns, chars_per_line=rng.randint(12, 22),
                                     background=(30, 30, 36) if dark else (255, 255, 255),
                                     ink=(220, 220, 220) if dark else (20, 20, 20))
            image = page.image if style == "screen" else scan_like(page.image, rng)
            items.append((f"page-{style}", image, "".join(page.lines)))
    return items


def scan_like(image: np.ndarray, rng: random.Random) -> np.ndarray:
    h, w = image.shape[:2]
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gray = np.pad(gray, 40, constant_values=255)
    h, w = gray.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-3, 3), 1.0)
    gray = cv2.warpAffine(gray, m, (w, h), borderValue=255)
    light = np.linspace(rng.uniform(0.7, 0.85), 1.0, w)[None, :] * np.linspace(1.0, rng.uniform(0.85, 1), h)[:, None]
    gray = gray * light * np.array([0.97])
    gray = cv2.GaussianBlur(gray, (3, 3), 0.8)
    gray += np.random.default_rng(rng.randrange(1 << 30)).normal(0, 6, gray.shape)
    gray = np.clip(gray, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", gray, [cv2.IMWRITE_JPEG_QUALITY, 60])
    gray = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    tint = np.array([1.0, 0.97, 0.9])
    return np.clip(cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB) * tint, 0, 255).astype(np.uint8)


# ------------------------------------------------------------------ systems
def _mowen_model(model_dir: str | None):
    import torch

    torch.set_num_threads(1)
    if model_dir:
        from engine.ocr.model import load

        return load(Path(model_dir))
    from engine.ocr.pipeline import default_model

    return default_model()


def mowen_system(model_dir: str | None, use_lm: bool):
    from engine.ocr.pipeline import ocr

    model = _mowen_model(model_dir)
    if use_lm and model.lm is None:
        return None, "no LM file in the model folder"

    def run(image):
        return ocr(image, use_lm, model=model).text
    return run, ""


def mowen_line_system(model_dir: str | None):
    """Mowen's line reading (``engine.ocr.pipeline.read_lines``: recogniser, beam + LM, the marks read from the
    image) on the whole crop, no line finding: a line recogniser, as RapidOCR's rec is."""
    from engine.ocr.pipeline import ocr, read_lines
    from engine.ocr.recognise import prepare_line

    model = _mowen_model(model_dir)

    def run(image, page=False):
        if page:
            return ocr(image, True, model=model).text
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        return read_lines(model, [prepare_line(gray)], True)[0].text
    return run, ""


def rapidocr_system(line_recogniser: bool = False):
    """RapidOCR's page pipeline; with ``line_recogniser`` its recogniser alone on a line (no detector, no
    classifier) and the page pipeline on pages."""
    try:
        from rapidocr import RapidOCR
    except ImportError as exc:
        return None, f"not installed ({exc})"
    params = {"EngineConfig.onnxruntime.intra_op_num_threads": 1, "EngineConfig.onnxruntime.inter_op_num_threads": 1}
    try:
        engine = RapidOCR(params=params)
        # a call's use_det / use_cls stay in force for later calls, so lines get an engine of their own
        lines = RapidOCR(params=params) if line_recogniser else None
    except Exception as exc:  # e.g. models would have to be downloaded
        return None, f"unavailable: {exc}"

    def run(image, page=True):
        bgr = np.ascontiguousarray(image[:, :, ::-1])
        result = engine(bgr) if page or lines is None else lines(bgr, use_det=False, use_cls=False)
        return "".join(result.txts or ())
    return run, ""


def tesseract_system(line_mode: bool):
    exe = shutil.which("tesseract")
    if not exe:
        return None, "tesseract not installed"
    langs = subprocess.run([exe, "--list-langs"], capture_output=True, text=True).stdout.split()
    if "chi_sim" not in langs:
        return None, "tesseract has no chi_sim traineddata"
    tmp = Path(tempfile.mkdtemp(prefix="mowen-bench-"))

    def run(image, psm=None):
        path = tmp / "in.png"
        cv2.imwrite(str(path), image[:, :, ::-1])
        out = subprocess.run([exe, str(path), "stdout", "-l", "chi_sim", "--psm", str(psm or 3)],
                             capture_output=True, text=True, env={**os.environ, "OMP_THREAD_LIMIT": "1"})
        return out.stdout
    return run, ""


# ------------------------------------------------------------------ main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=64, help="single lines per kind (clean: split over the fonts)")
    parser.add_argument("--pages", type=int, default=6, help="pages per style")
    parser.add_argument("--systems", default="mowen,mowen-greedy,rapidocr,tesseract")
    parser.add_argument("--model-dir", help="Mowen model folder (default: the registry's default OCR model)")
    parser.add_argument("--json", help="also write the table as JSON here")
    parser.add_argument("--dump", help="write every hypothesis here (JSON lines) for inspection")
    parser.add_argument("--update-manifest", action="store_true",
                        help="merge the aggregate figures into the benchmarked model's manifest.json metrics")
    args = parser.parse_args(argv)

    items = build_test_set(args.lines, args.pages)
    systems = {}
    for name in args.systems.split(","):
        if name == "mowen":
            systems[name] = mowen_system(args.model_dir, True)
        elif name == "mowen-greedy":
            systems[name] = mowen_system(args.model_dir, False)
        elif name == "rapidocr":
            systems[name] = rapidocr_system()
        elif name == "mowen-rec":
            systems[name] = mowen_line_system(args.model_dir)
        elif name == "rapidocr-rec":
            systems[name] = rapidocr_system(line_recogniser=True)
        elif name == "tesseract":
            systems[name] = tesseract_system(False)
    for name, (fn, why) in systems.items():
        if fn is None:
            print(f"{name}: skipped — {why}", file=sys.stderr)
    subsets = sorted({s for s, _, _ in items}, key=lambda s: (s.startswith("page"), s != "degraded", s))
    totals = {}
    dump = open(args.dump, "w", encoding="utf-8") if args.dump else None
    for name, (fn, _) in systems.items():
        if fn is None:
            continue
        fn(items[0][1])  # warm-up (model load, first-call allocations) is not timed
        for subset, image, ref in items:
            started = time.perf_counter()
            if name == "tesseract":
                hyp = fn(image, 7 if not subset.startswith("page") else 3)
            elif name.endswith("-rec"):
                hyp = fn(image, subset.startswith("page"))
            else:
                hyp = fn(image)
            seconds = time.perf_counter() - started
            # NFKC on both sides (％ and %, full-width and ASCII digits count as the same), whitespace removed
            hyp_s, ref_s = ("".join(unicodedata.normalize("NFKC", t).split()) for t in (hyp, ref))
            t = totals.setdefault((name, subset), [0, 0, 0.0, 0])
            t[0] += edit_distance(hyp_s, ref_s)
            t[1] += len(ref_s)
            t[2] += seconds
            t[3] += 1
            if dump:
                dump.write(json.dumps({"system": name, "subset": subset, "ref": ref_s, "hyp": hyp_s,
                                       "seconds": round(seconds, 4)}, ensure_ascii=False) + "\n")
        print(f"{name}: done", file=sys.stderr, flush=True)
    names = [n for n, (fn, _) in systems.items() if fn is not None]
    groups = {"all clean lines": [s for s in subsets if s.startswith("clean-")]}
    rows = []
    header = "| subset | n | " + " | ".join(f"{n} CER | {n} s/img" for n in names) + " |"
    print(header)
    print("|" + "---|" * (2 + 2 * len(names)))
    for subset in subsets + list(groups):
        members = groups.get(subset, [subset])
        cells, n_images = [], 0
        row = {"subset": subset}
        for name in names:
            e = sum(totals[(name, m)][0] for m in members)
            c = sum(totals[(name, m)][1] for m in members)
            sec = sum(totals[(name, m)][2] for m in members)
            k = sum(totals[(name, m)][3] for m in members)
            n_images = k
            cells += [f"{100 * e / max(1, c):.2f}%", f"{sec / max(1, k):.3f}"]
            row[name] = {"cer": e / max(1, c), "seconds_per_image": sec / max(1, k), "images": k, "chars": c}
        rows.append(row)
        print(f"| {subset} | {n_images} | " + " | ".join(cells) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.update_manifest:
        print(f"updated {update_manifest(args.model_dir, rows)}", file=sys.stderr)
    return 0


def update_manifest(model_dir: str | None, rows: list[dict]) -> Path:
    """Write the aggregate subsets' CER and s/image (Mowen with LM, and RapidOCR's CER) into the manifest."""
    from engine.registry import REGISTRY, update_metrics

    folder = Path(model_dir) if model_dir else REGISTRY.default("ocr").path
    metrics = {}
    keys = {"all clean lines": "clean_lines", "degraded": "degraded_lines", "page-screen": "page_screen",
            "page-scan": "page_scan"}
    for row in rows:
        if row["subset"] not in keys or "mowen" not in row:
            continue
        key = "bench_" + keys[row["subset"]]
        metrics[f"{key}_cer"] = round(row["mowen"]["cer"], 4)
        metrics[f"{key}_s_per_image"] = round(row["mowen"]["seconds_per_image"], 3)
        if "rapidocr" in row:
            metrics[f"{key}_cer_rapidocr"] = round(row["rapidocr"]["cer"], 4)
    return update_metrics(folder, metrics)


if __name__ == "__main__":
    sys.exit(main())
