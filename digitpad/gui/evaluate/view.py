"""The Evaluate tab: the active model on the whole test set. Accuracy, a confusion matrix
whose cells open a gallery of those test images, per-class accuracy; any image opens in
the drawing tab (``openImage``) to see its feature maps and saliency."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from digitpad.core.contract import DATASET_INPUTS, MNIST_INPUT
from digitpad.core.datasets import DATASET_TITLES, DATASETS, DOWNLOADABLE
from digitpad.core.evaluation import EvalResult, TestSetError, TestSets, evaluation_job, find_test_folder
from digitpad.core.paths import datasets_dir

from .. import style
from ..images import thumbnail
from ..text import plain_label, rich, rich_label, set_tip
from ..threads import background
from ..widgets import card, set_enabled, thin_progress_bar

GALLERY_LIMIT = 400
THUMB = 56
ACC_COLUMN = 10


def _mix(a: str, b: str, t: float) -> QColor:
    ca, cb = QColor(a), QColor(b)
    return QColor(int(ca.red() + (cb.red() - ca.red()) * t), int(ca.green() + (cb.green() - ca.green()) * t),
                  int(ca.blue() + (cb.blue() - ca.blue()) * t))


class EvaluationView(QWidget):
    openImage = Signal(object, str)      # float32 [size, size] 0..1 (the model's input size), a caption
    evaluated = Signal(object)           # the EvalResult now shown
    failed = Signal(str)                 # the message now shown

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.setObjectName("workbench")
        self.controller = controller
        self.result: EvalResult | None = None
        self.evaluated_key: str | None = None
        self.cell_indices = np.zeros(0, np.int64)
        self.cell: tuple[int, int] | None = None
        self.jobs = background("evaluation", self)
        self.test_sets = TestSets()
        self._build()
        controller.modelChanged.connect(self._model_changed)
        if controller.predictor is not None:
            self._model_changed(controller.predictor)

    # -- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(14, 12, 14, 10)
        outer.setSpacing(10)
        head, hl = card(None)
        row = QHBoxLayout()
        self.title = plain_label("No model loaded", "heading")  # style.py QSS; it names the model: plain text
        row.addWidget(self.title)
        row.addStretch(1)
        row.addWidget(plain_label("Test set folder", "muted"))
        self.folder = QLineEdit()
        self.folder.setMinimumWidth(280)
        self.folder.setPlaceholderText("folder with MNIST/raw/t10k-*")
        self.folder.editingFinished.connect(self._folder_edited)
        row.addWidget(self.folder)
        browse = QPushButton("…")
        browse.setStyleSheet("padding: 4px 6px;")
        browse.setFixedWidth(34)
        browse.clicked.connect(self._browse)
        row.addWidget(browse)
        self.run_button = QPushButton("Evaluate")
        self.run_button.clicked.connect(self.evaluate)
        row.addWidget(self.run_button)
        hl.addLayout(row)
        self.progress = thin_progress_bar(6)
        self.progress.setVisible(False)
        hl.addWidget(self.progress)
        self.summary = rich_label(wrap=True)   # coloured and bold; names and errors escaped (text.rich)
        hl.addWidget(self.summary)
        outer.addWidget(head)

        body = QHBoxLayout()
        body.setSpacing(12)
        outer.addLayout(body, 1)
        matrix_card, ml = card("Confusion matrix: rows true class, columns prediction")
        self.matrix = QTableWidget(10, 11)
        self.matrix.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.matrix.setSelectionMode(QAbstractItemView.SingleSelection)
        self.matrix.setFocusPolicy(Qt.StrongFocus)
        self.matrix.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.matrix.verticalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.matrix.setStyleSheet(f"QTableWidget::item:selected {{ border: 2px solid {style.TEXT}; "
                                  f"color: {style.TEXT}; }}")
        self.matrix.cellClicked.connect(self.show_cell)
        self.matrix.setMinimumSize(520, 380)
        ml.addWidget(self.matrix, 1)
        self.matrix_note = plain_label("Click a cell to see those test images. The last column is each class's "
                                       "accuracy (recall).", "muted", wrap=True)
        ml.addWidget(self.matrix_note)
        body.addWidget(matrix_card, 5)

        gallery_card, gl = card("Gallery")
        top = QHBoxLayout()
        self.gallery_title = plain_label("Evaluate a model to see its mistakes", wrap=True)   # class names: plain
        self.gallery_title.setStyleSheet("font-weight: 600;")
        top.addWidget(self.gallery_title, 1)
        self.all_button = QPushButton("All mistakes")
        set_tip(self.all_button, "Show every test image the model got wrong")
        self.all_button.clicked.connect(self.show_mistakes)
        top.addWidget(self.all_button, 0, Qt.AlignTop)
        gl.addLayout(top)
        self.gallery = QListWidget()
        self.gallery.setViewMode(QListWidget.IconMode)
        self.gallery.setIconSize(QSize(THUMB, THUMB))
        self.gallery.setGridSize(QSize(THUMB + 40, THUMB + 44))
        self.gallery.setResizeMode(QListWidget.Adjust)
        self.gallery.setMovement(QListWidget.Static)
        self.gallery.setUniformItemSizes(True)
        self.gallery.setWordWrap(True)
        self.gallery.setStyleSheet("QListWidget { border: none; }")
        self.gallery.itemDoubleClicked.connect(lambda _i: self.open_selected())
        self.gallery.itemSelectionChanged.connect(self._gallery_selected)
        gl.addWidget(self.gallery, 1)
        bottom = QHBoxLayout()
        self.gallery_note = plain_label("", "muted", wrap=True)
        bottom.addWidget(self.gallery_note, 1)
        self.open_button = QPushButton("Open in drawing tab")
        set_tip(self.open_button, "Show this test image in the drawing tab: prediction, feature maps, saliency")
        self.open_button.clicked.connect(self.open_selected)
        bottom.addWidget(self.open_button, 0, Qt.AlignTop)
        gl.addLayout(bottom)
        gallery_card.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        body.addWidget(gallery_card, 4)
        self._clear_matrix()
        self._update_buttons()

    # -- model and data ------------------------------------------------------------------------
    def dataset(self) -> str:
        """The test set the active model is measured on: the one its metadata names, else the one
        made for its input size (an 8x8 model without metadata: the UCI 8x8 digits)."""
        p = self.controller.predictor
        ds = p.metadata.dataset if p is not None and p.metadata else None
        if ds in DATASETS and (p is None or DATASET_INPUTS.get(ds, MNIST_INPUT).size == p.input_size):
            return ds
        size = p.input_size if p is not None else MNIST_INPUT.size
        return next((name for name, spec in DATASET_INPUTS.items() if spec.size == size), "mnist")

    def _default_folder(self) -> str:
        """The datasets folder every tab shares, else where the engine downloads."""
        found = find_test_folder(self.dataset(), [self.controller.settings.values.datasets_folder, datasets_dir()])
        return str(found) if found else ""

    def _model_changed(self, predictor) -> None:
        self.title.setText(f"Evaluate {predictor.name}" if predictor else "No model loaded")
        if not self.folder.text() or find_test_folder(self.dataset(), [self.folder.text()]) is None:
            self.folder.setText(self._default_folder())
        if self.isVisible():
            self.evaluate_if_stale()
        elif self.result is not None:
            self.summary.setText(rich("<span style='color:{}'>The active model changed: it is evaluated when you "
                                      "open this tab.</span>", style.MUTED))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.evaluate_if_stale()

    def evaluate_if_stale(self) -> None:
        p = self.controller.predictor
        if p is not None and self.evaluated_key != self._key() and not self.jobs.busy():
            self.evaluate()

    def _key(self) -> str:
        p = self.controller.predictor
        return f"{p.path}|{p.path.stat().st_mtime if p and p.path.exists() else 0}|{self.folder.text()}" if p else ""

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder with the test set", self.folder.text())
        if path:
            self.folder.setText(path)
            self._folder_edited()

    def _folder_edited(self) -> None:
        if self.folder.text().strip():
            self.controller.settings.update(datasets_folder=self.folder.text().strip())
            self.evaluate_if_stale()

    # -- running -------------------------------------------------------------------------------
    def evaluate(self) -> bool:
        p = self.controller.predictor
        if p is None:
            self.summary.setText("No model is loaded.")
            return False
        folder = self.folder.text().strip()
        if not folder:
            ds = self.dataset()
            where = ("Choose the folder that holds optdigits/optdigits.tes (the UCI 8×8 digits come as files)."
                     if ds not in DOWNLOADABLE else
                     "Choose the folder that holds its IDX files (t10k-images-idx3-ubyte[.gz]); a training run "
                     "with “Download” puts them in the app's data folder.")
            self.summary.setText(rich("<span style='color:{}'>No {} test set found. {}</span>", style.ERROR_TEXT,
                                      DATASET_TITLES.get(ds, ds), where))
            return False
        self.evaluated_key = self._key()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setVisible(True)
        set_enabled(self.run_button, False, "Evaluating…")
        self.summary.setText(rich("<span style='color:{}'>Evaluating {} on the {} test set…</span>", style.MUTED,
                                  p.name, DATASET_TITLES.get(self.dataset())))
        self.jobs.submit(evaluation_job, p, folder, self.dataset(), self.test_sets, on_done=self._finished,
                         on_error=self._failed, on_progress=self._progress)
        return True

    def _progress(self, done: int, total: int) -> None:
        self.progress.setValue(int(100 * done / max(total, 1)))

    def _failed(self, error: BaseException) -> None:
        message = str(error) if isinstance(error, TestSetError) else (
            f"evaluation failed: {type(error).__name__}: {error}")   # a model that fails on batches
        self.progress.setVisible(False)
        set_enabled(self.run_button, True)
        self.evaluated_key = None
        self.clear_results()   # the old numbers were for another folder or model: not shown under this error
        self.summary.setText(rich("<span style='color:{}'>{}</span>", style.ERROR_TEXT, message))
        self.failed.emit(message)

    def clear_results(self) -> None:
        """No result on screen: an empty matrix and gallery, and nothing to open."""
        self.result = None
        self.cell = None
        self.cell_indices = np.zeros(0, np.int64)
        self._clear_matrix()
        self.gallery.clear()
        self.gallery_title.setText("Evaluate a model to see its mistakes")
        self.gallery_note.setText("")
        self._update_buttons()

    def _update_buttons(self) -> None:
        set_enabled(self.all_button, self.result is not None, "Evaluate a model first.")
        set_enabled(self.open_button, bool(self.gallery.selectedItems()),
                    "Select a test image in the gallery first." if self.result is not None
                    else "Evaluate a model first.")

    def _finished(self, result: EvalResult) -> None:
        self.progress.setVisible(False)
        set_enabled(self.run_button, True)
        self.result = result
        per = result.per_class_accuracy
        worst = np.argsort(per)[:3]
        correct = int((result.preds == result.labels).sum())
        names = result.classes
        self.summary.setText(rich(
            "Test accuracy <b style='font-size:15px'>{acc:.2f} %</b> ({correct:,} of {n:,} {dataset} test images; "
            "{mistakes:,} mistakes) · evaluated in {seconds:.2f} s · hardest classes: {hardest}",
            acc=result.accuracy * 100, correct=correct, n=result.n,
            dataset=DATASET_TITLES.get(result.dataset, result.dataset), mistakes=result.n - correct,
            seconds=result.seconds, hardest=", ".join(f"{names[c]} ({per[c] * 100:.1f} %)" for c in worst)))
        self._fill_matrix(result)
        self.show_mistakes()
        self._update_buttons()
        self.evaluated.emit(result)

    # -- the matrix ------------------------------------------------------------------------------
    def _clear_matrix(self) -> None:
        m = self.matrix
        m.setHorizontalHeaderLabels([str(i) for i in range(10)] + ["Accuracy"])
        m.setVerticalHeaderLabels([str(i) for i in range(10)])
        for r in range(10):
            for c in range(11):
                m.setItem(r, c, QTableWidgetItem(""))

    def _fill_matrix(self, result: EvalResult) -> None:
        m = self.matrix
        names = result.classes
        short = [n if len(n) <= 8 else n[:7] + "…" for n in names]
        m.setHorizontalHeaderLabels(short + ["Accuracy"])
        m.setVerticalHeaderLabels(short)
        conf = result.confusion
        totals = np.maximum(conf.sum(axis=1), 1)
        off_max = max(1, int((conf - np.diag(np.diag(conf))).max()))
        per = result.per_class_accuracy
        for r in range(10):
            for c in range(10):
                n = int(conf[r, c])
                item = QTableWidgetItem(f"{n:,}" if n else "·")
                item.setTextAlignment(Qt.AlignCenter)
                if r == c:
                    t = n / totals[r]
                    bg = _mix(style.WHITE, style.CORRECT, 0.15 + 0.55 * t)
                    fg = QColor(style.WHITE)
                elif n:
                    t = np.log1p(n) / np.log1p(off_max)
                    bg = _mix(style.MISTAKE_LOW, style.MISTAKE_HIGH, t)
                    fg = QColor(style.WHITE if t > 0.55 else style.TEXT)
                else:
                    bg, fg = QColor(style.WHITE), QColor(style.EMPTY_CELL)
                item.setBackground(QBrush(bg))
                item.setForeground(QBrush(fg))
                set_tip(item, f"true {names[r]}, predicted {names[c]}: {n:,} images "
                              f"({n / totals[r] * 100:.1f} % of {names[r]})")
                m.setItem(r, c, item)
            acc = QTableWidgetItem(f"{per[r] * 100:.1f} %")
            acc.setTextAlignment(Qt.AlignCenter)
            acc.setBackground(QBrush(_mix(style.ERROR_BG, style.OK_BG, float(np.clip((per[r] - 0.8) / 0.2, 0, 1)))))
            acc.setForeground(QBrush(QColor(style.TEXT)))
            acc.setFlags(Qt.ItemIsEnabled)
            set_tip(acc, f"{names[r]}: {per[r] * 100:.2f} % recognised ({int(conf[r, r]):,} of "
                         f"{int(conf[r].sum()):,})")
            m.setItem(r, ACC_COLUMN, acc)

    # -- the gallery -----------------------------------------------------------------------------
    def show_cell(self, true: int, pred: int) -> None:
        if self.result is None or pred >= 10:
            return
        r = self.result
        self.cell = (true, pred)
        idx = r.cell(true, pred)
        names = r.classes
        if true == pred:
            title = f"{names[true]} recognised correctly: {len(idx):,} images, least confident first"
        else:
            title = f"True {names[true]}, predicted {names[pred]}: {len(idx):,} images, most confident first"
        self._fill_gallery(idx, title)

    def show_mistakes(self) -> None:
        if self.result is None:
            return
        self.cell = None
        self.matrix.clearSelection()
        idx = self.result.mistakes()
        self._fill_gallery(idx, f"All {len(idx):,} mistakes, most confident first")

    def _fill_gallery(self, idx: np.ndarray, title: str) -> None:
        r = self.result
        test = r.test
        self.cell_indices = idx
        self.gallery_title.setText(title)
        self.gallery.clear()
        conf = r.confidence
        shown = idx[:GALLERY_LIMIT]
        for i in shown:
            t, p = int(r.labels[i]), int(r.preds[i])
            # test.image: 0..1 whatever the file's scale (optdigits stores counts 0..16)
            item = QListWidgetItem(QIcon(thumbnail(test.image(i), THUMB)), f"{r.classes[t]}→{r.classes[p]}\n"
                                   f"{conf[i] * 100:.1f} %")
            item.setData(Qt.UserRole, int(i))
            set_tip(item, f"Test image #{i}: true {r.classes[t]}, predicted {r.classes[p]} with "
                          f"{conf[i] * 100:.2f} % confidence. Double-click to open it in the drawing tab.")
            self.gallery.addItem(item)
        more = f" Showing the first {GALLERY_LIMIT:,}." if len(idx) > GALLERY_LIMIT else ""
        self.gallery_note.setText("Nothing here." if not len(idx) else
                                   "Label: true→predicted, and the model's confidence." + more)
        self._update_buttons()

    def _gallery_selected(self) -> None:
        self._update_buttons()

    def gallery_indices(self) -> list[int]:
        return [self.gallery.item(i).data(Qt.UserRole) for i in range(self.gallery.count())]

    def open_index(self, i: int) -> None:
        r = self.result
        if r is None or r.test is None:
            return
        t, p = int(r.labels[i]), int(r.preds[i])
        caption = (f"Test image #{i} from {DATASET_TITLES.get(r.dataset, r.dataset)}: true {r.classes[t]}, "
                   f"the model said {r.classes[p]} ({r.confidence[i] * 100:.1f} %).")
        self.openImage.emit(r.test.image(i), caption)

    def open_selected(self) -> None:
        items = self.gallery.selectedItems()
        if items:
            self.open_index(int(items[0].data(Qt.UserRole)))

    def shutdown(self) -> None:
        self.jobs.shutdown()
