"""Issue 14, "Data loss": no command may empty, truncate or replace a file it was not told to.

segment -o onto its own input (also via a symlink or a hard link) is refused and the input
keeps its bytes; -o does not replace an existing file without --force; outputs appear
atomically (a kill -9 mid-run leaves nothing under the final name); every text input is
decoded by one rule (UTF-8, UTF-16 with or without BOM, GB18030) and binary is refused.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.engine.hostile.conftest import ROOT, snapshot

TEXT = "迈向充满希望的新世纪\n今天天气很好\n"


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "in.txt").write_text(TEXT, encoding="utf-8")
    return tmp_path


def test_output_onto_the_input_is_refused_and_the_input_kept(cli, folder):
    before = snapshot(folder)
    cli("segment", "--quiet", str(folder / "in.txt"), "-o", str(folder / "in.txt")).refused("it is the input")
    os.symlink(folder / "in.txt", folder / "link.txt")
    os.link(folder / "in.txt", folder / "hard.txt")
    for alias in ("link.txt", "hard.txt"):
        cli("segment", "--quiet", str(folder / "in.txt"), "-o", str(folder / alias), "--force").refused("it is the input")
    # the reverse: the input named through the alias, the output the real file
    cli("segment", "--quiet", str(folder / "link.txt"), "-o", str(folder / "in.txt"), "--force").refused("it is the input")
    assert (folder / "in.txt").read_text(encoding="utf-8") == TEXT
    assert {k: v for k, v in snapshot(folder).items() if k == "in.txt"} == {k: v for k, v in before.items()}


def test_output_onto_the_user_dictionary_is_refused_even_with_force(cli, folder):
    (folder / "dict.txt").write_text("新世纪 5 n\n", encoding="utf-8")
    cli("segment", "--quiet", "--user-dict", str(folder / "dict.txt"), str(folder / "in.txt"),
        "-o", str(folder / "dict.txt"), "--force").refused("it is the input")
    assert (folder / "dict.txt").read_text(encoding="utf-8") == "新世纪 5 n\n"


def test_existing_output_needs_force(cli, folder):
    (folder / "out.txt").write_text("keep me", encoding="utf-8")
    cli("segment", "--quiet", str(folder / "in.txt"), "-o", str(folder / "out.txt")).refused("exists", "--force")
    assert (folder / "out.txt").read_text(encoding="utf-8") == "keep me"
    result = cli("segment", "--quiet", str(folder / "in.txt"), "-o", str(folder / "out.txt"), "--force")
    assert result.code == 0, result.err
    assert (folder / "out.txt").read_text(encoding="utf-8").replace(" ", "") == TEXT
    assert sorted(p.name for p in folder.iterdir()) == ["in.txt", "out.txt"]  # no temp file left


@pytest.mark.parametrize("target, reason", [("", "it is a folder"), ("missing/out.txt", "does not exist")])
def test_output_to_a_folder_or_a_missing_folder(cli, folder, target, reason):
    before = snapshot(folder)
    cli("segment", "--quiet", str(folder / "in.txt"), "-o", str(folder / target)).refused(reason)
    assert snapshot(folder) == before


def test_full_or_read_only_disk_leaves_nothing(cli, folder, monkeypatch):
    """A write that fails (ENOSPC, EROFS) gives one line and no file under the final name."""
    import errno

    import engine.files as files

    real_fsync = os.fsync

    for code, words in ((errno.ENOSPC, "disk is full"), (errno.EROFS, "read-only")):
        def failing_fsync(fd, code=code):
            raise OSError(code, os.strerror(code))

        monkeypatch.setattr(files.os, "fsync", failing_fsync)
        cli("segment", "--quiet", str(folder / "in.txt"), "-o", str(folder / "out.txt")).refused(words)
        monkeypatch.setattr(files.os, "fsync", real_fsync)
        assert sorted(p.name for p in folder.iterdir()) == ["in.txt"]


def test_stdout_to_dev_full_is_one_clear_line(cli_process, folder):
    with open("/dev/full", "wb") as full:
        cli_process("segment", "--quiet", str(folder / "in.txt"), stdout=full).refused("standard output")


def test_kill_mid_run_leaves_nothing_under_the_final_name(models_root, folder):
    big = folder / "big.txt"
    big.write_text("我爱北京天安门，今天天气很好。\n" * 150_000, encoding="utf-8")
    out = folder / "out.txt"
    env = dict(os.environ, MOWEN_MODELS_DIR=str(models_root), MOWEN_DEVICE="cpu")
    proc = subprocess.Popen([sys.executable, "-m", "engine", "segment", "--quiet", "--block-lines", "500",
                             str(big), "-o", str(out)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(p.name.endswith(".tmp") and p.stat().st_size
                                                   for p in folder.iterdir()):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    assert big.stat().st_size == len(("我爱北京天安门，今天天气很好。\n" * 150_000).encode("utf-8"))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "gb18030"])
def test_every_accepted_encoding_reads_the_same(cli, folder, encoding):
    (folder / "enc.txt").write_bytes(TEXT.encode(encoding))
    result = cli("segment", "--quiet", str(folder / "enc.txt"))
    assert result.code == 0, result.err
    assert result.out.replace(" ", "") == TEXT and "\ufffd" not in result.out


@pytest.mark.parametrize("data, reason", [
    (bytes(range(256)) * 8, "binary"),
    (b"\x89PNG\r\n\x1a\n" + bytes(200), "binary"),
    ("café olé\n".encode("latin-1"), "not valid"),
])
def test_binary_and_foreign_encodings_are_refused_not_replaced(cli, folder, data, reason):
    (folder / "bad.txt").write_bytes(data)
    cli("segment", "--quiet", str(folder / "bad.txt")).refused(reason)
    cli("segment", "--quiet", "-", stdin=data).refused(reason)


def test_the_batch_api_and_the_cli_share_one_decoder():
    """segment_files_job reads through engine.files.read_text_file, like the CLIs."""
    import engine.files
    import engine.segment.files

    assert engine.segment.files.read_text_file is engine.files.read_text_file
    assert engine.segment.files.decode_text is engine.files.decode_text


def test_atomic_write_failure_keeps_the_old_file(tmp_path, monkeypatch):
    from engine.errors import OutputError
    from engine.files import atomic_write_text

    target = tmp_path / "t.txt"
    atomic_write_text(target, "old")

    def boom(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OutputError, match="disk is full"):
        atomic_write_text(target, "new")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["t.txt"]


def test_no_replace_write_never_clobbers_a_file_that_appeared(tmp_path, monkeypatch):
    """replace=False (segment -o without --force, the batch job) links instead of renaming, so a
    file created after the existence check survives."""
    from engine.errors import OutputError
    from engine.files import atomic_output

    target = tmp_path / "out.txt"
    with pytest.raises(OutputError, match="exists"):
        with atomic_output(target, replace=False) as handle:
            handle.write("new")
            target.write_text("someone else's", encoding="utf-8")  # appears mid-write
    assert target.read_text(encoding="utf-8") == "someone else's"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_batch_job_reports_an_unwritable_output_and_goes_on(tmp_path, monkeypatch):
    import errno

    import engine.files as files
    from engine.progress import drive
    from engine.segment.files import segment_files_job
    from tests.engine.test_segment import tiny_model_dir

    from engine.segment.model import load

    model = load(tiny_model_dir(tmp_path / "tiny"), precision="fp32")
    (tmp_path / "a.txt").write_text("迈向新世纪\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("中国\n", encoding="utf-8")
    real_fsync, calls = os.fsync, []

    def fsync_once_full(fd):
        calls.append(fd)
        if len(calls) == 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(files.os, "fsync", fsync_once_full)
    outcomes = drive(segment_files_job([tmp_path / "a.txt", tmp_path / "b.txt"], model=model))
    assert outcomes[0].output is None and "disk is full" in outcomes[0].error
    assert outcomes[1].output is not None and outcomes[1].output.read_text(encoding="utf-8").replace(" ", "") == "中国\n"
    assert not (tmp_path / "a.seg.txt").exists()
