"""The Train tab: set up a run, watch it learn, use the model; and the runs history.

The tab owns the engine runner and ties three views together: the form (``form.RunForm``),
the live run (``live.LiveRunView``) and the history (``runs_view.RunsHistoryView``). What a
run is (settings, command line, state, history) lives in ``digitpad.client``.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QTabWidget, QWidget

from digitpad.client import commands
from digitpad.client.data_preview import DataPreview, preview_job
from digitpad.client.history import RunRecord, list_runs
from digitpad.client.run_files import write_csv
from digitpad.client.run_settings import RunSettings
from digitpad.client.state import RunState, format_duration
from digitpad.core.datasets import DATASET_TITLES, has_split
from digitpad.core.paths import datasets_dir

from .. import run_actions
from ..engine import ArchLister, DeviceProbe, EngineRunner
from ..engine_slot import EngineSlot
from ..text import Html, ask, rich, warn
from ..threads import background
from ..widgets import set_enabled
from .data_view import DataSetView
from .form import RunForm
from .live import LiveRunView
from .runs_view import RunsHistoryView

REDRAW_MS = 100          # plots and progress redraw at most 10 times a second
LOOK_MS = 0              # one look for the several changes one edit makes (a preset sets data set and folder)
STATUS_WORDS = {"starting": "Starting the engine…", "running": "Training", "stopping": "Stopping after this step…",
                "exporting": "Exporting the checkpoint…", "completed": "Finished", "stopped": "Stopped",
                "failed": "Failed", "cancelled": "Cancelled"}


class TrainingTab(QWidget):
    """Needs the app's ModelController (the library, the settings) and the app's EngineSlot.

    ``useModel(Path)``: the user wants this model active in the drawing tab.
    ``evaluateModel(Path)``: ... and judged in the evaluation view.
    """

    useModel = Signal(Path)
    evaluateModel = Signal(Path)
    runFinished = Signal(str)       # completed | stopped | failed | cancelled (also after an export)

    def __init__(self, controller, engine_slot: EngineSlot | None = None, parent=None):
        super().__init__(parent)
        self.setObjectName("workbench")
        self.controller = controller
        self.settings_store = controller.settings
        self.runner = EngineRunner(self)
        self.engine_slot = engine_slot or EngineSlot(self)
        self.engine_slot.register(self.runner, "a training run in the Train tab")
        self.engine_slot.changed.connect(self.update_buttons)
        self._dirty = False
        self._quit_after_stop = None
        self._started_probes = False
        self._redraw = QTimer(self)
        self._redraw.setInterval(REDRAW_MS)
        self._redraw.timeout.connect(self._redraw_now)

        self.form = RunForm()
        self.live = LiveRunView()
        self.history = RunsHistoryView()
        self.data_view = DataSetView()
        self.previews = background("data-preview", self)
        self._data_stale = True
        self._look = QTimer(self)
        self._look.setSingleShot(True)
        self._look.setInterval(LOOK_MS)
        self._look.timeout.connect(self.look_at_data)
        self.history.can_resume = self._resumable
        self.history.why_not_resume = self._why_not_resumable
        self.history.why_not_best = self._why_not_best
        self.history.change_blocker = lambda run, deleting: run_actions.change_blocker(
            run.model_path, self.controller, self.engine_slot, deleting)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(14, 12, 14, 10)
        outer.setSpacing(12)
        outer.addWidget(self.form, 0)
        self.views = QTabWidget()
        self.views.setDocumentMode(True)
        self.views.addTab(self.live, "Live run")
        self.views.addTab(self.history, "Runs history")
        self.views.addTab(self.data_view, "Data set")
        self.views.currentChanged.connect(lambda i: self.refresh_history() if i == 1 else None)
        outer.addWidget(self.views, 1)

        self.form.start_button.clicked.connect(self.start)
        self.form.stop_button.clicked.connect(self.stop)
        self.form.resume_button.clicked.connect(self.resume)
        self.form.export_button.clicked.connect(self.export_checkpoint)
        self.form.dataChanged.connect(self._data_changed)
        self.form.datasetChosen.connect(lambda: self.views.setCurrentWidget(self.data_view))
        self.live.useClicked.connect(lambda: self._emit_exported(self.useModel))
        self.live.evaluateClicked.connect(lambda: self._emit_exported(self.evaluateModel))
        self.history.useRequested.connect(self.useModel)
        self.history.resumeRequested.connect(self.resume_run)
        self.history.refreshRequested.connect(self.refresh_history)
        self.history.exportRequested.connect(self.export_csv)
        self.history.exportBestRequested.connect(self.export_best)
        self.history.renameRequested.connect(self.rename_run)
        self.history.deleteRequested.connect(self.delete_run)
        controller.modelChanged.connect(lambda _p: self.history.update_buttons())   # the active model: not deletable
        self.runner.logLine.connect(self.live.log.appendPlainText)
        self.runner.statusChanged.connect(self._status_changed)
        self.runner.finished.connect(self._finished)
        self.runner.exported.connect(lambda _p: self.controller.refresh_library())
        self.runner.event.connect(self._event)
        self.device_probe = DeviceProbe(self)
        self.device_probe.ready.connect(self.form.set_cuda)
        self.arch_lister = ArchLister(self)
        self.arch_lister.ready.connect(self.form.set_archs)

        values = self.settings_store.values
        self.form.set_settings(RunSettings.remembered(values.train_form, values.datasets_folder))
        self.refresh_history()
        self.update_buttons()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.live.ensure_plots()
        self.history.ensure_plots()
        self.start_probes()
        self._prewarm()
        if self._data_stale:
            self.look_at_data()

    def _prewarm(self) -> None:
        """While this tab is open, an engine waits with torch imported, so Start is quick."""
        if self.isVisible() and not self.runner.is_running():
            self.runner.prewarm()

    def shutdown(self) -> None:
        self.previews.shutdown()
        self.runner.shutdown()
        self.device_probe.stop()
        self.arch_lister.stop()

    def start_probes(self) -> None:
        """Ask the engine (in child processes) for its architectures and about CUDA, once."""
        if not self._started_probes:
            self._started_probes = True
            self.device_probe.start()
            self.arch_lister.start()

    # == the data set ===============================================================================
    def _data_changed(self) -> None:
        """Look again (once per edit); a hidden tab looks when it is next shown (not at app start)."""
        self._data_stale = True
        if self.isVisible():
            self._look.start()

    def data_source(self) -> tuple[str, str | None, bool]:
        """(data set, folder to look in, downloaded by the engine): a download lands in the app's data
        folder, so that is where a data set to be downloaded may already be."""
        s = self.form.settings()
        if s.dataset == "folder":
            return s.dataset, s.image_folder or None, False
        if s.download:
            found = has_split(datasets_dir(), s.dataset, "train")
            return s.dataset, str(datasets_dir()) if found else None, True
        return s.dataset, s.data_dir or None, False

    def look_at_data(self) -> None:
        """What the chosen data set holds, on a worker: the form's line and the Data set page."""
        self._look.stop()
        self._data_stale = False
        dataset, folder, download = self.data_source()
        self.form.data.show_looking()
        self.data_view.show_looking(DATASET_TITLES.get(dataset, dataset))
        self.previews.submit(preview_job, dataset, folder, download, on_done=self._data_found,
                             on_error=self._data_failed, on_progress=self._data_progress)

    def _data_progress(self, done: int, total: int) -> None:
        self.form.data.show_progress(done, total)
        self.data_view.show_progress(done, total)

    def _data_found(self, preview: DataPreview) -> None:
        self.form.show_data(preview)
        self.data_view.show_preview(preview)

    def _data_failed(self, error: BaseException) -> None:
        why = f"reading it failed: {type(error).__name__}: {error}"
        self._data_found(DataPreview(self.form.settings().dataset, None, problem=why))

    # == settings ===================================================================================
    def remember_settings(self) -> None:
        s = self.form.settings()
        self.settings_store.update(train_form=s.to_dict(), datasets_folder=None if s.download else s.data_dir or None)

    # == running ==================================================================================
    def start(self) -> bool:
        if self.runner.is_running():
            return False
        s = self.form.settings()
        problems = s.problems(self.form.known_archs(), self.form.archs)
        busy = self.engine_slot.busy_elsewhere(self.runner)
        if busy:
            problems.append(f"{busy} is using the engine; start when it has finished")
        out = s.out_path(self.controller.library.models)
        if not problems and out.exists():
            problems.append(f"a model named {out.stem} already exists; choose another name")
        self.form.show_problems(problems)
        if problems:
            return False
        self.remember_settings()
        self.live.begin()
        self.runner.start(commands.train_args(s, out), out, s.epochs)
        self._redraw.start()
        self.update_buttons()
        return True

    def stop(self) -> None:
        self.runner.stop()
        self.update_buttons()

    def resume(self) -> None:
        if self.runner.is_running() or self.runner.state.status != "stopped":
            return
        self.live.clear_outcome()
        self.runner.resume()
        self._redraw.start()
        self.update_buttons()

    def resume_run(self, run: RunRecord) -> bool:
        """Continue a stopped run from an earlier session (the window was closed mid-run)."""
        if not self._resumable(run):
            return False
        self.runner.state = RunState.from_record(run)
        self.live.begin()
        self.views.setCurrentIndex(0)
        self.resume()
        return True

    def export_checkpoint(self) -> None:
        if self.runner.is_running() or self.runner.state.status != "stopped":
            return
        self.runner.export_checkpoint(self._export_data_dir(self.runner.state.config))
        self.update_buttons()

    def _export_data_dir(self, config: dict) -> str | None:
        """The data an export checks the network on: a picture folder run's own folder; else the run's
        data folder, or the form's (None: the engine's download)."""
        run_dir = config.get("data_dir") if isinstance(config.get("data_dir"), str) else None
        if config.get("dataset") == "folder":
            return run_dir
        s = self.form.settings()
        return None if s.download else (run_dir or s.data_dir)

    def update_buttons(self) -> None:
        running = self.runner.is_running()
        status = self.runner.state.status
        stopped = status == "stopped" and not running
        busy = self.engine_slot.busy_elsewhere(self.runner)
        busy_words = f"{busy[0].upper()}{busy[1:]} is using the engine; wait until it has finished." if busy else ""
        f = self.form
        set_enabled(f.start_button, not running and not busy, busy_words or "A run is in progress: stop it first.")
        set_enabled(f.stop_button, running and self.runner.mode != "export" and status != "stopping",
                    "Stopping after the current step…" if status == "stopping" else
                    "An export cannot be stopped; it takes a few seconds." if running else "No run in progress.")
        set_enabled(f.resume_button, stopped and not busy,
                    busy_words or ("A run is in progress." if running else
                                   "Only a stopped run can be resumed; stopped runs of earlier sessions are in "
                                   "the Runs history."))
        set_enabled(f.export_button, stopped and self.runner.state.exported is None and not busy,
                    busy_words or "This checkpoint is in the model library already.")
        f.export_button.setVisible(stopped)
        f.set_editable(not running)
        self.history.update_buttons()

    def _resumable(self, run: RunRecord) -> bool:
        return self._why_not_resumable(run) == ""

    def _why_not_resumable(self, run: RunRecord) -> str:
        if not run.status.startswith("stopped"):
            return f"This run is {run.status}: only a stopped run can be resumed."
        if not run.checkpoint_path.is_file():
            return f"Its checkpoint ({run.checkpoint_path.name}) is gone, so it cannot be resumed."
        return self._engine_not_free("resume this one")

    def _why_not_best(self, run: RunRecord) -> str:
        best = run.best_epoch
        if best is None:
            return "This run has no finished epoch yet."
        if not run.checkpoint_path.is_file():
            return f"Its checkpoint ({run.checkpoint_path.name}) is gone, so no epoch can be exported."
        if best == len(run.history) and run.has_model and not run.status.startswith("stopped"):
            return f"Its last epoch ({best}) is its best: the run's model is that epoch already."
        if run.files.best_epoch_model(best).exists():
            return f"Epoch {best}, its best, is exported already ({run.files.best_epoch_model(best).name})."
        return self._engine_not_free("export")

    def _engine_not_free(self, what: str) -> str:
        """Why the engine cannot take another job now ("" when it can)."""
        if self.runner.is_running():
            return f"A run is in progress: {what} when it has finished."
        busy = self.engine_slot.busy_elsewhere(self.runner)
        if busy:
            return f"{busy[0].upper()}{busy[1:]} is using the engine; wait until it has finished."
        return ""

    def export_best(self, run: RunRecord) -> bool:
        """Write the run's best epoch (by test accuracy) as a model of its own, with the engine."""
        if self._why_not_best(run):
            return False
        self.runner.state = RunState.from_record(run)
        self.live.begin()
        self.views.setCurrentIndex(0)
        self.runner.export_checkpoint(self._export_data_dir(run.config), best_epoch=run.best_epoch)
        self.update_buttons()
        return True

    def _event(self, ev: dict) -> None:
        self._dirty = True
        if ev.get("event") == "start":
            self.live.device_used.setText(f"{ev.get('device', '')} · {ev.get('params', 0):,} parameters · "
                                          f"{ev.get('n_train', 0):,} training images")

    def _status_changed(self, status: str) -> None:
        out = self.runner.state.out
        self.live.status_title.setText(STATUS_WORDS.get(status, status) + (f": {out.stem}" if out else ""))
        self._dirty = True
        self.update_buttons()

    def _redraw_now(self) -> None:
        if self._dirty:
            self._dirty = False
            self.live.show_state(self.runner.state)

    def _emit_exported(self, signal) -> None:
        if self.runner.state.exported is not None:
            signal.emit(self.runner.state.exported)

    def _finished(self, final: str) -> None:
        self._dirty = True
        self._redraw_now()
        self._redraw.stop()
        kind, text = self._outcome(final)
        st = self.runner.state
        self.live.show_outcome(kind, text, st.exported is not None and st.exported.is_file())
        self.update_buttons()
        self.refresh_history()
        self._prewarm()
        self.runFinished.emit(final)
        if self._quit_after_stop is not None:
            window, self._quit_after_stop = self._quit_after_stop, None
            window.close()

    def _outcome(self, final: str) -> tuple[str, Html]:
        """(look, words) for the result box; the error and the file name come from outside: escaped."""
        st, export = self.runner.state, self.runner.mode == "export"
        if final == "failed":
            # The engine's last lines, wrapped like the rest (a <pre> never wraps: one long line of it made the
            # Train page 2.5 times the window).
            tail = "\n".join(line for line in list(st.stderr_tail)[-6:] if st.error not in line)
            detail = rich("<div style='white-space:pre-wrap; font-family:monospace; margin-top:6px'>{}</div>",
                          tail) if tail else ""
            if st.error_kind == "download" and not export:
                data = DATASET_TITLES.get(self.form.settings().dataset, "the data set")
                why = f" ({st.error_reason})" if st.error_reason else ""
                return "error", rich("<b>Could not download {data}</b>{why}. Choose <b>Local folder</b> under Data, "
                                     "with a folder that holds it, or try again when this computer is online. "
                                     "Nothing was added to the model library.", data=data, why=why)
            what = "The export failed" if export else "The training run failed"
            kept = (" The checkpoint is kept: you can resume or export it." if export
                    else " Nothing was added to the model library.")
            return "error", rich("<b>{what}:</b> {error}.{kept}{detail}", what=what, error=st.error, kept=kept,
                                 detail=detail)
        if st.exported is not None and st.exported.is_file():
            acc = st.metrics.get("test_accuracy")
            acc_text = rich(" · test accuracy <b>{:.2f} %</b>", acc * 100) if isinstance(acc, (int, float)) else ""
            train = (st.history[-1] if st.history else {}).get("train_accuracy")
            if acc_text and isinstance(train, (int, float)):
                acc_text += f" (train {train * 100:.2f} %)"   # when the engine measures it
            partial = " (from the stopped run's checkpoint)" if export else ""
            return "ok", rich("<b>Model ready{partial}:</b> {name}{acc} · {took} of training. It is in the model "
                              "library; one click makes it the active model.", partial=partial,
                              name=st.exported.name, acc=acc_text, took=format_duration(st.elapsed_s))
        if final == "stopped":
            where = (f"epoch {st.epoch}/{st.epochs}, step {st.step:,}/{st.total_steps:,}" if st.total_steps
                     else "before the first step")
            return "warn", rich("<b>Stopped</b> at {}. The checkpoint is kept: <b>Resume</b> continues the run; "
                                "<b>Export</b> writes the network as it is now to the library.", where)
        if final == "cancelled":
            return "warn", rich("<b>Cancelled</b> before training began. Nothing was written.")
        return "warn", rich("The run finished but no model file was written.")

    # == runs history =============================================================================
    def refresh_history(self) -> None:
        runs = list_runs(self.controller.library.models)
        self.history.set_runs(runs)
        self.form.set_history(runs)   # the time estimates come from this machine's runs

    def export_csv(self, run: RunRecord, path: str | None = None) -> Path | None:
        """Save a run's records as CSV (asks where unless ``path`` is given)."""
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export the run as CSV", str(Path.home() / f"{run.stem}.csv"),
                                                  "CSV tables (*.csv)")
            if not path:
                return None
        try:
            rows = write_csv(run, Path(path))
        except OSError as e:
            warn(self, "Export CSV", f"Could not write {path}: {e.strerror or e}.")
            return None
        self.history.details.setText(f"Saved {rows:,} rows to {path}.")
        return Path(path)

    def rename_run(self, run: RunRecord) -> None:
        blocked = run_actions.change_blocker(run.model_path, self.controller, self.engine_slot, deleting=False)
        if blocked is None and run_actions.ask_rename(self, run.model_path, self.controller) is not None:
            self.refresh_history()

    def delete_run(self, run: RunRecord) -> None:
        blocked = run_actions.change_blocker(run.model_path, self.controller, self.engine_slot, deleting=True)
        if blocked is None and run_actions.ask_delete(self, run.model_path, self.controller):
            self.refresh_history()

    # == closing ==================================================================================
    def ask_stop_on_close(self) -> bool:
        """Overridable (tests): True when the user agrees to stop the run and quit."""
        return ask(self, "A training run is in progress",
                   "Stop the training run and quit?\n\nThe run stops after its current step and keeps its "
                   "checkpoint, so you can resume it next time.")

    def confirm_close(self, window) -> bool:
        """Called by the main window's closeEvent. True: close now. False: not yet (the run is
        stopping and the window closes by itself when it has, or the user said no)."""
        self.remember_settings()
        if not self.runner.is_running():
            return True
        if self._quit_after_stop is not None:
            return False      # already stopping; the window closes when the engine exits
        if not self.ask_stop_on_close():
            return False
        self._quit_after_stop = window
        if self.runner.mode == "export":
            self.runner.kill()
        else:
            self.runner.stop()
        return False
