"""Help > digitpad Help (F1): the keyboard shortcuts, and what each view shows and how to read it.

The shortcuts listed here are the window's own: ``tests/gui/test_help.py`` finds every one of them
among the window's actions and shortcuts, so the page cannot promise a key that does nothing.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFrame, QScrollArea, QVBoxLayout

from . import style
from .text import Html, rich, rich_label

# (keys as QKeySequence reads them, where, what they do)
SHORTCUTS = [
    ("Ctrl+O", "anywhere", "Open an ONNX model file"),
    ("Ctrl+Q", "anywhere", "Quit"),
    ("F1", "anywhere", "This help"),
    ("Ctrl+Z", "Draw tab", "Undo a stroke (or a Clear, or a picture put on the canvas); a right-click too"),
    ("Ctrl+Shift+Z", "Draw tab", "Redo a stroke (Ctrl+Y too)"),
    ("Esc", "Draw tab", "Clear the canvas (Delete too); Undo brings it back"),
    ("0 … 9", "Draw tab, after drawing", "“Wrong? It was”: save the drawing to My digits as that digit "
                                         "(Undo save takes it out again)"),
    ("Ctrl+V", "Draw tab", "Paste a picture, or a picture file, from the clipboard"),
    ("Ctrl+Shift+O", "Draw tab", "Open a picture (a photo of a handwritten digit, or any image for a photo model)"),
    ("Enter", "My digits, guided set", "Save the drawing as the digit asked for, and ask for the next"),
    ("Ctrl+Z", "My digits", "Undo delete: bring back the samples deleted last"),
]

# (view, what it shows, how to read it)
VIEWS = [
    ("Draw › Prediction", "The model's answer: the likeliest class large, its probability, and a bar per class.",
     "“Not sure” when no class reaches 80 %. A digit model with a calibrated rule also says when a "
     "drawing does not look like a digit (its digit score, below the model's threshold)."),
    ("Draw › What the network sees", "The exact input the network is given, one square per input pixel: the "
     "drawing cropped, scaled and centred as its training images were (8×8 counts for a UCI-digits model).",
     "Show saliency colours where covering the image changes the answer: warm supports it, cool argues "
     "against it."),
    ("Draw › Feature maps", "What each unit of a layer computes for the image, one small map per channel, "
     "all on one colour scale.",
     "Click a map to see it large beside its kernel; click a pixel of the large map for its arithmetic. "
     "Dimmed rows and columns feed nothing further on."),
    ("Draw › Kernels", "The learned weights of a layer, one small grid per output channel and input channel "
     "(the first layer of a photo model as colour patches).",
     "Red weights add, blue ones subtract, white ones do little."),
    ("Draw › Arithmetic", "Any number the network computes, recomputed from its inputs: a conv's window × "
     "kernel = products and their sum, a pool's window, a dense layer's largest contributions, softmax.",
     "Each value is checked against ONNX Runtime's. Links lead to the numbers it was made from; Back "
     "returns."),
    ("Draw › Learn", "Backpropagation for the image shown: the loss −log p(label) for the answer, your correction or "
     "any class, and its gradient over the image, a layer's kernels or its feature maps. Take one step moves "
     "every weight once against its gradient, in a copy of the model.",
     "Warm over the image: more ink there lowers the loss. After a step: the probabilities, kernels and maps "
     "before and after, and the accuracy on a test-set sample. Nothing is saved unless you press Save as "
     "model; a click on a map's gradient shows that unit's arithmetic, backward side included."),
    ("Draw › Model", "What the file says of itself (data set, classes, accuracy, training), what it takes as "
     "input, and every stage's shape with its formula, parameters and multiply-adds.",
     "What if? recomputes the shapes for other kernels, paddings, strides or input sizes; the model itself "
     "is not changed."),
    ("Train", "Set up a run on the left (a preset, then any change), watch it learn on the right: loss, test "
     "accuracy and learning rate, live; the runs history; the data set's pictures.",
     "A run uses the same engine as digitpad-train in a shell, in its own process. Stop keeps a "
     "checkpoint: Resume continues it, even after a restart."),
    ("Evaluate", "The active model on its whole test set: the confusion matrix (rows the true class, "
     "columns the prediction) and a gallery of the images of any cell.",
     "The last column is each class's accuracy. Open a test image in the Draw tab to look inside the "
     "network as it reads it."),
    ("My digits", "Your own handwriting: the digits you corrected in the Draw tab or drew in the guided set, "
     "and what the active model reads of each.",
     "Fine-tuning teaches the active model your hand; the digits it holds out measure it before and after."),
]


def help_html() -> Html:
    keys = Html("").join(rich("<tr><td style='padding:2px 14px 2px 0'><b>{k}</b></td>"
                              "<td style='padding:2px 14px 2px 0; color:{muted}'>{where}</td><td>{what}</td></tr>",
                              k=k, muted=style.MUTED, where=where, what=what) for k, where, what in SHORTCUTS)
    views = Html("").join(rich("<p><b>{name}</b><br>{shows}<br><span style='color:{muted}'>{read}</span></p>",
                               name=name, shows=shows, muted=style.MUTED, read=read) for name, shows, read in VIEWS)
    return rich("<h3>Keyboard shortcuts</h3><table cellspacing='0'>{keys}</table>"
                "<h3>What each view shows</h3>{views}", keys=keys, views=views)


class HelpDialog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("digitpad Help")
        self.resize(720, 640)
        lay = QVBoxLayout(self)
        self.text = rich_label(help_html(), wrap=True)
        self.text.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.text.setContentsMargins(8, 4, 8, 4)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setWidget(self.text)
        lay.addWidget(scroll, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
