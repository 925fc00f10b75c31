"""Stage 4: recognise text lines with the neural line recogniser (CNN + BiLSTM + CTC).

Each line crop is normalised the same way in training and in use (``prepare_line``):
grayscale, dark text on a light ground (light-on-dark crops are inverted), contrast
stretched so the ground is 0 and the ink 1, scaled to height 32 keeping its aspect.
Lines are then batched by width and run through the network once; the result per line
is a (T, S + 1) array of log-probabilities for the decoder (stage 5).

Idea: CRNN + CTC (Shi et al. 2015), the recogniser design of PP-OCR / RapidOCR.
"""

from __future__ import annotations

import numpy as np

from engine.ocr.model_constants import LINE_HEIGHT, MAX_LINE_WIDTH, WIDTH_STRIDE


def prepare_line(gray: np.ndarray, height: int = LINE_HEIGHT) -> np.ndarray:
    """(H, W) uint8 line crop → (height, W') float32 in [0, 1], ink = 1, ground = 0."""
    import cv2

    if gray.ndim == 3:
        gray = cv2.cvtColor(gray, cv2.COLOR_BGR2GRAY)
    h, w = gray.shape[:2]
    if h < 2 or w < 2:
        return np.zeros((height, WIDTH_STRIDE), np.float32)
    values = gray.astype(np.float32)
    # The ground is the majority of a line crop: its level is the median; if the median is
    # on the dark side of an Otsu split the text is light on dark, so flip.
    thresh, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ground = float(np.median(values))
    if ground <= thresh:  # Otsu: values <= thresh are the dark class
        values = 255.0 - values
        ground = 255.0 - ground
    ink = float(np.percentile(values, 1.0))
    span = max(ground - ink, 24.0)
    norm = np.clip((ground - values) / span, 0.0, 1.0)
    new_w = max(WIDTH_STRIDE, int(round(w * height / h)))
    new_w = min(new_w, MAX_LINE_WIDTH)
    interp = cv2.INTER_AREA if h > height else cv2.INTER_LINEAR
    return cv2.resize(norm, (new_w, height), interpolation=interp)


def batch_lines(prepared: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Pad prepared lines to one width: → images (B, 1, H, Wmax) float32, widths (B,) int64."""
    widths = np.array([p.shape[1] for p in prepared], np.int64)
    wmax = int(max(widths.max(), WIDTH_STRIDE))
    wmax = (wmax + WIDTH_STRIDE - 1) // WIDTH_STRIDE * WIDTH_STRIDE
    out = np.zeros((len(prepared), 1, prepared[0].shape[0], wmax), np.float32)
    for i, p in enumerate(prepared):
        out[i, 0, :, : p.shape[1]] = p
    return out, widths


def recognise(model, line_images: list[np.ndarray], batch_size: int = 16) -> list[np.ndarray]:
    """Run the recogniser on line crops.

    model: an :class:`engine.ocr.model.OcrModel`; line_images: (H, W) uint8 crops.
    Returns one (T_i, S + 1) float32 array of log-probabilities per line (column 0 = blank),
    T_i = prepared width // the network's width stride.
    """
    return recognise_prepared(model, [prepare_line(img) for img in line_images], batch_size)


def recognise_prepared(model, prepared: list[np.ndarray], batch_size: int = 16) -> list[np.ndarray]:
    """:func:`recognise` on lines already prepared by :func:`prepare_line` (a caller that reads them again)."""
    import torch

    from engine.device import get_device

    if not prepared:
        return []
    device = get_device()
    net = model.net.to(device)
    order = sorted(range(len(prepared)), key=lambda i: prepared[i].shape[1])
    results: list[np.ndarray | None] = [None] * len(prepared)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            images, widths = batch_lines([prepared[i] for i in idx])
            logp = net(torch.from_numpy(images).to(device)).log_softmax(-1).float().cpu().numpy()  # (T, B, S+1)
            for j, i in enumerate(idx):
                t = max(1, int(widths[j]) // net.width_stride)
                results[i] = logp[:t, j]
    return results  # type: ignore[return-value]


def read_dashes(prepared: np.ndarray, decoded, width_stride: int = WIDTH_STRIDE):
    """``decoded`` (a Decoded of the line ``prepared`` by :func:`prepare_line`) with its dashes read from the
    image: each 一 that stands apart read as -, and each run of — as many as its stroke is long.

    A dash set between words with spaces (桑新民第二天 － 模拟) looks like 一 to the recogniser, and the
    training labels drop spaces between CJK characters, so nothing in the text tells them apart.  The
    image does: 一 in a word stands as close to its neighbours as any two glyphs (逐一检查), a spaced dash
    is a flat stroke over half a glyph wide with a gap of 0.35 glyph heights on both sides, unless the
    glyphs on both sides stand apart from theirs too (letter-spaced text has wide gaps everywhere).
    And a dash of one em (the — of a list item) is read as —— as often as not; — is about 0.9 glyph heights
    long, —— twice that, drawn as one stroke.
    """
    from engine.ocr.decode import Decoded

    text, columns = decoded.text, decoded.columns
    if not ("一" in text or "—" in text) or not len(columns) == len(decoded.confidences) == len(text):
        return decoded
    ink = prepared > 0.35
    rows = np.flatnonzero(ink.any(axis=1))
    if rows.size == 0:
        return decoded
    glyph_h = rows[-1] - rows[0] + 1
    runs = []   # runs of ink columns, joined over gaps of two pixels (a glyph's own strokes)
    for x in np.flatnonzero(ink.any(axis=0)):
        if runs and x - runs[-1][1] <= 2:
            runs[-1][1] = x + 1
        else:
            runs.append([x, x + 1])
    gaps = [b[0] - a[1] for a, b in zip(runs, runs[1:])]
    wide = 0.35 * glyph_h

    def run_at(column):   # the run nearest the column a character was emitted at
        x = column * width_stride + width_stride // 2
        return min(range(len(runs)), key=lambda r: 0 if runs[r][0] <= x < runs[r][1] else
                   min(abs(runs[r][0] - x), abs(runs[r][1] - x)))

    def flat(r):          # a dash: a stroke over half a glyph wide and under a third of one tall
        a, b = runs[r]
        return b - a >= 0.5 * glyph_h and ink[:, a:b].any(axis=1).sum() <= 0.3 * glyph_h

    def lone_glyph(r, outer_gap):   # run r is one glyph, as far from the next one out (or the line's end)
        return runs[r][1] - runs[r][0] <= 1.3 * glyph_h and (outer_gap is None or outer_gap >= wide)

    out = []   # (character, confidence, column)
    i = 0
    while i < len(text):
        ch, j = text[i], run_at(columns[i])
        if ch == "一" and flat(j) and 0 < j < len(runs) - 1 and gaps[j - 1] >= wide and gaps[j] >= wide \
                and not (lone_glyph(j - 1, gaps[j - 2] if j >= 2 else None)
                         and lone_glyph(j + 1, gaps[j + 1] if j + 1 < len(gaps) else None)):
            ch = "-"
        if ch == "—" and flat(j):
            end = i + 1
            while end < len(text) and text[end] == "—" and run_at(columns[end]) == j:
                end += 1
            # an em dash drawn apart from the next (AR PL UKai's —— stands in two strokes) is one run each: take
            # in the flat runs that follow closely, up to the run of the next character
            nearest_next = run_at(columns[end]) if end < len(text) else len(runs)
            last = j
            while last + 1 < nearest_next and flat(last + 1) and gaps[last] < wide:
                last += 1
            count = max(1, int((runs[last][1] - runs[j][0]) / glyph_h + 0.6))
            best = max(range(i, end), key=lambda k: decoded.confidences[k])
            out += [("—", decoded.confidences[best], columns[i + min(n, end - i - 1)]) for n in range(count)]
            i = end
            continue
        out.append((ch, decoded.confidences[i], columns[i]))
        i += 1
    return Decoded("".join(c for c, _, _ in out), tuple(c for _, c, _ in out), tuple(c for _, _, c in out))


def _dot(w: int, h: int, glyph_h: float) -> bool:
    return max(w, h) <= 0.25 * glyph_h and min(w, h) >= 0.5 * max(w, h)


def _hyphen(w: int, h: int, glyph_h: float) -> bool:
    # a typed hyphen is 0.23-0.33 glyph heights long on dev pages; a speck of a glyph's edge is shorter
    return h <= 0.2 * glyph_h and 0.2 * glyph_h <= w <= 0.45 * glyph_h and w >= 1.5 * h


# Marks typed several in a row that the recogniser cannot count: symbol → (its parts are blobs of this shape,
# parts per symbol, fewest parts for the count to be trusted).  A run of hyphens is counted only where its
# strokes stand apart; touching ones (screens) are one stroke, as long as an em dash.
REPEATED_MARKS = {"…": (_dot, 3, 3), "-": (_hyphen, 1, 2)}


def read_repeated_marks(prepared: np.ndarray, decoded, width_stride: int = WIDTH_STRIDE):
    """``decoded`` (a Decoded of the line ``prepared`` by :func:`prepare_line`) with each run of … or - as
    long as its parts say: one … per three dots, one - per stroke (REPEATED_MARKS).

    Evenly spaced dots give the recogniser no mark of where one … ends, and it reads …… as ……… about as
    often as not (seed-1 docs; the clean synthetic lines of benchmarks/ocr.py); it reads --- as - or --
    (seed-5 docs and photos: 10 of 202 edits).  The parts of a run are the blobs of the mark's shape
    between the characters on either side of it, all in one row and of one size.
    """
    import cv2

    from engine.ocr.decode import Decoded

    text, columns, confidences = decoded.text, decoded.columns, decoded.confidences
    if not any(mark in text for mark in REPEATED_MARKS) or not len(columns) == len(confidences) == len(text):
        return decoded
    ink = (prepared > 0.35).astype(np.uint8)
    rows = np.flatnonzero(ink.any(axis=1))
    if rows.size == 0:
        return decoded
    glyph_h = rows[-1] - rows[0] + 1
    count, _, stats, centroids = cv2.connectedComponentsWithStats(ink, connectivity=8)
    out = []   # (character, confidence, column)
    i = 0
    while i < len(text):
        mark = text[i]
        if mark not in REPEATED_MARKS:
            out.append((mark, confidences[i], columns[i]))
            i += 1
            continue
        shape, per_symbol, fewest = REPEATED_MARKS[mark]
        end = i
        while end < len(text) and text[end] == mark:
            end += 1
        left = (columns[i - 1] + 1) * width_stride if i else 0
        right = columns[end] * width_stride if end < len(text) else prepared.shape[1]
        parts = [k for k in range(1, count)
                 if left <= centroids[k, 0] < right and shape(stats[k, 2], stats[k, 3], glyph_h)]
        n = end - i
        if parts:
            y = np.median([centroids[k, 1] for k in parts])
            area = np.median([stats[k, 4] for k in parts])
            parts = [k for k in parts
                     if abs(centroids[k, 1] - y) <= 0.1 * glyph_h and 0.5 * area <= stats[k, 4] <= 2 * area]
            if len(parts) >= fewest:
                n = max(1, int(len(parts) / per_symbol + 0.5))
        best = max(confidences[i:end])
        out += [(mark, best, columns[min(i + m, end - 1)]) for m in range(n)]
        i = end
    return Decoded("".join(c for c, _, _ in out), tuple(c for _, c, _ in out), tuple(c for _, _, c in out))
