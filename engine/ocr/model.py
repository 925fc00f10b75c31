"""The neural line recogniser: a small CNN, a bidirectional LSTM and a CTC output layer (CRNN).

Idea: CRNN (Shi, Bai & Yao 2015, "An End-to-End Trainable Neural Network for Image-based
Sequence Recognition") as used by PP-OCR's recognisers: a line image of fixed height
(32 px) and any width is turned by convolutions into a sequence of feature columns
(one per 8 input pixels), a BiLSTM gives every column context from its neighbours,
and a linear layer scores every symbol plus the CTC blank for each column.  Training
uses the CTC loss, so no per-character positions are needed.  This replaces the seed
post's cut-into-characters-then-classify step (OCR技术浅探), which fails on touching or
split glyphs.

``load(model_dir)`` is the registry loader: it returns an :class:`OcrModel`
(network + symbol list + optional language model).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from engine.ocr.model_constants import LINE_HEIGHT, WIDTH_STRIDE  # noqa: F401


def _conv(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class LineRecogniser(nn.Module):
    """(B, 1, 32, W) line images → (T = W // width_stride, B, num_symbols + 1) logits; index 0 is the CTC blank.

    ``width_stride`` 8 or 4: input pixels per output column.  At 8 a half-width digit of small text gets
    two columns, too few to put the blank between two equal ones (2222 read 222); at 4 the last pooling
    keeps the width.  Both have the same weights, so one can start from the other.
    """

    def __init__(self, num_symbols: int, channels: tuple[int, ...] = (32, 64, 128, 192),
                 hidden: int = 128, dropout: float = 0.1, width_stride: int = WIDTH_STRIDE):
        super().__init__()
        if width_stride not in (4, 8):
            raise ValueError(f"width_stride must be 4 or 8, not {width_stride}")
        self.width_stride = width_stride
        c1, c2, c3, c4 = channels
        self.features = nn.Sequential(
            *_conv(1, c1), nn.MaxPool2d(2, 2),            # 16 x W/2
            *_conv(c1, c2), nn.MaxPool2d(2, 2),           # 8 x W/4
            *_conv(c2, c3), *_conv(c3, c3),
            nn.MaxPool2d(2, 2) if width_stride == 8 else nn.MaxPool2d((2, 1), (2, 1)),  # 4 x W/stride
            *_conv(c3, c4),
        )
        # collapse the remaining height 4 into the channel vector of each column
        self.collapse = nn.Sequential(nn.Conv2d(c4, c4, (4, 1), bias=False), nn.BatchNorm2d(c4), nn.ReLU(inplace=True))
        self.rnn = nn.LSTM(c4, hidden, bidirectional=True, batch_first=False) if hidden > 0 else None
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(2 * hidden if hidden > 0 else c4, num_symbols + 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.collapse(self.features(images))   # (B, C, 1, T)
        x = x.squeeze(2).permute(2, 0, 1)          # (T, B, C)
        if self.rnn is not None:
            x, _ = self.rnn(x)
        return self.classifier(self.dropout(x))    # (T, B, S + 1)


def output_lengths(widths: torch.Tensor, width_stride: int = WIDTH_STRIDE) -> torch.Tensor:
    """Number of output columns for input widths (B,) → (B,)."""
    return torch.div(widths, width_stride, rounding_mode="floor").clamp(min=1)


@dataclass(frozen=True)
class OcrModel:
    """What the registry loader returns: the network, its symbols (id - 1 → symbol) and the LM (or None)."""

    net: LineRecogniser
    symbols: tuple[str, ...]
    config: dict[str, Any]
    lm: Any  # engine.ocr.lm.CharNgramLM or None
    path: Path


def build_from_config(config: dict[str, Any]) -> LineRecogniser:
    return LineRecogniser(config["num_symbols"], tuple(config["channels"]), config["hidden"], config.get("dropout", 0.1),
                          config.get("width_stride", WIDTH_STRIDE))


def load(model_dir: Path) -> OcrModel:
    """Registry loader: ``config.json``, ``charset.txt``, ``model.safetensors`` and (optional) ``lm.bin``."""
    from engine.ocr.lm import CharNgramLM
    from engine.registry import ModelCorrupt
    from engine.weights import load_state_dict, read_config, read_vocab

    model_dir = Path(model_dir)
    config = read_config(model_dir)
    symbols = read_vocab(model_dir, "charset.txt")
    if len(symbols) != config["num_symbols"]:
        raise ModelCorrupt(f"{model_dir / 'charset.txt'} has {len(symbols)} symbols, config says {config['num_symbols']}")
    net = build_from_config(config)
    net.load_state_dict(load_state_dict(model_dir))
    net.eval()
    lm_path = model_dir / config.get("lm_file", "lm.bin")
    lm = CharNgramLM.load(lm_path) if lm_path.is_file() else None
    return OcrModel(net, tuple(symbols), config, lm, model_dir)
