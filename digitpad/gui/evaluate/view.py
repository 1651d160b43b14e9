"""The Evaluate tab: the active model on its whole test set. Accuracy, a confusion matrix with the
model's class names whose cells open a gallery of those test images (in colour for photos),
per-class accuracy; one click on an image opens it in the Draw tab (``openImage``) to see its
feature maps and saliency.

The test set is the one the model was trained on: MNIST, Fashion-MNIST, the UCI digits, CIFAR-10
(from the data folder every tab shares), or for a model trained on a folder of pictures that
folder's test split (the folder its metadata names, else one the user chooses, remembered per
model for the session). A picture folder is decoded the first time, with progress; later it comes
from the cache in the user's data folder.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from digitpad.core.datasets import DATASET_TITLES, DOWNLOADABLE
from digitpad.core.evaluation import (
    EvalResult,
    TestSet,
    TestSetError,
    TestSets,
    evaluation_job,
    find_test_folder,
    test_set_job,
)
from digitpad.core.explore import cannot_compare
from digitpad.core.explore.jobs import evaluation_on_job
from digitpad.core.image_strip import test_dataset, trained_from
from digitpad.core.paths import datasets_dir

from .. import style
from ..elided import ElidedLabel
from ..images import thumbnail
from ..second_model import SecondModelPicker
from ..text import plain_label, rich, rich_label, set_tip
from ..threads import background
from ..widgets import card, set_enabled, thin_progress_bar
from .matrix import ConfusionMatrix

GALLERY_LIMIT = 400
THUMB = 56               # about this many pixels across; a whole multiple of the image's side

# Where each test set sits in a folder, said where the folder is asked for.
PLACEHOLDERS = {"mnist": "folder with MNIST/raw/t10k-*", "fashion-mnist": "folder with FashionMNIST/raw/t10k-*",
                "optdigits": "folder with optdigits/optdigits.tes", "cifar10": "folder with cifar10/test/…",
                "folder": "your picture folder (test/<class>/ or a folder per class)"}
WHERE = {"optdigits": "Choose the folder that holds optdigits/optdigits.tes (the UCI 8×8 digits come as files).",
         "cifar10": "Choose the folder that holds cifar10/test/<class>/ pictures or torchvision's "
                    "cifar-10-batches-py/; a training run with “Download” puts it in the app's data folder.",
         "folder": "Choose the folder of pictures it was trained on (test/<class>/, or a folder per class)."}
WHERE_IDX = ("Choose the folder that holds its IDX files (t10k-images-idx3-ubyte[.gz]); a training run with "
             "“Download” puts them in the app's data folder.")



NAME_MOST = 170   # px: the widest a gallery cell grows for its class names


def _short(name: str, width: int, metrics) -> str:
    return metrics.elidedText(name, Qt.ElideRight, width)


class EvaluationView(QWidget):
    openImage = Signal(object, str)      # a canonical image [C, S, S] of the model's input, 0..1; a caption
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
        self.model_folders: dict[str, str] = {}     # a picture-folder model's test folder, as the user chose it
        self.jobs = background("evaluation", self)
        self.test_sets = TestSets()
        self.second_result: EvalResult | None = None    # the model compared with, on the same test set
        self.second_jobs = background("evaluation of the model compared with", self)
        self._build()
        controller.modelChanged.connect(self._model_changed)
        controller.second.changed.connect(lambda _p: self._second_changed())
        if controller.predictor is not None:
            self._model_changed(controller.predictor)

    # -- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(14, 12, 14, 10)
        outer.setSpacing(10)
        head, hl = card(None)
        row = QHBoxLayout()
        self.title = plain_label("No model loaded", "heading", wrap=True)  # QSS; it names the model: plain, wraps
        self.title.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)   # a long name is cut, not widening
        row.addWidget(self.title, 1)
        row.addWidget(plain_label("Test set folder", "muted"))
        self.folder = QLineEdit()
        self.folder.setMinimumWidth(280)
        self.folder.editingFinished.connect(self._folder_edited)
        row.addWidget(self.folder)
        browse = QPushButton("…")
        browse.setStyleSheet("padding: 4px 6px;")
        browse.setFixedWidth(34)
        set_tip(browse, "Choose the folder")
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
        self.matrix = ConfusionMatrix()
        self.matrix.cellClicked.connect(self.show_cell)
        self.matrix.setMinimumSize(520, 380)
        ml.addWidget(self.matrix, 1)
        self.matrix_note = plain_label("Click a cell to see those test images. The last column is each class's "
                                       "accuracy (recall).", "muted", wrap=True)
        ml.addWidget(self.matrix_note)
        ml.addLayout(self._compare_row())
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
        self.gallery.setResizeMode(QListWidget.Adjust)
        self.gallery.setMovement(QListWidget.Static)
        self.gallery.setUniformItemSizes(True)
        self.gallery.setWordWrap(True)
        self.gallery.setStyleSheet("QListWidget { border: none; }")
        self._size_gallery(28, 2)
        # One click opens the image in the Draw tab; Enter opens the one chosen with the keys.
        self.gallery.itemClicked.connect(lambda item: self.open_index(int(item.data(Qt.UserRole))))
        self.gallery.itemSelectionChanged.connect(self._gallery_selected)
        gl.addWidget(self.gallery, 1)
        bottom = QHBoxLayout()
        self.gallery_note = plain_label("", "muted", wrap=True)
        bottom.addWidget(self.gallery_note, 1)
        self.open_button = QPushButton("Open in the Draw tab")
        set_tip(self.open_button, "Show this test image in the Draw tab: prediction, feature maps, saliency")
        self.open_button.clicked.connect(self.open_selected)
        bottom.addWidget(self.open_button, 0, Qt.AlignTop)
        gl.addLayout(bottom)
        gallery_card.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        body.addWidget(gallery_card, 4)
        self._clear_matrix()
        self._update_buttons()

    def _compare_row(self) -> QHBoxLayout:
        """"Compare with [model]": the second model (shared with the Draw tab's Compare view), whose per-class
        accuracy then stands beside this model's."""
        row = QHBoxLayout()
        row.addWidget(plain_label("Compare with", "muted"))
        self.compare_picker = SecondModelPicker(self.controller)
        set_tip(self.compare_picker, "A second model: its per-class accuracy on the same test set beside this "
                                     "one's (the Draw tab's Compare view shows it too)")
        row.addWidget(self.compare_picker)
        self.compare_note = ElidedLabel()
        row.addWidget(self.compare_note, 1)
        return row

    def _second_changed(self) -> None:
        self.second_result = None
        self.second_jobs.cancel()
        if self.result is not None:
            self._fill_matrix(self.result)
            self._evaluate_second()

    def _evaluate_second(self) -> None:
        """The model compared with, on the test set this one was just judged on."""
        first, second = self.controller.predictor, self.controller.second.predictor
        if second is None or self.result is None or self.result.test is None:
            self.compare_note.set_text("")
            return
        why = cannot_compare(first, second)
        if why is not None:
            self.compare_note.set_text(why)
            return
        self.compare_note.set_text(f"Evaluating {second.name}…")
        self.second_jobs.submit(evaluation_on_job, second, self.result.test, on_done=self._second_done,
                                on_error=lambda e: self.compare_note.set_text(f"{second.name}: {e}"))

    def _second_done(self, result: EvalResult | None) -> None:
        if result is None or self.result is None:
            return
        self.second_result = result
        self._fill_matrix(self.result)
        self.compare_note.set_text(f"{result.model_name}: {result.accuracy * 100:.2f} % (this model "
                                   f"{self.result.accuracy * 100:.2f} %)",
                                   f"Accuracy on the {self.result.n:,} test images: {self.result.model_name} "
                                   f"{self.result.accuracy * 100:.2f} %, {result.model_name} (the Compared column) "
                                   f"{result.accuracy * 100:.2f} %")

    def _size_gallery(self, side: int, lines: int, names=()) -> None:
        """Thumbnails a whole multiple of the images' side; room under each for ``lines`` of text, as wide as
        the longest class name after its arrow ("→ Ankle boot") up to NAME_MOST px (longer ones are cut with
        "…", whole in the tooltip): at the picture's width Fashion-MNIST's names were cut."""
        self.thumb = side * max(1, round(THUMB / side))
        # The icon area is as wide as the cell (the pixmap is drawn centred in it, not stretched): Qt wraps
        # an icon's text at the icon's width, and "automobile" needs more than the picture's.
        metrics = self.gallery.fontMetrics()
        widest = max((metrics.horizontalAdvance("→ " + n) for n in names), default=0) + 16
        self.text_width = max(self.thumb + 36, min(NAME_MOST, widest))
        self.gallery.setIconSize(QSize(self.text_width, self.thumb))
        line = self.gallery.fontMetrics().lineSpacing()
        self.gallery.setGridSize(QSize(self.text_width + 8, self.thumb + 10 + lines * line))

    # -- model and data ------------------------------------------------------------------------
    def dataset(self) -> str:
        """The test set the active model is measured on (``image_strip.test_dataset``); MNIST when no
        model is loaded or no built-in set has its images."""
        p = self.controller.predictor
        return (test_dataset(p) if p is not None else None) or "mnist"

    def _trained_on(self) -> str | None:
        """The folder a picture-folder model was trained on, as its metadata says (None: not said)."""
        p = self.controller.predictor
        folder = trained_from(p) if p is not None else None
        return str(folder) if folder else None

    def _default_folder(self) -> str:
        """A picture-folder model's own folder (chosen here before, else the one it was trained on);
        else the datasets folder every tab shares, else where the engine downloads."""
        ds = self.dataset()
        if ds == "folder":
            p = self.controller.predictor
            candidates = [self.model_folders.get(str(p.path)) if p else None, self._trained_on()]
        else:
            candidates = [self.controller.settings.values.datasets_folder, datasets_dir()]
        found = find_test_folder(ds, candidates)
        return str(found) if found else ""

    def _model_changed(self, predictor) -> None:
        self.second_result = None
        self.second_jobs.cancel()
        self.compare_note.set_text("")
        self.title.setText(f"Evaluate {predictor.name}" if predictor else "No model loaded")
        ds = self.dataset()
        self.folder.setPlaceholderText(PLACEHOLDERS.get(ds, "folder with the test set"))
        if ds == "folder" or not self.folder.text() or find_test_folder(ds, [self.folder.text()]) is None:
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
        folder = self.folder.text().strip()
        if not folder:
            return
        p = self.controller.predictor
        if self.dataset() == "folder":
            if p is not None:
                self.model_folders[str(p.path)] = folder      # this model's pictures, not the shared folder
        else:
            self.controller.settings.update(datasets_folder=folder)
        self.evaluate_if_stale()

    # -- running -------------------------------------------------------------------------------
    def evaluate(self) -> bool:
        p = self.controller.predictor
        if p is None:
            self.summary.setText("No model is loaded.")
            return False
        folder = self.folder.text().strip()
        ds = self.dataset()
        if not folder:
            where = WHERE.get(ds, WHERE_IDX if ds in DOWNLOADABLE else "Choose the folder that holds it.")
            if ds == "folder" and self._trained_on():
                where = f"It was trained on {self._trained_on()}, which holds no test pictures now. {where}"
            self.summary.setText(rich("<span style='color:{}'>No {} test set found. {}</span>", style.ERROR_TEXT,
                                      DATASET_TITLES.get(ds, ds), where))
            return False
        self.evaluated_key = self._key()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setVisible(True)
        set_enabled(self.run_button, False, "Evaluating…")
        self._say_muted(f"Reading the {DATASET_TITLES.get(ds, ds)} test set…")
        # Two steps on the one worker: the test set (decoded the first time, with progress), then the model on it.
        self.jobs.submit(test_set_job, folder, ds, self.test_sets,
                         on_done=lambda test: self._score(p, folder, ds, test), on_error=self._failed,
                         on_progress=self._decoding)
        return True

    def _say_muted(self, text: str) -> None:
        self.summary.setText(rich("<span style='color:{}'>{}</span>", style.MUTED, text))

    def _decoding(self, done: int, total: int) -> None:
        self.progress.setValue(int(100 * done / max(total, 1)))
        self._say_muted(f"Decoding the test pictures, the first time only (later they come from a cache): "
                        f"{done:,} of {total:,}…")

    def _score(self, p, folder: str, ds: str, test: TestSet) -> None:
        self.progress.setValue(0)
        self._say_muted(f"Evaluating {p.name} on the {DATASET_TITLES.get(ds, ds)} test set ({len(test):,} images)…")
        self.jobs.submit(evaluation_job, p, folder, ds, self.test_sets, on_done=self._finished,
                         on_error=self._failed, on_progress=self._progress)

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
        worst = [c for c in np.argsort(per) if np.isfinite(per[c])][:3]
        correct = int((result.preds == result.labels).sum())
        names = result.classes
        skipped = result.test.skipped if result.test is not None else []
        passed_over = (f" · {len(skipped):,} {'file was' if len(skipped) == 1 else 'files were'} not a picture "
                       f"and passed over ({skipped[0].split(' (')[0]}" + (", …" if len(skipped) > 1 else "") + ")"
                       ) if skipped else ""
        self.summary.setText(rich(
            "Test accuracy <b style='font-size:15px'>{acc:.2f} %</b> ({correct:,} of {n:,} {dataset} test images; "
            "{mistakes:,} mistakes) · {k} classes · evaluated in {seconds:.2f} s · hardest classes: "
            "{hardest}{passed_over}",
            acc=result.accuracy * 100, correct=correct, n=result.n,
            dataset=DATASET_TITLES.get(result.dataset, result.dataset), mistakes=result.n - correct, k=len(names),
            seconds=result.seconds, hardest=", ".join(f"{names[c]} ({per[c] * 100:.1f} %)" for c in worst),
            passed_over=passed_over))
        self._fill_matrix(result)
        self._evaluate_second()
        test = result.test
        short_names = max(len(n) for n in names) <= 2                 # digits: "9→4" on one line
        self._size_gallery(test.size if test is not None else 28, 2 if short_names else 3, names)
        self.show_mistakes()
        self._update_buttons()
        self.evaluated.emit(result)

    # -- the matrix ------------------------------------------------------------------------------
    def _clear_matrix(self) -> None:
        p = self.controller.predictor
        self.matrix.clear_result(list(p.classes) if p is not None else [str(i) for i in range(10)])

    def _fill_matrix(self, result: EvalResult) -> None:
        second = self.second_result
        same = second is not None and second.test is result.test
        self.matrix.show_result(result, second if same else None)
        self.matrix_note.setText("Click a cell to see those test images. " + (
            "The last two columns are each class's accuracy (recall): this model's, and the compared model's "
            "(green where it does better)." if same else "The last column is each class's accuracy (recall)."))

    # -- the gallery -----------------------------------------------------------------------------
    def show_cell(self, true: int, pred: int) -> None:
        if self.result is None or pred >= len(self.result.classes):
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

    def _label(self, t: str, p: str, confidence: float) -> str:
        """Under a thumbnail: true→predicted and the confidence; long names on lines of their own."""
        if max(len(t), len(p)) <= 2:
            return f"{t}→{p}\n{confidence * 100:.1f} %"
        metrics, room = self.gallery.fontMetrics(), self.text_width - 12   # the item's text margins
        arrow = "→ "
        t, p = _short(t, room, metrics), _short(p, room - metrics.horizontalAdvance(arrow), metrics)
        # no-break spaces: a line that fits is never wrapped again inside a name
        return "\n".join(line.replace(" ", "\u00a0") for line in (t, arrow + p, f"{confidence * 100:.1f} %"))

    def _fill_gallery(self, idx: np.ndarray, title: str) -> None:
        r = self.result
        test = r.test
        self.cell_indices = idx
        self.gallery_title.setText(title)
        self.gallery.clear()
        conf = r.confidence
        shown = idx[:GALLERY_LIMIT]
        for i in shown:
            t, p = r.classes[int(r.labels[i])], r.classes[int(r.preds[i])]
            # test.image: the canonical image (0..1, colour for photos) whatever the file's scale
            item = QListWidgetItem(QIcon(thumbnail(test.image(i), self.thumb)), self._label(t, p, conf[i]))
            item.setData(Qt.UserRole, int(i))
            set_tip(item, f"Test image #{i}: true {t}, predicted {p} with {conf[i] * 100:.2f} % confidence. "
                          f"Click to open it in the Draw tab.")
            self.gallery.addItem(item)
        more = f" Showing the first {GALLERY_LIMIT:,}." if len(idx) > GALLERY_LIMIT else ""
        self.gallery_note.setText("Nothing here." if not len(idx) else
                                  "Label: true→predicted, and the model's confidence. Click one to open it in the "
                                  "Draw tab." + more)
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

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key_Return, Qt.Key_Enter) and self.gallery.hasFocus():
            self.open_selected()
            return
        super().keyPressEvent(event)

    def shutdown(self) -> None:
        self.jobs.shutdown()
        self.second_jobs.shutdown()
