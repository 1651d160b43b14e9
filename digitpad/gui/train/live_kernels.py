"""Beside the live curves: the running run's first-layer kernels and their feature maps of one fixed test
image, as the engine's latest ``snapshot`` event has them (RunState.snapshot, issue 23).

A view: it draws the snapshot and the words it is handed, with the map grids the Draw tab uses (gui.maps:
kernels on the diverging weight scale, maps on the activation scale; a colour first layer's kernels as
RGB patches, as the Kernels inspector shows them). Imports pyqtgraph: built with the curves.
"""
from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QSizePolicy, QVBoxLayout, QWidget

from digitpad.core.live_snapshot import LiveSnapshot

from ..images import thumbnail
from ..maps import WEIGHT_CMAP, MapGrid, kernel_rgb
from ..text import plain_label, set_tip
from ..widgets import muted

WIDTH = 230          # px: the panel beside the curves
DIGIT = 44           # px: the test image's thumbnail


class LiveKernelsView(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFixedWidth(WIDTH)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(4)
        col.addWidget(plain_label("FIRST LAYER, LIVE", "cardTitle"))
        top = QHBoxLayout()
        top.setSpacing(8)
        self.digit = plain_label()   # an image, no text
        self.digit.setFixedSize(DIGIT, DIGIT)
        set_tip(self.digit, "The test set's first image: the same all run, so the maps below change only "
                            "because the weights do.")
        top.addWidget(self.digit)
        words = QVBoxLayout()
        words.setSpacing(0)
        self.moment = muted("", wrap=False)
        self.about = muted("", wrap=True)
        self.about.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        words.addWidget(self.moment)
        words.addWidget(self.about)
        words.addStretch(1)
        top.addLayout(words, 1)
        col.addLayout(top)
        self.kernels_title = muted("Kernels", wrap=False)
        set_tip(self.kernels_title, "The first conv layer's filters at the latest weight snapshot (the model "
                                    "as it is evaluated: the weights' average when the run keeps one). Red "
                                    "weights are positive, blue negative.")
        col.addWidget(self.kernels_title)
        self.kernels = MapGrid(cmap=WEIGHT_CMAP, symmetric=True, bar=False)
        col.addWidget(self.kernels, 2)
        self.maps_title = muted("Feature maps", wrap=False)
        set_tip(self.maps_title, "What each of those filters makes of the test image, after the layer's "
                                 "activation: brighter is stronger.")
        col.addWidget(self.maps_title)
        self.maps = MapGrid(bar=False)
        col.addWidget(self.maps, 3)
        self.shown: LiveSnapshot | None | bool = False   # False: nothing drawn yet, not even "none"
        self.show_snapshot(None, "", "")

    def show_snapshot(self, snap: LiveSnapshot | None, moment: str, about: str) -> None:
        """Draw ``snap`` (None: nothing yet) with its two lines of words; a snapshot already drawn is not
        drawn again (the tab calls this at every redraw)."""
        self.moment.setText(moment)
        self.about.setText(about)
        if snap is self.shown:
            return
        self.shown = snap
        has = snap is not None
        for w in (self.kernels_title, self.kernels, self.maps_title, self.maps):
            w.setVisible(has)
        self.digit.setVisible(has)
        if not has:
            self.kernels.clear_maps()
            self.maps.clear_maps()
            self.digit.clear()
            return
        self.digit.setPixmap(thumbnail(snap.image, DIGIT))
        w = snap.kernels
        if w.shape[1] == 3:
            self.kernels.set_colour_maps(kernel_rgb(w))
        else:
            self.kernels.set_maps(w[:, 0])
        self.maps.set_maps(snap.maps)
        shown = len(snap.maps)
        more = f" (the first {shown} of {snap.channels})" if shown < snap.channels else ""
        self.maps_title.setText(f"Feature maps{more}")
        self.kernels_title.setText(f"Kernels of {snap.layer}, {w.shape[2]}x{w.shape[3]}")
