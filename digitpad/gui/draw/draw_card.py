"""The Draw tab's left card for a digit model: the canvas and its tools, "Wrong? It was", the message
line, and in the card's title row, links to open a photo or scan of a handwritten digit instead
(Open photo…, Paste; a drop works too). The title row costs no height: at 1280x720 the card has none
to spare."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QSlider, QToolButton

from ..canvas import DrawingCanvas
from ..text import plain_label, set_tip
from ..widgets import Card, set_enabled
from .correction import CorrectionBar
from .message_line import MessageLine

CANVAS_SIZE = 400


class DrawCard(Card):
    """``canvas``, its tool buttons, ``corrections``, ``open_button`` / ``paste_button`` and ``message``.
    ``collection``: where "Wrong? It was: d" saves drawings. The card is as wide as the canvas
    (``set_canvas_side``: the tab makes it larger in a larger window)."""

    def __init__(self, collection, parent=None):
        super().__init__(None, parent)
        dl = self.body
        dl.addLayout(self._title_row())
        self.canvas = DrawingCanvas(size=CANVAS_SIZE)
        self.canvas.historyChanged.connect(self._update_tool_state)
        dl.addWidget(self.canvas, 0, Qt.AlignHCenter)
        dl.addLayout(self._tools())
        self.message = MessageLine()
        self.corrections = CorrectionBar(self.canvas, collection, message=self.message)
        dl.addWidget(self.corrections)
        line = QHBoxLayout()   # what the last action did, and Undo save beside it
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(self.message, 1)
        line.addWidget(self.corrections.undo_button, 0, Qt.AlignTop)
        dl.addLayout(line)
        dl.addStretch(1)
        self.setFixedWidth(CANVAS_SIZE + 30)

    def set_canvas_side(self, pixels: int) -> None:
        """The canvas ``pixels`` wide on screen, and the card around it."""
        self.canvas.set_side(pixels)
        self.setFixedWidth(self.canvas.width() + 30)

    def set_words(self, words) -> None:
        """What the card asks for, and whether "Wrong? It was" can keep a correction (``wording.Words``)."""
        self.message.tips = words.tips
        self.message.refresh()
        self.corrections.set_digits(words.digits)

    def _tools(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(6)
        row.setContentsMargins(0, 0, 0, 0)
        self.pen_button = QToolButton(text="Pen", checkable=True, checked=True)
        self.eraser_button = QToolButton(text="Eraser", checkable=True)
        group = QButtonGroup(self)
        group.addButton(self.pen_button)
        group.addButton(self.eraser_button)
        self.eraser_button.toggled.connect(lambda on: setattr(self.canvas, "eraser", on))
        row.addWidget(self.pen_button)
        row.addWidget(self.eraser_button)
        self.width_slider = QSlider(Qt.Horizontal)
        self.width_slider.setRange(8, 60)
        self.width_slider.setValue(int(self.canvas.pen_width))
        self.width_slider.setFixedWidth(64)
        set_tip(self.width_slider, "Pen width")
        self.width_slider.valueChanged.connect(self._set_pen_width)
        row.addWidget(self.width_slider)
        self.width_label = plain_label(f"{int(self.canvas.pen_width)} px", "muted")
        self.width_label.setFixedWidth(36)
        row.addWidget(self.width_label)
        row.addStretch(1)
        self.undo_button = QToolButton(text="Undo")
        set_tip(self.undo_button, "Undo stroke (Ctrl+Z)")
        self.undo_button.clicked.connect(self.canvas.undo)
        self.redo_button = QToolButton(text="Redo")
        set_tip(self.redo_button, "Redo stroke (Ctrl+Shift+Z)")
        self.redo_button.clicked.connect(self.canvas.redo)
        self.clear_button = QToolButton(text="Clear")
        set_tip(self.clear_button, "Clear the canvas (Esc, Delete)")
        self.clear_button.clicked.connect(self.canvas.clear)
        for b in (self.undo_button, self.redo_button, self.clear_button):
            row.addWidget(b)
        for b in (self.pen_button, self.eraser_button, self.undo_button, self.redo_button, self.clear_button):
            # QSS padding is not part of QToolButton's size hint: make room for the text.
            b.setMinimumWidth(b.fontMetrics().horizontalAdvance(b.text()) + 18)
        self._update_tool_state()
        return row

    def _title_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(2)
        row.setContentsMargins(0, 0, 0, 0)
        title = plain_label("DRAW", "cardTitle")
        row.addWidget(title)
        row.addStretch(1)
        self.open_button = QToolButton(text="Open photo…")
        set_tip(self.open_button, "Open a photo or scan of a handwritten digit, dark ink on light paper "
                                    "(Ctrl+Shift+O); or drop one on this tab")
        self.paste_button = QToolButton(text="Paste")
        set_tip(self.paste_button, "Paste a photo of a digit, or its file, from the clipboard (Ctrl+V)")
        for b in (self.open_button, self.paste_button):
            b.setObjectName("link")   # style.py: a link's look, as high as the title
            b.setFixedHeight(title.sizeHint().height())
            row.addWidget(b)
        return row

    def _set_pen_width(self, value: int) -> None:
        self.canvas.pen_width = float(value)
        self.width_label.setText(f"{value} px")

    def _update_tool_state(self) -> None:
        set_enabled(self.undo_button, self.canvas.can_undo(), "Nothing to undo: the canvas is empty.")
        set_enabled(self.redo_button, self.canvas.can_redo(), "Nothing to redo: a stroke you undo can be redone.")
        set_enabled(self.clear_button, not self.canvas.is_empty(), "The canvas is empty.")
