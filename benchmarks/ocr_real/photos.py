"""Phone photos of printed pages, simulated: a Writer page laid on a textured desk and shot at an angle.

The clean page (docs.Page) is warped by a homography — keystone 3–12 % (the camera tilted
toward the top or bottom edge), roll ±5°, a little jitter per corner — onto a procedural desk
(wood grain, laminate, fabric or stone), with a soft drop shadow under it, sometimes the
soft shadow of the phone or hand across it, a lighting gradient and colour cast, motion or
focus blur, sensor noise and JPEG.  The ground truth keeps each line as a quad and the
page's four corners (top-left, top-right, bottom-right, bottom-left) in image pixels.
"""

from __future__ import annotations

import random

import cv2
import numpy as np

from benchmarks.ocr_real.docs import Page, jpeg, smooth_field, transform_lines


def desk(rng: random.Random, h: int, w: int) -> tuple[np.ndarray, str]:
    g = np.random.default_rng(rng.randrange(1 << 30))
    kind = rng.choice(["wood", "wood", "laminate", "fabric", "stone", "dark"])
    if kind == "wood":
        base = np.array(rng.choice([(150, 100, 60), (180, 130, 85), (110, 70, 40), (200, 160, 115)]), np.float32)
        streak = cv2.resize(g.normal(0, 1, (max(2, h // 6), 8)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
        y = np.mgrid[0:h, 0:w][0].astype(np.float32)
        grain = np.sin((y + 40 * streak) / rng.uniform(6, 18)) * 0.5 + 0.3 * streak
        tex = base * (1 + 0.12 * grain[..., None])
    elif kind == "laminate":
        base = np.array(rng.choice([(225, 225, 220), (200, 205, 210), (235, 230, 215)]), np.float32)
        tex = base + g.normal(0, 3, (h, w, 1)).astype(np.float32)
    elif kind == "fabric":
        base = np.array(rng.choice([(60, 80, 120), (120, 40, 40), (70, 100, 70), (90, 90, 95)]), np.float32)
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        weave = np.sin(x / 1.7) * np.sin(y / 1.7)
        tex = base * (1 + 0.08 * weave[..., None]) + g.normal(0, 6, (h, w, 1)).astype(np.float32)
    elif kind == "stone":
        base = np.array(rng.choice([(170, 170, 165), (120, 115, 110), (215, 210, 200)]), np.float32)
        blobs = cv2.GaussianBlur(g.normal(0, 1, (h, w)).astype(np.float32), (0, 0), rng.uniform(3, 9))
        tex = base * (1 + 2.5 * blobs[..., None]) + g.normal(0, 4, (h, w, 1)).astype(np.float32)
    else:
        base = np.array(rng.choice([(40, 40, 45), (30, 25, 20), (55, 60, 65)]), np.float32)
        tex = base + g.normal(0, 4, (h, w, 1)).astype(np.float32)
    return np.clip(tex, 0, 255).astype(np.float32), kind


def page_quad(rng: random.Random, pw: int, ph: int, cw: int, ch: int) -> tuple[np.ndarray, dict]:
    """Where the page's corners land on a cw × ch canvas (TL, TR, BR, BL)."""
    fill = rng.uniform(0.6, 0.88)
    s = fill * min(cw / pw, ch / ph)
    w, h = pw * s, ph * s
    key = rng.uniform(0.03, 0.12)
    top_narrow = rng.random() < 0.75  # usually the phone is tilted back: the far (top) edge is shorter
    d = key * w / 2
    q = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]], np.float64)
    if top_narrow:
        q[0, 0] += d
        q[1, 0] -= d
    else:
        q[3, 0] += d
        q[2, 0] -= d
    q += np.array([[rng.uniform(-0.01, 0.01) * w, rng.uniform(-0.01, 0.01) * h] for _ in range(4)])
    roll = np.deg2rad(rng.uniform(-5, 5))
    rot = np.array([[np.cos(roll), -np.sin(roll)], [np.sin(roll), np.cos(roll)]])
    q = q @ rot.T
    slack_x = max(0.0, (cw - (q[:, 0].max() - q[:, 0].min())) / 2 - 4)
    slack_y = max(0.0, (ch - (q[:, 1].max() - q[:, 1].min())) / 2 - 4)
    q += np.array([cw / 2 + rng.uniform(-0.7, 0.7) * slack_x, ch / 2 + rng.uniform(-0.7, 0.7) * slack_y])
    return q, dict(keystone=round(key, 3), top_narrow=top_narrow, roll=round(float(np.rad2deg(roll)), 2),
                   fill=round(fill, 2))


def photograph(page: Page, rng: random.Random) -> tuple[bytes, list[dict], dict, list]:
    """→ (JPEG bytes, lines with quads, what was done, page corners)."""
    ph, pw = page.rgb.shape[:2]
    long_side = rng.choice([2000, 2400, 3000, 3600])  # phone photos, from chat-compressed to full size
    cw, ch = (round(long_side * 3 / 4), long_side) if rng.random() < 0.8 else (long_side, round(long_side * 3 / 4))
    quad, meta = page_quad(rng, pw, ph, cw, ch)
    src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
    hmat = cv2.getPerspectiveTransform(src, quad.astype(np.float32))
    canvas, meta["desk"] = desk(rng, ch, cw)
    mask = cv2.warpPerspective(np.full((ph, pw), 255, np.uint8), hmat, (cw, ch), flags=cv2.INTER_AREA).astype(np.float32) / 255
    # Drop shadow: the page's footprint, shifted and blurred, darkens the desk.
    shift = np.float32([[1, 0, rng.uniform(-0.01, 0.02) * cw], [0, 1, rng.uniform(0, 0.02) * ch]])
    shadow = cv2.GaussianBlur(cv2.warpAffine(mask, shift, (cw, ch)), (0, 0), 0.01 * cw + 2)
    canvas *= (1 - rng.uniform(0.3, 0.6) * shadow)[..., None]
    paper = np.array([rng.uniform(0.93, 1.0), rng.uniform(0.92, 1.0), rng.uniform(0.88, 0.98)], np.float32)
    warped = cv2.warpPerspective(page.rgb.astype(np.float32) * paper, hmat, (cw, ch), flags=cv2.INTER_AREA)
    img = canvas * (1 - mask[..., None]) + warped * mask[..., None]
    # Light: a gradient over the whole frame, a colour cast, sometimes the soft shadow of the phone or a hand.
    img *= smooth_field(rng, ch, cw, rng.uniform(0.1, 0.4))[..., None]
    img *= np.array([rng.uniform(0.95, 1.05), 1.0, rng.uniform(0.9, 1.05)], np.float32)
    meta["hand_shadow"] = rng.random() < 0.4
    if meta["hand_shadow"]:
        blob = np.zeros((ch, cw), np.float32)
        cx, cy = rng.uniform(0, cw), rng.choice([rng.uniform(0.6, 1.1), rng.uniform(-0.1, 0.3)]) * ch
        cv2.ellipse(blob, (int(cx), int(cy)), (int(rng.uniform(0.2, 0.45) * cw), int(rng.uniform(0.15, 0.3) * ch)),
                    rng.uniform(0, 180), 0, 360, 1.0, -1)
        blob = cv2.GaussianBlur(blob, (0, 0), 0.05 * cw)
        img *= (1 - rng.uniform(0.15, 0.4) * blob)[..., None]
    blur = rng.choice(["none", "motion", "focus", "focus"])
    if blur == "motion":
        n = max(3, round(rng.uniform(3, 9) * long_side / 3000))
        k = np.zeros((n, n), np.float32)
        k[n // 2, :] = 1.0 / n
        k = cv2.warpAffine(k, cv2.getRotationMatrix2D((n / 2 - 0.5, n / 2 - 0.5), rng.uniform(0, 180), 1.0), (n, n))
        img = cv2.filter2D(img, -1, k / max(1e-6, k.sum()))
        meta["motion_px"] = n
    elif blur == "focus":
        meta["focus_sigma"] = round(rng.uniform(0.5, 1.6) * long_side / 3000, 2)
        img = cv2.GaussianBlur(img, (0, 0), meta["focus_sigma"])
    g = np.random.default_rng(rng.randrange(1 << 30))
    meta["noise"] = round(rng.uniform(3, 10), 1)
    img += g.normal(0, meta["noise"], (ch, cw, 1)) + g.normal(0, meta["noise"] / 3, (ch, cw, 3))
    meta["jpeg"] = rng.randint(60, 90)
    out = np.clip(img, 0, 255).astype(np.uint8)
    corners = [[round(float(x), 1), round(float(y), 1)] for x, y in quad]
    return jpeg(out, meta["jpeg"]), transform_lines(page.lines, hmat.astype(np.float64)), meta, corners
