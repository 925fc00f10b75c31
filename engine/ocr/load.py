"""Stage 1: read an image file (or bytes) into an RGB array, refusing what is not an image.

Handles PNG, JPEG, BMP, TIFF, WebP and GIF; grayscale, RGB, RGBA (composited on white),
palette, 16-bit and float images; EXIF orientation (photos from phones).  Images over
``MAX_PIXELS`` (~40 MP) are downscaled with a warning, converted a strip of rows at a time
(no full-size float or RGB copy); above ``REFUSE_PIXELS`` (or ``REFUSE_DECODED_BYTES`` of
decoded pixels) an image that cannot be decoded at reduced size (JPEG can) is refused
rather than exhausting memory: the peak stays near 1 GB for any image that is accepted.
Animated images give their first frame with a warning.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.ocr.result import OcrInputError

MAX_PIXELS = 40_000_000
REFUSE_PIXELS = 180_000_000
MIN_SIDE = 8
# what the decoded image itself may take (Pillow keeps RGB as 4 bytes a pixel); with the strip
# conversion below, the loader's peak stays near 1 GB for any image it accepts
REFUSE_DECODED_BYTES = 700_000_000
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2, "LA": 4, "PA": 4}


@dataclass(frozen=True)
class LoadedImage:
    rgb: np.ndarray                  # (H, W, 3) uint8
    original_size: tuple[int, int]   # (width, height) as stored in the file
    scale: float                     # rgb pixels per original pixel (1.0 unless downscaled)
    warnings: tuple[str, ...]
    source: str


_DEEP_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
# EXIF orientation -> the PIL transpose that shows the picture upright (as ImageOps.exif_transpose)
_ORIENTATION = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE",
                6: "ROTATE_270", 7: "TRANSVERSE", 8: "ROTATE_90"}
STRIP_ROWS = 1024  # a large image is converted and reduced this many rows at a time


def _deep_to_gray(img, extrema: tuple[float, float]) -> np.ndarray:
    """16-bit, 32-bit and float images → uint8 gray, scaled by the whole image's extrema."""
    lo, hi = extrema
    arr = np.asarray(img, dtype=np.float32)
    if img.mode.startswith("I;16") or (img.mode == "I" and hi > 255):
        arr *= 255.0 / (65535.0 if hi > 255 else 255.0)
    elif img.mode == "F" and hi <= 1.0 and lo >= 0.0:
        arr *= 255.0
    return np.clip(arr, 0, 255).astype(np.uint8)


def _to_uint8_rgb(img, extrema: tuple[float, float] | None = None) -> np.ndarray:
    from PIL import Image

    mode = img.mode
    if mode in _DEEP_MODES:
        gray = _deep_to_gray(img, extrema or img.getextrema())
        return np.repeat(gray[..., None], 3, axis=2)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img)
    if mode == "CMYK":
        img = img.convert("RGB")
    return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()


def load_image(source, *, max_pixels: int = MAX_PIXELS) -> LoadedImage:
    """Read ``source`` (path, bytes or an (H, W[, C]) uint8 array) → :class:`LoadedImage`.

    Raises :class:`OcrInputError` with a readable message for anything that is not a
    usable image (missing, empty, not an image, truncated, too small, too large).
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    warnings: list[str] = []
    if isinstance(source, np.ndarray):
        arr = source
        if arr.ndim == 2:
            arr = np.repeat(arr[..., None], 3, axis=2)
        if arr.ndim != 3 or arr.shape[2] not in (3, 4) or arr.dtype != np.uint8:
            raise OcrInputError(f"expected an (H, W), (H, W, 3) or (H, W, 4) uint8 array, got {arr.shape} {arr.dtype}")
        arr = np.ascontiguousarray(arr[..., :3])
        _check_small(arr.shape[1], arr.shape[0], "array")
        return LoadedImage(arr, (arr.shape[1], arr.shape[0]), 1.0, (), "array")
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), "image data"
        if not data:
            raise OcrInputError("the image data is empty (0 bytes)")
        stream = io.BytesIO(data)
    else:
        path = Path(source)
        name = path.name
        if not path.exists():
            raise OcrInputError(f"{name}: no such file")
        if path.is_dir():
            raise OcrInputError(f"{name}: is a folder, not an image")
        try:
            if path.stat().st_size == 0:
                raise OcrInputError(f"{name}: the file is empty (0 bytes)")
            stream = io.BytesIO(path.read_bytes())
        except OSError as exc:
            raise OcrInputError(f"{name}: cannot be read ({exc.strerror or exc})") from exc

    previous_limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # our own limits below, with clearer messages
    try:
        try:
            img = Image.open(stream)
        except UnidentifiedImageError:
            raise OcrInputError(f"{name}: not an image file (or a format Mowen cannot read: "
                                f"use PNG, JPEG, BMP, TIFF, WebP or GIF)") from None
        width, height = img.size
        _check_small(width, height, name)
        frames = getattr(img, "n_frames", 1)
        if frames > 1:
            warnings.append(f"{name}: animated or multi-page image with {frames} frames; only the first is read")
        pixels = width * height
        if pixels > max_pixels:
            scale = math.sqrt(max_pixels / pixels)
            if img.format == "JPEG":
                img.draft("RGB", (max(1, int(width * scale)), max(1, int(height * scale))))
            else:
                limit = min(REFUSE_PIXELS, REFUSE_DECODED_BYTES // _BYTES_PER_PIXEL.get(img.mode, 4))
                if pixels > limit:
                    raise OcrInputError(f"{name}: the image is {width}×{height} ({pixels / 1e6:.0f} MP), too large "
                                        f"to read safely; the limit is {limit // 1_000_000} MP for this kind of "
                                        f"image — scale it down first")
        swapped = False
        try:
            orientation = img.getexif().get(0x0112, 1)
            swapped = orientation in (5, 6, 7, 8)
            img.load()
            if img.size[0] * img.size[1] > max_pixels:
                # no full-size copy: convert and shrink strips, then turn the small result
                rgb = _reduced_rgb(img, math.sqrt(max_pixels / (img.size[0] * img.size[1])))
                if orientation in _ORIENTATION:
                    rgb = np.asarray(Image.fromarray(rgb).transpose(getattr(Image.Transpose, _ORIENTATION[orientation])))
            else:
                img = ImageOps.exif_transpose(img)
                rgb = _to_uint8_rgb(img)
        except (OSError, ValueError, SyntaxError) as exc:
            raise OcrInputError(f"{name}: the image file is damaged or truncated ({exc})") from None
    except OcrInputError:
        raise
    except MemoryError:
        raise OcrInputError(f"{name}: not enough memory to read this image") from None
    except Exception as exc:  # any other decoder failure is still "this file cannot be read"
        raise OcrInputError(f"{name}: cannot be read as an image ({type(exc).__name__}: {exc})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = previous_limit
    oriented = (height, width) if swapped else (width, height)
    h, w = rgb.shape[:2]
    if w * h > max_pixels:
        import cv2

        factor = math.sqrt(max_pixels / (w * h))
        rgb = cv2.resize(rgb, (max(1, int(w * factor)), max(1, int(h * factor))), interpolation=cv2.INTER_AREA)
    if rgb.shape[1] != oriented[0]:
        warnings.append(f"{name}: {width}×{height} is over {max_pixels // 1_000_000} MP; "
                        f"read at {rgb.shape[1]}×{rgb.shape[0]}")
    return LoadedImage(np.ascontiguousarray(rgb), oriented, rgb.shape[1] / oriented[0], tuple(warnings), name)


def _reduced_rgb(img, scale: float) -> np.ndarray:
    """``img`` as uint8 RGB resized by ``scale`` (< 1, area averaging), a strip of rows at a time.

    Peak memory is the decoded image, one strip and the small result: the 16-bit
    13000×13000 PNG of issue 14 took 3.4 GB through a full-size float64 copy.
    """
    import cv2

    width, height = img.size
    extrema = img.getextrema() if img.mode in _DEEP_MODES else None
    out_w, out_h = max(1, int(width * scale)), max(1, int(height * scale))
    out = np.empty((out_h, out_w, 3), dtype=np.uint8)
    for top in range(0, height, STRIP_ROWS):
        bottom = min(height, top + STRIP_ROWS)
        row0, row1 = round(top * out_h / height), round(bottom * out_h / height)
        if row1 > row0:
            piece = _to_uint8_rgb(img.crop((0, top, width, bottom)), extrema)
            out[row0:row1] = cv2.resize(piece, (out_w, row1 - row0), interpolation=cv2.INTER_AREA)
    return out


def _check_small(width: int, height: int, name: str) -> None:
    if width < MIN_SIDE or height < MIN_SIDE:
        raise OcrInputError(f"{name}: the image is only {width}×{height} pixels, too small to hold text")
