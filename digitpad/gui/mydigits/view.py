"""The My digits tab: the user's own labelled drawings, a guided set, and fine-tuning on them.

The data side is ``digitpad.core.handwriting.collection`` (one file per sample) and
``...finetune``; the Draw tab's correction row adds to the same collection.

Laid out like the other tabs, in cards: the collection with its heading and fine-tuning
under it on the left (the result reads on one or two wide lines), the guided set at a fixed
width on the right (a longer prompt never widens it); beside the list, what the active model reads
of the selected sample (``sample_detail``). A delete can be undone (Undo delete, Ctrl+Z): the samples
deleted last are kept until the next delete.
"""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from digitpad.client.state import plural
from digitpad.core.handwriting.collection import Collection, CollectionError

from .. import style
from ..canvas import DrawingCanvas, save_drawing
from ..images import thumbnail
from ..text import Html, plain_label, rich, rich_label, set_tip, warn
from ..widgets import card, muted, set_enabled, thin_progress_bar
from .finetune_panel import FineTunePanel
from .sample_detail import SampleDetail

GUIDED_REPEATS = 3
THUMB = 56             # px: two screen pixels per input pixel
GUIDED_CANVAS = 280
GUIDED_WIDTH = 360     # the guided set's card: its buttons on one row, the canvas centred
ABOUT = ("Your own handwriting: digits you corrected in the Draw tab (“Wrong? It was …”) or drew in the "
         "guided set. Fine-tuning teaches the active model your hand; the digits held out measure it.")
EMPTY = "No digits yet. Draw in the Draw tab and click the right digit under the canvas, or start a guided set."


def counts_html(counts: list[int]) -> Html:
    """"0: 3   1: 3 …": each digit and how many, the digits you have none of faint."""
    cells = [rich("<span style='color:{}'><b>{}</b>:&nbsp;{}</span>", style.TEXT if n else style.FAINT, d, n)
             for d, n in enumerate(counts)]
    return Html("&nbsp;&nbsp;&nbsp;&nbsp; ").join(cells)


class MyDigitsView(QWidget):
    """The user's collection per digit (delete, export, import), a guided set on its own canvas,
    and fine-tuning (``FineTunePanel``). ``changed()`` when the collection changed here."""

    changed = Signal()
    openSample = Signal(object)   # a Sample to put on the Draw tab's canvas

    def __init__(self, collection: Collection, controller=None, engine_slot=None, parent=None):
        super().__init__(parent)
        self.setObjectName("workbench")
        self.collection = collection
        self.deleted: list = []    # the samples the last delete removed (Undo delete brings them back)
        self.guided_queue: list[int] = []
        self.guided_started = False
        outer = QHBoxLayout(self)
        outer.setContentsMargins(14, 12, 14, 10)
        outer.setSpacing(12)
        left = QVBoxLayout()
        left.setSpacing(12)
        left.addWidget(self._collection_card(), 1)
        self.finetune = FineTunePanel(collection, controller, engine_slot)
        left.addWidget(self.finetune, 0)
        outer.addLayout(left, 1)
        outer.addWidget(self._guided_card(), 0, Qt.AlignTop)
        if controller is not None:
            controller.modelChanged.connect(self.detail.set_predictor)
            self.detail.set_predictor(controller.predictor)
        undo = QShortcut(QKeySequence.Undo, self)
        undo.setContext(Qt.WidgetWithChildrenShortcut)
        undo.activated.connect(self.undo_delete)
        self.changed.connect(self.finetune.update_state)
        self._set_guided_buttons()
        self.refresh()

    # -- building ----------------------------------------------------------------------------
    def _collection_card(self) -> QWidget:
        collection_card, lay = card("My digits")
        head = QHBoxLayout()
        self.heading = plain_label("", "heading")
        head.addWidget(self.heading)
        head.addStretch(1)
        self.filter = QComboBox()
        self.filter.addItem("All digits", None)
        for d in range(10):
            self.filter.addItem(f"Only {d}s", d)
        set_tip(self.filter, "Show the samples of one digit")
        self.filter.currentIndexChanged.connect(self.refresh)
        head.addWidget(self.filter)
        lay.addLayout(head)
        lay.addWidget(muted(ABOUT))
        self.counts_label = rich_label()
        set_tip(self.counts_label, "How many samples of each digit you have")
        lay.addWidget(self.counts_label)
        self.list = QListWidget()
        self.list.setViewMode(QListWidget.IconMode)
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setGridSize(QSize(THUMB + 14, THUMB + 24))
        self.list.setResizeMode(QListWidget.Adjust)
        self.list.setSelectionMode(QListWidget.ExtendedSelection)
        self.list.setMovement(QListWidget.Static)
        self.list.setUniformItemSizes(True)
        self.list.setMinimumHeight(THUMB + 40)
        self.list.itemSelectionChanged.connect(self._update_buttons)
        beside = QHBoxLayout()
        beside.addWidget(self.list, 1)
        self.detail = SampleDetail()
        self.detail.openRequested.connect(self.openSample)
        beside.addWidget(self.detail, 0)
        lay.addLayout(beside, 1)
        self.empty_label = muted(EMPTY)
        self.empty_label.setAlignment(Qt.AlignCenter)
        lay.addWidget(self.empty_label)
        buttons = QHBoxLayout()
        self.delete_button = QPushButton("Delete selected")
        set_tip(self.delete_button, "Delete the selected samples from My digits")
        self.delete_button.clicked.connect(self.delete_selected)
        self.undo_button = QPushButton("Undo delete")
        set_tip(self.undo_button, "Bring back the samples deleted last (Ctrl+Z)")
        self.undo_button.clicked.connect(self.undo_delete)
        self.export_button = QPushButton("Export…")
        set_tip(self.export_button, "Save all your digits in one file (to keep, or to use on another computer)")
        self.export_button.clicked.connect(self._export_dialog)
        self.import_button = QPushButton("Import…")
        set_tip(self.import_button, "Add the digits of an exported file")
        self.import_button.clicked.connect(self._import_dialog)
        for b in (self.delete_button, self.undo_button, self.export_button, self.import_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        lay.addLayout(buttons)
        self.message = plain_label(wrap=True)   # it quotes file names and errors: plain text
        lay.addWidget(self.message)
        return collection_card

    def _guided_card(self) -> QWidget:
        guided_card, guided = card("Guided set")
        top = QHBoxLayout()
        self.start_button = QPushButton("Start guided set")
        set_tip(self.start_button, f"Draw each digit {GUIDED_REPEATS} times; each is saved to My digits")
        self.start_button.clicked.connect(self.start_guided)
        top.addWidget(self.start_button)
        self.guided_progress = thin_progress_bar(6)
        self.guided_progress.setRange(0, 10 * GUIDED_REPEATS)
        top.addWidget(self.guided_progress, 1)
        guided.addLayout(top)
        self.prompt = rich_label(wrap=True)
        # Two lines, always: the prompt's text changes with every digit, its size never.
        self.prompt.setFixedHeight(2 * self.prompt.fontMetrics().lineSpacing() + 16)
        self.prompt.setAlignment(Qt.AlignLeft | Qt.AlignVCenter)
        guided.addWidget(self.prompt)
        self.canvas = DrawingCanvas(size=GUIDED_CANVAS)
        guided.addWidget(self.canvas, 0, Qt.AlignHCenter)
        row = QHBoxLayout()
        self.next_button = QPushButton("Save and next (Enter)")
        self.next_button.setObjectName("primary")
        set_tip(self.next_button, "Save this drawing as the digit asked for, and ask for the next")
        self.next_button.clicked.connect(self.guided_next)
        self.skip_button = QPushButton("Skip")
        set_tip(self.skip_button, "Skip this digit")
        self.skip_button.clicked.connect(self.guided_skip)
        row.addWidget(self.next_button)
        row.addWidget(self.skip_button)
        row.addStretch(1)
        guided.addLayout(row)
        guided.addWidget(muted("Enter saves and moves on; Esc clears the canvas."))
        for key in ("Return", "Enter"):
            sc = QShortcut(QKeySequence(key), self.canvas)
            sc.setContext(Qt.WidgetShortcut)
            sc.activated.connect(self.guided_next)
        guided_card.setFixedWidth(GUIDED_WIDTH)
        guided_card.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Maximum)
        self._show_prompt()
        return guided_card

    # -- the collection ------------------------------------------------------------------------
    def refresh(self) -> None:
        digit = self.filter.currentData()
        self.list.clear()
        for s in self.collection.samples(digit):
            item = QListWidgetItem(QIcon(thumbnail(s.image, THUMB, invert=True, smooth=True)), str(s.label))
            item.setData(Qt.UserRole, s.id)
            set_tip(item, f"{s.label} · {s.source or 'sample'}")
            self.list.addItem(item)
        counts = self.collection.counts()
        total = sum(counts)
        self.heading.setText("No digits yet" if not total else
                             f"{total} of your digit{'s' if total != 1 else ''}")
        self.counts_label.setText(counts_html(counts))
        self.empty_label.setVisible(total == 0)
        self.finetune.update_state()
        self._update_buttons()
        if self.collection.problems:
            names = ", ".join(p.name for p, _ in self.collection.problems[:3])
            n = len(self.collection.problems)
            self.message.setText(f"{n} {'file' if n == 1 else 'files'} in {self.collection.folder} could not be "
                                 f"read and {'was' if n == 1 else 'were'} left as {'it is' if n == 1 else 'they are'}:"
                                 f" {names}")

    def _update_buttons(self) -> None:
        selected = self.list.selectedItems()
        set_enabled(self.delete_button, bool(selected), "Select samples first (click, Ctrl+click, Shift+click).")
        set_enabled(self.undo_button, bool(self.deleted), "Nothing deleted to bring back.")
        set_enabled(self.export_button, len(self.collection) > 0, "There is nothing to export yet.")
        one = self.collection.get(selected[0].data(Qt.UserRole)) if len(selected) == 1 else None
        self.detail.show_sample(one)

    def delete_selected(self) -> int:
        ids = [it.data(Qt.UserRole) for it in self.list.selectedItems()]
        gone = [s for s in (self.collection.get(sid) for sid in ids) if s is not None]
        for sid in ids:
            self.collection.delete(sid)
        if ids:
            self.deleted = gone
            self.message.setText(f"Deleted {plural(len(gone), 'sample')}. Undo delete (Ctrl+Z) brings "
                                 f"{'it' if len(gone) == 1 else 'them'} back.")
            self.refresh()
            self.changed.emit()
        return len(ids)

    def undo_delete(self) -> int:
        """Write the samples deleted last back, as they were (ids, labels, strokes); how many."""
        back, self.deleted = self.deleted, []
        try:
            for s in back:
                self.collection.restore(s)
        except OSError as e:
            self.message.setText(f"Could not bring them back: {e.strerror or e}")
        if back:
            self.message.setText(f"Brought back {plural(len(back), 'sample')}.")
            self.refresh()
            self.changed.emit()
        return len(back)

    def export_to(self, path) -> None:
        try:
            n = self.collection.export(path)
            self.message.setText(f"Exported {plural(n, 'digit')} to {path}.")
        except (OSError, CollectionError) as e:
            self.message.setText(f"Could not export: {e}")

    def import_from(self, path) -> None:
        try:
            n = self.collection.import_file(path)
        except (OSError, CollectionError) as e:
            self.message.setText(f"Could not import: {e}")
            return
        self.message.setText(f"Imported {plural(n, 'digit')}.")
        self.refresh()
        self.changed.emit()

    def _export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export my digits", "my_digits.npz", "Digit collections (*.npz)")
        if path:
            self.export_to(path)

    def _import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import digits", "", "Digit collections (*.npz)")
        if path:
            self.import_from(path)

    # -- guided mode ----------------------------------------------------------------------------
    def start_guided(self) -> None:
        self.guided_queue = [d for d in range(10) for _ in range(GUIDED_REPEATS)]
        self.guided_started = True
        self.canvas.clear()
        self._show_prompt()
        self.canvas.setFocus()

    def _show_prompt(self, extra: str = "") -> None:
        total = 10 * GUIDED_REPEATS
        if self.guided_queue:
            d = self.guided_queue[0]
            done = GUIDED_REPEATS - sum(1 for x in self.guided_queue if x == d)
            text = rich("Draw a <b style='font-size:20px'>{}</b> ({} of {}), then press Enter.", d, done + 1,
                        GUIDED_REPEATS)
            if extra:
                text += rich(" <span style='color:{}'>{}</span>", style.WARN_TEXT, extra)
            self.prompt.setText(text)
            self.guided_progress.setValue(total - len(self.guided_queue))
        elif self.guided_started:
            self.prompt.setText("Done: thank you. Your digits are in the list.")
            self.guided_progress.setValue(total)
        else:
            self.prompt.setText(f"Draw each digit {GUIDED_REPEATS} times, so a model can learn your hand.")
            self.guided_progress.setValue(0)
        self._set_guided_buttons()

    def _set_guided_buttons(self) -> None:
        on = bool(self.guided_queue)
        not_started = "Start a guided set first."
        set_enabled(self.next_button, on, not_started)
        set_enabled(self.skip_button, on, not_started)
        self.start_button.setText("Restart guided set" if on else "Start guided set")

    def guided_next(self):
        if not self.guided_queue:
            return None
        try:
            sample = save_drawing(self.collection, self.canvas, self.guided_queue[0], "guided")
        except OSError as e:
            warn(self, "My digits", f"Could not save: {e.strerror or e}")
            return None
        if sample is None:
            self._show_prompt("Draw it on the canvas first.")
            return None
        self.guided_queue.pop(0)
        self.canvas.clear()
        self._show_prompt()
        self.refresh()
        self.changed.emit()
        return sample

    def guided_skip(self) -> None:
        if self.guided_queue:
            self.guided_queue.pop(0)
            self.canvas.clear()
            self._show_prompt()
