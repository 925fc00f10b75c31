"""Documents: pages laid out by LibreOffice Writer, rasterised by pdftoppm, then degraded as scans.

Each document is written as flat ODT (.fodt: page size, margins, fonts, line spacing,
indents, centred titles, right-aligned signatures are all paragraph styles), converted
to PDF by ``soffice --headless --convert-to pdf`` (one call for the whole batch) and page 1
is rasterised by ``pdftoppm`` at 150–300 dpi.  The line breaks are Writer's: ``pdftotext
-bbox-layout`` gives page 1's lines and boxes, and each line's text is matched back onto
the source text (that is the check: a page whose lines do not spell a prefix of the source
is dropped) so the ground truth keeps the source's exact characters and spaces.
"""

from __future__ import annotations

import html
import random
import re
import subprocess
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from benchmarks.ocr_real import text as T

# (Asian font, Western font) — the trainer renders none of these except Noto Serif CJK SC Regular
# (used as the Western fallback nowhere; the Asian faces below are other weights or other families).
ASIAN = ("AR PL SungtiL GB", "AR PL SungtiL GB", "AR PL KaitiM GB", "Noto Serif CJK SC Light",
         "Noto Sans CJK SC DemiLight", "Noto Sans CJK SC Medium", "LXGW WenKai", "Droid Sans Fallback")
WESTERN = ("Liberation Serif", "Liberation Sans", "DejaVu Sans", None)  # None: the Asian font draws Latin too
PAGES = (("21cm", "29.7cm"), ("21cm", "29.7cm"), ("17.6cm", "25cm"), ("14.8cm", "21cm"))  # A4, A4, B5, A5
STYLES = ("notice", "report", "list", "letter")


@dataclass
class Page:
    rgb: np.ndarray          # (H, W, 3) uint8, clean raster of page 1
    lines: list[dict]        # [{"text", "box"}] in image pixels of ``rgb``
    dpi: int
    meta: dict


def _x(s: str) -> str:
    return html.escape(s, quote=False)


def _content(rng: random.Random, style: str) -> list[tuple[str, str]]:
    """[(paragraph style, text)] — a bit more than a page so Writer decides where page 1 ends."""
    out = []
    words = T.words()
    if style == "notice":
        out.append(("title", f"关于{rng.choice(words)}{rng.choice(words)}的通知"))
        out.append(("sub", f"{rng.choice(words)}〔{rng.randint(2000, 2026)}〕{rng.randint(1, 99)}号"))
        out.append(("flush", f"各{rng.choice(words)}："))
        for k in range(rng.randint(3, 6)):
            out.append(("head", f"{'一二三四五六'[k]}、{rng.choice(words)}{rng.choice(words)}"))
            for _ in range(rng.randint(2, 4)):
                out.append(("body", "".join(T.snippet(rng, 30, 80) for _ in range(rng.randint(2, 4)))))
        out.append(("right", f"{rng.choice(words)}办公室"))
        out.append(("right", f"{rng.randint(2000, 2026)}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日"))
    elif style == "report":
        out.append(("title", T.snippet(rng, 8, 16)))
        out.append(("sub", f"{rng.choice(words)} {rng.choice(words)}　{rng.randint(2000, 2026)}年{rng.randint(1, 12)}月"))
        for k in range(rng.randint(3, 5)):
            out.append(("head", f"{k + 1}. {T.snippet(rng, 4, 10)}"))
            for _ in range(rng.randint(2, 4)):
                p = "".join(T.snippet(rng, 30, 80) for _ in range(rng.randint(2, 3)))
                if rng.random() < 0.5:
                    p += T.mixed(rng) + "。"
                out.append(("body", p))
    elif style == "list":
        out.append(("title", T.snippet(rng, 6, 14)))
        out.append(("body", T.snippet(rng, 30, 80)))
        bullet = rng.choice(["●", "○", "■", "◆", "★", "•", "①", "1.", "（1）", "—"])
        circled = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮"
        for k in range(rng.randint(10, 15)):
            b = circled[k] if bullet == "①" else f"{k + 1}." if bullet == "1." else f"（{k + 1}）" if bullet == "（1）" else bullet
            item = T.snippet(rng, 8, 50) if rng.random() < 0.6 else T.mixed(rng)
            out.append(("item", f"{b} {item}" if bullet in "●○■◆★•—" else f"{b}{item}"))
        out += [("body", "".join(T.snippet(rng, 30, 80) for _ in range(3))) for _ in range(rng.randint(1, 4))]
    else:  # letter
        out.append(("flush", f"尊敬的{rng.choice(words)}{rng.choice(['先生', '女士', '同志'])}："))
        for _ in range(rng.randint(6, 12)):
            out.append(("body", "".join(T.snippet(rng, 30, 80) for _ in range(rng.randint(2, 4)))))
        out.append(("right", f"{rng.choice(words)}　敬上"))
        out.append(("right", f"{rng.randint(2000, 2026)}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日"))
    return out


def _fodt(rng: random.Random, paras: list[tuple[str, str]]) -> tuple[str, dict]:
    asian = rng.choice(ASIAN)
    western = rng.choice(WESTERN) or asian
    size = rng.choice([10.5, 11, 12, 12, 14])
    title = rng.choice([16, 18, 20, 22])
    width, height = rng.choice(PAGES)
    margin = rng.choice(["1.5cm", "2cm", "2.5cm", "3cm"])
    spacing = rng.choice(["tight", "single", "single", "1.5", "double"])
    line_height = {"tight": f'fo:line-height="{size * 1.05:.1f}pt"', "single": 'fo:line-height="100%"',
                   "1.5": 'fo:line-height="150%"', "double": 'fo:line-height="200%"'}[spacing]
    indent = rng.choice(["0pt", f"{2 * size}pt", f"{2 * size}pt"])
    align = rng.choice(["justify", "justify", "start"])
    bold = 'fo:font-weight="bold" style:font-weight-asian="bold"'

    def tprops(pt, extra=""):
        return f'<style:text-properties fo:font-size="{pt}pt" style:font-size-asian="{pt}pt" {extra}/>'

    styles = {
        "title": f'<style:paragraph-properties fo:text-align="center" fo:margin-bottom="0.4cm"/>{tprops(title, bold)}',
        "sub": f'<style:paragraph-properties fo:text-align="center" fo:margin-bottom="0.3cm"/>{tprops(size)}',
        "head": f'<style:paragraph-properties fo:margin-top="0.2cm" fo:margin-bottom="0.1cm" {line_height}/>{tprops(size + 1, bold)}',
        "body": f'<style:paragraph-properties fo:text-indent="{indent}" fo:text-align="{align}" {line_height}/>{tprops(size)}',
        "flush": f'<style:paragraph-properties {line_height}/>{tprops(size)}',
        "item": f'<style:paragraph-properties fo:margin-left="{size}pt" {line_height}/>{tprops(size)}',
        "right": f'<style:paragraph-properties fo:text-align="end" {line_height}/>{tprops(size)}',
    }
    auto = "".join(f'<style:style style:name="{k}" style:family="paragraph" style:parent-style-name="Standard">{v}</style:style>'
                   for k, v in styles.items())
    body = "".join(f'<text:p text:style-name="{k}">{_x(t)}</text:p>' for k, t in paras)
    doc = f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.text">
<office:font-face-decls><style:font-face style:name="A" svg:font-family="'{asian}'"/><style:font-face style:name="W" svg:font-family="'{western}'"/></office:font-face-decls>
<office:styles><style:style style:name="Standard" style:family="paragraph"><style:text-properties style:font-name="W" style:font-name-asian="A" fo:font-size="{size}pt" style:font-size-asian="{size}pt"/></style:style></office:styles>
<office:automatic-styles><style:page-layout style:name="pm1"><style:page-layout-properties fo:page-width="{width}" fo:page-height="{height}" fo:margin-top="{margin}" fo:margin-bottom="{margin}" fo:margin-left="{margin}" fo:margin-right="{margin}"/></style:page-layout>{auto}</office:automatic-styles>
<office:master-styles><style:master-page style:name="Standard" style:page-layout-name="pm1"/></office:master-styles>
<office:body><office:text>{body}</office:text></office:body></office:document>"""
    meta = dict(font_asian=asian, font_western=western, size_pt=size, spacing=spacing, page=f"{width}x{height}",
                margin=margin, indent=indent)
    return doc, meta


HANGING = "，。、；：？！”’）》」』"  # what Writer may squeeze out at a line end
_LINE = re.compile(r'<line xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</line>', re.S)
_WORD = re.compile(r"<word [^>]*>(.*?)</word>", re.S)


def _pdf_lines(pdf: Path) -> list[tuple[str, list[float]]]:
    xml = subprocess.run(["pdftotext", "-bbox-layout", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True,
                         text=True, check=True).stdout
    out = []
    for m in _LINE.finditer(xml):
        words = [html.unescape(w) for w in _WORD.findall(m.group(5))]
        out.append(("".join(words), [float(m.group(i)) for i in range(1, 5)]))
    return out


def _same(a: str, b: str) -> bool:
    return a == b or unicodedata.normalize("NFKC", a) == unicodedata.normalize("NFKC", b)


def match_source(pdf_lines: list[tuple[str, list[float]]], paras: list[str]) -> list[tuple[str, list[float]]] | None:
    """Spell each PDF line out of the source paragraphs (in order) → [(source text of the line, box)], or None."""
    out = []
    p, i = 0, 0  # paragraph, character index
    skipped: set[int] = set()
    for text, box in pdf_lines:
        want = "".join(text.split())
        while p < len(paras) and i >= len(paras[p].rstrip()):
            p, i = p + 1, 0
            skipped = set()
        if p >= len(paras):
            return None
        src = paras[p]
        start, k = i, 0
        while k < len(want):
            while i < len(src) and src[i].isspace():
                i += 1
            if i >= len(src):
                return None
            # NFKC may expand one source character (e.g. ligatures); compare per source character.
            n = unicodedata.normalize("NFKC", src[i])
            if want.startswith(src[i], k):
                k += len(src[i])
            elif want.startswith(n, k):
                k += len(n)
            elif src[i] in HANGING:
                skipped.add(i)  # Writer squeezed it away at the line end (not drawn, not in the PDF text)
            else:
                return None
            i += 1
        out.append(("".join(c for j, c in enumerate(src[start:i], start) if j not in skipped).strip(), box))
    return out


def render_pages(n: int, seed: int, photo_from: int | None = None) -> list[Page]:
    """n clean pages (page 1 of n Writer documents); documents that fail the text check are replaced.

    Pages from index ``photo_from`` on are for photos and rasterised at 300 dpi (paper is crisp;
    the camera's resolution is applied later)."""
    pages: list[Page] = []
    attempt = 0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        while len(pages) < n and attempt < 3:
            jobs = []
            for j in range(len(pages), n):
                rng = random.Random(f"{seed}/doc/{j}/{attempt}")
                style = rng.choice(STYLES)
                paras = _content(rng, style)
                doc, meta = _fodt(rng, paras)
                meta.update(style=style, dpi=rng.choice([150, 200, 200, 300]))
                if photo_from is not None and j >= photo_from:
                    meta["dpi"] = 300
                path = tmp / f"d{j}_{attempt}.fodt"
                path.write_text(doc, encoding="utf-8")
                jobs.append((path, [t for _, t in paras], meta))
            subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp}/lo", "--convert-to", "pdf",
                            "--outdir", str(tmp)] + [str(p) for p, _, _ in jobs],
                           capture_output=True, check=True, timeout=600)
            for path, paras, meta in jobs:
                pdf = path.with_suffix(".pdf")
                matched = match_source(_pdf_lines(pdf), paras) if pdf.exists() else None
                if not matched:
                    print(f"{path.name}: page 1's text does not spell the source (dropped)", flush=True)
                    continue
                dpi = meta["dpi"]
                base = tmp / path.stem
                subprocess.run(["pdftoppm", "-r", str(dpi), "-f", "1", "-l", "1", "-png", "-singlefile", str(pdf),
                                str(base)], check=True, capture_output=True)
                rgb = cv2.cvtColor(cv2.imread(str(base) + ".png"), cv2.COLOR_BGR2RGB)
                k = dpi / 72.0
                lines = [{"text": t, "box": [round(b[0] * k), round(b[1] * k), round(b[2] * k), round(b[3] * k)]}
                         for t, b in matched if t]
                pages.append(Page(rgb, lines, dpi, meta))
            attempt += 1
    return pages


# ------------------------------------------------------------------ scan degradation
def quad_of(box) -> np.ndarray:
    x0, y0, x1, y1 = box
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)


def transform_lines(lines: list[dict], m: np.ndarray) -> list[dict]:
    """Apply a 2×3 affine or 3×3 homography to each line's box → quad + axis-aligned box."""
    out = []
    for l in lines:
        q = quad_of(l["box"])
        if m.shape == (2, 3):
            t = q @ m[:, :2].T + m[:, 2]
        else:
            h = np.c_[q, np.ones(4)] @ m.T
            t = h[:, :2] / h[:, 2:]
        out.append({"text": l["text"], "box": [int(t[:, 0].min()), int(t[:, 1].min()), int(np.ceil(t[:, 0].max())),
                                               int(np.ceil(t[:, 1].max()))],
                    "quad": [[round(float(x), 1), round(float(y), 1)] for x, y in t]})
    return out


def smooth_field(rng: random.Random, h: int, w: int, strength: float) -> np.ndarray:
    """A smooth multiplicative light field in [1 - strength, 1]: a tilted plane plus a soft blob."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    a = rng.uniform(0, 2 * np.pi)
    plane = (np.cos(a) * x / w + np.sin(a) * y / h)
    plane = (plane - plane.min()) / max(1e-6, plane.max() - plane.min())
    cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.3, 0.9) * max(h, w)
    blob = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))
    f = 0.6 * plane + 0.4 * (1 - blob)
    return 1.0 - strength * f


def jpeg(img_rgb: np.ndarray, quality: int) -> bytes:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(img_rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return data.tobytes()


def scan(page: Page, rng: random.Random) -> tuple[bytes, list[dict], dict]:
    """A scanner's view of ``page`` → (JPEG bytes, lines with quads, what was done)."""
    img = page.rgb.astype(np.float32)
    h, w = img.shape[:2]
    tint = np.array([rng.uniform(0.92, 1.0), rng.uniform(0.9, 0.99), rng.uniform(0.82, 0.97)], np.float32)
    img = img * tint
    light = rng.uniform(0.03, 0.25)
    img *= smooth_field(rng, h, w, light)[..., None]
    angle = rng.uniform(-2, 2)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    bed = rng.uniform(200, 250)
    img = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(bed,) * 3)
    sigma = rng.uniform(0.0, 1.3) * page.dpi / 200
    if sigma > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    noise = rng.uniform(2, 9)
    img += np.random.default_rng(rng.randrange(1 << 30)).normal(0, noise, img.shape[:2])[..., None]
    gray = rng.random() < 0.4
    out = np.clip(img, 0, 255).astype(np.uint8)
    if gray:
        out = cv2.cvtColor(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    quality = rng.randint(45, 92)
    meta = dict(rotation=round(angle, 2), blur_sigma=round(sigma, 2), noise=round(noise, 1), jpeg=quality,
                light=round(light, 2), gray=gray)
    return jpeg(out, quality), transform_lines(page.lines, m), meta
