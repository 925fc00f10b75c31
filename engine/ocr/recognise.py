"""Stage 4: recognise text lines with the neural line recogniser (CNN + BiLSTM + CTC).

Each line crop is normalised the same way in training and in use (``prepare_line``):
grayscale, dark text on a light ground (light-on-dark crops are inverted), contrast
stretched so the ground is 0 and the ink 1, scaled to height 32 keeping its aspect.
Lines are then batched by width and run through the network once; the result per line
is a (T, S + 1) array of log-probabilities for the decoder (stage 5).

Idea: CRNN + CTC (Shi et al. 2015), the recogniser design of PP-OCR / RapidOCR.
"""

from __future__ import annotations

import numpy as np

from engine.ocr.model_constants import LINE_HEIGHT, MAX_LINE_WIDTH, WIDTH_STRIDE


def prepare_line(gray: np.ndarray, height: int = LINE_HEIGHT) -> np.ndarray:
    """(H, W) uint8 line crop → (height, W') float32 in [0, 1], ink = 1, ground = 0."""
    import cv2

    if gray.ndim == 3:
        gray = cv2.cvtColor(gray, cv2.COLOR_BGR2GRAY)
    h, w = gray.shape[:2]
    if h < 2 or w < 2:
        return np.zeros((height, WIDTH_STRIDE), np.float32)
    values = gray.astype(np.float32)
    # The ground is the majority of a line crop: its level is the median; if the median is
    # on the dark side of an Otsu split the text is light on dark, so flip.
    thresh, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ground = float(np.median(values))
    if ground <= thresh:  # Otsu: values <= thresh are the dark class
        values = 255.0 - values
        ground = 255.0 - ground
    ink = float(np.percentile(values, 1.0))
    span = max(ground - ink, 24.0)
    norm = np.clip((ground - values) / span, 0.0, 1.0)
    new_w = max(WIDTH_STRIDE, int(round(w * height / h)))
    new_w = min(new_w, MAX_LINE_WIDTH)
    interp = cv2.INTER_AREA if h > height else cv2.INTER_LINEAR
    return cv2.resize(norm, (new_w, height), interpolation=interp)


def batch_lines(prepared: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Pad prepared lines to one width: → images (B, 1, H, Wmax) float32, widths (B,) int64."""
    widths = np.array([p.shape[1] for p in prepared], np.int64)
    wmax = int(max(widths.max(), WIDTH_STRIDE))
    wmax = (wmax + WIDTH_STRIDE - 1) // WIDTH_STRIDE * WIDTH_STRIDE
    out = np.zeros((len(prepared), 1, prepared[0].shape[0], wmax), np.float32)
    for i, p in enumerate(prepared):
        out[i, 0, :, : p.shape[1]] = p
    return out, widths


def recognise(model, line_images: list[np.ndarray], batch_size: int = 16) -> list[np.ndarray]:
    """Run the recogniser on line crops.

    model: an :class:`engine.ocr.model.OcrModel`; line_images: (H, W) uint8 crops.
    Returns one (T_i, S + 1) float32 array of log-probabilities per line (column 0 = blank),
    T_i = prepared width // 8.
    """
    import torch

    from engine.device import get_device

    if not line_images:
        return []
    device = get_device()
    net = model.net.to(device)
    prepared = [prepare_line(img) for img in line_images]
    order = sorted(range(len(prepared)), key=lambda i: prepared[i].shape[1])
    results: list[np.ndarray | None] = [None] * len(prepared)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            images, widths = batch_lines([prepared[i] for i in idx])
            logp = net(torch.from_numpy(images).to(device)).log_softmax(-1).float().cpu().numpy()  # (T, B, S+1)
            for j, i in enumerate(idx):
                t = max(1, int(widths[j]) // WIDTH_STRIDE)
                results[i] = logp[:t, j]
    return results  # type: ignore[return-value]
