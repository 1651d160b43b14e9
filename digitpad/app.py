"""The main window: tabs (the drawing workbench first), a status bar, one model controller.

Later tabs (training, evaluation) join with ``MainWindow.add_tab(widget, title)`` and
share ``MainWindow.controller`` to learn about, or switch, the active model.
"""
from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QTabWidget

from .core.library import ModelLibrary
from .gui import style
from .gui.controller import ModelController
from .gui.draw.workbench import Workbench


class MainWindow(QMainWindow):
    def __init__(self, library: ModelLibrary | None = None, model_path=None):
        super().__init__()
        app = QApplication.instance()
        if app is not None and not app.property("digitpad_styled"):
            style.apply(app)
            app.setProperty("digitpad_styled", True)
        self.setWindowTitle("digitpad")
        self.resize(1360, 860)
        self.controller = ModelController(library)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)
        self.workbench = Workbench(self.controller)
        self.add_tab(self.workbench, "Draw")
        self._build_status_bar()
        self._build_menu()
        self.controller.modelChanged.connect(self._model_changed)
        self.workbench.predictionShown.connect(self._prediction_shown)

        loaded = self.controller.load(model_path) if model_path else False
        if not loaded and not self.controller.load_startup_model():
            self.workbench.refresh_models()
            self.workbench.update_prediction()
            self.workbench.show_error(
                "No model is available: the shipped model is missing and no exported models were found. "
                "Train one, or use “Open ONNX file…”." + self._problems())
            self.model_label.setText("No model")
        elif self.controller.startup_problems:
            self.statusBar().showMessage("Skipped unusable models: " + self._problems(), 10000)
        self.controller.watch_user_models()
        self._add_training_tabs()
        from .gui.mydigits.views import install as install_handwriting
        install_handwriting(self)   # "Wrong? It was: 0-9" under the canvas, and the My digits tab
        # pyqtgraph views right after the first frame: the window appears sooner.
        QTimer.singleShot(0, self.workbench, self.workbench.build_inspectors)
        self.workbench.canvas.setFocus()

    def _problems(self) -> str:
        return (" " + " ".join(self.controller.startup_problems)) if self.controller.startup_problems else ""

    def add_tab(self, widget, title: str) -> int:
        return self.tabs.addTab(widget, title)

    def _add_training_tabs(self) -> None:
        from .gui.evaluate import EvaluationView
        from .gui.train import TrainingTab

        self.training = TrainingTab(self.controller)
        self.evaluation = EvaluationView(self.controller)
        self.add_tab(self.training, "Train")
        self.add_tab(self.evaluation, "Evaluate")
        show = self.tabs.setCurrentWidget
        self.training.useModel.connect(lambda p: self.controller.load(p) and show(self.workbench))
        self.training.evaluateModel.connect(lambda p: self.controller.load(p) and show(self.evaluation))
        self.evaluation.openImage.connect(lambda x, caption: (self.workbench.show_external_input(x, caption),
                                                              show(self.workbench)))

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.model_label = QLabel("")
        self.time_label = QLabel("")
        # Fixed size: updating a fixed-size label does not re-lay out the window (60 Hz).
        self.time_label.setFixedSize(200, self.time_label.sizeHint().height() + 4)
        bar.addPermanentWidget(self.model_label)
        bar.addPermanentWidget(self.time_label)

    def _build_menu(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_action = QAction("&Open ONNX file…", self, shortcut=QKeySequence.Open)
        open_action.triggered.connect(self.workbench.open_model_dialog)
        file_menu.addAction(open_action)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

    def _model_changed(self, predictor) -> None:
        self.model_label.setText(f"Model: {predictor.name}")

    def _prediction_shown(self, prediction) -> None:
        if prediction is None:
            self.time_label.setText("")
        else:
            self.time_label.setText(f"Inference {prediction.seconds * 1000:.2f} ms")

    def closeEvent(self, event) -> None:
        if hasattr(self, "training") and not self.training.confirm_close(self):
            event.ignore()  # a run is stopping (the window closes when it has) or the user said no
            return
        if hasattr(self, "evaluation"):
            self.evaluation.shutdown()
        self.workbench.shutdown()
        super().closeEvent(event)
