"""Result types of the OCR pipeline (frozen dataclasses; boxes in original image pixels)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.errors import InputError


class OcrInputError(InputError):  # a MowenError (and a ValueError, as before)
    """The input cannot be read as an image; the message says why in plain words."""


@dataclass(frozen=True)
class OcrLine:
    box: tuple[int, int, int, int]   # x0, y0, x1, y1 in the original image (x1, y1 exclusive)
    text: str
    confidences: tuple[float, ...]   # one per character of text, in [0, 1]
    # the same line's ink box in OcrPage.preprocessed (the flattened, deskewed page), which a
    # viewer draws on that page; None where unknown.  Not part of to_json (display only).
    page_box: tuple[int, int, int, int] | None = None

    @property
    def confidence(self) -> float:
        """The line's confidence: its least confident character (1.0 for an empty line)."""
        return min(self.confidences) if self.confidences else 1.0


@dataclass(frozen=True)
class OcrResult:
    lines: tuple[OcrLine, ...]
    text: str                         # the lines' text joined by "\n", in reading order
    warnings: tuple[str, ...] = ()
    image_size: tuple[int, int] = (0, 0)  # (width, height) of the original image
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text,
                "lines": [{"box": list(l.box), "text": l.text, "confidence": round(l.confidence, 4),
                           "char_confidences": [round(c, 4) for c in l.confidences]} for l in self.lines],
                "warnings": list(self.warnings), "image_size": list(self.image_size),
                "seconds": round(self.seconds, 4)}


@dataclass(frozen=True)
class OcrPage:
    """A result together with the pixels it came from (what the GUI draws)."""

    result: OcrResult
    image: Any          # (H, W, 3) uint8 RGB as loaded: EXIF-oriented, possibly downscaled (see ``scale``)
    preprocessed: Any   # (H', W') uint8 binary (text = 255) the line finder read: the page flattened
    #                     (photos) and deskewed; the lines' ``page_box`` are in its pixels
    scale: float = 1.0  # loaded pixels per original pixel
    source: str = ""
    extra: dict = field(default_factory=dict)
