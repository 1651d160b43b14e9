"""Help > About digitpad: the version, what the app is, where it keeps its data, and whose
data its models learnt from (the licences that come with them)."""
from __future__ import annotations

from importlib import metadata

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPushButton, QVBoxLayout

from digitpad.core import paths

from .text import Html, rich, rich_label, set_tip

WHAT = ("Draw a digit (or open a picture) and watch a convolutional network read it, live: the input it "
        "really sees, every layer's feature maps, the learned kernels and where it looks. Train new networks "
        "on digits, clothes, CIFAR-10 photos or your own pictures in the background, evaluate them, and "
        "fine-tune them on your own handwriting.")

# The data the shipped model and the engine's presets learn from, and how their owners ask to be credited.
DATA_CREDITS = [
    ("MNIST", "Yann LeCun, Corinna Cortes and Christopher J. C. Burges; a derivative of NIST's databases. "
              "Made available under the Creative Commons Attribution-Share Alike 3.0 licence (CC BY-SA 3.0). "
              "200 of its test digits ship with the app, unchanged, to find how a model from elsewhere "
              "wants its input (same licence)."),
    ("UNIPEN 1a (pen-recorded digits)", "UNIPEN project, International Unipen Foundation. "
                                        "Creative Commons Attribution 4.0 licence (CC BY 4.0); "
                                        "copy of the Zenodo record 10.5281/zenodo.1195803."),
    ("Fashion-MNIST (Train tab, optional)", "Zalando Research; MIT licence."),
    ("UCI 8×8 digits, optdigits (Train tab, optional; the seed004 and optdigits presets)",
     "E. Alpaydin and C. Kaynak, Bogazici University (1998), \u201cOptical Recognition of Handwritten "
     "Digits\u201d, UCI Machine Learning Repository, doi 10.24432/C50P49. Creative Commons Attribution 4.0 "
     "licence (CC BY 4.0); read from its files, not redistributed."),
    ("CIFAR-10 (Train tab, optional)", "Alex Krizhevsky, Vinod Nair and Geoffrey Hinton, University of Toronto "
                                       "(Krizhevsky 2009, \u201cLearning Multiple Layers of Features from Tiny "
                                       "Images\u201d); downloaded from its authors' page, not redistributed."),
]


def version() -> str:
    try:
        return metadata.version("digitpad")
    except metadata.PackageNotFoundError:
        return "unknown (not installed as a package)"


def about_html(data_dir=None) -> Html:
    credits = Html("").join(rich("<li><b>{}</b>: {}</li>", name, text) for name, text in DATA_CREDITS)
    return rich("<h3 style='margin-bottom:2px'>digitpad {version}</h3><p>{what}</p>"
                "<p><b>Your data folder</b> (models, My digits, settings, downloaded data sets):<br>"
                "<code>{folder}</code></p>"
                "<p><b>Data the models learn from</b></p><ul style='margin-left:-20px'>{credits}</ul>",
                version=version(), what=WHAT, folder=str(data_dir or paths.data_dir()), credits=credits)


class AboutDialog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("About digitpad")
        lay = QVBoxLayout(self)
        self.text = rich_label(about_html(), wrap=True)
        self.text.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.text.setMinimumWidth(520)
        lay.addWidget(self.text)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        self.open_folder = QPushButton("Open the data folder")
        set_tip(self.open_folder, str(paths.data_dir()))
        self.open_folder.clicked.connect(self._open_folder)
        buttons.addButton(self.open_folder, QDialogButtonBox.ActionRole)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def _open_folder(self) -> None:
        folder = paths.data_dir()
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
