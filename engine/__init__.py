"""Mowen's engine: plain Python + torch, no Qt.

Importing ``engine`` is light on purpose: neither torch nor transformers is loaded
here, so the GUI can show its window before any heavy import happens.
"""

__version__ = "0.1.0"
