"""Stage 2: clean a page image for layout analysis and line recognition (OpenCV).

Real images mix polarities and grounds: a dark-mode chat has light text on a dark page and dark
text in green bubbles; a settings page has dark text on white cards over a grey page; a phone
photo has a page lying on a textured desk under uneven light.  So nothing here is decided for
the whole image:

1. grayscale;
2. a photographed page (a tilted bright quadrilateral on a textured ground, see
   :mod:`engine.ocr.page`) is warped flat first; the matrix keeps the way back;
3. ink of both polarities, measured against the local ground: dark ink is how far a pixel lies
   below the grey closing (the ground with dark strokes removed), as a share of it (which also
   divides out uneven light); light ink is how far it lies above the opening, as a share of the
   distance to white.  The structuring element is ~0.6 glyph heights: wider than strokes and the
   gaps between them, narrower than a bubble's or a button's padding, so a filled region stays
   ground and only the text inside it becomes ink;
4. ink by hysteresis against the strongest ink near each pixel (see ``_strong``), so faint grey
   text and black text are both cut at their own level and noise is not (the binary serves
   layout only; the recogniser gets the continuous gray); on a screenshot (no sensor noise,
   :func:`engine.ocr.page.is_screenshot`) the floors are lower: there is no grain to keep out, and
   dark grey text on a dark bubble is far fainter than the page's black on white;
5. polarity per region: candidate pixels of both kinds are grouped into connected regions; the
   ink of a region is the kind that differs from the ring of ground around it (dark strokes
   with light gaps on a light page; light strokes with dark gaps on a dark bubble);
6. deskew (±15°): the angle whose horizontal projection profile is most peaked.

``gray`` is the page as the recogniser should see it: dark ink on a flat white ground in every
region, whatever its colours were.  ``matrix`` (3x3) maps original pixels into it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_SKEW_DEGREES = 15.0
INK_SHARE = 0.3       # an ink pixel reaches this share of the strongest ink near it
INK_FLOOR = 0.14      # and at least this contrast (shares of the ground level)
PAGE_SHARE = 0.33     # and this share of the page's strong contrast
SEED_SHARE = 0.55     # an ink component holds a pixel of at least this share
PAGE_SEED_SHARE = 0.45   # and one of this share of the page's strong contrast
# Screenshots have no grain or texture for the page shares to keep out, and their low-contrast
# text (dark grey on a dark bubble, #232323 on #3b3b3b; small grey meta lines) is under a third of
# the page's black on white.  Not lower: faint bullets, chevrons and table borders become ink
# (0.15/0.2 cost 15 edits on seed-1 screen_007_table_light, 6 on seed-2 screen_038_bullets_dark).
SCREEN_PAGE_SHARE, SCREEN_PAGE_SEED_SHARE = 0.25, 0.33
GROUND_FLOOR = 128.0     # the contrast is a share of the ground level, or of at least this
SCREEN_GROUND_FLOOR = 64.0   # on a screenshot (no noise to amplify on a dark ground)


@dataclass(frozen=True)
class Preprocessed:
    gray: np.ndarray      # (H', W') uint8, dark text on white, flat ground, page flattened and deskewed
    binary: np.ndarray    # (H', W') uint8, text = 255, same geometry as gray
    angle: float          # degrees the page was rotated by (counter-clockwise positive, OpenCV convention)
    inverted: bool        # True if most of the ink was light on dark
    matrix: np.ndarray    # (3, 3): original (x, y, 1) → processed (x', y', w')
    blank: bool = False   # True if the image has no contrast at all (nothing to read)
    size: tuple[int, int] = (0, 0)   # (width, height) of the original image
    page: tuple | None = None        # the photographed page's corners in the original image, if one was found
    screen: bool = False             # a screenshot (page.is_screenshot): crisp, no grain, no faint marks

    def to_original(self, box: tuple[int, int, int, int], size: tuple[int, int] | None = None) -> tuple[int, int, int, int]:
        """Axis-aligned box in processed coordinates → enclosing box in original coordinates, clipped to size (w, h)."""
        import cv2

        x0, y0, x1, y1 = box
        corners = np.array([[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]], np.float64)
        pts = cv2.perspectiveTransform(corners, np.linalg.inv(self.matrix))[0]
        w, h = size or self.size
        return (int(max(0, np.floor(pts[:, 0].min()))), int(max(0, np.floor(pts[:, 1].min()))),
                int(min(w, np.ceil(pts[:, 0].max()))), int(min(h, np.ceil(pts[:, 1].max()))))


def to_gray(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB or (H, W) → (H, W) uint8."""
    import cv2

    if image.ndim == 2:
        return image
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def ink_maps(gray: np.ndarray, k: int, floor: float = GROUND_FLOOR,
             rebuild: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(dark ink, light ink) contrast maps in [0, 1] against the local ground (see module docstring).

    The contrast is a share of the ground's distance to black (dark ink) or to white (light ink),
    but of no less than ``floor``: on a dark ground, sensor noise would otherwise count as ink.
    ``rebuild`` (screenshots): the ground is rebuilt by reconstruction from its morphological estimate.
    """
    import cv2

    g = gray.astype(np.float32)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    # The ground runs on past the image's edge: the white margin of a screenshot between its edge and
    # a card nearer than an element is no light stroke (which it would be if the edge counted as
    # neither), and the card's own rim no dark one.
    # (padded, not a border mode: erosion's window would still reach the card across the margin)
    padded = cv2.copyMakeBorder(g, k, k, k, k, cv2.BORDER_REPLICATE)
    inner = (slice(k, k + g.shape[0]), slice(k, k + g.shape[1]))
    closed = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, kernel)[inner]
    opened = cv2.morphologyEx(padded, cv2.MORPH_OPEN, kernel)[inner]
    if rebuild:
        # The ground grows back (k geodesic steps under the image) into the parts of a filled shape that
        # the element does not fit: without this the rounded ends of a tag or a button, lighter than the
        # dark card it sits on, are light strokes, read as ( ) or 夏 around the tag's text.
        # Not on scans and photos: there blur and grain join the strokes of small glyphs into masses the
        # ground would grow into as well (docs 0.4% → 4%, photos 0.9% → 7% on dev).
        step = np.ones((3, 3), np.uint8)
        for _ in range(k):
            opened = np.minimum(cv2.dilate(opened, step), g)
            closed = np.maximum(cv2.erode(closed, step), g)
    dark = (closed - g) / np.maximum(closed, floor)
    light = (g - opened) / np.maximum(255.0 - opened, floor)
    return dark, light


def _strong(contrast: np.ndarray, window: int, page_share: float = PAGE_SHARE,
            page_seed_share: float = PAGE_SEED_SHARE, sharp: np.ndarray | None = None) -> np.ndarray:
    """Ink pixels of one contrast map, by hysteresis against the strongest ink near each pixel.

    Seeds reach SEED_SHARE of the strongest contrast within ``window``; a pixel that reaches
    INK_SHARE of it is ink if it touches a seed (the thin horizontals of a blurred serif face hang
    on their thick verticals, noise next to text has no seed).  Both levels also have a floor:
    INK_FLOOR or a third of the page's strong contrast (99.5th percentile), and seeds reach 45% of
    it: paper grain, wood and printed textures are fainter than the text on the same page, while
    grey secondary text on a screen (#999 on white) is still about half as strong as black.
    ``sharp``: the map before smoothing, which the seeds may reach the page share in instead.
    """
    import cv2

    local_max = cv2.dilate(contrast, cv2.getStructuringElement(cv2.MORPH_RECT, (window, window)))
    strong = float(np.percentile(contrast[::3, ::3], 99.5))
    weak = (contrast >= INK_SHARE * local_max) & (contrast >= max(INK_FLOOR, page_share * strong))
    seeds = weak & (contrast >= SEED_SHARE * local_max) \
        & ((contrast if sharp is None else np.maximum(contrast, sharp)) >= page_seed_share * strong)
    count, labels = cv2.connectedComponents(weak.astype(np.uint8), connectivity=8)
    seeded = np.zeros(count, bool)
    seeded[labels[seeds]] = True
    seeded[0] = False
    return seeded[labels]


def local_ink(gray: np.ndarray, k: int, sigma: float = 0.7, k_gray: int = 0,
              bright: np.ndarray | None = None, screen: bool = False) -> tuple[np.ndarray, np.ndarray, float]:
    """→ (binary (text = 255), normalised gray (dark ink on white), share of ink that was light on dark).

    ``k_gray`` (default k) is the element of the ground estimate behind the recogniser's gray: small
    dense glyphs need one wider than the ink finder's, or their strokes hold up the ground.  Not on a
    screenshot, whose ground is rebuilt (``ink_maps``): a tag lower than k_gray would be ink as a whole,
    and its text, lighter still, a faint grey on a grey lozenge the recogniser loses (混凝土, 承德).
    ``bright`` (the brightest channel of a colour image) also counts for light ink: red or orange
    text on a dark card is dim in luminance (a third of white's contrast) but bright in its channel.
    ``screen``: a screenshot (no grain): lower page shares and ground floor (SCREEN_*).
    """
    import cv2

    floor = SCREEN_GROUND_FLOOR if screen else GROUND_FLOOR
    shares = (SCREEN_PAGE_SHARE, SCREEN_PAGE_SEED_SHARE) if screen else (PAGE_SHARE, PAGE_SEED_SHARE)

    def maps(size):
        dark, light = ink_maps(gray, size, floor, rebuild=screen)
        if bright is not None:
            # only where the colour channel tells much more than luminance (coloured text), so
            # that grey and black text keep the regions and polarities luminance gives them
            light_bright = ink_maps(bright, size, floor, rebuild=screen)[1]
            light = np.where(light_bright > 1.5 * light + 0.1, light_bright, light)
        return dark, light

    dark, light = maps(k)
    window = 3 * k | 1
    # thresholds on smoothed maps (sensor noise), the recogniser's gray from the sharp ones
    # (on a screenshot the page-share test of the seeds also takes the sharp map: there is no noise, and
    # the thin strokes of small grey text, #999 at 12 px, lose half their contrast to the blur)
    dark_ink = _strong(cv2.GaussianBlur(dark, (0, 0), sigma), window, *shares, sharp=dark if screen else None)
    light_ink = _strong(cv2.GaussianBlur(light, (0, 0), sigma), window, *shares, sharp=light if screen else None)
    candidates = (dark_ink | light_ink).astype(np.uint8)
    # regions: candidates joined over ~0.3 glyph heights (a line's glyphs become one region; the
    # padding of a bubble or button, wider than that, keeps the text apart from the region's edge)
    joined = cv2.dilate(candidates, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    count, labels = cv2.connectedComponents(joined, connectivity=8)
    if count <= 1:
        return np.zeros_like(gray), np.full_like(gray, 255), 0.0
    g = gray.astype(np.float64)
    flat = labels.ravel()
    n_dark = np.bincount(flat[dark_ink.ravel()], minlength=count)
    n_light = np.bincount(flat[light_ink.ravel()], minlength=count)
    mean_dark = np.bincount(flat, weights=(g * dark_ink).ravel(), minlength=count) / np.maximum(n_dark, 1)
    mean_light = np.bincount(flat, weights=(g * light_ink).ravel(), minlength=count) / np.maximum(n_light, 1)
    # the ring of ground around each region: labels spread by a few pixels, outside every region
    spread = cv2.dilate(labels.astype(np.float32), np.ones((7, 7), np.uint8)).astype(np.int64)
    ring = (labels == 0) & (spread > 0)
    # each ring pixel votes for the candidate level it is nearer (an underline or a neighbour's
    # stroke in the ring is outvoted by the ground)
    ring_labels = spread[ring]
    middle = (mean_dark + mean_light) / 2
    votes_dark_ground = np.bincount(ring_labels, weights=(g[ring] < middle[ring_labels]).astype(np.float64),
                                    minlength=count)
    n_ring = np.bincount(ring_labels, minlength=count)
    # light ink where the ground around is darker than the middle of the two candidate levels
    light_region = np.where(n_dark == 0, True, np.where(n_light == 0, False,
                                                          votes_dark_ground > 0.5 * n_ring))
    light_region &= n_light > 0
    light_region[0] = False
    ink_pixels = np.bincount(flat, weights=np.where(light_region[labels], light_ink, dark_ink).ravel(),
                             minlength=count)
    total = float(ink_pixels[1:].sum())
    light_share = float(ink_pixels[light_region].sum()) / total if total else 0.0
    # Between regions the gray follows the polarity of the nearest region (not plain white): the
    # recogniser learnt its lines with their ground's grain, and faint parts of glyphs that no
    # candidate reached stay visible.  Not the page's main polarity: beside a large light-on-dark
    # card, the white ground next to the dark lines below it would turn dark wherever it is within an
    # element of a stroke (the light map there measures the white against the stroke), and the
    # recogniser reads that dark patch as ι or 1 before the line or as 〗 around a comma.
    light_region[0] = False
    is_light = light_region[labels]
    ground = labels == 0
    if ground.any() and is_light.any() and (~is_light & ~ground).any():
        to_light = cv2.distanceTransform((~is_light).astype(np.uint8), cv2.DIST_L2, 3)
        to_dark = cv2.distanceTransform((is_light | ground).astype(np.uint8), cv2.DIST_L2, 3)
        is_light = is_light | (ground & (to_light < to_dark))
    elif is_light.any():   # every region light on dark
        is_light = is_light | ground
    ink = np.where(is_light, light_ink, dark_ink) & (labels > 0)
    if k_gray > k and not screen:
        dark, light = maps(k_gray)
    normalised = np.clip(255.0 * (1.0 - np.where(is_light, light, dark)), 0, 255).astype(np.uint8)
    return ink.astype(np.uint8) * 255, normalised, light_share


def drop_blob_edges(binary: np.ndarray, gray: np.ndarray, h: float) -> np.ndarray:
    """``binary`` without the ink found along the edges of solid shapes that hold no text (avatars, icons).

    A chat avatar is a filled disc 1.3-5 glyph heights across.  Its inside is flat, so the ink finder
    (an element of 0.6 glyph heights) sees only the anti-aliased rim, as four short arcs that the
    recogniser reads as ｛｝, 国) or 鼠 beside the bubble's text.  Such a shape is a solid region of
    pixels unlike the screen's ground (the most common grey along the image's edge); where that region
    has no ink inside it (a bubble, a button or a bold glyph has its text or strokes there) and is
    round or square (so that its inside survives an erosion), the ink on and around its rim is dropped.
    """
    import cv2

    # the ground from the image's edge: in a chat the bubbles' colour can cover more of the image
    edge = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    ground = int(np.argmax(np.bincount(edge, minlength=256)))
    solid = (np.abs(gray.astype(np.int16) - ground) > 25).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(solid, connectivity=8)
    drop = np.zeros(count, bool)
    for i in range(1, count):
        x, y, w, t, area = stats[i]
        if not (1.3 * h <= min(w, t) and max(w, t) <= 5 * h and area >= 0.6 * w * t):
            continue
        # the region with its holes (text of the ground's colour on a button) filled; the rim's ink
        # reaches a few pixels in, text fills a tenth of its bubble or more
        region = np.pad((labels[y:y + t, x:x + w] == i).astype(np.uint8), 1)
        outside = region.copy()
        cv2.floodFill(outside, None, (0, 0), 2)
        filled = (outside != 2).astype(np.uint8)[1:-1, 1:-1]
        e = 2 * max(3, int(0.15 * min(w, t))) + 1
        # (eroded from the box's edges too: a shape that fills its box has no inside there)
        inside = cv2.erode(filled, np.ones((e, e), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
        # a disc keeps about a third of its box through the erosion, and that is mostly its own colour;
        # a bold glyph (世, 口 in a title) keeps a few pixels between its strokes, or its hole
        drop[i] = inside.sum() >= 0.15 * w * t and (labels[y:y + t, x:x + w][inside] == i).mean() >= 0.5 \
            and (binary[y:y + t, x:x + w][inside] > 0).mean() <= 0.03
    if not drop.any():
        return binary
    # and the narrow gap of ground between it and a bubble beside it, which reads as a light bar
    reach = max(7, int(1.5 * h) | 1)
    rims = cv2.dilate(drop[labels].astype(np.uint8), np.ones((reach, reach), np.uint8)) > 0
    out = binary.copy()
    out[rims] = 0
    return out


def glyph_height(binary: np.ndarray) -> float:
    """The layout's glyph height (:func:`engine.ocr.detect.clean_mask`) of a binary page."""
    from engine.ocr.detect import clean_mask

    return clean_mask(binary)[1]


def _block_share(binary: np.ndarray, h: float) -> float:
    """Share of the ink in solid blocks (3/4 filled, bold glyphs are not) over two glyph heights both ways."""
    import cv2

    count, _, stats, _ = cv2.connectedComponentsWithStats((binary > 0).astype(np.uint8), connectivity=8)
    if count <= 1 or h <= 0:
        return 0.0
    w, t, area = stats[1:, 2], stats[1:, 3], stats[1:, 4]
    block = (w > 2 * h) & (t > 2 * h) & (area > 0.75 * w * t)
    return float(area[block].sum()) / float(area.sum())


def estimate_skew(binary: np.ndarray, max_degrees: float = MAX_SKEW_DEGREES) -> float:
    """Angle (degrees) that levels the text lines of ``binary`` (text = 255); 0 if no clear answer."""
    import cv2

    h, w = binary.shape
    factor = min(1.0, 800.0 / max(h, w))
    small = cv2.resize(binary, (max(1, int(w * factor)), max(1, int(h * factor))), interpolation=cv2.INTER_AREA) \
        if factor < 1.0 else binary
    if small.sum() == 0:
        return 0.0
    sh, sw = small.shape
    centre = (sw / 2, sh / 2)

    def sharpness(angle: float) -> float:
        m = cv2.getRotationMatrix2D(centre, angle, 1.0)
        rotated = cv2.warpAffine(small, m, (sw, sh), flags=cv2.INTER_NEAREST, borderValue=0)
        rows = rotated.sum(axis=1, dtype=np.float64)
        return float(np.var(rows))

    coarse = np.arange(-max_degrees, max_degrees + 0.01, 1.0)
    scores = [sharpness(a) for a in coarse]
    best = float(coarse[int(np.argmax(scores))])
    fine = np.arange(best - 1.0, best + 1.01, 0.1)
    scores_fine = [sharpness(a) for a in fine]
    best = float(fine[int(np.argmax(scores_fine))])
    base = sharpness(0.0)
    if max(scores_fine) < base * 1.05:  # a flat response: do not rotate on noise
        return 0.0
    return round(best, 2)


def drop_border_ink(binary: np.ndarray, depth: float) -> np.ndarray:
    """Ink (255) that touches the border of a flattened photographed page and reaches no further in than ``depth``
    pixels → removed (a copy).  A printed page has margins: such ink is the desk or a shadow that a corner found a
    little outside the sheet let in (a speckled stone desk read as a line of junk along the page's foot)."""
    import cv2

    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    height, width = binary.shape
    x, y, w, h = (stats[:, i] for i in range(4))
    touching = (((x == 0) | (x + w == width)) & (w <= depth)) | (((y == 0) | (y + h == height)) & (h <= depth))
    touching[0] = False   # the background
    if not touching.any():
        return binary
    out = binary.copy()
    out[touching[labels]] = 0
    return out


def preprocess(image: np.ndarray, *, deskew: bool = True, find_pages: bool = True) -> Preprocessed:
    """(H, W, 3) RGB or (H, W) gray uint8 page → :class:`Preprocessed` (see module docstring)."""
    import cv2

    from engine.ocr.detect import clean_mask
    from engine.ocr.page import find_page, is_screenshot, page_homography

    gray = to_gray(image)
    height, width = gray.shape
    size = (width, height)
    matrix = np.eye(3)
    if int(gray.max()) - int(gray.min()) < 12:
        return Preprocessed(np.full_like(gray, 255), np.zeros_like(gray), 0.0, False, matrix, True, size)
    screen = is_screenshot(gray)
    corners = find_page(gray, image if image.ndim == 3 else None) if find_pages and not screen else None
    bright = image.max(axis=2) if image.ndim == 3 else None
    if corners is not None:
        matrix, (pw, ph) = page_homography(corners)
        gray = cv2.warpPerspective(gray, matrix, (pw, ph), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if bright is not None:
            bright = cv2.warpPerspective(bright, matrix, (pw, ph), flags=cv2.INTER_LINEAR,
                                         borderMode=cv2.BORDER_REPLICATE)
    # the structuring element follows the glyph height, measured on a first pass
    # (no wider than half the image: in a tightly cropped line the text is most of its height);
    # the first pass runs on a copy reduced to about 1000 px, it only measures the glyph height
    factor = min(1.0, 1000.0 / max(gray.shape))
    small = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA) if factor < 1 else gray
    # An element wider than a bubble's padding turns the bubble into ink and inflates the height,
    # so the measurement is repeated with the element it suggests until the two agree.
    # Started from a wide element the agreement can be a false one (bubbles as ink, glyph height
    # inflated by them); started from a narrow one, with large bold text, another (strokes broken
    # into fragments).  Both are tried: the one with less ink in solid blocks wins, else the taller.
    k_limit = max(5, min(45, min(small.shape) // 2))
    found = []
    for start in (min(25, k_limit) | 1, min(11, k_limit) | 1):
        k_small, h = start, 0.0
        for _ in range(3):
            ink = local_ink(small, k_small, screen=screen)[0]
            h = glyph_height(ink)
            k_next = int(np.clip(round(0.6 * h), 5, k_limit)) | 1 if h else k_small
            if abs(k_next - k_small) <= 2:
                break
            k_small = k_next
        found.append((ink, h))
    # blocks measured against the smaller height: an inflated one would hide the bubbles it came from
    h_min = min(h for _, h in found)
    h = -min((_block_share(ink, h_min), -h) for ink, h in found)[1] / factor
    k = int(np.clip(round(0.6 * h), 5, max(5, min(45, min(gray.shape) // 2)))) | 1 if h else k_small
    binary, flat, light_share = local_ink(gray, k, k_gray=int(max(k, min(1.2 * h, min(gray.shape) // 2))) | 1,
                                          bright=bright, screen=screen)
    if screen and h:
        binary = drop_blob_edges(binary, gray, h)
    if corners is not None and h:
        binary = drop_border_ink(binary, 3 * h)
    # the skew from the cleaned ink (specks of grain or texture are many and at no angle)
    angle = estimate_skew(clean_mask(binary)[0].astype(np.uint8) * 255) if deskew else 0.0
    if abs(angle) >= 0.2:
        gh, gw = gray.shape
        rotation = np.vstack([cv2.getRotationMatrix2D((gw / 2, gh / 2), angle, 1.0), [0, 0, 1]])
        flat = cv2.warpAffine(flat, rotation[:2], (gw, gh), flags=cv2.INTER_LINEAR, borderValue=255)
        binary = cv2.warpAffine(binary, rotation[:2], (gw, gh), flags=cv2.INTER_NEAREST, borderValue=0)
        matrix = rotation @ matrix
    page = tuple(map(tuple, corners.tolist())) if corners is not None else None
    return Preprocessed(flat, binary, angle, light_share > 0.5, matrix, False, size, page, screen)
