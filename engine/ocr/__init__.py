"""OCR: read printed Chinese from screenshots, scans and photos of print.

Stages (each a separate callable, testable alone):
``load.load_image`` → ``preprocess.preprocess`` → ``detect.detect_lines`` →
``recognise.recognise`` (CNN + BiLSTM + CTC) → ``decode.greedy_decode`` / ``decode.beam_decode``
(with the character LM of ``lm``).  ``pipeline.ocr`` runs them all.  Importing this
package is light (no torch).
"""

from engine.ocr.result import OcrInputError, OcrLine, OcrPage, OcrResult


def ocr(image, use_lm: bool = True, **kwargs) -> OcrResult:
    """See :func:`engine.ocr.pipeline.ocr`."""
    from engine.ocr.pipeline import ocr as run

    return run(image, use_lm, **kwargs)


__all__ = ["OcrInputError", "OcrLine", "OcrPage", "OcrResult", "ocr"]
