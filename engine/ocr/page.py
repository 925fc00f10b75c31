"""Find the page in a photo of a page (a sheet lying on a desk, shot at an angle) and flatten it.

The page is the largest bright, solid region of the image whose outline is a convex
quadrilateral (found on a reduced copy: Otsu on the blurred gray, holes such as text filled,
the outline's convex hull simplified to four corners) and that lies inside the image (a bright
region along the border is the lit part of an unevenly lit scan).  A rectangle whose sides are level
and whose surroundings are flat is a card or a window of a screenshot, not a photographed
page, and is left alone: warping it away would drop the text around it.

``find_page`` returns the four corners in image pixels (top-left, top-right, bottom-right,
bottom-left) or None; ``page_homography`` the 3x3 matrix that maps them onto an upright
rectangle and that rectangle's size.
"""

from __future__ import annotations

import numpy as np

WORK_SIDE = 400          # the longer side of the reduced copy the page is looked for on
MIN_AREA, MAX_AREA = 0.12, 0.97   # the page's share of the image
INSET = 0.012            # corners pulled in by this share of the page so the desk stays out


def _order_corners(pts: np.ndarray) -> np.ndarray:
    """Four points → top-left, top-right, bottom-right, bottom-left."""
    s, d = pts.sum(axis=1), pts[:, 0] - pts[:, 1]
    return np.float32([pts[np.argmin(s)], pts[np.argmax(d)], pts[np.argmax(s)], pts[np.argmin(d)]])


def find_page(gray: np.ndarray) -> np.ndarray | None:
    """(H, W) uint8 → the photographed page's corners (4, 2) float32 in image pixels, or None."""
    import cv2

    h, w = gray.shape
    factor = min(1.0, WORK_SIDE / max(h, w))
    small = cv2.resize(gray, (max(1, int(w * factor)), max(1, int(h * factor))), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape
    blurred = cv2.GaussianBlur(small, (0, 0), 2.0)
    _, bright = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # text on the page is dark: close it away so the page is one solid region
    bright = cv2.morphologyEx(bright, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(bright, connectivity=4)
    if count <= 1:
        return None
    best = 1 + int(np.argmax(stats[1:, 4]))
    region = (labels == best).astype(np.uint8)
    area = float(stats[best, 4])
    if not MIN_AREA <= area / (sh * sw) <= MAX_AREA:
        return None
    # A sheet lies inside the photo with desk around it; a bright region running along the image
    # border is the lit half of an unevenly lit page or screen.
    border = np.concatenate([region[0], region[-1], region[:, 0], region[:, -1]])
    if border.mean() > 0.1:
        return None
    contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    hull = cv2.convexHull(max(contours, key=cv2.contourArea))
    quad = None
    for eps in (0.01, 0.02, 0.03, 0.05):
        approx = cv2.approxPolyDP(hull, eps * cv2.arcLength(hull, True), True)
        if len(approx) == 4:
            quad = approx.reshape(4, 2).astype(np.float32)
            break
    if quad is None:
        return None
    quad = _order_corners(quad)
    sides = np.linalg.norm(quad - np.roll(quad, 1, axis=0), axis=1)
    if sides.min() < 0.25 * sides.max():
        return None
    quad_area = cv2.contourArea(quad)
    if quad_area <= 0 or area / quad_area < 0.9:   # not a solid four-sided sheet
        return None
    # A level rectangle on a flat ground is a screenshot's card or window, not a photo.
    edges = np.diff(np.vstack([quad, quad[:1]]), axis=0)
    tilt = np.degrees(np.abs(np.arctan2(edges[:, 1], edges[:, 0])))
    tilt = np.minimum(tilt % 90, 90 - tilt % 90)
    outside = cv2.erode(1 - region, np.ones((5, 5), np.uint8)) > 0
    texture = float(np.std(small[outside].astype(np.float32) - blurred[outside])) if outside.any() else 0.0
    if tilt.max() < 0.8 and texture < 3.0:
        return None
    centre = quad.mean(axis=0)
    quad = centre + (quad - centre) * (1 - 2 * INSET)
    return quad / factor


def page_homography(corners: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """Corners (TL, TR, BR, BL) → (3x3 matrix image → upright page, (width, height) of the page)."""
    import cv2

    tl, tr, br, bl = corners
    width = int(round(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))))
    height = int(round(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))))
    target = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    return cv2.getPerspectiveTransform(np.float32(corners), target), (width, height)
