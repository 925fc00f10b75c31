"""Help → About: a short modal dialog (version, licence, device, the installed models with their
headline figures); a model's card opens from it.  Escape closes either."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QHeaderView, QLabel, QTableWidget,
                               QTableWidgetItem, QTextBrowser, QVBoxLayout, QWidget)

from engine import __version__

LICENCE = ("Mowen's code and models: no licence is declared in this copy yet (ask the authors before "
           "redistributing). Bundled font: WenQuanYi Micro Hei, Apache 2.0 or GPLv3 with the font exception "
           "(assets/fonts/wqy-microhei.LICENSE.txt).")
# headline figures per task: (metric key, label, format)
HEADLINES = {
    "segment": (("pku_test_f1", "PKU F1", "{:.1%}"), ("chars_per_s_1_thread", "speed", "{:,.0f} chars/s")),
    "couplet": (("bleu4", "BLEU-4", "{:.2f}"), ("hard_constraints", "constraints met", "{:.0%}"),
                ("ms_per_line", "", "{:.1f} ms/line")),
    "ocr": (("real_set_cer", "CER on real screenshots, scans and photos", "{:.2%}"),
            ("real_set_cer_rapidocr", "RapidOCR", "{:.2%}"), ("bench_clean_lines_cer", "clean lines", "{:.2%}")),
}


def headline(task: str, metrics: dict) -> str:
    parts = []
    for key, label, fmt in HEADLINES.get(task, ()):
        if isinstance(metrics.get(key), (int, float)):
            parts.append(f"{label} {fmt.format(metrics[key])}".strip())
    if not parts:  # an unknown task: its first three figures as they are
        parts = [f"{k} {v}" for k, v in list(metrics.items())[:3]]
    return ", ".join(parts)


def show_about(window: QWidget, device: str) -> QDialog:
    """A short modal dialog: version, licence, device and the models with their headline
    figures; double-click a model (or Model card…) for its card.  Escape closes it."""
    from html import escape

    from engine.registry import ModelError, list_models

    dialog = QDialog(window)
    dialog.setObjectName("about_dialog")
    dialog.setWindowTitle("About 墨文 Mowen")
    dialog.setModal(True)
    dialog.resize(720, 420)
    layout = QVBoxLayout(dialog)
    text = QLabel(f"<h2>墨文 Mowen {escape(__version__)}</h2>"
                  "<p>A workbench for Chinese text: OCR, word segmentation, couplets and attention, with "
                  "models trained by this project and run on this machine.</p>"
                  f"<p><b>{escape(device)}</b></p>"
                  f"<p><small>Licence: {escape(LICENCE)}</small></p>")
    text.setObjectName("about_text")
    text.setWordWrap(True)
    layout.addWidget(text)
    try:
        models = list_models()
    except ModelError as exc:
        models = []
        layout.addWidget(QLabel(f"The models cannot be listed: {exc}"))
    table = QTableWidget(len(models), 3, dialog)
    table.setObjectName("about_models")
    table.setHorizontalHeaderLabels(["task", "model", "headline figures"])
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
    table.verticalHeader().setVisible(False)
    for row, entry in enumerate(models):
        for col, value in enumerate((entry.task, entry.name + (" *" if entry.default else ""),
                                     headline(entry.task, entry.metrics))):
            item = QTableWidgetItem(value)
            item.setToolTip(entry.summary or value)
            table.setItem(row, col, item)
    table.resizeColumnsToContents()
    layout.addWidget(table, 1)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
    card_button = buttons.addButton("Model card… 模型说明", QDialogButtonBox.ButtonRole.ActionRole)
    card_button.setEnabled(bool(models))

    def open_card(*_args) -> None:
        row = max(0, table.currentRow())
        if models:
            dialog.card = show_model_card(models[row], dialog)

    card_button.clicked.connect(open_card)
    table.cellDoubleClicked.connect(open_card)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog

def show_model_card(entry, parent: QWidget) -> QDialog:
    dialog = QDialog(parent)
    dialog.setObjectName("model_card")
    dialog.setWindowTitle(f"{entry.task}: {entry.name}")
    dialog.resize(760, 600)
    layout = QVBoxLayout(dialog)
    browser = QTextBrowser(dialog)
    browser.setMarkdown(entry.card() or "This model has no card (MODEL.md).")
    layout.addWidget(browser)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog
