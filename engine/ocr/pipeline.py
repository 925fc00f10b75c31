"""The OCR pipeline: load → preprocess → detect lines → recognise → decode.

``ocr(image)`` runs the stages of this package in order and returns an :class:`OcrResult`
(lines with boxes in original image pixels, text and per-character confidences, the
whole text in reading order, warnings).  ``ocr_batch`` is the long-job form (a generator
yielding :class:`engine.progress.Progress`) used by the GUI's batch mode and the CLI.
This module imports no torch at import time; the model is loaded on first use.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterable

from engine.ocr.result import OcrInputError, OcrLine, OcrPage, OcrResult
from engine.progress import Job, Progress

DEFAULT_LM_WEIGHT = 0.3
DEFAULT_LENGTH_BONUS = 0.6


def default_model():
    """The registry's default OCR model (loaded once, cached)."""
    from engine.registry import load_model

    return load_model(task="ocr")


def decode_lines(model, log_probs, use_lm: bool = True):
    """Decode each (T, S + 1) array with beam + LM (or greedy) → list of Decoded."""
    from engine.ocr.decode import beam_decode, greedy_decode

    config = getattr(model, "config", {}) or {}
    lm = model.lm if use_lm else None
    out = []
    for lp in log_probs:
        if lm is None:
            out.append(greedy_decode(lp, model.symbols))
        else:
            out.append(beam_decode(lp, model.symbols, lm, lm_weight=config.get("lm_weight", DEFAULT_LM_WEIGHT),
                                   length_bonus=config.get("length_bonus", DEFAULT_LENGTH_BONUS),
                                   beam_width=config.get("beam_width", 8)))
    return out


def ocr_page(image, use_lm: bool = True, *, model=None, deskew: bool = True) -> OcrPage:
    """Read ``image`` (path, bytes or uint8 array) → :class:`OcrPage` (result + the pixels it came from).

    Raises :class:`OcrInputError` for inputs that are not usable images.
    """
    from engine.ocr.detect import cut_line, detect_lines
    from engine.ocr.load import load_image
    from engine.ocr.preprocess import preprocess
    from engine.ocr.recognise import recognise

    started = time.perf_counter()
    loaded = load_image(image)
    pre = preprocess(loaded.rgb, deskew=deskew)
    layout = detect_lines(pre)
    warnings = list(loaded.warnings) + list(layout.warnings)
    lines: list[OcrLine] = []
    if layout.lines:
        model = model or default_model()
        crops = [cut_line(pre.gray, line, pre.binary) for line in layout.lines]
        decoded = decode_lines(model, recognise(model, crops), use_lm)
        inv = 1.0 / loaded.scale
        for line, d in zip(layout.lines, decoded):
            if not d.text:
                continue
            x0, y0, x1, y1 = line.box
            box = (int(x0 * inv), int(y0 * inv), int(round(x1 * inv)), int(round(y1 * inv)))
            lines.append(OcrLine(box, d.text, d.confidences))
        if not lines:
            warnings.append("no text recognised")
    result = OcrResult(tuple(lines), "\n".join(l.text for l in lines), tuple(warnings), loaded.original_size,
                       time.perf_counter() - started)
    return OcrPage(result, loaded.rgb, pre.binary, loaded.scale, loaded.source,
                   {"angle": pre.angle, "inverted": pre.inverted, "vertical": layout.vertical,
                    # the preprocessed image is the flattened page: its corners in the loaded image and
                    # the 3x3 matrix loaded → preprocessed pixels let a viewer draw boxes on either
                    "page": pre.page, "matrix": pre.matrix.tolist()})


def ocr(image, use_lm: bool = True, *, model=None, deskew: bool = True) -> OcrResult:
    """Read the text of one image (path, bytes or (H, W[, 3]) uint8 array) → :class:`OcrResult`."""
    return ocr_page(image, use_lm, model=model, deskew=deskew).result


def ocr_batch(sources: Iterable, use_lm: bool = True, *, model=None) -> Job[list]:
    """Read many images; yields Progress(partial=(source, OcrResult or error message)) after each.

    Returns the list of (source, OcrResult | str) in input order.  An unreadable image gives
    its error message in place of a result and the batch goes on.
    """
    sources = list(sources)
    results: list = []
    yield Progress(0, len(sources), "loading the OCR model")
    for i, source in enumerate(sources):
        try:
            if model is None:
                model = default_model()
            outcome = ocr(source, use_lm, model=model)
        except OcrInputError as exc:
            outcome = str(exc)
        results.append((source, outcome))
        name = Path(str(source)).name if not isinstance(source, (bytes, bytearray)) else f"image {i + 1}"
        yield Progress(i + 1, len(sources), name, partial=(source, outcome))
    return results
