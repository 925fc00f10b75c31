"""The Attention tab as a package: one module per view (see gui.attention.tab)."""

from gui.attention.tab import AttentionTab

__all__ = ["AttentionTab"]
