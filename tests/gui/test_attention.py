"""The Attention tab driven through its widgets (offscreen), with a fake transformer."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from gui.attention import AttentionTab


class FakeAttentionModel:
    """The couplet transformer's attention protocol without transformers: 2 layers × 3 heads.

    Each head's map is a row softmax of fixed pseudo-random scores, so rows sum to 1.
    """

    layers, heads = 2, 3

    def __init__(self):
        self.calls: list[tuple[str, str | None]] = []

    def attention_inputs(self, upper, lower=None):
        import torch

        self.calls.append((upper, lower))
        tokens = ["[CLS]", *upper, "[SEP]"] + ([*lower, "[SEP]"] if lower else [])
        return tokens, {"length": torch.tensor(len(tokens))}

    def hf_model(self, *, length, output_attentions=False):
        import torch

        assert output_attentions
        t = int(length)
        generator = torch.Generator().manual_seed(t)
        maps = tuple(torch.softmax(2 * torch.randn(1, self.heads, t, t, generator=generator), dim=-1)
                     for _ in range(self.layers))
        return type("Output", (), {"attentions": maps})()

    def position_logits(self, upper, position):
        vocab = [chr(0x4E00 + i) for i in range(50)]
        return vocab, np.linspace(5.0, -5.0, 50) + position


@pytest.fixture
def fake_model():
    return FakeAttentionModel()


@pytest.fixture
def tab(qtbot, runner, fake_model):
    widget = AttentionTab(runner, list_attention_models=lambda: ["fake-bert"],
                          load_attention_model=lambda name: fake_model)
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    # the normalisers (torch) load in a worker; the explorer draws once they arrive
    qtbot.waitUntil(lambda: widget.explorer.results != {}, timeout=30000)
    qtbot.waitUntil(lambda: not widget.busy, timeout=5000)
    return widget


def bar_heights(tab, kind):
    return np.array(tab.explorer.bars[kind].opts["height"], dtype=float)


def test_moving_sliders_changes_the_plotted_bars(tab, qtbot):
    explorer = tab.explorer
    before = {kind: bar_heights(tab, kind) for kind in explorer.bars}
    assert all(h.sum() == pytest.approx(1.0) for k, h in before.items() if k != "smooth_topk")
    assert before["smooth_topk"].sum() == pytest.approx(explorer.k)

    explorer.tau_slider.setFocus()
    for _ in range(30):
        qtbot.keyClick(explorer.tau_slider, Qt.Key.Key_Left)  # lower temperature: sharper
    assert explorer.tau < 0.8
    after = {kind: bar_heights(tab, kind) for kind in explorer.bars}
    assert after["softmax"].max() > before["softmax"].max()
    assert not np.allclose(after["sparsemax"], before["sparsemax"])
    # the stats table follows the bars
    assert float(explorer.stats.item(0, 2).text()) == pytest.approx(after["softmax"].max(), abs=1e-3)

    alpha_before = bar_heights(tab, "entmax")
    explorer.alpha_slider.setValue(explorer.alpha_slider.value() + 100)  # α 1.5 -> 2.5: sparser
    assert not np.allclose(bar_heights(tab, "entmax"), alpha_before)
    k_before = bar_heights(tab, "smooth_topk")
    explorer.k_slider.setValue(40)
    assert bar_heights(tab, "smooth_topk").sum() == pytest.approx(4.0)
    assert not np.allclose(bar_heights(tab, "smooth_topk"), k_before)
    assert int(explorer.stats.item(1, 1).text()) == 4  # sparse softmax keeps k = 4 entries


def test_editing_a_score_and_gumbel_histogram_converges(tab, qtbot):
    explorer = tab.explorer
    explorer.table.item(0, 1).setText("9")  # a dominant score
    assert bar_heights(tab, "sparsemax")[0] == pytest.approx(1.0)
    explorer.sample_button.click()
    qtbot.waitUntil(lambda: explorer._sampler.total >= 4000, timeout=20000)
    explorer.sample_button.click()
    sampler = explorer._sampler
    heights = np.array(explorer.gumbel_bars.opts["height"], dtype=float)
    np.testing.assert_allclose(heights, sampler.frequencies)
    explorer.sample_now(100000)
    assert sampler.total_variation() < 0.01
    assert "N = " in explorer.gumbel_label.text()


def test_scores_from_the_model(tab, qtbot):
    explorer = tab.explorer
    explorer.upper_edit.setText("春风得意")
    explorer.position_spin.setValue(2)
    explorer.model_button.click()
    qtbot.waitUntil(lambda: explorer.table.rowCount() == 20, timeout=20000)
    labels, scores = explorer.scores()
    assert labels[0] == chr(0x4E00) and scores[0] == pytest.approx(7.0, abs=1e-3)
    assert list(scores) == sorted(scores, reverse=True)


def test_model_attention_view_shows_a_t_by_t_image(tab, qtbot, fake_model):
    view = tab.model_view
    tab.views.setCurrentWidget(view)
    assert not view.empty_label.isVisible()
    view.upper_edit.clear()
    # QTest.keyClicks aborts on non-Latin-1 text, so type as an input method would: insert
    view.upper_edit.insert("春风得意马蹄疾")
    qtbot.keyClick(view.upper_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: view.result is not None, timeout=30000)
    image = view.heatmap.matrix()
    assert image.shape == (9, 9)  # [CLS] + 7 characters + [SEP]
    assert view.heatmap.tick_labels()[1][1:8] == list("春风得意马蹄疾")
    np.testing.assert_allclose(image, view.result.weights[0].mean(0), atol=1e-6)
    np.testing.assert_allclose(image.sum(1), 1.0, atol=1e-5)
    assert view.heatmap.image_item.image.shape == (9, 9)
    view.select(1, 2)  # slicing only: no new job
    np.testing.assert_array_equal(view.heatmap.matrix(), view.result.weights[1, 2])
    assert fake_model.calls == [("春风得意马蹄疾", None)]
    assert len(view.entropy_bars.opts["height"]) == 3


def test_show_pair_switches_view_and_extracts(tab, qtbot, fake_model, tmp_path):
    tab.show_pair("春风", "秋雨")
    assert tab.views.currentWidget() is tab.model_view
    qtbot.waitUntil(lambda: tab.model_view.result is not None, timeout=30000)
    assert tab.model_view.heatmap.matrix().shape == (7, 7)
    assert fake_model.calls[-1] == ("春风", "秋雨")
    target = tmp_path / "map.png"
    tab.model_view.heatmap.export_png(target)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_mask_gallery_shows_the_right_matrix(tab):
    from engine.attention.masks import make_mask

    gallery = tab.masks
    gallery.set_pattern("unilm", n=10, prefix=4)
    np.testing.assert_array_equal(gallery.current_mask().astype(bool), make_mask("unilm", 10, prefix=4))
    gallery.kind_combo.setCurrentIndex(gallery.kind_combo.findData("local"))
    gallery.window_spin.setValue(1)
    np.testing.assert_array_equal(gallery.current_mask().astype(bool), make_mask("local", 10, window=1))
    gallery.causal_check.setChecked(True)
    np.testing.assert_array_equal(gallery.current_mask().astype(bool),
                                  make_mask("local", 10, window=1, causal=True))
    assert "of 100" in gallery.density_label.text()


def test_a_study_runs_to_completion_and_exports(tab, qtbot, tmp_path):
    studies = tab.studies
    tab.views.setCurrentWidget(studies)
    partial_sizes = []
    tab.runner.started.connect(lambda worker: worker.progressed.connect(
        lambda report: partial_sizes.append(len(report.partial.n_values))))
    studies.study_combo.setCurrentIndex(0)  # noise robustness
    qtbot.mouseClick(studies.run_button, Qt.MouseButton.LeftButton)
    assert not studies.run_button.isEnabled() and tab.busy
    qtbot.waitUntil(lambda: studies.finished_curves is not None, timeout=60000)
    qtbot.waitUntil(lambda: studies.run_button.isEnabled(), timeout=5000)
    assert partial_sizes == sorted(partial_sizes) and partial_sizes[-1] == 9  # curves grew
    lines = studies.plotted_lines()
    assert len(lines) == 6 and all(len(x) == 9 for _label, x, _y in lines)
    assert studies.plot.getAxis("bottom").labelText.startswith("n")
    csv_path, png_path = tmp_path / "study.csv", tmp_path / "study.png"
    studies.export_csv(csv_path)
    studies.export_png(png_path)
    assert csv_path.read_text().splitlines()[0].startswith("n,simulated_sigma=")
    assert png_path.stat().st_size > 1000


def test_cancelling_a_study_keeps_partial_curves(qtbot, runner):
    def slow_study(name):
        from engine.attention.studies import noise_robustness_study

        import time

        for report in noise_robustness_study((8, 16, 32, 64, 128), trials=10):
            time.sleep(0.3)
            yield report

    widget = AttentionTab(runner, list_attention_models=lambda: [], run_study=slow_study)
    qtbot.addWidget(widget)
    qtbot.waitUntil(lambda: not widget.busy, timeout=30000)
    widget.studies.run("noise")
    qtbot.waitUntil(lambda: widget.studies.curves is not None, timeout=10000)
    qtbot.keyClick(widget.studies.study_combo, Qt.Key.Key_Escape)  # or the status bar's Cancel
    qtbot.waitUntil(lambda: widget.studies.run_button.isEnabled(), timeout=10000)
    assert widget.studies.finished_curves is None
    assert 1 <= len(widget.studies.curves.n_values) < 5


def test_without_models_the_view_says_so(qtbot, runner):
    widget = AttentionTab(runner, list_attention_models=lambda: [])
    qtbot.addWidget(widget)
    widget.views.setCurrentWidget(widget.model_view)
    widget.show()
    assert widget.model_view.empty_label.isVisible()
    assert "No transformer model" in widget.model_view.empty_label.text()
    assert not widget.model_view.show_button.isEnabled()
    qtbot.waitUntil(lambda: not widget.busy, timeout=30000)
    assert not widget.explorer.model_button.isEnabled()


def test_screenshot_states_cover_every_view(tab, qtbot):
    states = tab.screenshot_states()
    assert [name for name, _ in states] == ["explorer", "studies", "masks", "model"]
    for _name, prepare in states:
        prepare()
        qtbot.waitUntil(lambda: not tab.busy, timeout=60000)
    assert tab.model_view.result is not None
    assert tab.studies.finished_curves is not None


def test_importing_the_tab_is_light():
    import subprocess
    import sys

    code = "import sys, gui.attention; print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=__import__("pathlib").Path(__file__).resolve().parents[2])
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_a_non_numeric_score_is_flagged_not_silently_dropped(tab):
    explorer = tab.explorer
    explorer.table.item(2, 1).setText("abc")
    assert explorer.invalid_rows == [2]
    assert "Row 3" in explorer.status_label.text() and explorer.table.item(2, 1).toolTip()
    assert len(bar_heights(tab, "softmax")) == explorer.table.rowCount() - 1
    explorer.table.item(2, 1).setText("0.5")
    assert explorer.invalid_rows == [] and explorer.status_label.text() == ""
    assert len(bar_heights(tab, "softmax")) == explorer.table.rowCount()


def test_loading_note_goes_when_loading_fails(qtbot, runner):
    def broken_engine():
        raise OSError(2, "No such file or directory", "libtorch.so")

    widget = AttentionTab(runner, list_attention_models=lambda: [], explorer_engine=broken_engine)
    qtbot.addWidget(widget)
    assert widget.explorer.status_label.text().startswith("Loading")
    qtbot.waitUntil(lambda: not widget.busy, timeout=10000)
    assert widget.explorer.status_label.text() == "" and "libtorch.so" in widget.message()


def test_study_descriptions_have_no_tex_or_internal_references():
    from gui.attention.studies import STUDY_CHOICES

    for _key, _title, text in STUDY_CHOICES:
        assert not any(mark in text for mark in ("{", "}", "\\", "^", "seed", "注意力和")), text


def test_log_axes_label_only_non_overlapping_ticks():
    from gui.attention.studies import decade_ticks, log_ticks

    n = (4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)
    ticks = log_ticks(n)
    assert len(ticks) <= 8 and ticks[0] == (np.log10(4), "4")
    gaps = np.diff([t for t, _ in ticks])
    assert gaps.min() >= np.log10(2) * 0.99  # at least a factor of two apart
    assert decade_ticks([0.003, 0.2, 5.0]) == [(-3.0, "10⁻³"), (-2.0, "10⁻²"), (-1.0, "10⁻¹"), (0.0, "10⁰"),
                                               (1.0, "10¹")]


def test_pyqtgraph_is_configured_once_without_global_antialiasing():
    from pathlib import Path

    import pyqtgraph as pg

    import gui.attention  # noqa: F401

    gui_dir = Path(__file__).resolve().parents[2] / "gui"
    calls = [p for p in gui_dir.rglob("*.py") for line in p.read_text(encoding="utf-8").splitlines()
             if "pg.setConfigOptions(" in line]
    assert [p.name for p in calls] == ["heatmap.py"]
    assert pg.getConfigOption("antialias") is False and pg.getConfigOption("imageAxisOrder") == "row-major"


def test_each_view_is_its_own_module():
    from gui.attention.explorer import SoftmaxExplorer
    from gui.attention.masks import MaskGallery
    from gui.attention.model_view import ModelAttentionView
    from gui.attention.studies import StudiesView

    assert {cls.__module__ for cls in (SoftmaxExplorer, MaskGallery, ModelAttentionView, StudiesView)} == {
        "gui.attention.explorer", "gui.attention.masks", "gui.attention.model_view", "gui.attention.studies"}
