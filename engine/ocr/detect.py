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
    core: tuple[int, int, int, int] | None = None   # the line's ink box in the preprocessed image


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
    # Where the lines of a page touch (tight spacing, a face with long descenders), many glyphs
    # join the glyph below into a component two lines tall, and the percentile lands on those.
    # Such a pair is twice as tall as wide; a Chinese glyph or a part of one is about square.
    square = plausible & (g_widths >= 0.6 * g_heights) & (g_widths <= 1.6 * g_heights)
    if square.sum() >= 20:
        h_square = float(np.percentile(g_heights[square], 75))
        if h > 1.25 * h_square:
            h = h_square
    h = max(h, 4.0)
    speck = (areas < max(3.0, (0.06 * h) ** 2)) & (np.maximum(widths, heights) < 0.25 * h)
    long_side, short_side = np.maximum(widths, heights), np.minimum(widths, heights)
    # long rules (underlines, table borders) and solid thin bars over 2.5 glyphs long (the coloured
    # edge of an alert box, a divider): no stroke of a glyph is that long
    rule = ((long_side > 5 * h) & (short_side < 0.35 * h)) \
        | ((long_side > 2.5 * h) & (short_side < 0.5 * h) & (areas > 0.5 * widths * heights))
    frame = (widths > 0.8 * page_w) & (heights > 0.8 * page_h) & (areas < 0.1 * widths * heights)
    # Solid bars thicker than a stroke: the dark gap between an avatar and a bubble, a coloured
    # edge, a scroll bar.  No glyph is a filled block; l, I and | are only a stroke wide.
    # A large bold glyph (国 in a title) can binarise nearly solid too, but it is about square.
    bar = (areas > 0.85 * widths * heights) & (short_side > 0.3 * h) & (long_side > 1.3 * h) \
        & (long_side > 1.5 * short_side)
    dashes = _dashes_in_lines(stats, (rule | bar) & ~frame, ~(speck | rule | frame | bar), h)
    rule &= ~dashes
    bar &= ~dashes
    keep = ~(speck | rule | frame | bar)
    keep &= ~_outlines(stats, keep & sizable, h)
    keep &= ~_leading_bullets(stats, keep, h)
    lut = np.concatenate([[False], keep])
    mask = lut[labels]
    boxes = stats[keep & sizable][:, :4]
    return mask, h, boxes


def _dashes_in_lines(stats: np.ndarray, bars: np.ndarray, glyphs: np.ndarray, h: float) -> np.ndarray:
    """The bars and rules that are dashes written in a line of text: True for each to keep.

    Two kinds look like what ``clean_mask`` drops:
    - in a bold title twice the body's size, 一 binarises as a filled block over 1.3 body glyph
      heights long and a third of one thick, the shape of a scroll bar or a coloured edge;
    - a run of dashes between words (———) is one thin stroke over 2.5 glyph heights long, the
      shape of a divider.
    Both lie flat with glyphs beside them in the same rows (whose rows hold the bar's middle, at most
    half a glyph away): the bold 一 one glyph about as tall as it is long (it may start or end the
    title), the dash run glyphs of the line on both sides.  A divider, an underline or a scroll bar
    has no such neighbours.  Dropped, either split its line in two.
    """
    x, y, w, hh = (stats[:, i].astype(np.float64) for i in range(4))
    out = np.zeros(len(stats), bool)
    others = np.flatnonzero(glyphs)
    for i in np.flatnonzero(bars & (w > 2 * hh)):
        cy = y[i] + hh[i] / 2
        beside = others[(y[others] <= cy) & (y[others] + hh[others] >= cy) & (hh[others] >= 2.5 * hh[i])]
        left = x[i] - (x[beside] + w[beside])
        right = x[beside] - (x[i] + w[i])
        reach = 0.5 * np.maximum(hh[beside], h)
        on_left = (left >= -1) & (left <= reach)
        on_right = (right >= -1) & (right <= reach)
        if w[i] <= 2.5 * h:
            alike = (hh[beside] >= 0.6 * w[i]) & (hh[beside] <= 1.6 * w[i])
            out[i] = bool((alike & (on_left | on_right)).any())
        else:
            line = hh[beside] >= 0.6 * h
            out[i] = bool((line & on_left).any() and (line & on_right).any())
    return out


def _outlines(stats: np.ndarray, keep: np.ndarray, h: float) -> np.ndarray:
    """Thin outlines drawn around text (a ghost button's pill, a bordered box): True for each to drop.

    Such an outline is one component whose ink fills under a quarter of its box, which is 1.5 times
    as long as it is wide or fills under 10% of its box, and whose box holds other components whole,
    with room around them: it is over 1.4 times as tall as the tallest of them.  Kept as ink, it makes
    the line's box the outline's, and the recogniser reads its ends as （ and 三 around text shrunk to
    half the crop.  A glyph that encloses others (国, 回 in a large light title face) is about square
    and fills more of its box.
    """
    x, y, w, hh, area = (stats[:, i].astype(np.int64) for i in range(5))
    elongated = np.maximum(w, hh) > 1.5 * np.minimum(w, hh)
    candidate = keep & (np.minimum(w, hh) > 0.8 * h) & (area < 0.25 * w * hh) \
        & (elongated | (area < 0.1 * w * hh))
    out = np.zeros(len(stats), bool)
    others = np.flatnonzero(keep)
    for i in np.flatnonzero(candidate):
        inside = others[(x[others] > x[i]) & (y[others] > y[i])
                        & (x[others] + w[others] < x[i] + w[i]) & (y[others] + hh[others] < y[i] + hh[i])]
        out[i] = inside.size > 0 and hh[i] > 1.4 * hh[inside].max() and w[i] > 1.4 * hh[inside].max()
    return out


def _leading_bullets(stats: np.ndarray, keep: np.ndarray, h: float) -> np.ndarray:
    """Round filled marks that start a line (list bullets ● ▪): True for each component to drop.

    A bullet is a solid roundish blob a third to a half of the glyph height across, with text
    starting a little to its right at the same height and no ink close on its left.  They are
    not text the recogniser knows (it reads them as 参 or 。) and list markers are not part of
    the list's text.
    """
    x, y, w, hh, area = (stats[:, i].astype(np.float64) for i in range(5))
    side = np.maximum(w, hh)
    candidate = keep & (side >= 0.2 * h) & (side <= 0.65 * h) & (np.minimum(w, hh) >= 0.7 * side) \
        & (area >= 0.6 * w * hh)
    out = np.zeros(len(stats), bool)
    others = np.flatnonzero(keep)
    cy = y + hh / 2
    for i in np.flatnonzero(candidate):
        same_row = others[(np.abs(cy[others] - cy[i]) < 0.25 * h) & (others != i)]
        gap_right = x[same_row] - (x[i] + w[i])
        gap_left = x[i] - (x[same_row] + w[same_row])
        # the nearest ink on its right stands apart (a dense small glyph, 数 at 13 px, is a blob too,
        # but its neighbour stands a pixel or two away)
        right = gap_right >= -0.1 * h
        if right.any() and gap_right[right].min() < 0.15 * h:
            continue
        text_right = ((gap_right >= 0.15 * h) & (gap_right <= 2.5 * h) & (hh[same_row] >= 0.5 * h)).any()
        ink_left = ((gap_left >= -0.1 * h) & (gap_left <= 1.2 * h)).any()
        out[i] = text_right and not ink_left
    return out


def _skip_round_bullet(mask: np.ndarray, box: tuple[int, int, int, int], h: float) -> int:
    """The line's left edge, moved past a round bullet (● or ○, whole or broken) that starts it.

    Bullets larger than the ink element come out as rings, often broken, so the solid-blob test of
    ``_leading_bullets`` misses them.  Here the first cluster of ink columns of the line counts as a
    bullet if it is roundish, 0.3-1.1 glyph heights across, followed by a gap of 0.3 glyph heights
    (glyphs of a line stand closer), has its four corners empty while ink meets all four sides, and
    its middle empty or solid, and is not concave as a ★ is.
    """
    x0, y0, x1, y1 = box
    sub = mask[y0:y1, x0:x1]
    runs = _merged_runs(sub.any(axis=0), 0.25 * h)
    if len(runs) < 2 or runs[1][0] - runs[0][1] < 0.3 * h:
        return x0
    a, b = runs[0]
    rows = np.flatnonzero(sub[:, a:b].any(axis=1))
    top, bottom = rows[0], rows[-1] + 1
    w, t = b - a, bottom - top
    line_rows = np.flatnonzero(sub.any(axis=1))
    middle = (line_rows[0] + line_rows[-1]) / 2
    # a bullet stands centred on the line; a comma that starts a line sits at its foot
    if abs((top + bottom) / 2 - middle) > 0.2 * h:
        return x0
    blob = sub[top:bottom, a:b]
    if _hollow_square(blob, h):
        return x0 + runs[1][0]
    if not (0.3 * h <= max(w, t) <= 1.1 * h and min(w, t) >= 0.75 * max(w, t)):
        return x0
    cw, ct = max(1, int(0.18 * w)), max(1, int(0.18 * t))
    corners = [blob[:ct, :cw], blob[:ct, -cw:], blob[-ct:, :cw], blob[-ct:, -cw:]]
    mid_w, mid_t = slice(int(0.35 * w), max(int(0.65 * w), int(0.35 * w) + 1)), \
        slice(int(0.35 * t), max(int(0.65 * t), int(0.35 * t) + 1))
    sides = [blob[:ct, mid_w], blob[-ct:, mid_w], blob[mid_t, :cw], blob[mid_t, -cw:]]
    centre = blob[int(0.3 * t):max(int(0.7 * t), int(0.3 * t) + 1), int(0.3 * w):max(int(0.7 * w), int(0.3 * w) + 1)]
    # (a ring's corners may hold a pixel or two: a blurred, slightly rotated ○ in a scan reaches into them, and
    # was read as Ｏ; a solid blob's may not: a circled number blurred nearly solid, ⑧, would pass for a ●)
    corner_ink = 0.08 if centre.mean() <= 0.05 else 0.0
    if any(c.mean() > corner_ink for c in corners) or not all(s.any() for s in sides):
        return x0
    # a ring (○, or a large ● binarised as its rim) is empty in the middle and a small ● is solid;
    # a circled number (③ in a list) has its digit there, and is text
    if 0.05 < centre.mean() < 0.9:
        return x0
    # a ★ is solid in the middle as a small ● is, but concave: a list marker that is text, not one drawn by the
    # page's style.  Sharp, it fills under 3/4 of its convex hull; blurred on a photo, 0.74-0.78 (seed-13
    # photo_014); a ● or ◆, sharp or blurred, over 0.94
    if centre.mean() >= 0.9 and _solidity(blob) < 0.85:
        return x0
    return x0 + runs[1][0]


def _hollow_square(blob: np.ndarray, h: float) -> bool:
    """A ■ typed as text in a document, as the ink finder leaves it: its inside is wider than the ground
    estimate's element, so only its top and bottom edges stay ink, two bars as long as each other a glyph
    height apart with nothing between (二's are unequal and closer; 口 and □ keep their sides).  Read as “."""
    t, w = blob.shape
    if not (0.5 * h <= max(w, t) <= 1.3 * h and min(w, t) >= 0.75 * max(w, t)):
        return False
    band = max(1, int(0.15 * t))
    across = lambda rows: rows.any(axis=0).mean()
    return across(blob[:band]) >= 0.9 and across(blob[-band:]) >= 0.9 and not blob[int(0.3 * t):int(0.7 * t)].any()


def _solidity(blob: np.ndarray) -> float:
    """Area of the largest outline of a binary blob over the area of its convex hull."""
    import cv2

    contours, _ = cv2.findContours((blob > 0).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    outline = max(contours, key=cv2.contourArea)
    return float(cv2.contourArea(outline) / max(1.0, cv2.contourArea(cv2.convexHull(outline))))


def _drop_trailing_chevron(mask: np.ndarray, box: tuple[int, int, int, int], h: float) -> int:
    """The line's right edge, moved before a disclosure chevron (>) that ends it after a wide gap.

    Settings rows and list items end in a chevron icon, which is no part of their text (the
    recogniser reads it as 〉 or 》).  The last cluster of ink columns counts as one if it stands 0.6
    glyph heights or more from the rest (a status value's chevron stands 0.8 away; 》 closing a title
    touches it), is at most 0.75 glyph heights wide (drawn chevrons are
    0.6-0.65 glyph heights wide and about one tall), and bends right: its ink
    in the middle rows lies right of its ink in the top and bottom rows.
    """
    x0, y0, x1, y1 = box
    sub = mask[y0:y1, x0:x1]
    runs = _merged_runs(sub.any(axis=0), 0.25 * h)
    if len(runs) == 1:   # a chevron standing alone (a settings row's value column): no line at all
        return x0 if _is_chevron(sub, h) else x1
    if runs[-1][0] - runs[-2][1] < 0.6 * h or not _is_chevron(sub[:, runs[-1][0]:runs[-1][1]], h):
        return x1
    return x0 + runs[-2][1]


def _faint_left_edge(gray: np.ndarray, binary: np.ndarray, box: tuple[int, int, int, int], pad_v: int) -> int:
    """Where the line's ink begins once faint strokes just left of its box are counted: the x to crop from.

    A thin, blurred （ that opens a numbered item in a scan — （1） — is too light to become ink, so the box
    starts at the 1 and the crop's left reach (a quarter of the line height) cuts through the bracket, which
    is then lost or read as ［ or 〔 (seed-1 doc_010: five of ten items).  Columns within 0.6 line heights to
    the left count as faint ink when a stroke of half the line's height is at least a third of the way from
    the ground to the line's own ink level, up to a gap of a third of a line height.  Nothing is added where
    the binary image has ink within 1.2 line heights to the left, in the crop's rows (``pad_v`` above and below
    the box): a list bullet dropped on purpose (a ■ keeps only its top and bottom bars there, its dark sides are
    not ink)."""
    x0, y0, x1, y1 = box
    lh = y1 - y0
    start = max(0, x0 - int(0.6 * lh))
    own = binary[y0:y1, x0:x1] > 0
    if start >= x0 or not own.any() or own.all():
        return x0
    line = gray[y0:y1, x0:x1].astype(np.float32)
    ink, ground = float(np.median(line[own])), float(np.median(line[~own]))
    if abs(ground - ink) < 40:
        return x0
    # the crop's rows, not the line's: a ■ bullet's bars stand above and below the line's own rows
    if (binary[max(0, y0 - pad_v):y1 + pad_v, max(0, x0 - int(1.2 * lh)):x0] > 0).any():
        return x0
    strip = (gray[y0:y1, start:x0].astype(np.float32) - ground) / (ink - ground)
    stroke = (strip >= 1 / 3).sum(axis=0) >= 0.5 * lh
    edge, gap = x0, 0
    for k in range(stroke.size - 1, -1, -1):
        if stroke[k]:
            edge, gap = start + k, 0
        else:
            gap += 1
            if gap > lh / 3:
                break
    return edge


def _is_chevron(blob: np.ndarray, h: float) -> bool:
    """Whether the ink of ``blob`` is a narrow mark that bends right (>), see _drop_trailing_chevron."""
    rows = np.flatnonzero(blob.any(axis=1))
    if rows.size == 0:
        return False
    blob = blob[rows[0]:rows[-1] + 1]
    t, w = blob.shape
    if w > 0.75 * h or t > 1.2 * h or t < 0.3 * h or w < 2:
        return False
    xs = np.arange(w)
    centre = np.array([xs[r].mean() if r.any() else np.nan for r in blob])
    quarter = max(1, t // 4)
    ends = np.concatenate([centre[:quarter], centre[-quarter:]])
    middle = centre[t // 2 - quarter // 2: t // 2 + quarter // 2 + 1]
    # (a mark with empty middle rows, such as =, bends nowhere: no mean of nothing)
    if np.isnan(middle).all() or np.isnan(ends).all():
        return False
    return bool(np.nanmean(middle) - np.nanmean(ends) >= 0.3 * w)


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
    narrow_tall, column_ink, total_ink = 0, 0, int(mask.sum())
    for a, b in col_runs:
        ink_rows = mask[:, a:b].any(axis=1)
        ink = np.flatnonzero(ink_rows)
        # A column of characters is a whole character wide and its characters follow each other
        # closely; a column of bullets, icons or letter-spaced digits is narrower and repeats
        # once per horizontal line, a line pitch apart.
        if not 0.7 * h <= b - a <= 1.6 * h or ink[-1] - ink[0] < 2.5 * h:
            continue
        gaps = [g1 - g0 for g0, g1 in _gaps(ink_rows)]
        if gaps and np.median(gaps) > 1.0 * h:
            continue
        narrow_tall += 1
        column_ink += int(mask[:, a:b].sum())
    return narrow_tall > 0 and narrow_tall >= 0.6 * len(col_runs) and column_ink >= 0.6 * total_ink


def _gaps(flags: np.ndarray) -> list[tuple[int, int]]:
    """Empty runs strictly inside the ink extent of a 1-D occupancy array."""
    ink = np.flatnonzero(flags)
    if ink.size == 0:
        return []
    inner = ~flags[ink[0]:ink[-1] + 1]
    return [(a + ink[0], b + ink[0]) for a, b in _runs(inner)]


def _repeat(profile: np.ndarray, lo: int, hi: int) -> int:
    """The period in lo..hi of a profile whose rows repeat (touching lines), or 0.

    The profile's trend over about a line (a short line, a paragraph's end) is taken off first: a longer window
    leaves the slow swell of paragraphs, whose 2-3 line period then outweighs the lines'.  A period ``p``
    is an autocorrelation peak of at least 0.15 with the profile out of phase at 1.5 ``p`` (ink rows against
    the faint rows between lines), which one line, a title, does not show.
    """
    if lo < 2 or profile.size < 3 * hi:
        return 0
    half = max(1, int(0.4 * hi))
    width = 2 * half + 1
    trend = np.convolve(np.pad(profile, half, mode="edge"), np.ones(width) / width, mode="same")[half:-half]
    x = profile - trend
    energy = float(x @ x)
    if energy <= 0:
        return 0
    corr = np.array([float(x[:-k] @ x[k:]) / energy if k else 1.0 for k in range(2 * hi)])
    best = lo + int(np.argmax(corr[lo:hi + 1]))
    if not (corr[best] >= 0.15 and corr[best] >= corr[best - 1] and corr[best] >= corr[best + 1]):
        return 0
    return best if corr[int(round(1.5 * best))] <= -0.15 else 0


def _split_touching(sub: np.ndarray, a: int, b: int, h: float, pitch: float = 0.0) -> list[tuple[int, int]]:
    """Rows a..b of a block, cut where lines touch (tight spacing, blur): [(a, b), ...].

    The strip's own glyph height ``g`` is the typical height of the connected components in it
    (a big title's glyphs are as tall as its strip; touching lines of body text keep most of
    their glyphs apart).  A strip taller than 1.6 g is walked down a line pitch at a time (the
    block's typical strip height when that is a plausible line, 1-1.6 g, else 1.15 g: touching
    lines are about that far apart); each cut is the faintest row 0.7-1.3 pitches below the last
    cut (the pitch drifts over a page of touching lines), and is taken only if that row holds under
    80% of the strip's typical row ink and less than half of the ink near it lies in components
    crossing it (guards against cutting one line through its middle).  A strip of three or more lines whose
    ink repeats (``_repeat``) is walked at that period, and there a row is cut if it is faint (under 90%), crossed
    or not.
    """
    import cv2

    if b - a <= 0.5 * h:
        return [(a, b)]
    strip = sub[a:b].astype(np.uint8)
    # components after the 3x3 closing clean_mask measures glyphs with (the strokes of 言 or 三
    # are apart at small sizes)
    closed = cv2.morphologyEx(strip, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    heights = cv2.connectedComponentsWithStats(closed, connectivity=8)[2][1:, 3]
    _, _, stats, _ = cv2.connectedComponentsWithStats(strip, connectivity=8)
    heights = heights[heights >= 0.3 * h]
    if heights.size == 0:
        return [(a, b)]
    # (never above the page's glyph height: where most glyphs of a strip touch the next line,
    # its own components are two lines tall)
    g = min(float(np.percentile(heights, 60)), h)
    height = b - a
    if height <= 1.6 * g:
        return [(a, b)]
    # the block's own line pitch when it has lines apart (``pitch``), else 1.15 glyph heights
    step = pitch if g <= pitch <= 1.6 * g else 1.15 * g
    profile = np.convolve(strip.sum(axis=1, dtype=np.float64), np.ones(3) / 3, mode="same")
    # Three or more lines run together (motion blur on tight small text joins most glyphs to those under
    # them): their ink repeats down the strip at the line pitch, which then sets the walk.  One line, a
    # title, has no such repeat.  Where the joined components are two lines tall, g overstates the glyph
    # height, so the period is looked for below it as well.
    periodic = False
    if height >= 2.5 * g:
        lag = _repeat(profile, int(0.8 * g), int(1.6 * g)) or _repeat(profile, int(0.56 * g), int(1.12 * g))
        if lag:
            step, periodic = float(lag), True
    typical = float(np.percentile(profile[profile > 0], 60))
    tops, bottoms, areas = stats[1:, 1], stats[1:, 1] + stats[1:, 3], stats[1:, 4].astype(np.float64)
    cuts, start = [], 0
    # walk down the strip: the next cut is the faintest row 0.7-1.3 pitches below the last one
    while height - start > 1.6 * g:
        lo, hi = start + int(round(0.7 * step)), min(height - int(round(0.5 * g)), start + int(round(1.3 * step)) + 1)
        if hi <= lo:
            break
        cut = lo + int(np.argmin(profile[lo:hi]))
        # between two lines only the glyphs that touch cross the cut; through the middle of one
        # line (a title taller than its neighbours), most of its ink does
        near = (bottoms > cut - 0.5 * step) & (tops < cut + 0.5 * step)
        crossing = areas[near & (tops < cut - 1) & (bottoms > cut + 1)].sum() / max(areas[near].sum(), 1.0)
        # (a faint row may be crossed more: blur joins a glyph of one line to the glyph under it.  In a strip
        # whose rows of ink repeat at a line's pitch the repeat is the guard: blur there joins whole paragraphs
        # into blobs that cross every row, so only the faintness of the row is asked)
        if periodic and profile[cut] < 0.9 * typical or profile[cut] < 0.8 * typical and (
                crossing < 0.5 or profile[cut] < 0.5 * typical and crossing < 0.8):
            cuts.append(cut)
            start = cut
        else:
            start = start + int(round(step))
    edges = [0] + cuts + [height]
    return [(a + p, a + q) for p, q in zip(edges[:-1], edges[1:]) if q - p >= 0.4 * g]


def xy_cut(mask: np.ndarray, h: float) -> list[list[tuple[int, int, int, int]]]:
    """Blocks in reading order, each a list of line boxes (x0, y0, x1, y1) top to bottom."""
    gutter_min = 1.5 * h     # an empty column band this wide separates columns
    break_min = 0.9 * h      # an empty row band this tall separates paragraphs / blocks
    blocks: list[list[tuple[int, int, int, int]]] = []

    def filled(y0, y1, x0, x1):
        """Whether the lines of a block mostly fill its width (a column of running text)."""
        sub = mask[y0:y1, x0:x1]
        widths, lefts = [], []
        for a, b in _runs(sub.any(axis=1)):
            cols = np.flatnonzero(sub[a:b].any(axis=0))
            widths.append(cols[-1] - cols[0] + 1)
            lefts.append(cols[0])
        if not widths:
            return False
        # running text starts its lines at the column's left edge (but for indents); the values of
        # a settings list or a table are right-aligned or centred
        flush = np.mean(np.array(lefts) <= 0.6 * h)
        return float(np.median(widths)) >= 0.6 * (x1 - x0) and flush >= 0.6

    def column_gutters(y0, y1, x0, x1):
        # An empty band is a gutter between columns only if the text on both sides runs across
        # its column: labels and values of a settings list, or the left and right bubbles of a
        # chat, leave empty bands too, and are read row by row.
        cols = mask[y0:y1, x0:x1].any(axis=0)
        out = []
        # in a row or two, a gap is measured against the rows of its two sides: in a title twice the body's
        # size the blank half cell of a full-width mark (、 or ）) and the gap after it reach 1.5 body
        # glyph heights (）、金（女真）、元 was cut before 元); a value centred beside a label of two lines fills
        # the rows between the label's, so the band over the whole block is no row
        short = y1 - y0 <= 3 * h
        row_gaps = _gaps(mask[y0:y1, x0:x1].any(axis=1)) if short else []
        for a, b in _gaps(cols):
            a, b = a + x0, b + x0
            sides = side_rows(y0, y1, x0, a, b, x1) if short else [[], []]
            row_h = max((q - p for rows in sides for p, q in rows), default=0)
            # a value centred beside a label that wraps (抽出少 / 数) meets both of the label's rows: no
            # single line of text does that, so a gap of a glyph height there is the gutter of a table
            narrowest = 0.8 * h if straddles(*sides) else max(gutter_min, 1.5 * min(row_h, 3 * h))
            if b - a < narrowest:
                continue
            if short:
                # one row (a label and its value) unless the two sides are rows of their own
                # with an empty band between them (a centred title above a salutation); two rows
                # with a paragraph break between (a card's tags above its price) are cut into rows
                # first, or a tag at the end of the row would be read after the price
                if any(q - p >= 0.6 * h for p, q in row_gaps):
                    continue
                # a row of small tags (一度  混凝土  同时) above a price, the row gap narrower than that:
                # the side with a row fewer is the end of a row of the other, read before the next row
                if row_gaps and len(sides[0]) != len(sides[1]):
                    continue
                if side_by_side(y0, y1, x0, a, b, x1) or not row_gaps:
                    out.append((a, b))
            # a column of text is more than two glyphs wide (a column of icons, chevrons or
            # bullets beside a list is part of its rows) and wider than the gutter (the labels and
            # right-aligned values of a settings list stand far apart), and both columns run side
            # by side
            elif min(a - x0, x1 - b) > max(2 * h, b - a) and filled(y0, y1, x0, a) \
                    and filled(y0, y1, b, x1) and side_by_side(y0, y1, x0, a, b, x1) \
                    and not table_rows(y0, y1, x0, a, b, x1) and not line_end(y0, y1, x0, a, b, x1):
                out.append((a, b))
        return out

    def side_rows(y0, y1, x0, a, b, x1):
        # the row runs of the two sides of a gap a..b
        return [_runs(mask[y0:y1, c0:c1].any(axis=1)) for c0, c1 in ((x0, a), (b, x1))]

    def line_end(y0, y1, x0, a, b, x1):
        # One row alone across a gap of under two glyphs, level with the row of the other side that
        # reaches the gap, is the end of that row (大转变。与此同时: the blank half of 。 and the gap
        # after it), not a column: it was read after the rows below it.
        if b - a >= 2 * h:
            return False
        sides = side_rows(y0, y1, x0, a, b, x1)
        for one, other, edge in ((sides[1], sides[0], (a - max(1, int(0.2 * h)), a)),
                                 (sides[0], sides[1], (b, b + max(1, int(0.2 * h))))):
            if len(one) != 1:
                continue
            p, q = one[0]
            for r0, r1 in other:
                level = abs(r0 - p) <= 0.25 * h and abs(r1 - q) <= 0.25 * h
                if level and mask[y0 + r0:y0 + r1, edge[0]:edge[1]].any():
                    return True
        return False

    def straddles(left, right):
        # some row of one side overlaps two successive rows of the other by a fifth of a glyph each, both
        # lines as tall as it (not the parts of one bold glyph, the 人 and 云 of 会)
        def meets(r, p):
            return min(r[1], p[1]) - max(r[0], p[0]) >= 0.2 * h and p[1] - p[0] >= max(0.6 * h, 0.6 * (r[1] - r[0]))
        return any(meets(r, p) and meets(r, q)
                   for one, other in ((left, right), (right, left))
                   for r in one for p, q in zip(other, other[1:]))

    def table_rows(y0, y1, x0, a, b, x1):
        # The rows of a table (a label beside a value of one or two lines) are set apart by empty bands
        # across both sides, one after each row of the side with fewer rows; the lines of a column of
        # running text fill the rows beside the other column's paragraph breaks.  A table of two rows
        # whose first label is long passed `filled` and was read column by column.
        # (Only bands between the rows of that side count: where a short column ends beside a paragraph break of
        # the other, the band below it is empty across both.)
        fewer = min(side_rows(y0, y1, x0, a, b, x1), key=len)
        if len(fewer) < 2:
            return False
        across = [g for g in _gaps(mask[y0:y1, x0:x1].any(axis=1))
                  if g[1] - g[0] >= 0.6 * h and fewer[0][1] <= g[0] and g[1] <= fewer[-1][0]]
        return len(across) >= len(fewer) - 1

    def side_by_side(y0, y1, x0, a, b, x1):
        # Columns stand side by side: most rows of ink of the side with fewer of them meet a row of
        # ink of the other side.  The bubbles of a chat on its left and right sides take turns down
        # the page instead, each beside the other side's gap (a span test passed them as columns
        # wherever one side had a single bubble between two of the other's).
        fewer, more = sorted(side_rows(y0, y1, x0, a, b, x1), key=len)
        meets = sum(any(min(q1, q2) - max(p1, p2) > 0 for p2, q2 in more) for p1, q1 in fewer)
        return 2 * meets >= len(fewer)

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
        import cv2

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
        pitch = float(np.median([b - a for a, b in merged]))
        # A line's width is that of its own ink components, those with 40% of their height or half
        # the line's height in its rows: the descenders of a full line above reach into a short
        # last line of a paragraph, whose crop would otherwise run across the page (its blank rest
        # read as ————), while a glyph joined to one of the line above (touching lines) still counts
        _, _, stats, _ = cv2.connectedComponentsWithStats(sub.astype(np.uint8), connectivity=8)
        stats = stats[1:]
        tops, bottoms = stats[:, 1], stats[:, 1] + stats[:, 3]
        for a, b in (piece for a, b in merged for piece in _split_touching(sub, a, b, h, pitch)):
            overlap = np.minimum(bottoms, b) - np.maximum(tops, a)
            own = stats[(overlap >= 0.4 * stats[:, 3]) | (overlap >= 0.5 * (b - a))]
            if own.size:
                left, right = int(own[:, 0].min()), int((own[:, 0] + own[:, 2]).max())
            else:
                cols = np.flatnonzero(sub[a:b].any(axis=0))
                if cols.size == 0:
                    continue
                left, right = int(cols[0]), int(cols[-1]) + 1
            out.append((x0 + left, y0 + a, x0 + right, y0 + b))
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
            x0 = _skip_round_bullet(mask, (x0, y0, x1, y1), h)
            x1 = _drop_trailing_chevron(mask, (x0, y0, x1, y1), h)
            lh = y1 - y0
            if lh < 4 or (x1 - x0) < 4:
                continue
            pad_v, pad_h = int(round(0.15 * lh)) + 1, int(round(0.25 * lh)) + 1
            # more room on the right: a faint 。 or ％ that ends the line can be too weak to become ink, and it
            # stands in the left half of the cell after the last glyph that did; and a crop that ends close to
            # the last glyph has it read twice (７６７２７ as ７６７２７7).  On screenshots too since the ground of
            # tags and bubbles is rebuilt (session 11: dev screens 47 → 40 edits at 0.6 glyph heights, not 0.25)
            pad_right = int(round(0.6 * lh)) + 1
            left = _faint_left_edge(pre.gray, pre.binary, (x0, y0, x1, y1), pad_v)
            crop = (max(0, left - pad_h), max(0, y0 - pad_v),
                    min(page_w, x1 + pad_right), min(page_h, y1 + pad_v))
            lines.append(LineBox(pre.to_original((x0, y0, x1, y1)), crop, block_index, (x0, y0, x1, y1)))
    warnings = () if lines else ("no text found",)
    return Layout(tuple(lines), h, False, warnings)


def cut_line(gray: np.ndarray, line: LineBox, binary: np.ndarray | None = None) -> np.ndarray:
    """The crop of ``line`` from the deskewed page, with bands of ground added around it.

    The crop box reaches only 15% (above and below) and 25% (left) of the ink height beyond the ink:
    more would take in the next line, or a list's bullet; on the right it reaches 60%, for a faint full
    stop that did not become ink (seed-1 docs: 。 lost 9 times in 10 pages at 25%, none at 60%) and for the
    recogniser, which reads a last glyph twice at the crop's very edge.  Training lines have more room
    around their ink, and a full-width mark at the end of a line (。) is followed by the blank rest of its
    cell.  Ground (the crop's median grey) added around the crop, 10% of its height above and below and
    30% left and right, took the clean-line CER of 320 held-out rendered lines from 1.09% (no bands) to
    0.68% (top and bottom) to 0.55% (all four sides); degraded lines stayed at 6.2-6.3%
    (docs/notes/ocr.md, session 3).

    Given the page's ``binary``, ink of the neighbouring lines that reaches into the padding (lines
    cut apart where they touched) is painted over with ground: every ink component of the crop
    whose middle lies above or below the line's own rows.
    """
    import cv2

    x0, y0, x1, y1 = line.crop_box
    crop = gray[y0:y1, x0:x1]
    if crop.size == 0:
        return crop
    if binary is not None and line.core is not None:
        crop = crop.copy()
        top, bottom = line.core[1] - y0, line.core[3] - y0
        count, labels, stats, _ = cv2.connectedComponentsWithStats((binary[y0:y1, x0:x1] > 0).astype(np.uint8),
                                                                   connectivity=8)
        middle = stats[1:, 1] + stats[1:, 3] / 2
        foreign = np.concatenate([[False], (middle < top) | (middle >= bottom)])
        if foreign.any():
            erase = cv2.dilate(foreign[labels].astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
            crop[erase] = 255
    band, side = int(0.1 * crop.shape[0]), int(0.3 * crop.shape[0])
    return cv2.copyMakeBorder(crop, band, band, side, side, cv2.BORDER_CONSTANT, value=int(np.median(crop)))
