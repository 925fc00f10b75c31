"""SegmentTab driven through its real widgets, with a fast fake segmenter (no torch)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt

from engine.progress import Progress
from engine.segment.api import SegmentResult
from engine.segment.text import is_separator
from gui.segment_tab import SegmentTab, TAG_COLOURS


def fake_result(text: str, user_dict=None) -> SegmentResult:
    """Two-character words (dictionary words kept whole), separators dropped; fixed probabilities."""
    spans, i = [], 0
    forced = dict(user_dict.spans(text)) if user_dict is not None else {}
    while i < len(text):
        if is_separator(text[i]):
            i += 1
            continue
        end = forced.get(i, i + 2)
        end = min(end, len(text))
        if end > i + 1 and is_separator(text[i + 1]) and i not in forced:
            end = i + 1
        spans.append((i, end))
        i = end
    tags = [" "] * len(text)
    probs = np.zeros((len(text), 4), dtype=np.float32)
    for a, b in spans:
        for k in range(a, b):
            tag = "S" if b - a == 1 else ("B" if k == a else "E" if k == b - 1 else "M")
            tags[k] = tag
            probs[k] = [0.1, 0.1, 0.1, 0.1]
            probs[k, "BMES".index(tag)] = 0.7
    confidences = tuple(0.7 if (b - a) > 1 and text[a] == "低" else 0.97 for a, b in spans)
    return SegmentResult(text, tuple(text[a:b] for a, b in spans), tuple(spans), "".join(tags), probs, confidences)


class FakeSegmenter:
    def __init__(self, delay: float = 0.0):
        self.calls = []
        self.delay = delay

    def __call__(self, texts, *, user_dict=None, probabilities=True):
        self.calls.append((list(texts), None if user_dict is None else user_dict.words))

        def job():
            total = sum(len(t) for t in texts)
            time.sleep(self.delay)
            yield Progress(total // 2, total)
            return [fake_result(t, user_dict) for t in texts]

        return job()


@pytest.fixture
def tab(qtbot, runner):
    widget = SegmentTab(runner, segmenter=FakeSegmenter())
    qtbot.addWidget(widget)
    widget.resize(1000, 700)
    widget.show()
    return widget


def type_text(qtbot, widget, text: str) -> None:
    """Type like a user with an input method: Latin keys as key clicks, CJK as committed text
    (QTest.keyClicks aborts on non-Latin-1 characters offscreen)."""
    widget.setFocus()
    for ch in text:
        if ord(ch) < 256:
            qtbot.keyClicks(widget, ch)
        else:
            widget.insertPlainText(ch)
        qtbot.wait(5)


def wait_for_result(qtbot, tab, predicate=lambda t: bool(t.results), timeout=10000):
    qtbot.waitUntil(lambda: not tab.busy and not tab._pending and predicate(tab), timeout=timeout)


def test_typing_shows_coloured_words(qtbot, tab):
    type_text(qtbot, tab.input, "迈向充满希望")
    wait_for_result(qtbot, tab)
    assert [r.words for r in tab.results] == [("迈向", "充满", "希望")]
    shown = tab.view.toPlainText().replace("\u2060", "")  # word joiners keep words on one line
    assert "迈向" in shown and "充满" in shown and shown.index("迈向") < shown.index("充满")
    assert shown.replace("\xa0", " ").replace("\u2060", "").split() == ["迈向", "充满", "希望"]  # separated
    page = tab.view.toHtml().lower()
    assert TAG_COLOURS["B"] in page and TAG_COLOURS["E"] in page
    # tooltip with the four probabilities of a character
    tip = tab.tooltip_for("c:0:0")
    assert "B 0.700" in tip and "M 0.100" in tip and "word 迈向" in tip


def test_debounce_runs_once_for_a_burst_of_typing(qtbot, tab):
    type_text(qtbot, tab.input, "中华人民共和国")
    wait_for_result(qtbot, tab)
    assert len(tab._segmenter.calls) == 1
    assert tab._segmenter.calls[0][0] == ["中华人民共和国"]


def test_tag_line_toggle(qtbot, tab):
    tab.set_text("迈向新")
    wait_for_result(qtbot, tab)
    assert "B" not in tab.view.toPlainText()
    tab.show_tags.setChecked(True)
    plain = tab.view.toPlainText()
    assert "迈" in plain and "B" in plain and "E" in plain and "S" in plain


def test_low_confidence_words_are_marked(qtbot, tab):
    tab.set_text("低温天气")
    wait_for_result(qtbot, tab)
    assert "#ffd9d9" in tab.view.toHtml().lower()
    assert "low confidence" in tab.notice.text()


def test_user_dictionary_takes_effect_at_once(qtbot, tab):
    tab.set_text("迈向充满希望")
    wait_for_result(qtbot, tab)
    assert "充满希望" not in tab.results[0].words
    tab.dict_entry.setText("充满希望")
    qtbot.mouseClick(tab.dict_add, Qt.MouseButton.LeftButton)
    wait_for_result(qtbot, tab, lambda t: "充满希望" in t.results[0].words)
    assert tab.dict_list.count() == 1
    tab.dict_list.item(0).setSelected(True)
    qtbot.mouseClick(tab.dict_remove, Qt.MouseButton.LeftButton)
    wait_for_result(qtbot, tab, lambda t: "充满希望" not in t.results[0].words)
    assert tab.dict_list.count() == 0


def test_dictionary_file_load_and_bad_words(qtbot, tab, tmp_path):
    path = tmp_path / "d.txt"
    path.write_text("云计算 3 n\n机器学习\n", encoding="utf-8")
    tab.load_dictionary(str(path))
    assert tab.user_dict.words == ["云计算", "机器学习"]
    assert not tab.add_word("a b")
    assert "cannot be a dictionary word" in tab.message()
    tab.load_dictionary(str(tmp_path / "missing.txt"))
    assert "Cannot read" in tab.message()


def test_copy_result(qtbot, tab):
    from PySide6.QtWidgets import QApplication

    tab.set_text("迈向充满\n希望")
    wait_for_result(qtbot, tab)
    qtbot.mouseClick(tab.copy_button, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == "迈向 充满\n希望"


def test_the_result_line_reports_speed_and_typing_never_reaches_the_status_bar(qtbot, tab):
    shown = []
    tab.runner.started.connect(lambda worker: shown.append(worker.quiet))
    tab.set_text("迈向充满希望")
    wait_for_result(qtbot, tab)
    assert "chars/s" in tab.message() and "3 words" in tab.message()
    assert shown == [True]  # live jobs are quiet: no progress bar flashes while typing


@pytest.mark.parametrize("text", ["", "   \n\t  "])
def test_empty_and_whitespace_are_not_sent(qtbot, tab, text):
    tab.set_text("先有文字")
    wait_for_result(qtbot, tab)
    tab.set_text(text)
    qtbot.waitUntil(lambda: not tab.results, timeout=3000)
    assert len(tab._segmenter.calls) == 1
    if text:
        assert "Nothing to segment" in tab.notice.text()


def test_emoji_control_and_mixed_scripts(qtbot, tab):
    text = "😀中文\x07English русский\x00日本語"
    tab.set_text(text)
    wait_for_result(qtbot, tab)
    assert "😀" in tab.view.toPlainText()
    assert tab.results[0].text == text


def test_one_megabyte_paste_stays_responsive(qtbot, runner):
    tab = SegmentTab(runner, segmenter=FakeSegmenter(delay=0.3))
    qtbot.addWidget(tab)
    text = ("迈向充满希望的新世纪。" * 100 + "\n") * 1000        # ≈ 1.0 M characters
    started = time.perf_counter()
    tab.set_text(text)
    qtbot.wait(DEBOUNCE_WAIT)
    # the GUI thread is free while the (slow) job runs
    assert tab.busy
    assert time.perf_counter() - started < 5
    wait_for_result(qtbot, tab, timeout=60000)
    assert len(tab.view.toPlainText()) < 20000              # rendering is capped
    assert "Showing the first" in tab.notice.text()


DEBOUNCE_WAIT = 400


def test_newer_edit_wins(qtbot, runner):
    tab = SegmentTab(runner, segmenter=FakeSegmenter(delay=0.3))
    qtbot.addWidget(tab)
    tab.set_text("第一版")
    qtbot.waitUntil(lambda: tab.busy, timeout=2000)
    tab.set_text("第二版文本")
    wait_for_result(qtbot, tab, lambda t: t.results and t.results[0].text == "第二版文本")


def test_errors_are_shown_not_raised(qtbot, runner):
    def broken(texts, **kwargs):
        raise RuntimeError("model file is damaged")

    tab = SegmentTab(runner, segmenter=broken)
    qtbot.addWidget(tab)
    tab.set_text("中国")
    qtbot.waitUntil(lambda: "damaged" in tab.notice.text(), timeout=3000)


def test_batch_files_with_progress_and_refusal(qtbot, runner, tmp_path):
    from engine.progress import drive  # noqa: F401  (the real files job with the fake model below)
    from engine.segment.files import segment_files_job

    class FakeModel:
        def tag(self, texts, allowed=None, probabilities=False, *, codes=None, spans=None):
            lengths = [b - a for a, b in spans] if codes is not None else [len(t) for t in texts]
            return [(np.array([3] * n, dtype=np.int8), None) for n in lengths]

    def file_segmenter(paths, *, out_dir=None, user_dict=None):
        return segment_files_job(paths, out_dir=out_dir, model=FakeModel(), user_dict=user_dict)

    good = tmp_path / "a.txt"
    good.write_bytes("中国\r\n人民\r\n".encode("gb18030"))
    binary = tmp_path / "b.txt"
    binary.write_bytes(bytes(range(256)))
    out = tmp_path / "out"
    out.mkdir()
    tab = SegmentTab(runner, segmenter=FakeSegmenter(), file_segmenter=file_segmenter)
    qtbot.addWidget(tab)
    tab.start_batch([str(good), str(binary)], str(out))
    assert not tab.open_files.isEnabled() and tab.busy
    qtbot.waitUntil(lambda: not tab.busy, timeout=20000)
    assert tab.open_files.isEnabled()
    assert (out / "a.seg.txt").read_text(encoding="utf-8") == "中 国\n人 民\n"
    assert good.read_bytes() == "中国\r\n人民\r\n".encode("gb18030")
    assert "binary" in tab.batch_status.text()


def test_batch_cancel(qtbot, runner, tmp_path):
    release = threading.Event()

    def slow_files(paths, *, out_dir=None, user_dict=None):
        for i in range(100):
            release.wait(0.05)
            yield Progress(i, 100, "slow.txt")
        return []

    tab = SegmentTab(runner, segmenter=FakeSegmenter(), file_segmenter=slow_files)
    qtbot.addWidget(tab)
    reports = []
    runner.started.connect(lambda worker: worker.progressed.connect(reports.append))
    tab.start_batch([str(tmp_path / "x.txt")])
    qtbot.waitUntil(lambda: bool(reports), timeout=3000)
    qtbot.keyClick(tab.input, Qt.Key.Key_Escape)  # the status bar's Cancel is tested with the window
    qtbot.waitUntil(lambda: not tab.busy, timeout=5000)
    assert "Cancelled" in tab.message()
    assert tab.open_files.isEnabled()


def test_screenshot_states(qtbot, tab):
    states = dict(tab.screenshot_states())
    states["sample"]()
    assert tab.results and tab.view.toPlainText().strip()
    states["tags"]()
    assert tab.show_tags.isChecked()


def test_an_edit_re_segments_only_the_changed_line(qtbot, tab):
    tab.set_text("第一行文字\n第二行文字\n第三行文字")
    wait_for_result(qtbot, tab)
    tab.set_text("第一行文字\n第二行改了\n第三行文字")
    wait_for_result(qtbot, tab, lambda t: t.results[1].text == "第二行改了")
    assert [call[0] for call in tab._segmenter.calls] == [["第一行文字", "第二行文字", "第三行文字"], ["第二行改了"]]
    assert [r.text for r in tab.results] == ["第一行文字", "第二行改了", "第三行文字"]
    tab.add_word("文字")  # another dictionary: everything again
    wait_for_result(qtbot, tab, lambda t: len(t._segmenter.calls) == 3)
    assert len(tab._segmenter.calls[2][0]) == 3


def test_the_result_view_never_wraps_inside_a_word(qtbot, tab):
    tab.resize(500, 700)
    tab.set_text("迈向充满希望的新世纪迈向充满希望的新世纪迈向充满希望的新世纪" * 3)
    wait_for_result(qtbot, tab)
    words = tab.results[0].words
    document = tab.view.document()
    document.setTextWidth(140)  # a few words per line
    block = document.firstBlock()
    layout = block.layout()
    assert layout.lineCount() > 3
    text = block.text()
    starts = set()
    position = 0
    for piece in text.replace("\xa0", " ").split(" "):
        if piece:
            starts.add(position)
        position += len(piece) + 1
    for n in range(1, layout.lineCount()):
        start = layout.lineAt(n).textStart()
        assert start in starts or text[start - 1] in " \xa0", (n, text[start - 4:start + 4])
    assert len(words) > 10


def test_emoji_clusters_are_one_unit_and_the_fonts_match(qtbot, runner):
    flag, family = "🇨🇳", "👩\u200d👩\u200d👧"
    text = f"我爱{flag}{family}和"

    def segmenter(texts, *, user_dict=None, probabilities=True):  # the engine keeps clusters whole
        from engine.segment.text import UserDictionary

        return FakeSegmenter()(texts, user_dict=UserDictionary([flag, family]), probabilities=probabilities)

    tab = SegmentTab(runner, segmenter=segmenter)
    qtbot.addWidget(tab)
    tab.set_text(text)
    wait_for_result(qtbot, tab)
    assert flag in tab.results[0].words and family in tab.results[0].words
    import re

    anchors = re.findall(r'<a href="c:0:\d+"><span[^>]*>([^<]*)</span></a>', tab.view.toHtml())
    assert anchors == ["我", "爱", flag, family, "和"]  # one anchor (one glyph run) per cluster
    assert tab.input.font().family() == tab.view.document().defaultFont().family()
    assert tab.input.font().pointSizeF() == tab.view.document().defaultFont().pointSizeF()
