"""The main window: the only place where the tabs meet.

Each tab (``digitpad.gui.draw``, ``.train``, ``.evaluate``, ``.mydigits``) knows nothing of
the others. They share three objects made here: the model controller (the active model,
the library, the settings), the engine slot (one engine at a time) and the user's digit
collection; and every hand-over between tabs ("use this model", "open this test image",
"a drawing was saved") is a signal connected below. The active model is chosen in the
tab bar (``gui.model_picker``), seen from every tab.

Start-up order, for a first frame within a second: the Draw tab (canvas, answer, the model
loaded) is built before the window first paints; its pyqtgraph inspectors and the other tabs
are built right after that frame (``after_first_paint``), or at once if code asks for a tab
first (``training``, ``evaluation``, ``my_digits``).

The window is designed for 1280x720 and up (tests/gui/test_layout.py): each tab is a
``PageTabs`` page that scrolls rather than squeezing or growing the window, so nothing a
tab shows (a hint, a longer caption, a guided set) can resize the window by itself.
"""
from __future__ import annotations

import gc

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import QApplication, QMainWindow, QWidget

from .core.handwriting.collection import Collection
from .core.library import ModelLibrary
from .core.paths import icon_path
from .core.settings import SettingsStore, WindowState
from .gui import style
from .gui.controller import ModelController
from .gui.draw.workbench import Workbench
from .gui.engine_slot import EngineSlot
from .gui.model_picker import ModelPicker
from .gui.text import plain_label
from .gui.widgets import PageTabs, after_first_paint, install_wheel_guard

PREFERRED_SIZE = (1360, 860)
MIN_SIZE = (640, 480)
LATER_TABS = ("Train", "Evaluate", "My digits")   # built after the first frame


_frozen = False


def _freeze_startup_objects() -> None:
    """Once per process, when the window is built: what exists now lives as long as the app, so
    the garbage collector's full passes stop walking it (``gc.freeze``). Those passes walked about
    a million start-up objects and held the UI for 90-130 ms each time something allocated a lot
    (listing 5,000 models after a change in the folder); now they take a few ms."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()


class MainWindow(QMainWindow):
    def __init__(self, library: ModelLibrary | None = None, model_path=None):
        super().__init__()
        app = QApplication.instance()
        if app is not None and not app.property("digitpad_styled"):
            style.apply(app)
            app.setProperty("digitpad_styled", True)
        if app is not None:
            install_wheel_guard(app)
        self.setWindowTitle("digitpad")
        self.setWindowIcon(QIcon(str(icon_path())))
        self.controller = ModelController(library or ModelLibrary(SettingsStore()))
        self._fit_to_screen(WindowState.from_dict(self.controller.settings.values.window))
        self.engine_slot = EngineSlot(self)
        self.collection = Collection()
        self.tabs = PageTabs()
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)
        self.picker = ModelPicker()
        self.tabs.setCornerWidget(self.picker, Qt.TopRightCorner)
        self.workbench = Workbench(self.controller, self.collection)
        self.tabs.add_page(self.workbench, "Draw")
        self._build_status_bar()
        self._build_menu()
        self.picker.chosen.connect(self.controller.load)
        self.picker.openRequested.connect(self.workbench.open_model_dialog)
        self.picker.manageRequested.connect(self.manage_models)
        self.controller.modelChanged.connect(lambda p: self.model_label.setText(f"Model: {p.name}"))
        self.controller.modelChanged.connect(lambda _p: self.refresh_models())
        self.controller.loadFailed.connect(lambda _m: self.refresh_models())   # back on the model still active
        self.controller.libraryChanged.connect(self.refresh_models)
        self.workbench.predictionShown.connect(self._prediction_shown)

        self.controller.refresh_library(describe_pending=False)   # the rest after the first frame
        loaded = self.controller.load(model_path) if model_path else False
        if not loaded and not self.controller.load_startup_model():
            self.refresh_models()
            self.workbench.update_prediction()
            self.workbench.show_error(
                "No model is available: the shipped model is missing and no exported models were found. "
                "Train one, or use “Open…” beside the model list." + self._problems())
            self.model_label.setText("No model")
        self.controller.watch_user_models()
        self._tabs_built = False
        for title in LATER_TABS:
            self.tabs.add_page(QWidget(), title)   # a placeholder until _add_tabs
        self.tabs.currentChanged.connect(lambda _i: self._add_tabs())
        self._say_what_was_skipped(model_path if model_path and not loaded else None)
        # The answer panel is on screen for every model (the canvas is not, for one that takes pictures).
        after_first_paint(self.workbench.panel, self._finish_start)
        self.workbench.canvas.setFocus()

    def _finish_start(self) -> None:
        self.controller.describe_pending()
        self.workbench.build_inspectors()
        QTimer.singleShot(0, self, self._add_tabs)   # a queued step: input is handled in between

    @property
    def training(self):
        self._add_tabs()
        return self._training

    @property
    def evaluation(self):
        self._add_tabs()
        return self._evaluation

    @property
    def my_digits(self):
        self._add_tabs()
        return self._my_digits

    def _fit_to_screen(self, remembered: WindowState | None = None) -> None:
        """The size the window had when it was last closed (maximised again if it was), else the
        preferred size; never more than the screen's free area (a 1366x768 laptop)."""
        w, h = (remembered.width, remembered.height) if remembered is not None else PREFERRED_SIZE
        screen = self.screen() or QApplication.primaryScreen()
        if screen is not None:
            free = screen.availableGeometry()
            w, h = min(w, free.width()), min(h, free.height() - 30)   # 30: a title bar
        self.resize(max(w, MIN_SIZE[0]), max(h, MIN_SIZE[1]))
        if remembered is not None and remembered.maximized:
            self.setWindowState(self.windowState() | Qt.WindowMaximized)   # show() shows it maximised

    def remember_window(self) -> None:
        """The size (the one it returns to when not maximised) and maximised state, for the next start."""
        size = self.normalGeometry().size() if self.isMaximized() else self.size()
        self.controller.settings.update(window=WindowState(size.width(), size.height(),
                                                           self.isMaximized()).to_dict())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        # The tabs first, the model picker in what is left (a small window: every tab still in reach).
        self.picker.fit(self.width() - self.tabs.tabBar().sizeHint().width() - 24)

    def _problems(self) -> str:
        return (" " + " ".join(self.controller.startup_problems)) if self.controller.startup_problems else ""

    def _say_what_was_skipped(self, failed_model_path) -> None:
        """The app always starts; whatever it had to skip or reset on the way is said here."""
        if self.controller.predictor is None:
            return   # the error banner already says it all
        skipped = [self.controller.load_error] if failed_model_path else []
        skipped += [f"settings: {p}" for p in self.controller.settings.problems]
        skipped += self.controller.library.problems()
        skipped += [f"model skipped: {p}" for p in self.controller.startup_problems]
        skipped += [why for _path, why in self.collection.problems]
        if skipped:
            self.workbench.show_notice("Started with some things skipped: " + " · ".join(skipped))

    def _add_tabs(self) -> None:
        """Build the Train, Evaluate and My digits tabs in place of their placeholders (once)."""
        if self._tabs_built:
            return
        self._tabs_built = True
        from .gui.evaluate import EvaluationView
        from .gui.mydigits import MyDigitsView
        from .gui.train import TrainingTab

        self._training = TrainingTab(self.controller, self.engine_slot)
        self._evaluation = EvaluationView(self.controller)
        self._my_digits = MyDigitsView(self.collection, self.controller, self.engine_slot)
        first = self.tabs.count() - len(LATER_TABS)
        for offset, page in enumerate((self._training, self._evaluation, self._my_digits)):
            self.tabs.set_page(first + offset, page)
        show = self.tabs.setCurrentWidget
        use = lambda path, tab: self.controller.load(path) and show(tab)  # noqa: E731
        self.training.useModel.connect(lambda p: use(p, self.workbench))
        self.training.evaluateModel.connect(lambda p: use(p, self.evaluation))
        self.my_digits.finetune.useModel.connect(lambda p: use(p, self.workbench))
        self.evaluation.openImage.connect(
            lambda x, caption: show(self.workbench) if self.workbench.show_external_input(x, caption) else None)
        self.workbench.sampleSaved.connect(lambda _sample: self.my_digits.refresh())
        self.my_digits.openSample.connect(lambda sample: (self.workbench.show_sample(sample), show(self.workbench)))
        _freeze_startup_objects()

    def refresh_models(self) -> None:
        p = self.controller.predictor
        self.picker.set_entries(self.controller.entries, p.path if p else None)

    def manage_models(self):
        from .gui.library_dialog import LibraryDialog

        dialog = LibraryDialog(self.controller, self.engine_slot, self)
        dialog.open()
        return dialog

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.model_label = plain_label()   # the model's file name: plain text (gui.text)
        self.time_label = plain_label()
        # Fixed size: updating a fixed-size label does not re-lay out the window (60 Hz).
        self.time_label.setFixedSize(200, self.time_label.sizeHint().height() + 4)
        bar.addPermanentWidget(self.model_label)
        bar.addPermanentWidget(self.time_label)

    def _build_menu(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_action = QAction("&Open ONNX file…", self, shortcut=QKeySequence.Open)
        open_action.triggered.connect(self.workbench.open_model_dialog)
        file_menu.addAction(open_action)
        manage_action = QAction("&Manage models…", self)
        manage_action.triggered.connect(self.manage_models)
        file_menu.addAction(manage_action)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self, shortcut=QKeySequence("Ctrl+Q"))   # (the platform's Quit may be none)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        help_menu = self.menuBar().addMenu("&Help")
        help_action = QAction("digitpad &Help", self, shortcut=QKeySequence.HelpContents)
        help_action.triggered.connect(self.show_help)
        help_menu.addAction(help_action)
        about_action = QAction("&About digitpad", self)
        about_action.triggered.connect(self.show_about)
        help_menu.addAction(about_action)

    def show_help(self):
        from .gui.help import HelpDialog

        dialog = HelpDialog(self)
        dialog.open()
        return dialog

    def show_about(self):
        from .gui.about import AboutDialog

        dialog = AboutDialog(self)
        dialog.open()
        return dialog

    def _prediction_shown(self, prediction) -> None:
        self.time_label.setText("" if prediction is None else f"Inference {prediction.seconds * 1000:.2f} ms")

    def closeEvent(self, event) -> None:
        if self._tabs_built:   # (closed before they were built: nothing of theirs runs)
            if not self.training.confirm_close(self):
                event.ignore()  # a run is stopping (the window closes when it has) or the user said no
                return
            self.my_digits.finetune.shutdown()   # a fine-tune in progress keeps nothing
            self.evaluation.shutdown()
            self.training.shutdown()
        self.remember_window()
        self.workbench.shutdown()
        self.controller.shutdown()
        super().closeEvent(event)
