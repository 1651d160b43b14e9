"""The Train form's "Data" row: where the chosen data set comes from, and what was found there.

Two ways in. A data set the app knows (MNIST, Fashion-MNIST, the UCI digits, CIFAR-10) is read from
the data folder every tab shares, or downloaded by the engine when it can be. A folder of the
user's own labelled pictures ("folder") is a folder of its own, chosen here and kept apart from the
shared one. Under both, one line says what was found (``show_preview``: classes, images per split)
or why it cannot be used, as soon as the Train tab has looked (off the UI thread).
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from digitpad.client.data_preview import DataPreview
from digitpad.core.datasets import DATASET_TITLES, DOWNLOADABLE

from ..text import plain_label, set_tip
from ..widgets import set_enabled

# Where each data set's files sit in a data folder, said where a folder is asked for.
PLACEHOLDERS = {"mnist": "folder with MNIST/raw/*.gz", "fashion-mnist": "folder with FashionMNIST/raw/*.gz",
                "optdigits": "folder with optdigits/optdigits.tra", "cifar10": "folder with cifar10/train/…"}



def _browse_button(tip: str) -> QPushButton:
    button = QPushButton("…")
    button.setStyleSheet("padding: 4px 6px;")
    button.setFixedWidth(34)
    set_tip(button, tip)
    return button


class DataSource(QWidget):
    """``changed``: the folder, the download choice or the picture folder was edited (by the user or
    by ``set_values``). ``ask_folder(title, start) -> str`` is the folder dialog (tests replace it)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.dataset = "mnist"
        self._editable = True
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(4)

        self.shared = QWidget()      # a data set the app knows: the shared data folder, or a download
        shared = QVBoxLayout(self.shared)
        shared.setContentsMargins(0, 0, 0, 0)
        shared.setSpacing(4)
        self.source_local = QRadioButton("Local folder")
        set_tip(self.source_local, "The folder that holds the data sets (shared by every tab)")
        self.source_download = QRadioButton("Download it")
        set_tip(self.source_download, "torchvision downloads the dataset into the app's data folder (once)")
        group = QButtonGroup(self)
        group.addButton(self.source_local)
        group.addButton(self.source_download)
        shared.addWidget(self.source_local)
        row = QHBoxLayout()
        self.data_dir = QLineEdit()
        self.data_dir.setMinimumWidth(60)
        self.browse = _browse_button("Choose the folder")
        self.browse.clicked.connect(self._browse_data)
        row.addWidget(self.data_dir, 1)
        row.addWidget(self.browse)
        shared.addLayout(row)
        shared.addWidget(self.source_download)
        col.addWidget(self.shared)

        self.own = QWidget()         # the user's labelled pictures
        own = QHBoxLayout(self.own)
        own.setContentsMargins(0, 0, 0, 0)
        self.image_dir = QLineEdit()
        self.image_dir.setMinimumWidth(60)
        self.image_dir.setPlaceholderText("a folder with a folder per class")
        set_tip(self.image_dir, "Your labelled pictures: a folder per class (named after it), or train/ and "
                                  "test/ each with a folder per class. PNG, JPEG, BMP, WebP, GIF, TIFF.")
        self.image_browse = _browse_button("Choose the folder of your pictures")
        self.image_browse.clicked.connect(self.browse_images)
        own.addWidget(self.image_dir, 1)
        own.addWidget(self.image_browse)
        col.addWidget(self.own)

        # What was found: filled in by the Train tab's look at the folder (off the UI thread).
        self.note = plain_label("", "muted", wrap=True)   # class names and paths from the user's files: plain
        col.addWidget(self.note)

        self.source_local.toggled.connect(self._local_toggled)
        self.data_dir.editingFinished.connect(self.changed)
        self.image_dir.editingFinished.connect(self.changed)
        self.set_dataset("mnist")

    # -- what it holds ---------------------------------------------------------------------------
    def values(self) -> tuple[str, bool, str]:
        """(data folder, download, picture folder)."""
        return self.data_dir.text().strip(), self.source_download.isChecked(), self.image_dir.text().strip()

    def set_values(self, data_dir: str, download: bool, image_folder: str) -> None:
        self.data_dir.setText(data_dir)
        self.image_dir.setText(image_folder)
        (self.source_download if download else self.source_local).setChecked(True)
        self._local_toggled(not download)
        self.changed.emit()

    def set_dataset(self, dataset: str) -> None:
        """Show the way in for ``dataset``: the picture folder for "folder", else the shared folder."""
        self.dataset = dataset
        own = dataset == "folder"
        self.own.setVisible(own)
        self.shared.setVisible(not own)
        self.data_dir.setPlaceholderText(PLACEHOLDERS.get(dataset, "folder with the data sets"))
        if self._editable:
            self._download_enabled()
        self.note.setText("")

    # -- what was found --------------------------------------------------------------------------
    def show_looking(self) -> None:
        self.note.setText("Looking at the data…")

    def show_progress(self, done: int, total: int) -> None:
        self.note.setText(f"Decoding sample pictures: {done:,} of {total:,}…")

    def show_preview(self, preview: DataPreview) -> None:
        self.note.setText(preview.summary())

    # -- editing ---------------------------------------------------------------------------------
    def ask_folder(self, title: str, start: str) -> str:
        return QFileDialog.getExistingDirectory(self, title, start)

    def browse_images(self) -> bool:
        """Ask for the picture folder; False when the user cancelled."""
        path = self.ask_folder("Folder of your labelled pictures", self.image_dir.text())
        if not path:
            return False
        self.image_dir.setText(path)
        self.changed.emit()
        return True

    def _browse_data(self) -> None:
        path = self.ask_folder("Folder with the datasets", self.data_dir.text())
        if path:
            self.data_dir.setText(path)
            self.source_local.setChecked(True)
            self.changed.emit()

    def _local_toggled(self, on: bool) -> None:
        self._data_dir_enabled(on)
        self.changed.emit()

    def _data_dir_enabled(self, on: bool) -> None:
        for w in (self.data_dir, self.browse):
            set_enabled(w, on, "“Download it” is chosen: the engine fetches the data set, no folder needed.")

    def _download_enabled(self) -> None:
        title = DATASET_TITLES.get(self.dataset, self.dataset)
        set_enabled(self.source_download, self.dataset in DOWNLOADABLE,
                    f"The {title} cannot be downloaded: they come as files; choose the folder that holds them.")

    def set_editable(self, on: bool, why: str) -> None:
        """Locked while a run goes on (``why`` says so), each control's own limits back after."""
        self._editable = on
        for w in (self.source_local, self.image_dir, self.image_browse):
            set_enabled(w, on, why)
        if on:
            self._download_enabled()
            self._data_dir_enabled(self.source_local.isChecked())
        else:
            for w in (self.source_download, self.data_dir, self.browse):
                set_enabled(w, False, why)
