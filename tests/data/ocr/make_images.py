"""Rebuild the real-renderer test images of tests/engine/test_ocr_real_images.py.

    python tests/data/ocr/make_images.py      (needs Debian chromium and fonts-noto-cjk)

Pages are laid out and rasterised by headless Chromium (not by the trainer's renderer); the
scan and the photo are then degraded here with OpenCV using fixed seeds.  The expected text
of each image is in EXPECTED (the test reads it from there).  scan_brackets.jpg is not made here: it is a crop
of a LibreOffice page of the real-renderer benchmark, and photo_blur_lines.jpg, photo_blur_paragraphs.jpg and
photo_star_list.jpg are crops of simulated photos (see the test module's docstring).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
EXPECTED = json.loads((HERE / "expected.json").read_text(encoding="utf-8"))

STYLE = "body{margin:0;font-family:'Noto Sans CJK SC',sans-serif}"

CHAT = f"""<html><head><style>{STYLE}
body{{background:#181818;padding:18px 16px;width:448px}}
.row{{display:flex;margin:14px 0}} .me{{justify-content:flex-end}}
.av{{width:36px;height:36px;border-radius:6px;background:#6a7fd0;flex:none}}
.me .av{{background:#d08a4a}}
.b{{max-width:300px;padding:9px 12px;border-radius:8px;font-size:16px;line-height:1.45;margin:0 10px}}
.them .b{{background:#2e2e2e;color:#e8e8e8}} .me .b{{background:#3eb575;color:#111}}
.blue .b{{background:#2f6fdf;color:#fff}}
.time{{text-align:center;color:#8a8a8a;font-size:13px;margin:8px 0}}
</style></head><body>
<div class=time>{EXPECTED['chat_dark'][0]}</div>
<div class="row them"><div class=av></div><div class=b>{EXPECTED['chat_dark'][1]}</div></div>
<div class="row me"><div class=b>{EXPECTED['chat_dark'][2]}</div><div class=av></div></div>
<div class="row them blue"><div class=av></div><div class=b>{EXPECTED['chat_dark'][3]}<br>{EXPECTED['chat_dark'][4]}</div></div>
<div class="row me"><div class=b>{EXPECTED['chat_dark'][5]}</div><div class=av></div></div>
</body></html>"""

SETTINGS_ITEMS = EXPECTED["settings_list"][1:]
SETTINGS = f"""<html><head><style>{STYLE}
body{{background:#f2f3f5;padding:16px;width:488px}}
h1{{font-size:22px;font-weight:600;text-align:center;margin:4px 0 14px}}
.card{{background:#fff;border-radius:10px;box-shadow:0 2px 6px rgba(0,0,0,.15);padding:6px 18px 6px 34px}}
li{{font-size:17px;line-height:2.1;color:#222}} li::marker{{color:#3a7bd5;font-size:20px}}
.code{{letter-spacing:.6em}}
</style></head><body><h1>{EXPECTED['settings_list'][0]}</h1><div class=card><ul>
{''.join(f'<li>{t}</li>' for t in SETTINGS_ITEMS[:-1])}
<li>验证码<span class=code>１２３４５６</span></li>
</ul></div></body></html>"""

UNITS = f"""<html><head><style>{STYLE}
body{{background:#fafafa;padding:18px 20px;width:460px}}
.card{{background:#fff;border:1px solid #ddd;border-radius:8px;padding:8px 18px}}
p{{font-size:18px;line-height:1.9;color:#202020;margin:0}}
</style></head><body><div class=card>{''.join(f'<p>{t}</p>' for t in EXPECTED['units_symbols'])}</div></body></html>"""

# A hero card at device scale 1 (13 px text under a bold title, a ghost button: a white pill outline
# around its text) above a product card whose tags stand in a row over its price.
HERO = f"""<html><head><style>{STYLE}
body{{background:#fff;padding:16px;width:388px}}
.hero{{background:linear-gradient(160deg,#1f9d55,#20b2aa);border-radius:10px;padding:22px 16px;color:#fff}}
h1{{font-size:26px;font-weight:700;letter-spacing:2px;margin:0 0 10px}} .sub{{font-size:13px;margin:0 0 14px}}
.btn{{display:inline-block;border:2px solid #fff;border-radius:22px;padding:6px 16px;font-size:13px}}
.card{{margin-top:18px;padding:4px 2px}} .tag{{display:inline-block;background:#eef2f7;color:#445;
font-size:13px;padding:2px 8px;border-radius:4px;margin-right:10px}}
.price{{color:#e4393c;font-size:15px;margin-top:14px}}
</style></head><body><div class=hero><h1>{EXPECTED['hero_button'][0]}</h1>
<p class=sub>{EXPECTED['hero_button'][1]}</p><span class=btn>{EXPECTED['hero_button'][2]}</span></div>
<div class=card>{''.join(f'<span class=tag>{t}</span>' for t in EXPECTED['hero_button'][3].split())}
<div class=price>{EXPECTED['hero_button'][4]}</div></div></body></html>"""

# A hero card 8 px from the screenshot's left edge (a light-on-dark region larger than all the dark text) over
# plain lines that start 12 px in, with commas: the ground beside those lines must keep their polarity.  The
# bold title has 一 in its middle, a solid flat block like a scroll bar.
HERO_EDGE = f"""<html><head><style>{STYLE}
body{{background:#fff;padding:10px 8px;width:404px}}
.hero{{background:linear-gradient(135deg,#23a6d5,#1e3c9e);border-radius:8px;padding:26px 20px;color:#fff;
text-align:center}} h1{{font-size:36px;font-weight:900;margin:0 0 12px}} .sub{{font-size:17px;margin:0}}
p.body{{font-size:17px;line-height:1.8;color:#222;margin:8px 4px}}
</style></head><body><div class=hero><h1>{EXPECTED['hero_edge'][0]}</h1><p class=sub>{EXPECTED['hero_edge'][1]}</p>
</div><p class=body>{EXPECTED['hero_edge'][2]}<br>{EXPECTED['hero_edge'][3]}</p></body></html>"""

# A dark-mode card whose tags are pills filled lighter than the card, with light text, in a row over a red
# price that stands closer below them than a paragraph break.  Each tag is a line of its own (as the label and
# the value of a settings row are: they stand further apart than words).
TAGS_DARK = f"""<html><head><style>{STYLE}
body{{background:#101012;padding:20px 18px;width:384px}}
.card{{background:#232428;border-radius:12px;padding:18px 20px}}
h2{{font-size:20px;color:#f2f2f2;margin:0 0 8px}} p{{font-size:15px;color:#a0a0a8;margin:0 0 12px}}
.tag{{display:inline-block;color:#eee;font-size:14px;padding:2px 12px;border-radius:13px;margin-right:12px}}
.price{{color:#ff5a5f;font-size:16px;margin-top:-4px}}
</style></head><body><div class=card><h2>{EXPECTED['tags_dark'][0]}</h2><p>{EXPECTED['tags_dark'][1]}</p>
{''.join(f'<span class=tag style="background:{c}">{t}</span>'
         for c, t in zip(("#11806a", "#5b3b9e", "#8e2a2a"), EXPECTED['tags_dark'][2:5]))}
<div class=price>{EXPECTED['tags_dark'][5]}</div></div></body></html>"""

# A light chat with round avatars (filled discs, which binarise as four short arcs) on both sides.
ROUND_CHAT = f"""<html><head><style>{STYLE}
body{{background:#fff;padding:14px 16px;width:448px}}
.row{{display:flex;align-items:center;margin:16px 0}} .me{{justify-content:flex-end}}
.av{{width:36px;height:36px;border-radius:50%;background:#4caf50;flex:none}} .me .av{{background:#9575cd}}
.b{{padding:9px 12px;border-radius:8px;font-size:15px;margin:0 8px}}
.them .b{{background:#ececec;color:#222}} .me .b{{background:#1e88e5;color:#fff}}
</style></head><body>{''.join(
    f'<div class="row {"me" if i % 2 else "them"}">' + ('<div class=b>{}</div><div class=av></div>' if i % 2 else
    '<div class=av></div><div class=b>{}</div>').format(t) + '</div>'
    for i, t in enumerate(EXPECTED['chat_round_avatars']))}</body></html>"""

# A light table (cells middle-aligned, rows on alternate grounds): the first row's value takes two lines beside a
# label of four characters, and the last two rows start with labels of four and two; both pairs of rows were read
# column by column (labels first) as two columns of text.
TABLE = f"""<html><head><style>{STYLE}
body{{background:#fff;padding:18px 16px;width:420px;color:#222}}
h3{{font-size:18px;margin:0 0 12px 14px}} table{{border-collapse:collapse;width:100%;font-size:15px}}
td{{padding:9px 14px;border-bottom:1px solid #e4e4e4;vertical-align:middle}} td:first-child{{width:64px;color:#555}}
tr:nth-child(odd){{background:#f4f5f7}}
</style></head><body><h3>{EXPECTED['table_rows'][0]}</h3><table>
<tr><td>{EXPECTED['table_rows'][1]}</td><td>{EXPECTED['table_rows'][2]}<br>{EXPECTED['table_rows'][3]}</td></tr>
{''.join(f'<tr><td>{EXPECTED["table_rows"][i]}</td><td>{EXPECTED["table_rows"][i + 1]}</td></tr>' for i in range(4, 14, 2))}
</table></body></html>"""


# A settings card whose third label wraps onto two lines (抽出少 / 数) beside a grey value centred between
# them, about a glyph height after the label: the value fills the rows between the label's, so no row cut
# exists, and the gap is narrower than a column gutter (seed-13 screen_033 was read as one junk line).
WRAP = EXPECTED["settings_wrap"]
SETTINGS_WRAP = f"""<html><head><style>{STYLE}
body{{background:#f3f3ea;padding:16px 12px;width:596px}}
h2{{font-size:34px;font-weight:700;margin:8px 24px 22px;color:#222}}
.card{{background:#fff}} .row{{display:flex;align-items:center;padding:20px 24px;border-bottom:1px solid #e6e6e6}}
.icon{{width:46px;height:46px;border-radius:10px;flex:none;margin-right:24px}}
.label{{width:90px;font-size:24px;line-height:1.5;color:#222;flex:none}}
.value{{flex:1;font-size:24px;color:#6b7280;text-align:right}} .wide{{text-align:left;margin-left:6px}}
.code{{letter-spacing:.6em}}
</style></head><body><h2>{WRAP[0]}</h2><div class=card>
<div class=row><div class=icon style="background:#6ad82a"></div><div class=label style="width:auto">{WRAP[1]}</div></div>
<div class=row><div class=icon style="background:#27d9c8"></div><div class=label style="width:auto">{WRAP[2]}</div>
<div class="value code">{WRAP[3]}</div></div>
<div class=row><div class=icon style="background:#86d92a"></div><div class=label>{WRAP[4]}{WRAP[5]}</div>
<div class="value wide">{WRAP[6]}</div></div>
<div class=row><div class=icon style="background:#d93427"></div><div class=label>{WRAP[7]}</div>
<div class=value>{WRAP[8]}</div></div>
</div></body></html>"""

# Alerts stacked in tinted boxes, a serif body font; the second line runs on past the others' ends after a
# full stop (。与此同时): the blank half of 。 and the gap after it stand where all other lines have ended, and
# that tail was cut off as a column and read after the lines below it (seed-13 screen_012).
ALERTS = f"""<html><head><style>{STYLE}
body{{background:#fff;padding:10px 12px;width:520px;font-family:'AR PL KaitiM GB',serif}}
.a{{border-left:3px solid;border-radius:5px;padding:10px 16px 10px 42px;margin:0 0 10px;font-size:14px}}
.r{{background:#fdeaea;border-color:#e04040;color:#b02020}} .b{{background:#e8f3fd;border-color:#2080e0;color:#1060b0}}
.o{{background:#fff4e5;border-color:#f08c10;color:#8a5a10}}
</style></head><body>
<div class="a r">{EXPECTED['alerts_tail'][0]}</div><div class="a r">{EXPECTED['alerts_tail'][1]}</div>
<div class="a b">{EXPECTED['alerts_tail'][2]}</div><div class="a o">{EXPECTED['alerts_tail'][3]}</div>
</body></html>"""


DOC_STYLE = ("body{{background:#fff;width:{w}px;padding:{pad}px;margin:0;font-family:'Noto Serif CJK SC',serif;"
             "font-size:{size}px;line-height:{lh};color:#111}} p{{margin:0 0 {gap}px;text-indent:2em}}"
             "h2{{text-align:center;font-size:{title}px;margin:0 0 {tgap}px}}")


# An article at device scale 1: a bold title that starts with a dense glyph (世), a small grey meta
# line under it, and body lines with a minus sign, a dash set between words and a version number.
ARTICLE = f"""<html><head><style>{STYLE}
body{{background:#fff;padding:18px 14px;width:392px;color:#222}}
h1{{font-size:20px;font-weight:700;margin:0 0 8px}} .meta{{font-size:12px;color:#999;margin:0 0 12px}}
p{{font-size:15px;line-height:1.7;margin:0}}
</style></head><body><h1>{EXPECTED['article_meta'][0]}</h1><div class=meta>{EXPECTED['article_meta'][1]}</div>
{''.join(f'<p>{t}</p>' for t in EXPECTED['article_meta'][2:])}</body></html>"""


def doc_html(key: str, *, w: int, pad: int, size: int, lh: float, gap: int, title: int) -> str:
    title_text, *paragraph_lines = EXPECTED[key]
    # one <p> per expected line keeps the line breaks exact (each fits on one line at this width)
    body = "".join(f"<p style='text-indent:0'>{t}</p>" for t in paragraph_lines)
    css = DOC_STYLE.format(w=w, pad=pad, size=size, lh=lh, gap=gap, title=title, tgap=gap + 8)
    return f"<html><head><style>{css}</style></head><body><h2>{title_text}</h2>{body}</body></html>"


def shoot(html: str, width: int, height: int, scale: float = 1.0) -> np.ndarray:
    import cv2

    with tempfile.TemporaryDirectory() as tmp:
        page, png = Path(tmp) / "page.html", Path(tmp) / "shot.png"
        page.write_text(html, encoding="utf-8")
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--force-device-scale-factor={scale}", f"--screenshot={png}",
                        f"--window-size={width},{height}", page.as_uri()],
                       check=True, capture_output=True, timeout=120)
        return cv2.cvtColor(cv2.imread(str(png)), cv2.COLOR_BGR2RGB)


def scan(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Blur, tint, small rotation, noise: a flatbed scan of a printout."""
    import cv2

    gray = cv2.cvtColor(page, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gray = cv2.GaussianBlur(gray, (0, 0), 1.1)
    h, w = gray.shape
    gray = cv2.warpAffine(gray, cv2.getRotationMatrix2D((w / 2, h / 2), 0.8, 1.0), (w, h), borderValue=255)
    gray = gray * 0.92 + 12 + rng.normal(0, 5, gray.shape)
    return np.clip(gray, 0, 255).astype(np.uint8)


def photo(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The page lying on a wooden desk, shot at an angle under a lamp."""
    import cv2

    out_w, out_h = 900, 1000
    yy, xx = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    grain = np.sin(xx / 9.0 + 3 * np.sin(yy / 60.0)) * 14 + rng.normal(0, 6, (out_h, out_w))
    desk = np.stack([118 + grain, 84 + grain * 0.8, 52 + grain * 0.6], -1)
    ph, pw = page.shape[:2]
    src = np.float32([[0, 0], [pw, 0], [pw, ph], [0, ph]])
    dst = np.float32([[150, 90], [770, 130], [815, 905], [95, 860]])  # keystone + roll
    m = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(page.astype(np.float32), m, (out_w, out_h), flags=cv2.INTER_LINEAR)
    inside = cv2.warpPerspective(np.ones((ph, pw), np.float32), m, (out_w, out_h))[..., None]
    img = warped * inside + desk * (1 - inside)
    light = 0.62 + 0.45 * (xx / out_w) * (1 - 0.4 * yy / out_h)  # lamp on the right
    shadow = 1 - 0.25 * np.exp(-((xx - 250) ** 2 + (yy - 700) ** 2) / (2 * 160.0 ** 2))
    img = img * (light * shadow)[..., None] * np.float32([1.0, 0.97, 0.9])
    img = cv2.GaussianBlur(img, (0, 0), 0.8) + rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def photo_on_stone(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The page on a speckled granite desk whose flecks are as bright as the paper, a hand's shadow across its
    bottom-left corner (so the sheet's edge fades there), shot at an angle."""
    import cv2

    out_w, out_h = 900, 1000
    flecks = cv2.GaussianBlur(rng.normal(0, 1, (out_h, out_w)).astype(np.float32), (0, 0), 1.5)
    desk = 200 * (1 + 4 * flecks[..., None]) * np.float32([1.0, 1.0, 0.97]) + rng.normal(0, 4, (out_h, out_w, 1))
    ph, pw = page.shape[:2]
    src = np.float32([[0, 0], [pw, 0], [pw, ph], [0, ph]])
    m = cv2.getPerspectiveTransform(src, np.float32(STONE_CORNERS))
    warped = cv2.warpPerspective(page.astype(np.float32), m, (out_w, out_h), flags=cv2.INTER_LINEAR)
    inside = cv2.warpPerspective(np.ones((ph, pw), np.float32), m, (out_w, out_h))[..., None]
    img = warped * inside + desk * (1 - inside)
    xx = np.mgrid[0:out_h, 0:out_w][1].astype(np.float32)
    hand = np.zeros((out_h, out_w), np.float32)
    cv2.ellipse(hand, (100, 950), (330, 210), 30, 0, 360, 1.0, -1)
    hand = cv2.GaussianBlur(hand, (0, 0), 45)
    img = img * ((0.8 + 0.2 * xx / out_w) * (1 - 0.4 * hand))[..., None]
    img = cv2.GaussianBlur(img, (0, 0), 0.8) + rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


STONE_CORNERS = [[150, 90], [770, 130], [815, 905], [95, 860]]


def save(name: str, rgb: np.ndarray, jpeg: bool = False) -> None:
    import cv2

    path = HERE / (name + (".jpg" if jpeg else ".png"))
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if rgb.ndim == 3 else rgb
    ok, data = cv2.imencode(path.suffix, bgr, [cv2.IMWRITE_JPEG_QUALITY, 85] if jpeg else [])
    assert ok
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data.tobytes())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    print(path.name, rgb.shape, path.stat().st_size // 1024, "KB")


def main() -> None:
    rng = np.random.default_rng(12)
    save("chat_dark", shoot(CHAT, 480, 500))
    save("settings_list", shoot(SETTINGS, 520, 420))
    save("units_symbols", shoot(UNITS, 500, 300))
    save("hero_button", shoot(HERO, 420, 330))
    save("hero_edge", shoot(HERO_EDGE, 420, 260))
    save("tags_dark", shoot(TAGS_DARK, 420, 230))
    save("chat_round_avatars", shoot(ROUND_CHAT, 480, 300))
    save("article_meta", shoot(ARTICLE, 420, 200))
    save("table_rows", shoot(TABLE, 460, 420))
    save("settings_wrap", shoot(SETTINGS_WRAP, 620, 560))
    save("alerts_tail", shoot(ALERTS, 544, 200, scale=1.5))
    tight = doc_html("scan_tight", w=560, pad=30, size=20, lh=1.02, gap=0, title=24)
    save("scan_tight", scan(shoot(tight, 620, 190), rng), jpeg=True)
    loose = doc_html("photo_page", w=560, pad=40, size=20, lh=1.6, gap=6, title=26)
    save("photo_page", photo(shoot(loose, 640, 700), rng), jpeg=True)
    numbered = doc_html("scan_numbered", w=560, pad=30, size=20, lh=1.6, gap=4, title=24)
    save("scan_numbered", scan(shoot(numbered, 620, 330), np.random.default_rng(31)), jpeg=True)
    notice = doc_html("photo_stone", w=560, pad=40, size=22, lh=1.7, gap=8, title=28)
    save("photo_stone", photo_on_stone(shoot(notice, 640, 700), np.random.default_rng(247)), jpeg=True)


if __name__ == "__main__":
    main()
