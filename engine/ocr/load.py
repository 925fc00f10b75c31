"""Stage 1: read an image file (or bytes) into an RGB array, refusing what is not an image.

Handles PNG, JPEG, BMP, TIFF, WebP and GIF; grayscale, RGB, RGBA (composited on white),
palette, 16-bit and float images; EXIF orientation (photos from phones).  Images over
``MAX_PIXELS`` (~40 MP) are downscaled with a warning; above ``REFUSE_PIXELS`` an image
that cannot be decoded at reduced size (JPEG can) is refused rather than exhausting memory.
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


@dataclass(frozen=True)
class LoadedImage:
    rgb: np.ndarray                  # (H, W, 3) uint8
    original_size: tuple[int, int]   # (width, height) as stored in the file
    scale: float                     # rgb pixels per original pixel (1.0 unless downscaled)
    warnings: tuple[str, ...]
    source: str


def _to_uint8_rgb(img) -> np.ndarray:
    from PIL import Image

    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        if mode.startswith("I;16") or (mode == "I" and hi > 255):
            top = 65535.0 if hi > 255 else 255.0
            arr = arr / top * 255.0
        elif mode == "F" and hi <= 1.0 and lo >= 0.0:
            arr = arr * 255.0
        gray = np.clip(arr, 0, 255).astype(np.uint8)
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
            elif pixels > REFUSE_PIXELS:
                raise OcrInputError(f"{name}: the image is {width}×{height} ({pixels / 1e6:.0f} MP), too large to "
                                    f"read safely; the limit is {REFUSE_PIXELS // 1_000_000} MP — scale it down first")
        swapped = False
        try:
            orientation = img.getexif().get(0x0112, 1)
            swapped = orientation in (5, 6, 7, 8)
            img.load()
            img = ImageOps.exif_transpose(img)
        except (OSError, ValueError, SyntaxError) as exc:
            raise OcrInputError(f"{name}: the image file is damaged or truncated ({exc})") from None
        rgb = _to_uint8_rgb(img)
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


def _check_small(width: int, height: int, name: str) -> None:
    if width < MIN_SIDE or height < MIN_SIDE:
        raise OcrInputError(f"{name}: the image is only {width}×{height} pixels, too small to hold text")
