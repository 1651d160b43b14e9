"""What the Draw tab asks for and says about the model, in the model's own terms.

A model says what it reads (``predictor.input.drawn``: the canvas, or pictures) and what it tells
apart (``predictor.classes``, from its metadata). The words follow: "Draw a digit" only for a model
whose classes are the ten digits; a drawn model of other classes (letters, symbols) is asked for one
of them by name; a model that takes pictures is asked for a picture. Every prompt and tip of the
tab comes from here, so no view assumes digits."""
from __future__ import annotations

from dataclasses import dataclass

from digitpad.core.contract import MNIST_CLASSES

UNDO_TIPS = "Esc clears; Ctrl+Z or a right-click undoes a stroke, Ctrl+Shift+Z redoes."
PICTURE_PROMPT = "Pick a test image, or open a picture"
LISTED = 4   # class names quoted in a prompt


@dataclass(frozen=True)
class Words:
    prompt: str     # what the views ask for while nothing is shown ("Draw a digit")
    empty: str      # the answer's line while nothing is shown ("Draw a digit on the canvas")
    tips: str       # the canvas's message line while there is nothing else to say
    thing: str      # what one input is: "digit", "drawing", "picture"
    digits: bool    # the classes are the ten digits: My digits can keep its corrections


def reads_digits(classes) -> bool:
    """The classes are the ten digits, in order (what My digits keeps, what "digit" means)."""
    return list(classes) == MNIST_CLASSES


def _some(classes: list[str]) -> str:
    names = ", ".join(classes[:LISTED])
    return names + (", …" if len(classes) > LISTED else "")


def words_for(predictor) -> Words:
    """The words for the active model (None: no model)."""
    if predictor is None:
        return Words("Open a model", "No model loaded: open an ONNX file", "Open a model: File › Open ONNX file…",
                     "drawing", False)
    if not predictor.input.drawn:
        return Words(PICTURE_PROMPT, PICTURE_PROMPT, "", "picture", False)
    if reads_digits(predictor.classes):
        return Words("Draw a digit", "Draw a digit on the canvas", f"Draw one digit, large. {UNDO_TIPS}", "digit",
                     True)
    some = _some(list(predictor.classes))
    return Words("Draw one of its classes", f"Draw one of: {some}", f"Draw one of {some}, large. {UNDO_TIPS}",
                 "drawing", False)
