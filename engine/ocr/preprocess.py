"""Stage 2: clean a page image for layout analysis and line recognition (OpenCV).

Steps (the seed post OCR技术浅探's preprocessing, made robust to screenshots and photos):

1. grayscale;
2. polarity: if the majority of pixels is on the dark side of an Otsu split the page is
   light text on a dark ground, so it is inverted (everything after sees dark on light);
3. uneven lighting / coloured or gradient grounds: the ground is estimated by a large
   morphological closing (text removed) on a reduced image, and the page is divided by it
   ("flat-fielding"), which leaves ink on a flat white ground;
4. denoise: a light Gaussian on the image used for binarisation only (specks go later, by size);
5. binarise: Otsu on the flat-fielded image (text = 255 in ``binary``);
6. deskew (±15°): the angle whose horizontal projection profile is most peaked (variance
   of row sums, coarse then fine search) — text lines give sharp peaks only when level.

Returns a :class:`Preprocessed` with the deskewed gray and binary images and the affine
matrix that maps original pixel coordinates into them (so boxes can be mapped back).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_SKEW_DEGREES = 15.0


@dataclass(frozen=True)
class Preprocessed:
    gray: np.ndarray      # (H', W') uint8, dark text on white, flat ground, deskewed
    binary: np.ndarray    # (H', W') uint8, text = 255, deskewed
    angle: float          # degrees the page was rotated by (counter-clockwise positive, OpenCV convention)
    inverted: bool        # True if the page was light-on-dark
    matrix: np.ndarray    # (2, 3) affine: original (x, y, 1) → deskewed (x', y')
    blank: bool = False   # True if the image has no contrast at all (nothing to read)

    def to_original(self, box: tuple[int, int, int, int], size: tuple[int, int]) -> tuple[int, int, int, int]:
        """Axis-aligned box in deskewed coordinates → enclosing box in original coordinates, clipped to size (w, h)."""
        import cv2

        x0, y0, x1, y1 = box
        inverse = cv2.invertAffineTransform(self.matrix)
        corners = np.array([[x0, y0, 1], [x1, y0, 1], [x1, y1, 1], [x0, y1, 1]], np.float64)
        pts = corners @ inverse.T
        w, h = size
        return (int(max(0, np.floor(pts[:, 0].min()))), int(max(0, np.floor(pts[:, 1].min()))),
                int(min(w, np.ceil(pts[:, 0].max()))), int(min(h, np.ceil(pts[:, 1].max()))))


def to_gray(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB or (H, W) → (H, W) uint8."""
    import cv2

    if image.ndim == 2:
        return image
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def flatten_background(gray: np.ndarray, text_height_hint: int = 0) -> np.ndarray:
    """Divide out the ground (estimated by closing away dark text): uneven light → flat white."""
    import cv2

    h, w = gray.shape
    factor = min(1.0, 600.0 / max(h, w))
    small = cv2.resize(gray, (max(1, int(w * factor)), max(1, int(h * factor))), interpolation=cv2.INTER_AREA) \
        if factor < 1.0 else gray
    k = max(15, int(min(small.shape) * 0.08)) | 1
    if text_height_hint:
        k = max(k, int(text_height_hint * factor * 2.5) | 1)
    ground = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    ground = cv2.GaussianBlur(ground, (0, 0), k / 4)
    if small is not gray:
        ground = cv2.resize(ground, (w, h), interpolation=cv2.INTER_LINEAR)
    flat = gray.astype(np.float32) / np.maximum(ground.astype(np.float32), 1.0) * 255.0
    return np.clip(flat, 0, 255).astype(np.uint8)


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


def preprocess(image: np.ndarray, *, deskew: bool = True) -> Preprocessed:
    """(H, W, 3) RGB or (H, W) gray uint8 page → :class:`Preprocessed` (see module docstring)."""
    import cv2

    gray = to_gray(image)
    identity = np.array([[1, 0, 0], [0, 1, 0]], np.float64)
    if int(gray.max()) - int(gray.min()) < 12:
        white = np.full_like(gray, 255)
        return Preprocessed(white, np.zeros_like(gray), 0.0, False, identity, blank=True)
    thresh, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    inverted = float(np.median(gray)) <= thresh  # the majority (ground) is in the dark class
    if inverted:
        gray = 255 - gray
    flat = flatten_background(gray)
    # light smoothing only: a 3x3 median would erase the 1-px strokes of light faces (UMing) at
    # screen sizes; isolated specks are removed later as tiny connected components
    denoised = cv2.GaussianBlur(flat, (3, 3), 0.5)
    _, binary = cv2.threshold(denoised, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    # Otsu on a page that is almost all ground can put faint ground texture into "ink":
    # keep only pixels clearly darker than the ground.
    binary[denoised > 235] = 0
    angle = estimate_skew(binary) if deskew else 0.0
    matrix = identity
    if abs(angle) >= 0.2:
        h, w = gray.shape
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        flat = cv2.warpAffine(flat, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)
        binary = cv2.warpAffine(binary, matrix, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
    return Preprocessed(flat, binary, angle, inverted, matrix)
