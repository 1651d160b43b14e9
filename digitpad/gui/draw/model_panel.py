"""The active model: what it says about itself, and what the app cannot show for it."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QSizePolicy, QVBoxLayout, QWidget

from digitpad.core.library import summary_lines

from ..text import PlainLabel, plain_label, set_item_tip


def _form_label(text: str) -> PlainLabel:
    return plain_label(text, "formLabel")


CLASSES_LISTED = 24   # names listed on the Model page; a 100-class model says how many more


def _classes(names: list[str]) -> str:
    listed = ", ".join(names[:CLASSES_LISTED])
    more = f", and {len(names) - CLASSES_LISTED} more" if len(names) > CLASSES_LISTED else ""
    return f"{len(names)}: {listed}{more}"


class ConventionChoice(QComboBox):
    """A file from elsewhere's input conventions, each with how well it read the reference digits;
    the one in use is current. ``chosen(Convention)`` when the user picks another."""

    chosen = Signal(object)

    def __init__(self, found, parent=None):
        super().__init__(parent)
        self.found = found
        used = found.used.convention
        for score in found.scores:
            best = "  (best)" if score is found.best else ""
            self.addItem(f"{score.convention.describe()}: {score.accuracy:.0%} of {score.n}{best}", score.convention)
            set_item_tip(self, self.count() - 1, f"class scores from the output {score.output!r}; the true class "
                                                 f"gets {score.confidence:.0%} on average")
            if score.convention == used:
                self.setCurrentIndex(self.count() - 1)
        self.activated.connect(lambda i: self.chosen.emit(self.itemData(i)))
        # Its items are long ("values -1..1, ink black on white: 100% of 200 (best)"): sized by them, the
        # combo widened the Model page past its pane. It fits the pane; the open list shows them whole.
        self.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(16)
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
        self.view().setTextElideMode(Qt.ElideNone)
        self.view().setMinimumWidth(self.view().sizeHintForColumn(0) + 24)


class ModelInfoView(QWidget):
    """The active model's metadata, and what the app cannot show for it."""

    conventionChosen = Signal(object)   # a core.convention.Convention for the active file from elsewhere

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(16, 14, 16, 14)
        # Everything here comes from the file (its name, its metadata, its graph): plain text.
        self.title = plain_label("No model loaded", "heading", wrap=True)  # style.py QSS; a long name wraps
        lay.addWidget(self.title)
        self.path = plain_label("", "muted", wrap=True)
        self.path.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.path)
        self.form = QFormLayout()
        self.form.setHorizontalSpacing(18)
        self.form.setVerticalSpacing(8)
        lay.addLayout(self.form)
        self.note = plain_label("", "muted", wrap=True)
        self.convention: ConventionChoice | None = None   # a file from elsewhere's choice of input convention
        lay.addWidget(self.note)
        lay.addStretch(1)

    def show_model(self, predictor) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.convention = None   # its row went with the others
        if predictor is None:
            self.title.setText("No model loaded")
            self.path.setText("")
            self.note.setText("")
            return
        self.title.setText(predictor.name)
        self.path.setText(str(predictor.path))
        rows = summary_lines(predictor.metadata)
        # What it takes and tells apart: from its input adapter and class names (file text: plain).
        rows[2:2] = predictor.input.describe() + [("Classes", _classes(predictor.classes))]
        for label, value in rows:
            v = plain_label(value, wrap=True)
            v.setTextInteractionFlags(Qt.TextSelectableByMouse)
            self.form.addRow(_form_label(label), v)
        io = f"input {predictor.input_name}; outputs {', '.join(predictor.output_names)}"
        graph = plain_label(io, wrap=True)
        self.form.addRow(_form_label("Graph"), graph)
        self._convention_rows(predictor)
        notes = []
        if predictor.metadata_error:
            notes.append(f"Its digitpad metadata could not be read ({predictor.metadata_error}).")
        if predictor.metadata is None and not predictor.foreign_pending:
            notes.append("Without digitpad metadata its layers are the conv layers found in its graph "
                         "(conv1, conv2, …, each read after its activation).")
        if not predictor.layers and not predictor.foreign_pending:
            notes.append("It exposes no layer activations, so there are no feature maps.")
        self.note.setText(" ".join(notes))

    def _convention_rows(self, predictor) -> None:
        """A file from elsewhere: how it wants its input, found by scoring (or still being found)."""
        if predictor.metadata is not None:
            return
        if predictor.foreign_pending:
            self.form.addRow(_form_label("Input convention"),
                             plain_label("Finding its layers and how it wants its input…", "muted", wrap=True))
            return
        found = predictor.convention
        if found is None:
            return
        self.form.addRow(_form_label("Input convention"),
                         plain_label(found.summary(predictor.input.spec.layout), wrap=True))
        self.convention = ConventionChoice(found)
        self.convention.chosen.connect(self.conventionChosen)
        self.form.addRow(_form_label("Feed it"), self.convention)
