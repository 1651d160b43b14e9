"""The Train tab's "Data set" page: the chosen data set's class names, how many images each has, and a
row of sample images per class (in colour for photos), so a wrong folder or a mislabelled class is
seen before an hour of training.

A view: it shows a ``client.data_preview.DataPreview`` the tab had made off the UI thread.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from digitpad.client.data_preview import DataPreview

from ..images import thumbnail
from ..text import plain_label, set_tip
from ..widgets import card, thin_progress_bar

THUMB = 60            # about this many pixels across; an integer multiple of the image's side
GAP = 4


def thumb_side(side: int) -> int:
    """Shown side of a ``side``-pixel image: a whole multiple, so its pixels stay square."""
    return side * max(1, round(THUMB / side))


class _ClassBlock(QWidget):
    """One class: its name and counts over a row of its sample images (as many as its width holds)."""

    def __init__(self, name: str, counts: str, samples: list, empty: str):
        super().__init__()
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(3)
        self.name, self.counts = name, f" · {counts}" if counts else ""
        self.text = name + self.counts
        self.title = plain_label()          # a class name: a folder's name, shown as written
        set_tip(self.title, self.text)
        self.title.setStyleSheet("font-weight: 600;")
        col.addWidget(self.title)
        row = QHBoxLayout()
        row.setSpacing(GAP)
        self.pictures: list[QLabel] = []
        for image in samples:
            side = thumb_side(image.shape[-1])
            pic = plain_label()
            pic.setPixmap(thumbnail(image, side))
            pic.setFixedSize(side, side)
            set_tip(pic, name)
            row.addWidget(pic)
            self.pictures.append(pic)
        if not samples and empty:
            row.addWidget(plain_label(empty, "muted"))
        row.addStretch(1)
        col.addLayout(row)

    def fit(self, width: int) -> None:
        """Show the pictures that fit in ``width``, the name elided to it."""
        fits = (width + GAP) // (self.pictures[0].width() + GAP) if self.pictures else 0
        for i, pic in enumerate(self.pictures):
            pic.setVisible(i < fits)
        # a long name gives way, its counts stay
        metrics = self.title.fontMetrics()
        room = max(width - metrics.horizontalAdvance(self.counts), width // 3)
        self.title.setText(metrics.elidedText(self.name, Qt.ElideRight, room) + self.counts)
        self.setFixedWidth(width)


class _Blocks(QWidget):
    """The class blocks in columns, each showing as many of its pictures as fit (re-laid out when the
    width changes): two columns of five pictures at 1280x720, three of six at 1920x1080."""

    MIN_PICTURES = 4     # a column narrower than this many pictures is not worth having

    def __init__(self):
        super().__init__()
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(24)
        self.grid.setVerticalSpacing(12)
        self.blocks: list[_ClassBlock] = []
        self.step = THUMB + GAP          # one picture and the gap after it
        self.most = 1                    # pictures in the fullest block
        self._placed: tuple[int, int] | None = None

    def set_blocks(self, blocks: list[_ClassBlock], side: int, most: int) -> None:
        for b in self.blocks:
            self.grid.removeWidget(b)
            b.deleteLater()
        self.blocks, self.step, self.most, self._placed = blocks, side + GAP, max(most, 1), None
        self._place()

    def _place(self) -> None:
        if not self.blocks:
            return
        spacing = self.grid.horizontalSpacing()
        narrowest = max(160, min(self.MIN_PICTURES, self.most) * self.step)
        # every picture of a class when two columns of them fit; else two narrower columns, or one
        columns = (self.width() + spacing) // (max(160, self.most * self.step) + spacing)
        if columns < 2:
            columns = min(2, (self.width() + spacing) // (narrowest + spacing))
        columns = max(1, min(len(self.blocks), columns))
        width = min(self.most * self.step, (self.width() - (columns - 1) * spacing) // columns)
        width = max(width, narrowest)
        if self._placed == (columns, width):
            return
        self._placed = (columns, width)
        for b in self.blocks:
            self.grid.removeWidget(b)
        for i, b in enumerate(self.blocks):
            b.fit(width)
            self.grid.addWidget(b, i // columns, i % columns, Qt.AlignLeft | Qt.AlignTop)
        for c in range(self.grid.columnCount()):
            self.grid.setColumnStretch(c, 0)
        for r in range(self.grid.rowCount()):
            self.grid.setRowStretch(r, 0)
        self.grid.setColumnStretch(columns, 1)          # spare room right of and below the blocks
        self.grid.setRowStretch((len(self.blocks) - 1) // columns + 1, 1)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._place()


class DataSetView(QWidget):
    """``show_looking()``, ``show_progress(done, total)``, ``show_preview(preview)``."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.preview: DataPreview | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 8, 0, 0)
        lay.setSpacing(10)
        head, hl = card(None)
        self.title = plain_label("", "heading", wrap=True)   # a folder's name: it wraps
        hl.addWidget(self.title)
        self.source = plain_label("", "muted", wrap=True)
        hl.addWidget(self.source)
        self.progress = thin_progress_bar(6)
        self.progress.setVisible(False)
        hl.addWidget(self.progress)
        self.summary = plain_label("Choose a data set on the left: its classes and a few of its images show here.",
                                   wrap=True)
        hl.addWidget(self.summary)
        self.problem = plain_label("", "hint", wrap=True)
        self.problem.setVisible(False)
        hl.addWidget(self.problem)
        lay.addWidget(head)

        body, bl = card("Samples per class")
        self.blocks = _Blocks()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setWidget(self.blocks)
        self.scroll = scroll
        bl.addWidget(scroll, 1)
        lay.addWidget(body, 1)

    def show_looking(self, title: str) -> None:
        self.title.setText(title)
        self.source.setText("")
        self.summary.setText("Looking at the data…")
        self.summary.setVisible(True)
        self.problem.setVisible(False)
        self.progress.setVisible(False)

    def show_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setVisible(True)
        self.summary.setText(f"Decoding a few pictures of each class: {done:,} of {total:,}…")

    def show_preview(self, p: DataPreview) -> None:
        self.preview = p
        self.progress.setVisible(False)
        self.title.setText(p.title)
        self.source.setText(f"From {p.source}." if p.source else "")
        self.source.setVisible(bool(p.source))
        self.summary.setText("" if p.problem else " ".join([p.summary(), *p.remarks()]))
        self.summary.setVisible(not p.problem)
        self.problem.setText(p.summary() if p.problem else "")
        self.problem.setVisible(bool(p.problem))
        samples = p.samples or [[] for _ in p.classes]
        most = max((len(s) for s in samples), default=0)
        first = next((s[0] for s in samples if s), None)
        side = thumb_side(first.shape[-1]) if first is not None else THUMB
        # Not downloaded yet: the names without pictures. Cannot be used: nothing but the reason.
        empty = "" if p.note else "no picture of it could be read"
        blocks = [] if p.problem else [
            _ClassBlock(name, self._counts(p, c), samples[c] if c < len(samples) else [], empty)
            for c, name in enumerate(p.classes)]
        self.blocks.set_blocks(blocks, side, most)

    @staticmethod
    def _counts(p: DataPreview, c: int) -> str:
        parts = [f"{int(p.counts[split][c]):,} {split}" for split in ("train", "test") if split in p.counts]
        return " / ".join(parts)

    def class_names(self) -> list[str]:
        return list(self.preview.classes) if self.preview else []
