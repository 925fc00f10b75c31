"""Couplet tab: type an upper line, wait for the worker, check candidates, locks and bad input."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import Qt

from engine.couplet.rules import check_rules


@pytest.fixture(scope="module")
def tiny_generate():
    """The real constrained decoder on a tiny random model (fast, no shipped weights needed)."""
    import torch

    from engine.couplet.data import PUNCTUATION, SPECIAL_TOKENS
    from engine.couplet.decode import generate_couplet
    from engine.couplet.model import build_net, wrap

    torch.manual_seed(0)
    vocab = SPECIAL_TOKENS + list(PUNCTUATION) + list("天地人山水风云日月花草春秋江河湖海龙虎松竹")
    config = {"kind": "bert", "vocab_size": len(vocab), "dim": 16, "layers": 1, "heads": 2, "max_len": 30}
    model = wrap(build_net(config), vocab, config, name="tiny")
    calls = []

    def generate(upper, *, model_name=None, **kwargs):
        kwargs.pop("model", None)
        calls.append(kwargs)
        return generate_couplet(upper, model=model, **kwargs)

    generate.calls = calls
    return generate


@pytest.fixture
def tab(qtbot, runner, tiny_generate):
    from gui.couplet_tab import CoupletTab

    widget = CoupletTab(runner, generate=tiny_generate, list_models=lambda: [("tiny", True)])
    qtbot.addWidget(widget)
    widget.show()
    return widget


def type_and_generate(qtbot, tab, text, press_enter=False):
    # QTest.keyClicks cannot type CJK characters (it aborts offscreen): insert them like an input method does
    tab.upper_edit.clear()
    tab.upper_edit.insert(text)
    if press_enter:
        qtbot.keyClick(tab.upper_edit, Qt.Key.Key_Return)
    else:
        qtbot.mouseClick(tab.generate_button, Qt.MouseButton.LeftButton)


def test_module_import_is_light():
    import subprocess

    code = "import sys, gui.couplet_tab; print(any(m in sys.modules for m in ('torch', 'transformers')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_typing_an_upper_line_gives_candidates_of_equal_length(qtbot, tab):
    tab.n_slider.setValue(3)
    type_and_generate(qtbot, tab, "春风得意马蹄疾", press_enter=True)
    assert not tab.generate_button.isEnabled()  # one job at a time
    qtbot.waitUntil(lambda: len(tab.rows) == 3 and tab.generate_button.isEnabled(), timeout=15000)
    texts = tab.candidate_texts()
    assert all(len(t) == 7 and check_rules("春风得意马蹄疾", t).hard_ok for t in texts)
    # each character button shows the character, its pinyin and 平/仄
    first = tab.rows[0].char_buttons[0].text().split("\n")
    assert first[0] == texts[0][0] and first[2] in ("平", "仄")
    assert tab.history_list.count() == 1 and "春风得意马蹄疾 →" in tab.history_list.item(0).text()


def test_click_character_lock_alternative_and_regenerate(qtbot, tab, tiny_generate):
    tab.n_slider.setValue(2)
    type_and_generate(qtbot, tab, "山高水长")
    qtbot.waitUntil(lambda: len(tab.rows) == 2 and tab.generate_button.isEnabled(), timeout=15000)
    qtbot.mouseClick(tab.rows[0].char_buttons[1], Qt.MouseButton.LeftButton)
    assert tab.alternatives_list.count() > 0
    tab.alternatives_list.setCurrentRow(1)
    chosen = tab.alternatives_list.currentItem().data(Qt.ItemDataRole.UserRole)
    assert chosen != "高"
    qtbot.mouseClick(tab.lock_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.generate_button.isEnabled() and tab.rows and
                    all(t[1] == chosen for t in tab.candidate_texts()), timeout=15000)
    assert tiny_generate.calls[-1]["locked"] == {1: chosen}
    assert "2=" + chosen in tab.locks_label.text()


def test_show_attention_emits_the_pair(qtbot, tab):
    type_and_generate(qtbot, tab, "一心一意，两全其美")
    qtbot.waitUntil(lambda: bool(tab.rows) and tab.generate_button.isEnabled(), timeout=15000)
    lower = tab.candidate_texts()[0]
    with qtbot.waitSignal(tab.show_attention, timeout=2000) as blocker:
        qtbot.mouseClick(tab.rows[0].attention_button, Qt.MouseButton.LeftButton)
    assert blocker.args == ["一心一意，两全其美", lower]
    assert lower[4] == "，" and lower[0] == lower[2]


@pytest.mark.parametrize("bad, words", [
    ("", "empty"), ("——", "no Chinese character"), ("山" * 100, "too long"), ("spring wind", "Latin"),
    ("春风😀得意", "U+1F600"), ("春风，，得意", "two punctuation"), ("春风【得意】", "not a Chinese line"),
])
def test_bad_input_shows_a_clear_message(qtbot, tab, bad, words, tiny_generate):
    before = len(tiny_generate.calls)
    type_and_generate(qtbot, tab, bad)
    assert words in tab.message_label.text()
    assert tab.generate_button.isEnabled() and len(tiny_generate.calls) == before


def test_engine_error_is_shown_not_raised(qtbot, runner):
    from gui.couplet_tab import CoupletTab

    def broken(upper, **kwargs):
        from engine.registry import ModelMissing

        raise ModelMissing("model 'x': file model.safetensors is missing")

    widget = CoupletTab(runner, generate=broken, list_models=lambda: [])
    qtbot.addWidget(widget)
    type_and_generate(qtbot, widget, "春风得意")
    qtbot.waitUntil(lambda: "missing" in widget.message_label.text(), timeout=5000)
    qtbot.waitUntil(widget.generate_button.isEnabled, timeout=5000)
    assert widget.rows == []


def _generated(qtbot, tab, upper, n=2):
    tab.n_slider.setValue(n)
    type_and_generate(qtbot, tab, upper)
    qtbot.waitUntil(lambda: len(tab.rows) == n and tab.generate_button.isEnabled(), timeout=15000)


def test_an_invalid_line_clears_the_old_candidates_and_the_alternatives(qtbot, tab):
    from gui.couplet_tab import ALTERNATIVES_HINT

    _generated(qtbot, tab, "山高水长")
    qtbot.mouseClick(tab.rows[0].char_buttons[1], Qt.MouseButton.LeftButton)
    assert tab.alternatives_title.text().startswith("Position 2")
    _generated(qtbot, tab, "春风得意")          # a new result: the header no longer names the old one
    assert tab.alternatives_title.text() == ALTERNATIVES_HINT and tab.alternatives_list.count() == 0
    type_and_generate(qtbot, tab, "spring wind")
    assert tab.rows == [] and "Latin" in tab.message_label.text()
    assert tab.alternatives_title.text() == ALTERNATIVES_HINT


def test_the_upper_line_stands_above_each_candidate_character_by_character(qtbot, tab):
    from gui.couplet_tab import TONE_MARKS, tone_marks_drawable

    _generated(qtbot, tab, "春风得意马蹄疾", n=1)
    row = tab.rows[0]
    qtbot.waitUntil(lambda: row.char_buttons[-1].x() > 0, timeout=3000)
    assert [label.text() for label in row.upper_labels] == list("春风得意马蹄疾")
    assert [label.x() for label in row.upper_labels] == [button.x() for button in row.char_buttons]
    pinyin = [button.text().split("\n")[1] for button in row.char_buttons]
    if tone_marks_drawable():  # drawn in a family that has the marks (WenQuanYi lacks ǎ ǐ ǒ ǔ ǚ)
        from gui.couplet_tab import pinyin_family

        assert any(c in TONE_MARKS for p in pinyin for c in p) and not any(c.isdigit() for p in pinyin for c in p)
        assert row.char_buttons[0].font().families()[0] == pinyin_family()
    from PySide6.QtWidgets import QLabel

    badges = [w for w in row.findChildren(QLabel) if "border-radius" in w.styleSheet()]
    assert len(badges) == 6 and all(b.toolTip() for b in badges)


def test_top_k_is_disabled_in_beam_mode(qtbot, tab):
    tab.temperature_slider.setValue(0)
    assert not tab.top_k_slider.isEnabled() and "beam" in tab.top_k_slider.toolTip()
    tab.temperature_slider.setValue(80)
    assert tab.top_k_slider.isEnabled()
