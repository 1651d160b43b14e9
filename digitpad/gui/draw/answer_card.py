"""The Draw tab's middle card: the answer (a bar per class) and the input the network sees, with
saliency on request. Both have a minimum that fits a 720 px window; a taller one gives them room up
to a maximum each, and the rest stays below."""
from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QSizePolicy, QVBoxLayout, QWidget

from .. import style
from ..text import plain_label, rich, rich_label
from ..widgets import Card
from .input_view import ModelInputView
from .prediction import PredictionPanel

SEES = "WHAT THE NETWORK SEES"


class AnswerCard(Card):
    """``panel`` (the answer), ``input_view``, ``saliency_box`` and its legend."""

    def __init__(self, parent=None):
        super().__init__("Prediction", parent)
        column = QWidget()
        al = QVBoxLayout(column)
        al.setContentsMargins(0, 0, 0, 0)
        al.setSpacing(self.body.spacing())
        self.panel = PredictionPanel()
        al.addWidget(self.panel)
        self.sees_label = sees = plain_label(SEES, "cardTitle")
        al.addWidget(sees)
        self.input_view = ModelInputView()
        al.addWidget(self.input_view)
        self.saliency_box = QCheckBox("Show saliency (where it looks)")
        al.addWidget(self.saliency_box)
        # Colour swatches as on the black image.
        self.saliency_legend = rich_label(rich(
            "<span style='background-color:{bg}; color:{supports}'>■</span> supports the answer   "
            "<span style='background-color:{bg}; color:{against}'>■</span> argues against",
            bg=style.INPUT_BG, supports=style.SUPPORTS, against=style.ARGUES_AGAINST), "muted")
        al.addWidget(self.saliency_legend)
        for label in (sees, self.saliency_box, self.saliency_legend):
            label.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)
        # Kept in place when hidden: turning saliency on must not move anything.
        policy = self.saliency_legend.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.saliency_legend.setSizePolicy(policy)
        self.saliency_legend.setVisible(False)
        # The column takes the height it can use (up to its items' maxima); the rest stays below it.
        column.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Expanding)
        column.setMaximumHeight(al.maximumSize().height())
        self.body.addWidget(column, 100)
        self.body.addStretch(1)
        self.setFixedWidth(300)

    def show_model(self, predictor) -> None:
        """The active model's classes, its not-a-digit threshold and its input's size and kind."""
        if predictor is None:
            return
        self.panel.set_classes(predictor.classes)
        rule = predictor.not_digit_rule
        self.panel.set_threshold(rule.threshold if rule is not None else None, digits=predictor.input.drawn)
        size, colour = predictor.input_size, predictor.input.colour
        self.input_view.set_input_size(size, predictor.input_channels)
        # "32×32 RGB" without spaces: the title must fit the card's 270 px at 1280x720.
        extra = f" · {size}×{size} RGB" if colour else f" · {size} × {size}" if size != 28 else ""
        self.sees_label.setText(SEES + extra)

    def set_saliency_visible(self, on: bool) -> None:
        self.input_view.set_saliency_visible(on)
        self.saliency_legend.setVisible(on)
