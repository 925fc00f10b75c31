"""Every file Mowen writes, and every text file it reads, goes through here.

Writing: :func:`atomic_write_bytes` / :func:`atomic_write_text` for a whole content, and
:func:`atomic_output` for a stream written piece by piece (the CLIs).  Both write a temp file
in the target's folder, fsync it and ``os.replace`` it onto the final name, so a reader (or a
``kill -9``) sees the old file or the whole new one, never a part.  :func:`check_output`
refuses an output that is an input (also through a symlink or a hard link) and, unless
``force``, an existing file.

Reading: :func:`text_lines` decodes a text stream line by line and :func:`decode_text` a
whole byte string, with one rule for the encoding: UTF-8 (with or without BOM), UTF-16
(with BOM, or without one when the bytes show it), GB18030 (which includes GBK and GB2312).
Binary data (NUL bytes, many control characters) is refused with :class:`UnsupportedFile`,
and so is a line that is not valid in the file's encoding.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

from engine.errors import InputError, OutputError

SNIFF_BYTES = 1 << 20  # the encoding is decided on the first MiB
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
# what BOM-less UTF-16 Chinese text decodes to: ideographs, CJK and full-width punctuation, line ends
_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff01-\uff5e\n\r]")
_CJK_OR_ASCII = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff01-\uff5e\t\n\r -~]")


class UnsupportedFile(InputError):
    """The input is not text in one of the accepted encodings; the message says why."""


# ----------------------------------------------------------------------------
# writing
# ----------------------------------------------------------------------------
def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied (or a read-only file system)"
    if exc.errno == errno.EISDIR:
        return "it is a folder"
    if exc.errno == errno.ENOENT:
        return "its folder does not exist"
    return exc.strerror or str(exc)


def check_output(path: Path | str, inputs: Iterable[Path | str] = (), *, force: bool = False) -> Path:
    """``path`` if it may be written: not a folder, not one of ``inputs``, not existing unless ``force``."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder")
    if not path.parent.is_dir():
        raise OutputError(f"cannot write {path}: its folder {path.parent} does not exist")
    if path.exists():
        for source in inputs:
            try:
                same = os.path.samefile(path, source)
            except OSError:
                same = False
            if same:
                raise OutputError(f"cannot write {path}: it is the input file; choose another output name")
        if not force:
            raise OutputError(f"{path} exists; choose another name or pass --force to replace it")
    return path


@contextlib.contextmanager
def atomic_output(path: Path | str, mode: str = "w", encoding: str = "utf-8", *, replace: bool = True) -> Iterator:
    """A handle on a temp file next to ``path`` that becomes ``path`` only if the block succeeds.

    On an exception (or a kill) the temp file is removed and ``path`` is untouched.  Write
    errors (full disk, read-only folder) raise :class:`OutputError` naming the file.
    ``replace=False`` never replaces a file that appeared at ``path`` meanwhile (a hard link
    instead of a rename, which fails on an existing name).
    """
    path = Path(path)
    binary = "b" in mode
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {_os_reason(exc)}") from None
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": encoding, "newline": "\n"})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes 0600 files; give the output the permissions a plain open() would
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise OutputError(f"{path} exists; choose another name or pass --force to replace it") from None
            except OSError:  # a file system without hard links: check, then rename
                if path.exists():
                    raise OutputError(f"{path} exists; choose another name or pass --force to replace it") from None
                os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {_os_reason(exc)}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def atomic_write_bytes(path: Path | str, data: bytes, *, replace: bool = True) -> None:
    """Write a file so that readers see the old or the new content, never half of it."""
    with atomic_output(path, "wb", replace=replace) as handle:
        handle.write(data)


def atomic_write_text(path: Path | str, text: str, encoding: str = "utf-8", *, replace: bool = True) -> None:
    atomic_write_bytes(path, text.encode(encoding), replace=replace)


# ----------------------------------------------------------------------------
# reading text
# ----------------------------------------------------------------------------
def _looks_utf16(sample: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' when BOM-less bytes read as UTF-16 text, else None.

    With NUL bytes (UTF-16 of text with ASCII in it), nine code units in ten must be
    printable ASCII, line ends or CJK; without NULs (pure Chinese), CJK and line ends only.
    """
    sample = sample[:len(sample) - len(sample) % 2]
    if len(sample) < 8:
        return None
    pattern = _CJK_OR_ASCII if b"\x00" in sample else _CJK
    for encoding in ("utf-16-le", "utf-16-be"):
        text = sample.decode(encoding, errors="replace")
        if len(pattern.findall(text)) >= 0.9 * len(text):
            return encoding
    return None


def _valid(data: bytes, encoding: str, final: bool) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)().decode(data, final)
        return True
    except UnicodeDecodeError:
        return False


def detect_encoding(sample: bytes, name: str = "input", *, complete: bool = True) -> str:
    """The encoding of text that starts with ``sample`` (``complete``: the sample is all of it)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith(codecs.BOM_UTF16_LE) or sample.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    if b"\x00" in sample:  # UTF-16 of text with ASCII in it, or binary
        utf16 = _looks_utf16(sample)
        if utf16:
            return utf16
        raise UnsupportedFile(f"{name} looks like a binary file (it contains NUL bytes), not text")
    if _valid(sample, "utf-8", complete):
        return "utf-8"
    utf16 = _looks_utf16(sample)
    if utf16:
        return utf16
    # Per line: real GB18030 Chinese is almost never valid UTF-8, so a file with more
    # UTF-8 lines than GB18030-only lines is UTF-8 with a few bad lines.
    utf8 = gb = 0
    for line in sample.split(b"\n")[:-1] if not complete else sample.split(b"\n"):
        if line.isascii():
            continue
        if _valid(line, "utf-8", True):
            utf8 += 1
        elif _valid(line, "gb18030", True):
            gb += 1
    return "gb18030" if gb > utf8 else "utf-8"


def _check_not_binary(text: str, name: str) -> None:
    controls = len(_CONTROL.findall(text))
    if controls > max(8, len(text) // 100):
        raise UnsupportedFile(f"{name} looks like a binary file ({controls} control characters), not text")


_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "gb18030": "GB18030", "utf-16": "UTF-16",
          "utf-16-le": "UTF-16", "utf-16-be": "UTF-16"}


def _bad_line(name: str, number: int, encoding: str) -> str:
    return (f"{name}, line {number}: not valid {_NAMES.get(encoding, encoding)} text "
            f"(accepted: UTF-8, UTF-16, GB18030); convert the file to UTF-8")


def text_lines(handle: BinaryIO, name: str = "input", *, bad_lines: str = "raise",
               chunk_bytes: int = SNIFF_BYTES) -> Iterator[tuple[str | None, int, str]]:
    """(line, bytes consumed, error) for each LF-separated line of a binary stream.

    The encoding is decided on the first ``chunk_bytes``; a trailing CR is dropped, the
    final line is yielded only when non-empty (a file ending in LF has no extra line).  A
    line invalid in the file's encoding raises :class:`UnsupportedFile`, or with
    ``bad_lines="report"`` is yielded as (None, size, message) so a batch can go on.
    """
    try:
        first = handle.read(chunk_bytes)
    except OSError as exc:
        raise UnsupportedFile(f"cannot read {name}: {exc.strerror or exc}") from None
    complete = len(first) < chunk_bytes
    encoding = detect_encoding(first, name, complete=complete)
    if encoding.startswith("utf-16"):
        # NUL-laned text: no byte-level line split; one incremental decoder over chunks
        decoder = codecs.getincrementaldecoder(encoding)()
        pending, data, number = "", first, 0
        while True:
            final = not data or complete
            try:
                text = decoder.decode(data, final)
            except UnicodeDecodeError:
                raise UnsupportedFile(_bad_line(name, number + 1, encoding)) from None
            if number == 0 and not pending:
                text = text.lstrip("\ufeff")
                _check_not_binary(text[:100_000], name)
            *lines, pending = (pending + text).split("\n")
            for line in lines:
                number += 1
                yield (line[:-1] if line.endswith("\r") else line), len(line.encode("utf-16-le")) + 2, ""
            if final:
                break
            data = handle.read(chunk_bytes)
            complete = not data
        if pending:
            yield (pending[:-1] if pending.endswith("\r") else pending), len(pending) * 2, ""
        return
    strict = "utf-8" if encoding == "utf-8-sig" else encoding
    if first.startswith(codecs.BOM_UTF8):
        first = first[len(codecs.BOM_UTF8):]
    _check_not_binary(first[:100_000].decode(strict, errors="replace"), name)
    pending, number, data = b"", 0, first
    while True:
        *raws, pending = (pending + data).split(b"\n")
        for raw in raws:
            number += 1
            yield _decode_line(raw, len(raw) + 1, strict, name, number, bad_lines)
        if complete:
            break
        try:
            data = handle.read(chunk_bytes)
        except OSError as exc:
            raise UnsupportedFile(f"cannot read {name}: {exc.strerror or exc}") from None
        complete = not data
    if pending:
        yield _decode_line(pending, len(pending), strict, name, number + 1, bad_lines)


def _decode_line(raw: bytes, size: int, encoding: str, name: str, number: int, bad_lines: str):
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    try:
        return raw.decode(encoding), size, ""
    except UnicodeDecodeError:
        message = _bad_line(name, number, encoding)
        if bad_lines == "raise":
            raise UnsupportedFile(message) from None
        return None, size, message


def decode_text(data: bytes, name: str = "input") -> tuple[str, str]:
    """(text, encoding name) of a whole file's bytes, or :class:`UnsupportedFile`.

    Same rule as :func:`text_lines`; the text keeps its line ends (CRLF included).
    """
    encoding = detect_encoding(data, name, complete=True)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        # name the first bad line
        for number, raw in enumerate(data.split(b"\n"), start=1):
            if not _valid(raw, "utf-8" if encoding == "utf-8-sig" else encoding, True):
                break
        else:
            number = 1
        raise UnsupportedFile(f"{name} is not UTF-8, UTF-16 or GB18030 text "
                              f"(line {number} is not valid {_NAMES.get(encoding, encoding)}); "
                              f"convert it to UTF-8 first") from None
    _check_not_binary(text, name)
    return text.lstrip("\ufeff") if encoding.startswith("utf-16") else text, encoding


def read_text_file(path: Path | str) -> tuple[str, str]:
    """(text, encoding) of a text file; :class:`UnsupportedFile` for anything unreadable."""
    path = Path(path)
    if path.is_dir():
        raise UnsupportedFile(f"cannot read {path}: it is a folder, not a text file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnsupportedFile(f"cannot read {path}: {exc.strerror or exc}") from None
    return decode_text(data, path.name)


def open_input(path: str, name: str | None = None) -> BinaryIO:
    """A binary handle on ``path`` with clear errors (missing, folder, unreadable)."""
    p = Path(path)
    if p.is_dir():
        raise UnsupportedFile(f"cannot read {p}: it is a folder, not a text file")
    try:
        return open(p, "rb")
    except OSError as exc:
        raise UnsupportedFile(f"cannot read {p}: {exc.strerror or exc}") from None
