"""Stage 3: find horizontal text lines on a binarised page, in reading order.

Idea: the seed post OCR技术浅探 locates text by connected components and projection
profiles; reading order for multi-column pages comes from the recursive XY-cut
(Nagy & Seth 1984): a block is cut at a wide empty column gutter first (two-column pages
are read column by column), otherwise at a wide empty row band (paragraphs, blank
lines, a title above columns), and a block with neither is split into lines at every
empty row band of its horizontal projection profile.  Noise specks and long rules
(underlines, table borders) are removed first; the typical glyph height ``h`` (from
connected components) scales every threshold, so mixed font sizes work.

Vertical text (columns of characters read top to bottom) is detected from the glyphs'
nearest-neighbour gaps (characters much closer above/below than left/right) and reported
as unsupported instead of being misread.

Boxes are returned in deskewed coordinates (for cropping the preprocessed page) and in
original image coordinates (for display and output).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.ocr.preprocess import Preprocessed


@dataclass(frozen=True)
class LineBox:
    box: tuple[int, int, int, int]        # x0, y0, x1, y1 in the original image (exclusive ends)
    crop_box: tuple[int, int, int, int]   # the same line, padded, in the preprocessed (deskewed) image
    block: int                            # index of the text block (column / paragraph) in reading order


@dataclass(frozen=True)
class Layout:
    lines: tuple[LineBox, ...]
    glyph_height: float                   # typical character height in pixels (0 if no text)
    vertical: bool = False                # vertical text found (not read)
    warnings: tuple[str, ...] = ()


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """Start/end (exclusive) of runs of True in a 1-D bool array."""
    if flags.size == 0:
        return []
    padded = np.concatenate([[False], flags, [False]])
    changes = np.flatnonzero(padded[1:] != padded[:-1])
    return list(zip(changes[::2].tolist(), changes[1::2].tolist()))


def clean_mask(binary: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Remove specks and long rules → (ink mask bool (H, W), glyph height h, glyph boxes (N, 4) x, y, w, h)."""
    import cv2

    count, labels, stats, _ = cv2.connectedComponentsWithStats((binary > 0).astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros(binary.shape, bool), 0.0, np.zeros((0, 4), int)
    stats = stats[1:]
    widths, heights, areas = stats[:, 2], stats[:, 3], stats[:, 4]
    sizable = (areas >= 6) & (heights >= 3)
    if not sizable.any():
        return np.zeros(binary.shape, bool), 0.0, np.zeros((0, 4), int)
    page_h, page_w = binary.shape
    # Glyph height from components after a small closing: thin or light faces (e.g. UMing)
    # binarise into disconnected strokes whose heights would understate the text size.
    closed = cv2.morphologyEx((binary > 0).astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    _, _, glyph_stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
    g_widths, g_heights, g_areas = glyph_stats[1:, 2], glyph_stats[1:, 3], glyph_stats[1:, 4]
    # Leave out blobs that are large both ways (pictures, frames), not merely tall ones: in an image
    # of a single line every whole glyph is more than half the image's height.
    plausible = (g_areas >= 6) & (g_heights >= 3) & ~((g_heights > 0.5 * page_h) & (g_widths > 0.5 * page_w))
    h = float(np.percentile(g_heights[plausible], 75)) if plausible.any() else float(np.percentile(heights[sizable], 75))
    h = max(h, 4.0)
    speck = (areas < max(3.0, (0.06 * h) ** 2)) & (np.maximum(widths, heights) < 0.25 * h)
    long_side, short_side = np.maximum(widths, heights), np.minimum(widths, heights)
    rule = (long_side > 5 * h) & (short_side < 0.35 * h)
    frame = (widths > 0.8 * page_w) & (heights > 0.8 * page_h) & (areas < 0.1 * widths * heights)
    keep = ~(speck | rule | frame)
    lut = np.concatenate([[False], keep])
    mask = lut[labels]
    boxes = stats[keep & sizable][:, :4]
    return mask, h, boxes


def _merged_runs(flags: np.ndarray, max_gap: float) -> list[tuple[int, int]]:
    """Ink runs of a profile, joining runs separated by less than ``max_gap`` empty cells."""
    merged: list[list[int]] = []
    for a, b in _runs(flags):
        if merged and a - merged[-1][1] < max_gap:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def is_vertical_text(mask: np.ndarray, h: float) -> bool:
    """True for columns of stacked characters (vertical writing).

    The column profile, with the small gaps between glyphs (and between the radicals of
    one glyph) closed, splits vertical text into runs about one character wide that are
    several characters tall; horizontal text gives runs as wide as its lines instead.
    (A stack of one-character lines is ambiguous and is read as vertical.)
    """
    rows, cols = mask.any(axis=1), mask.any(axis=0)
    if not rows.any():
        return False
    col_runs = _merged_runs(cols, 0.3 * h)
    narrow_tall = 0
    for a, b in col_runs:
        ink_rows = np.flatnonzero(mask[:, a:b].any(axis=1))
        if b - a <= 1.6 * h and ink_rows[-1] - ink_rows[0] >= 2.5 * h:
            narrow_tall += 1
    return narrow_tall > 0 and narrow_tall >= 0.6 * len(col_runs)


def _gaps(flags: np.ndarray) -> list[tuple[int, int]]:
    """Empty runs strictly inside the ink extent of a 1-D occupancy array."""
    ink = np.flatnonzero(flags)
    if ink.size == 0:
        return []
    inner = ~flags[ink[0]:ink[-1] + 1]
    return [(a + ink[0], b + ink[0]) for a, b in _runs(inner)]


def xy_cut(mask: np.ndarray, h: float) -> list[list[tuple[int, int, int, int]]]:
    """Blocks in reading order, each a list of line boxes (x0, y0, x1, y1) top to bottom."""
    gutter_min = 1.5 * h     # an empty column band this wide separates columns
    break_min = 0.9 * h      # an empty row band this tall separates paragraphs / blocks
    blocks: list[list[tuple[int, int, int, int]]] = []

    def column_gutters(y0, y1, x0, x1):
        cols = mask[y0:y1, x0:x1].any(axis=0)
        return [(a + x0, b + x0) for a, b in _gaps(cols) if b - a >= gutter_min]

    def visit(y0, y1, x0, x1, depth=0):
        sub = mask[y0:y1, x0:x1]
        rows, cols = sub.any(axis=1), sub.any(axis=0)
        if not rows.any():
            return
        ry, cx = np.flatnonzero(rows), np.flatnonzero(cols)
        y0, y1, x0, x1 = y0 + ry[0], y0 + ry[-1] + 1, x0 + cx[0], x0 + cx[-1] + 1
        if depth > 60:
            blocks.append(_lines(y0, y1, x0, x1))
            return
        gutters = column_gutters(y0, y1, x0, x1)
        if gutters:
            a, b = max(gutters, key=lambda g: g[1] - g[0])
            visit(y0, y1, x0, a, depth + 1)
            visit(y0, y1, b, x1, depth + 1)
            return
        row_gaps = [(a + y0, b + y0) for a, b in _gaps(mask[y0:y1, x0:x1].any(axis=1))]
        big = [g for g in row_gaps if g[1] - g[0] >= break_min]
        # Prefer a cut that separates a part with columns from the rest (a title above two
        # columns), then the topmost wide gap; cutting at the *widest* gap first would slice
        # through columns whose paragraphs happen to end at the same height.
        small = sorted((g for g in row_gaps if g not in big), key=lambda g: g[1] - g[0], reverse=True)[:8]
        for a, b in big + small:
            if column_gutters(b, y1, x0, x1) or column_gutters(y0, a, x0, x1):
                visit(y0, a, x0, x1, depth + 1)
                visit(b, y1, x0, x1, depth + 1)
                return
        if big:
            a, b = big[0]
            visit(y0, a, x0, x1, depth + 1)
            visit(b, y1, x0, x1, depth + 1)
            return
        blocks.append(_lines(y0, y1, x0, x1))

    def _lines(y0, y1, x0, x1):
        sub = mask[y0:y1, x0:x1]
        strips = _runs(sub.any(axis=1))
        if not strips:
            return []
        heights = np.array([b - a for a, b in strips], float)
        typical = float(np.median(heights))
        merged: list[list[int]] = []
        for a, b in strips:
            # a thin strip (dots, an underline, the lower stroke of 二) joins the line it touches
            if merged and ((b - a) < 0.4 * typical or (merged[-1][1] - merged[-1][0]) < 0.4 * typical) \
                    and a - merged[-1][1] < 0.25 * typical:
                merged[-1][1] = b
            else:
                merged.append([a, b])
        out = []
        for a, b in merged:
            cols = np.flatnonzero(sub[a:b].any(axis=0))
            out.append((x0 + int(cols[0]), y0 + a, x0 + int(cols[-1]) + 1, y0 + b))
        return out

    visit(0, mask.shape[0], 0, mask.shape[1])
    return [b for b in blocks if b]


def detect_lines(pre: Preprocessed) -> Layout:
    """Text lines of a preprocessed page in reading order (see module docstring)."""
    if pre.blank:
        return Layout((), 0.0, False, ("no text found (the image is blank)",))
    mask, h, _ = clean_mask(pre.binary)
    if h == 0 or not mask.any():
        return Layout((), 0.0, False, ("no text found",))
    if is_vertical_text(mask, h):
        return Layout((), h, True, ("vertical text found: Mowen reads horizontal lines only",))
    page_h, page_w = mask.shape
    size = (page_w, page_h)
    lines = []
    for block_index, block in enumerate(xy_cut(mask, h)):
        for x0, y0, x1, y1 in block:
            lh = y1 - y0
            if lh < 4 or (x1 - x0) < 4:
                continue
            pad_v, pad_h = int(round(0.15 * lh)) + 1, int(round(0.25 * lh)) + 1
            crop = (max(0, x0 - pad_h), max(0, y0 - pad_v), min(page_w, x1 + pad_h), min(page_h, y1 + pad_v))
            lines.append(LineBox(pre.to_original((x0, y0, x1, y1), size), crop, block_index))
    warnings = () if lines else ("no text found",)
    return Layout(tuple(lines), h, False, warnings)


def cut_line(gray: np.ndarray, line: LineBox) -> np.ndarray:
    """The crop of ``line`` from the deskewed page, with bands of ground added around it.

    The crop box reaches only 15% (above and below) and 25% (left and right) of the ink height beyond
    the ink: more would take in the next line or column of a dense page.  Training lines have more room
    around their ink, and a full-width mark at the end of a line (。) is followed by the blank rest of its
    cell.  Ground (the crop's median grey) added around the crop, 10% of its height above and below and
    30% left and right, took the clean-line CER of 320 held-out rendered lines from 1.09% (no bands) to
    0.68% (top and bottom) to 0.55% (all four sides); degraded lines stayed at 6.2-6.3%
    (docs/notes/ocr.md, session 3).
    """
    import cv2

    x0, y0, x1, y1 = line.crop_box
    crop = gray[y0:y1, x0:x1]
    if crop.size == 0:
        return crop
    band, side = int(0.1 * crop.shape[0]), int(0.3 * crop.shape[0])
    return cv2.copyMakeBorder(crop, band, band, side, side, cv2.BORDER_CONSTANT, value=int(np.median(crop)))
