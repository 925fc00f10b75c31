"""The Attention tab (注意力): four views in a QTabWidget, one module each (explorer, studies,
masks, model_view).

Engine functions arrive as constructor keywords with lazy defaults (nothing heavy is
imported with this module); every job goes through the tab's one-job contract (gui.task).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from gui.attention.explorer import SoftmaxExplorer
from gui.attention.masks import MaskGallery
from gui.attention.model_view import ModelAttentionView
from gui.attention.studies import StudiesView
from gui.heatmap import save_widget_png
from gui.task import TaskTab
from gui.worker import JobRunner


def _default_list_attention_models() -> list[str]:
    from engine.attention.extract import list_attention_models

    return list_attention_models()


def _default_load_attention_model(name: str) -> Any:
    from engine.attention.extract import load_attention_model

    return load_attention_model(name)


def _default_extract_attention(model: Any, text: str, pair: str | None = None) -> Any:
    from engine.attention.extract import extract_attention

    return extract_attention(model, text, pair)


def _default_position_scores(model: Any, upper: str, position: int, top: int = 20):
    from engine.attention.extract import position_scores

    return position_scores(model, upper, position, top)


def _default_explorer_engine() -> tuple[Callable, type, Callable]:
    """(normalize_all, GumbelSampler, entropy); imports torch, so it runs in a worker once."""
    from engine.attention.normalizers import GumbelSampler, entropy, normalize_all

    return normalize_all, GumbelSampler, entropy


def _default_run_study(name: str):
    from engine.attention.studies import STUDIES

    return STUDIES[name][0]()


def _default_make_mask(kind: str, n: int, **params: Any) -> np.ndarray:
    from engine.attention.masks import make_mask

    return make_mask(kind, n, **params)


class AttentionTab(TaskTab):
    """Softmax explorer, studies, mask gallery and model attention (see the module docstring)."""

    folder_key = "attention"

    def __init__(self, runner: JobRunner, *,
                 list_attention_models: Callable[[], list[str]] = _default_list_attention_models,
                 load_attention_model: Callable[[str], Any] = _default_load_attention_model,
                 extract_attention: Callable[..., Any] = _default_extract_attention,
                 position_scores: Callable[..., Any] = _default_position_scores,
                 explorer_engine: Callable[[], tuple[Callable, type, Callable]] = _default_explorer_engine,
                 run_study: Callable[[str], Any] = _default_run_study,
                 make_mask: Callable[..., np.ndarray] = _default_make_mask,
                 parent: QWidget | None = None):
        super().__init__(runner, parent)
        self._load_attention_model = load_attention_model
        self._extract_attention = extract_attention
        self._position_scores = position_scores
        self._run_study = run_study
        try:
            self.model_names = list(list_attention_models())
        except Exception as exc:  # a damaged manifest must not take the tab down
            self.model_names = []
            self.show_message(f"Could not list the attention models: {exc}", error=True)

        self.views = QTabWidget(self)
        self.explorer = SoftmaxExplorer(self)
        self.studies = StudiesView(self)
        self.masks = MaskGallery(make_mask, self)
        self.model_view = ModelAttentionView(self)
        self.views.addTab(self.explorer, "Softmax explorer 归一化")
        self.views.addTab(self.studies, "Studies 实验")
        self.views.addTab(self.masks, "Mask gallery 掩码")
        self.views.addTab(self.model_view, "Model attention 模型注意力")
        layout = QVBoxLayout(self)
        layout.addWidget(self.views, 1)
        layout.addWidget(self.message_label)
        self.busy_changed.connect(self._update_enabled)

        # The explorer's normalisers need torch: import it off the GUI thread once.
        self.start_job(explorer_engine, on_result=self.explorer.engine_ready,
                       on_finished=self.explorer.engine_load_ended, status="Loading the softmax family…")

    def _update_enabled(self, busy: bool) -> None:
        self.studies.set_busy(busy)
        self.model_view.set_busy(busy)
        self.explorer.set_busy(busy)

    def export_dialog(self) -> None:
        """File → Export…: the current view (a study as CSV or PNG, the others as PNG)."""
        view = self.views.currentWidget()
        if view is self.studies:
            if self.studies.curves is None:
                self.show_message("Nothing to export yet: run a study first.")
                return
            path, fmt = self.ask_save_path("Export study", f"{self.studies.study_combo.currentData()}.csv",
                                           ["CSV files (*.csv)", "PNG images (*.png)"])
            if path:
                self.studies._export(self.studies.export_csv if fmt == "csv" else self.studies.export_png, path)
            return
        if view is self.model_view and self.model_view.result is not None:
            self.model_view._on_export_button_clicked()
            return
        widget = {self.explorer: self.explorer.graphics, self.masks: self.masks.heatmap.graphics}.get(view)
        if widget is None:
            self.show_message("Nothing to export yet.")
            return
        name = "softmax_explorer.png" if view is self.explorer else f"mask_{self.masks.kind_combo.currentData()}.png"
        path, _fmt = self.ask_save_path("Export view", name, ["PNG images (*.png)"])
        if path:
            self.studies._export(lambda p: save_widget_png(widget, p), path)

    # -- cross-tab hook -----------------------------------------------------------
    def show_pair(self, upper: str, lower: str) -> None:
        """Arrive from the couplet tab: show the model's attention over the pair."""
        self.views.setCurrentWidget(self.model_view)
        self.model_view.show_text(upper, lower)

    # -- screenshots ----------------------------------------------------------------
    def screenshot_states(self) -> list[tuple[str, Callable[[], None]]]:
        def explorer() -> None:
            self.views.setCurrentWidget(self.explorer)
            self.explorer.set_scores([2.0, 1.4, 1.1, 0.3, 0.0, -0.4, -1.0, -2.0],
                                     ["春", "风", "得", "意", "马", "蹄", "疾", "花"])
            self.explorer.set_parameters(tau=1.0, alpha=1.5, k=3)
            self.explorer.sample_now(20000)

        def studies() -> None:
            self.views.setCurrentWidget(self.studies)
            self.studies.run("entropy_scale")

        def masks() -> None:
            self.views.setCurrentWidget(self.masks)
            self.masks.set_pattern("strided", n=16, stride=4)

        def model() -> None:
            self.views.setCurrentWidget(self.model_view)
            if self.model_names:
                self.model_view.show_text("春风得意马蹄疾", None)

        return [("explorer", explorer), ("studies", studies), ("masks", masks), ("model", model)]
