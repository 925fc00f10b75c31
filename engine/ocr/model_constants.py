"""Shapes shared by the recogniser network, its input preparation and the trainer (no torch here)."""

LINE_HEIGHT = 32      # every line is scaled to this height
WIDTH_STRIDE = 8      # input pixels per CTC output column
MAX_LINE_WIDTH = 2400  # longer crops are squeezed (about 75 CJK characters at height 32)
