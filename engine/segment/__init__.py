"""Chinese word segmentation: BMES character tagging with a constrained CRF.

Light on import (no torch): ``segment``, ``segment_job`` and ``SegmentResult`` are
loaded from ``engine.segment.api`` on first use; ``UserDictionary`` and ``TAGS`` are plain.
"""

from engine.segment.bmes import TAGS
from engine.segment.text import UserDictionary

__all__ = ["TAGS", "UserDictionary", "segment", "segment_job", "SegmentResult"]


def __getattr__(name):
    if name in ("segment", "segment_job", "SegmentResult"):
        from engine.segment import api

        return getattr(api, name)
    raise AttributeError(name)
