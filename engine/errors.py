"""The one base class of every refusal of a user's input, file or setting.

A :class:`MowenError` is a user's mistake or a broken install (a file that is not text, an
option out of range, a missing model): its message is one readable line that names the
thing and says why.  The CLI prints ``mowen: error: <message>`` and exits 2; the GUI shows
the message.  Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class MowenError(Exception):
    """A refusal with a message meant for the user (one line, names the input and the reason)."""


class InputError(MowenError, ValueError):
    """An input (file, text, option value) that cannot be used; ValueError for older callers."""


class OutputError(MowenError, OSError):
    """An output that cannot be written (existing file, the input itself, a full or read-only disk).
    Also an OSError, so every caller that handles a failed write (the GUI's exports) handles this one."""
