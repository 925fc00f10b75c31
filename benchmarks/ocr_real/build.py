"""Build the real-renderer OCR evaluation set.

    .venv/bin/python -m benchmarks.ocr_real.build --out DIR [--seed 1] [--screens 30 --docs 20 --photos 20]
        [--text test|train]

Writes DIR/{screens,docs,photos}/NAME.{png,jpg} with NAME.json next to each (ground-truth
lines in reading order with boxes, the renderer's settings, the characters outside the
shipped recogniser's symbol set) and DIR/index.json.  Deterministic from the seed.
Needs Debian chromium, libreoffice-writer, poppler-utils and the CJK fonts (README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.ocr_real import text as T  # noqa: E402

def shipped_charset() -> Path:
    """The default shipped OCR model's charset.txt (the registry knows which model that is)."""
    from engine.registry import REGISTRY

    return REGISTRY.default("ocr").path / "charset.txt"


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_item(out: Path, subset: str, name: str, image: bytes, ext: str, lines: list[dict], meta: dict,
               symbols: set[str], extra: dict | None = None) -> dict:
    full = "\n".join(l["text"] for l in lines)
    gt = {"name": name, "subset": subset, "image": f"{name}.{ext}", "text": full, "lines": lines,
          "outside_charset": T.outside(full, symbols), "meta": meta}
    gt.update(extra or {})
    atomic_write(out / subset / f"{name}.{ext}", image)
    atomic_write(out / subset / f"{name}.json", json.dumps(gt, ensure_ascii=False, indent=1).encode())
    return {"name": name, "subset": subset, "image": f"{subset}/{name}.{ext}", "gt": f"{subset}/{name}.json"}


def build_screens(out: Path, n: int, seed: int, symbols: set[str]) -> list[dict]:
    from benchmarks.ocr_real import screens
    from benchmarks.ocr_real.chrome import Chrome

    items = []
    chrome = Chrome()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(n):
                rng = random.Random(f"{seed}/screen/{i}")
                doc, meta = screens.make_page(rng, list(screens.KINDS)[i % len(screens.KINDS)])  # every kind as often
                page = Path(tmp) / f"s{i}.html"
                page.write_text(doc, encoding="utf-8")
                png, chars, height = chrome.shoot(str(page), meta["width_css"], meta["scale"], screens.CHARS_JS)
                lines = screens.group_lines(chars, meta["scale"], height)
                items.append(write_item(out, "screens", f"screen_{i:03d}_{meta['kind']}_{meta['theme']}", png, "png",
                                        lines, meta, symbols))
    finally:
        chrome.close()
    return items


def build_docs_and_photos(out: Path, n_docs: int, n_photos: int, seed: int, symbols: set[str]) -> list[dict]:
    from benchmarks.ocr_real import docs, photos

    pages = docs.render_pages(n_docs + n_photos, seed, photo_from=n_docs)  # a photo never shows a page that is also scanned
    items = []
    for i, page in enumerate(pages[:n_docs]):
        rng = random.Random(f"{seed}/scan/{i}")
        jpg, lines, meta = docs.scan(page, rng)
        items.append(write_item(out, "docs", f"doc_{i:03d}_{page.meta['style']}", jpg, "jpg", lines,
                                {**page.meta, **meta}, symbols))
    for i, page in enumerate(pages[n_docs:]):
        rng = random.Random(f"{seed}/photo/{i}")
        jpg, lines, meta, quad = photos.photograph(page, rng)
        items.append(write_item(out, "photos", f"photo_{i:03d}_{page.meta['style']}", jpg, "jpg", lines,
                                {**page.meta, **meta}, symbols, {"page_quad": quad}))
    return items


def renderer_versions() -> dict:
    """Versions of the outside programs that drew the set (the set is deterministic for fixed versions)."""
    import subprocess

    out = {}
    for name, cmd in (("chromium", ["chromium", "--version"]), ("soffice", ["soffice", "--version"]),
                      ("pdftoppm", ["pdftoppm", "-v"])):
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            out[name] = (p.stdout or p.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            out[name] = None
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--screens", type=int, default=30)
    ap.add_argument("--docs", type=int, default=20)
    ap.add_argument("--photos", type=int, default=20)
    ap.add_argument("--text", choices=("test", "train"), default="test",
                    help="test: held-out text (an evaluation set); train: the OCR trainer's own training lines, for "
                         "pages whose lines train the recogniser (python -m engine.train.ocr --real-lines DIR)")
    args = ap.parse_args(argv)
    if args.text == "train":
        T.use_training_text()
    charset = shipped_charset()
    symbols = T.read_charset(charset)
    started = time.time()
    items = []
    if args.screens:
        items += build_screens(args.out, args.screens, args.seed, symbols)
        print(f"screens: {args.screens} in {time.time() - started:.0f} s", flush=True)
    if args.docs or args.photos:
        items += build_docs_and_photos(args.out, args.docs, args.photos, args.seed, symbols)
        print(f"docs + photos: {args.docs} + {args.photos}, {time.time() - started:.0f} s in all", flush=True)
    index = {"seed": args.seed, "text": args.text, "counts": {"screens": args.screens, "docs": args.docs, "photos": args.photos},
             "charset": str(charset.relative_to(charset.parents[4])), "renderers": renderer_versions(), "items": items}
    atomic_write(args.out / "index.json", json.dumps(index, ensure_ascii=False, indent=1).encode())
    print(f"{len(items)} images → {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
