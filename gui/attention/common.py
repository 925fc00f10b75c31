"""What the attention views share: the palette (pyqtgraph's options are set once, in gui.heatmap)."""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf", "#e377c2")


def color(group: int) -> Any:
    return pg.mkColor(120, 120, 120) if group < 0 else pg.mkColor(PALETTE[group % len(PALETTE)])
