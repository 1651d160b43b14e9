"""The engine in a QProcess: start, stop gracefully, resume, export; jsonl events in, signals out.

One runner class serves every tab that runs the engine (training, fine-tuning);
``engine_slot.EngineSlot`` makes sure only one engine runs at a time, whichever tab started it.

Reading the pipe costs the UI thread microseconds per event (the engine sends at most
~10 step events a second); the views redraw on their own timer, not per event.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from digitpad.client import commands
from digitpad.client.history import remove_temporaries, save_log
from digitpad.client.run_settings import parse_list_archs
from digitpad.client.state import RunState
from digitpad.core import safejson
from digitpad.core.paths import RunFiles

STOP_GRACE_MS = 30_000   # after Stop, the engine finishes its step (and an epoch's evaluation)
ENGINE_NICE = 10         # the engine yields the CPU to the window (and to the user's other work)


def lower_priority(pid: int, nice: int | None = None) -> bool:
    """Make a child process 'nicer' (POSIX). When the engine uses every core, the UI thread
    still gets the CPU the moment it needs it; with spare cores nothing changes."""
    nice = ENGINE_NICE if nice is None else nice
    if not pid or not nice or not hasattr(os, "setpriority"):
        return False
    try:
        current = os.getpriority(os.PRIO_PROCESS, pid)
        os.setpriority(os.PRIO_PROCESS, pid, max(current, nice))
        return True
    except OSError:
        return False


def _engine_process(parent: QObject) -> QProcess:
    """The engine runs in this interpreter's environment, where the app is installed."""
    proc = QProcess(parent)
    env = QProcessEnvironment.systemEnvironment()
    env.insert("PYTHONUNBUFFERED", "1")
    proc.setProcessEnvironment(env)
    proc.setProgram(commands.engine_command()[0])
    return proc


class EngineRunner(QObject):
    """One engine process (training, resuming, exporting). ``state`` is the live RunState.

    Signals: ``event(dict)`` for every jsonl event, ``logLine(str)`` for every stderr line,
    ``statusChanged(str)``, ``finished(str)`` with the final status (completed, stopped,
    failed), ``exported(Path)`` when a model file is written.
    """

    event = Signal(dict)
    logLine = Signal(str)
    statusChanged = Signal(str)
    finished = Signal(str)
    exported = Signal(Path)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.state = RunState()
        self.mode = ""                 # train | resume | export
        self.proc: QProcess | None = None
        self._out_buf = b""
        self._err_buf = b""
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self._kill_after_grace)
        self.arguments: list[str] = []
        self._reserved = False
        self._warm: QProcess | None = None   # an engine that has imported torch, waiting for a run
        self._warm_ready = False
        self.used_warm = False               # whether the current run started in the warm engine

    # -- control ----------------------------------------------------------------------------
    def is_running(self) -> bool:
        return self._reserved or self.process_running()

    def process_running(self) -> bool:
        return self.proc is not None and self.proc.state() != QProcess.NotRunning

    def reserve(self) -> None:
        """Hold the engine for a run whose inputs are still being prepared (other tabs wait)."""
        self._reserved = True
        self.statusChanged.emit("preparing")

    def release(self) -> None:
        """Give back a reservation that will not become a run."""
        if self._reserved:
            self._reserved = False
            self.statusChanged.emit(self.state.status)

    def start(self, args: list[str], out: Path, epochs: int) -> None:
        """A new run: ``args`` from ``client.commands`` (training or fine-tuning), writing ``out``."""
        self.state = RunState(out=Path(out), status="starting", epochs=epochs)
        self._launch("train", args)

    def resume(self, threads: int | None = None) -> None:
        """Continue the stopped run in ``state`` from its checkpoint; its curves carry on."""
        out = self.state.out
        if out is None:
            raise RuntimeError("no run to resume")
        self.state.status = "starting"
        self.state.error = ""
        self.state.stderr_tail.clear()
        self._launch("resume", commands.resume_args(out, threads))

    def export_checkpoint(self, data_dir: str | None, best_epoch: int | None = None) -> None:
        """Export the run's checkpoint: its last epoch to its .onnx (a stopped run: partial training,
        real metrics), or with ``best_epoch`` the epoch the engine kept as best, to a file of its own."""
        out = self.state.out
        ckpt = self.state.checkpoint or (RunFiles(out).checkpoint if out else None)
        if out is None or ckpt is None:
            raise RuntimeError("no checkpoint to export")
        if best_epoch is not None:
            out = RunFiles(out).best_epoch_model(best_epoch)
        self.state.error = ""
        self._launch("export", commands.export_args(ckpt, out, data_dir or self.state.config.get("data_dir"),
                                                    best=best_epoch is not None))

    def stop(self) -> None:
        """Graceful: SIGTERM, the engine stops after its current step and keeps a checkpoint."""
        if not self.process_running():
            return
        if self.mode == "export":
            self.proc.kill()  # nothing to keep: the export writes atomically or not at all
            return
        self.state.status = "stopping"
        self.statusChanged.emit("stopping")
        self.proc.terminate()
        self._kill_timer.start(STOP_GRACE_MS)

    def kill(self) -> None:
        if self.process_running():
            self.proc.kill()

    def wait(self, msecs: int) -> bool:
        return self.proc is None or self.proc.waitForFinished(msecs)

    def prewarm(self) -> None:
        """Start an engine that imports torch now and waits for a run's arguments on stdin
        (``digitpad-train --wait-for-args``): Start then skips the 2.4-4.4 s of ``import torch``.
        An idle warm engine uses memory, not CPU; it exits when the app closes its stdin."""
        if self._warm is not None and self._warm.state() != QProcess.NotRunning:
            return
        proc = _engine_process(self)
        proc.setArguments(commands.engine_command()[1:] + commands.warm_args())
        proc.started.connect(lambda: lower_priority(proc.processId()))
        proc.finished.connect(lambda *_: self._warm_gone(proc))
        proc.readyReadStandardOutput.connect(lambda: self._warm_said(proc))
        self._warm, self._warm_ready = proc, False
        proc.start()

    def has_warm_engine(self) -> bool:
        """An engine is waiting with torch imported (it said so on stdout)."""
        return self._warm is not None and self._warm_ready and self._warm.state() == QProcess.Running

    def _warm_said(self, proc: QProcess) -> None:
        if proc is self._warm and b'"warm"' in bytes(proc.readAllStandardOutput()):
            self._warm_ready = True

    def shutdown(self) -> None:
        """The app is closing: the warm engine goes (a running one is the tab's to stop)."""
        if self._warm is not None:
            stop_child(self._warm)
            self._warm = None

    def _warm_gone(self, proc: QProcess) -> None:
        if self._warm is proc:   # it died idle (killed, or an install problem): the next Start launches as usual
            self._warm = None

    def _take_warm(self) -> QProcess | None:
        """The warm engine for this run, if one is ready; it is then the run's process."""
        proc = self._warm
        if proc is None or proc.state() != QProcess.Running:
            return None   # (one still starting stays warm for the next run)
        self._warm = None   # (one still importing says "warm" later: _handle_line drops that line)
        proc.finished.disconnect()
        proc.readyReadStandardOutput.disconnect()
        return proc

    # -- process plumbing ------------------------------------------------------------------------
    def _launch(self, mode: str, args: list[str]) -> None:
        if self.process_running():
            raise RuntimeError("a training process is already running")
        self._reserved = False
        self.mode = mode
        self._out_buf = self._err_buf = b""
        warm = self._take_warm()
        self.used_warm = warm is not None
        proc = warm or _engine_process(self)
        self.arguments = commands.engine_command()[1:] + args
        if warm is None:
            proc.setArguments(self.arguments)
        proc.readyReadStandardOutput.connect(self._read_stdout)
        proc.readyReadStandardError.connect(self._read_stderr)
        proc.finished.connect(self._finished)
        proc.errorOccurred.connect(self._error_occurred)
        if self.proc is not None:
            self.proc.deleteLater()
        self.proc = proc
        if mode != "export":
            self.state.status = "starting"
        self.statusChanged.emit("exporting" if mode == "export" else "starting")
        self.logLine.emit("$ digitpad-train " + " ".join(args))
        if warm is not None:   # already running, torch imported: the arguments go in on stdin
            proc.write((json.dumps(args) + "\n").encode())
            proc.closeWriteChannel()
        else:
            proc.started.connect(lambda: lower_priority(proc.processId()))
            proc.start()

    def _read_stdout(self) -> None:
        self._out_buf += bytes(self.proc.readAllStandardOutput())
        *lines, self._out_buf = self._out_buf.split(b"\n")
        for raw in lines:
            self._handle_line(raw)

    def _handle_line(self, raw: bytes) -> None:
        text = raw.decode("utf-8", "replace").strip()
        if not text:
            return
        try:
            ev = safejson.loads(text, "engine event", allow_nan=True)   # a diverged run's loss is NaN
        except ValueError:
            self.logLine.emit(text)   # stray output on stdout: show it rather than lose it
            return
        if not isinstance(ev, dict) or "event" not in ev:
            self.logLine.emit(text)
            return
        if ev["event"] == "warm":   # a warm engine's "ready", when it was handed the run before saying it
            return
        before = self.state.status
        if self.mode == "export" and ev["event"] == "done":
            pass  # an export's "done" is not the training run's end
        else:
            self.state.feed(ev)
        self.event.emit(ev)
        if ev["event"] == "exported":
            self.exported.emit(Path(ev["path"]))
        if self.state.status != before:
            self.statusChanged.emit(self.state.status)

    def _read_stderr(self) -> None:
        self._err_buf += bytes(self.proc.readAllStandardError())
        *lines, self._err_buf = self._err_buf.split(b"\n")
        for raw in lines:
            for part in raw.decode("utf-8", "replace").split("\r"):  # a progress bar's rewrites
                line = part.rstrip()
                if line:
                    self.state.stderr_tail.append(line)
                    self.logLine.emit(line)

    def _error_occurred(self, error) -> None:
        if error == QProcess.FailedToStart:
            self.state.error = f"could not start the training engine ({self.proc.errorString()})"
            self.state.status = "failed"
            self.statusChanged.emit("failed")
            self.finished.emit("failed")

    def _kill_after_grace(self) -> None:
        if self.process_running():
            self.logLine.emit("The engine did not stop in time; killing it.")
            self.proc.kill()

    def _finished(self, code: int, exit_status) -> None:
        self._kill_timer.stop()
        if self.proc is not None:  # whatever is left in the pipes
            self._out_buf += bytes(self.proc.readAllStandardOutput())
            self._err_buf += bytes(self.proc.readAllStandardError())
        for raw in self._out_buf.split(b"\n"):
            self._handle_line(raw)
        for raw in self._err_buf.split(b"\n"):
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                self.state.stderr_tail.append(line)
                self.logLine.emit(line)
        self._out_buf = self._err_buf = b""
        st = self.state
        crashed = exit_status == QProcess.CrashExit
        if self.mode == "export":
            if not crashed and code == 0 and st.exported is not None:
                final = st.status
            else:
                final = "failed"
                st.error = st.error or self._exit_words(code, crashed)
                st.status = "stopped"   # the checkpoint is still there to export or resume
        elif not crashed and code == 0 and st.status in ("completed", "stopped"):
            final = st.status
        elif st.status == "stopping" and not st.total_steps:
            final = st.status = "cancelled"   # stopped while the engine was still starting up
        else:
            final = "failed"
            st.error = st.error or self._exit_words(code, crashed)
            st.status = "failed"
        if final in ("completed", "stopped"):
            save_log(st)
        elif st.out is not None:
            remove_temporaries(st.out)
        self.statusChanged.emit(st.status)
        self.finished.emit(final)

    @staticmethod
    def _exit_words(code: int, crashed: bool) -> str:
        if crashed:
            return "the training process was killed or crashed"
        return f"the training process exited with code {code}"


def stop_child(proc: QProcess | None) -> None:
    """A child process whose answer is no longer wanted (the app is closing): its signals are
    dropped, it is killed and reaped, so Qt never destroys a QProcess that is still running."""
    if proc is not None and proc.state() != QProcess.NotRunning:
        proc.blockSignals(True)
        proc.kill()
        proc.waitForFinished(2000)


class DeviceProbe(QObject):
    """Whether CUDA can be offered, found without importing torch here.

    No ``nvidia-smi`` on PATH: no NVIDIA driver, answered at once. Otherwise a short
    ``torch.cuda.is_available()`` in a child process (a few seconds, never on the UI thread).
    """

    ready = Signal(bool, str)   # available, reason when not

    def __init__(self, parent=None):
        super().__init__(parent)
        self.available: bool | None = None
        self.reason = "checking for a CUDA GPU…"
        self._proc: QProcess | None = None

    def start(self) -> None:
        if shutil.which("nvidia-smi") is None:
            QTimer.singleShot(0, self, lambda: self._answer(False, "no NVIDIA GPU driver here (nvidia-smi not found)"))
            return
        self._proc = _engine_process(self)
        self._proc.setArguments(["-c", "import torch; print(torch.cuda.is_available(), torch.version.cuda)"])
        self._proc.finished.connect(self._probe_finished)
        self._proc.errorOccurred.connect(lambda _e: self._answer(False, "could not ask PyTorch about CUDA"))
        self._proc.start()

    def stop(self) -> None:
        stop_child(self._proc)

    def _probe_finished(self, code: int, _status) -> None:
        out = bytes(self._proc.readAllStandardOutput()).decode(errors="replace").split()
        if code == 0 and out and out[0] == "True":
            self._answer(True, "")
        elif code == 0 and len(out) > 1 and out[1] == "None":
            self._answer(False, "this PyTorch is a CPU-only build")
        else:
            self._answer(False, "PyTorch sees no usable CUDA GPU")

    def _answer(self, ok: bool, reason: str) -> None:
        if self.available is not None:
            return
        self.available, self.reason = ok, reason
        self.ready.emit(ok, reason)


class ArchLister(QObject):
    """``digitpad-train --list-archs`` in a child process (the engine imports torch)."""

    ready = Signal(list)   # [ArchInfo]

    def __init__(self, parent=None):
        super().__init__(parent)
        self._proc: QProcess | None = None

    def start(self) -> None:
        self._proc = _engine_process(self)
        self._proc.setArguments(commands.engine_command()[1:] + ["--list-archs"])
        self._proc.finished.connect(self._done)
        self._proc.start()

    def stop(self) -> None:
        stop_child(self._proc)

    def _done(self, code: int, _status) -> None:
        if code == 0:
            archs = parse_list_archs(bytes(self._proc.readAllStandardOutput()).decode(errors="replace"))
            if archs:
                self.ready.emit(archs)
