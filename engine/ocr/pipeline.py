"""The OCR pipeline: load → preprocess → detect lines → recognise → decode.

``ocr(image)`` runs the stages of this package in order and returns an :class:`OcrResult`
(lines with boxes in original image pixels, text and per-character confidences, the
whole text in reading order, warnings).  ``ocr_batch`` is the long-job form (a generator
yielding :class:`engine.progress.Progress`) used by the GUI's batch mode and the CLI;
``ocr_page`` also returns the pixels (the oriented image and the flattened page the line
finder read), and ``view_page`` reads them again for an earlier result.
This module imports no torch at import time; the model is loaded on first use.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterable

from engine.ocr.result import OcrInputError, OcrLine, OcrPage, OcrResult
from engine.progress import Job, Progress

DEFAULT_LM_WEIGHT = 0.3
DEFAULT_LENGTH_BONUS = 0.6
# A "line" of one or two characters read with a mean confidence under this is an icon, an avatar's
# edge or a button's arrow, not text (on the dev screens of benchmarks/ocr_real every such line was
# junk: （肖 0.16, 画 0.28, 乃 0.45, ｛｝ 0.53, while the least confident short real line was 0.70).
# Longer lines are kept whatever their confidence: a settings value read at 0.3 is still mostly right.
SHORT_LINE_MIN_CONFIDENCE = 0.6


def is_junk(decoded) -> bool:
    """Whether a decoded line is too short and too unsure to be text (see SHORT_LINE_MIN_CONFIDENCE)."""
    confidences = [c for c, ch in zip(decoded.confidences, decoded.text) if not ch.isspace()]
    return len(confidences) <= 2 and sum(confidences) < SHORT_LINE_MIN_CONFIDENCE * len(confidences)


def default_model():
    """The registry's default OCR model (loaded once, cached)."""
    from engine.registry import load_model

    return load_model(task="ocr")


def decode_lines(model, log_probs, use_lm: bool = True):
    """Decode each (T, S + 1) array with beam + LM (or greedy) → list of Decoded."""
    from engine.ocr.decode import beam_decode, greedy_decode, list_number_stop

    config = getattr(model, "config", {}) or {}
    lm = model.lm if use_lm else None
    out = []
    for lp in log_probs:
        if lm is None:
            decoded = greedy_decode(lp, model.symbols)
        else:
            decoded = beam_decode(lp, model.symbols, lm, lm_weight=config.get("lm_weight", DEFAULT_LM_WEIGHT),
                                  length_bonus=config.get("length_bonus", DEFAULT_LENGTH_BONUS),
                                  beam_width=config.get("beam_width", 8))
        out.append(list_number_stop(lp, decoded, model.symbols))
    return out


def read_lines(model, prepared, use_lm: bool = True):
    """Stages 4 and 5 on lines prepared by :func:`engine.ocr.recognise.prepare_line`: recognise, decode, then
    read from the image what the network cannot count (dashes, the dots of an ellipsis, a run of hyphens) → list
    of Decoded."""
    from engine.ocr.recognise import read_dashes, read_repeated_marks, recognise_prepared

    stride = model.net.width_stride
    return [read_repeated_marks(p, read_dashes(p, d, stride), stride)
            for p, d in zip(prepared, decode_lines(model, recognise_prepared(model, prepared), use_lm))]


def ocr_page(image, use_lm: bool = True, *, model=None, deskew: bool = True) -> OcrPage:
    """Read ``image`` (path, bytes or uint8 array) → :class:`OcrPage` (result + the pixels it came from).

    Raises :class:`OcrInputError` for inputs that are not usable images.
    """
    from engine.ocr.detect import cut_line, detect_lines
    from engine.ocr.recognise import prepare_line

    started = time.perf_counter()
    loaded, pre = _read(image, deskew)
    layout = detect_lines(pre)
    warnings = list(loaded.warnings) + list(layout.warnings)
    lines: list[OcrLine] = []
    if layout.lines:
        model = model or default_model()
        crops = [cut_line(pre.gray, line, pre.binary) for line in layout.lines]
        decoded = read_lines(model, [prepare_line(crop) for crop in crops], use_lm)
        inv = 1.0 / loaded.scale
        for line, d in zip(layout.lines, decoded):
            if not d.text or is_junk(d):
                continue
            x0, y0, x1, y1 = line.box
            box = (int(x0 * inv), int(y0 * inv), int(round(x1 * inv)), int(round(y1 * inv)))
            page_box = tuple(int(v) for v in line.core) if line.core is not None else None
            lines.append(OcrLine(box, d.text, d.confidences, page_box))
        if not lines:
            warnings.append("no text recognised")
    result = OcrResult(tuple(lines), "\n".join(l.text for l in lines), tuple(warnings), loaded.original_size,
                       time.perf_counter() - started)
    return _page(result, loaded, pre, vertical=layout.vertical)


def view_page(image, result: OcrResult, *, deskew: bool = True) -> OcrPage:
    """The pixels of an earlier ``result`` of ``image``, read again without the recogniser → :class:`OcrPage`.

    A batch keeps its results, not every page's pixels; loading and preprocessing are
    deterministic, so the result's boxes (``box`` and ``page_box``) fit the page read again.
    """
    loaded, pre = _read(image, deskew)
    return _page(result, loaded, pre)


def _read(image, deskew: bool):
    from engine.ocr.load import load_image
    from engine.ocr.preprocess import preprocess

    loaded = load_image(image)
    return loaded, preprocess(loaded.rgb, deskew=deskew)


def _page(result: OcrResult, loaded, pre, **extra) -> OcrPage:
    # the preprocessed image is the flattened page: its corners in the loaded image and the 3x3
    # matrix loaded → preprocessed pixels let a viewer map between the two
    return OcrPage(result, loaded.rgb, pre.binary, loaded.scale, loaded.source,
                   {"angle": pre.angle, "inverted": pre.inverted, "page": pre.page, "matrix": pre.matrix.tolist(),
                    **extra})


def ocr(image, use_lm: bool = True, *, model=None, deskew: bool = True) -> OcrResult:
    """Read the text of one image (path, bytes or (H, W[, 3]) uint8 array) → :class:`OcrResult`."""
    return ocr_page(image, use_lm, model=model, deskew=deskew).result


def ocr_batch(sources: Iterable, use_lm: bool = True, *, model=None, read: Callable | None = None,
              pages: bool = False) -> Job[list]:
    """Read many images; yields Progress(partial=(source, OcrResult or error message)) after each.

    Returns the list of (source, OcrResult | str) in input order.  An unreadable image gives
    its error message in place of a result and the batch goes on.  The CLI and the GUI's batch
    both run this loop.  ``pages=True`` puts the whole :class:`OcrPage` (with its pixels) in each
    report instead of the result, for a viewer to keep what it shows; the returned list still
    holds results only.  ``read(source, use_lm) → OcrPage`` replaces :func:`ocr_page` (the GUI's
    injected reader, a test's fake).
    """
    sources = list(sources)
    results: list = []
    yield Progress(0, len(sources), "loading the OCR model")
    for i, source in enumerate(sources):
        try:
            if read is not None:
                page = read(source, use_lm)
            else:
                model = model or default_model()
                page = ocr_page(source, use_lm, model=model)
            outcome, report = page.result, page
        except OcrInputError as exc:
            outcome = report = str(exc)
        results.append((source, outcome))
        name = Path(str(source)).name if not isinstance(source, (bytes, bytearray)) else f"image {i + 1}"
        yield Progress(i + 1, len(sources), name, partial=(source, report if pages else outcome))
    return results
