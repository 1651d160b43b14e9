"""A models folder with thousands of models: the app's first frame, and how long a change in the
folder blocks the UI.

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/bench_many_models.py [--models 5000]
        [--compare OTHER_CHECKOUT]

Each figure comes from a fresh process (the description cache starts empty, as after a reboot).
- first frame: from the process's start to the window's first paint, with the models folder
  empty and with N models in it; then when the picker lists all N described (the background job);
- folder changes: a 2 ms timer runs on the UI thread while a model is added, replaced, renamed
  and deleted (each followed until the picker shows it); the longest gap between its ticks
  (the first counted from the change), less the timer's own period, is the longest the UI was
  blocked.
``--compare`` runs the same in another checkout (e.g. main before this change). Prints figures;
asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "support"))

CHILD = r"""
import os, sys, shutil, time
from pathlib import Path
def since_process_start():
    ticks = os.sysconf("SC_CLK_TCK")
    start = int(open("/proc/self/stat").read().rsplit(")", 1)[1].split()[19]) / ticks
    return float(open("/proc/uptime").read().split()[0]) - start
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
from digitpad.app import MainWindow
models, spare, n, changes = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "changes"
marks = {}
def listed():
    entries = w.picker.entries
    return len(entries) >= n + 1 and not any(getattr(e, "pending", False) for e in entries)
class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Paint and obj is w.workbench.canvas and "frame" not in marks:
            marks["frame"] = None
            QTimer.singleShot(0, framed)
        return False
def framed():
    marks["frame"] = since_process_start()
    wait_listed()
def wait_listed():
    if not listed():
        QTimer.singleShot(10, wait_listed)
        return
    marks["listed"] = since_process_start()
    if changes:
        QTimer.singleShot(1500, run_changes)   # after the later tabs are built
    else:
        done()
gaps, last = [], [None]
def tick():
    now = time.perf_counter()
    if last[0] is not None:
        gaps.append(now - last[0])
    last[0] = now
def count():
    return w.picker.combo.count()
steps = []
def run_changes():
    timer.start(2)
    before = count()
    new = models / "added-0.onnx"
    actions = [
        ("add", lambda: shutil.copy(spare, new), lambda: count() == before + 1),
        ("replace", lambda: (shutil.copy(spare, models / ".tmp"), os.replace(models / ".tmp", new)),
         lambda: True),
        ("rename", lambda: os.rename(new, models / "renamed-0.onnx"),
         lambda: any(e.path.name == "renamed-0.onnx" for e in w.picker.entries)),
        ("delete", lambda: os.remove(models / "renamed-0.onnx"), lambda: count() == before),
    ]
    def step(i):
        if i == len(actions):
            timer.stop()
            done()
            return
        name, act, seen = actions[i]
        gaps.clear()
        t0 = last[0] = time.perf_counter()   # a block that starts with the change counts from here
        act()
        def wait():
            tick()
            if not seen() or time.perf_counter() - t0 < 0.5:   # and half a second for late notifications
                QTimer.singleShot(5, wait)
                return
            steps.append((name, max(gaps, default=0.0) - 0.002))
            step(i + 1)
        QTimer.singleShot(5, wait)
    step(0)
def done():
    text = " ".join(f"{k}={v:.4f}" for k, v in steps)
    print(f"RESULT {marks['frame']:.4f} {marks['listed']:.4f} {text}", flush=True)
    app.quit()
timer = QTimer()
timer.timeout.connect(tick)
watcher = FirstPaint()
app.installEventFilter(watcher)
w = MainWindow()
w.show()
QTimer.singleShot(120_000, app.quit)
app.exec()
"""


def make_folder(root: Path, n: int) -> tuple[Path, Path]:
    """``root/data/models`` with n small digitpad models (distinct mtimes), and a spare one."""
    from model_factory import make_model

    models = root / "data" / "models"
    models.mkdir(parents=True)
    spare = make_model(root / "spare.onnx", arch="bench-net")
    for i in range(n):
        target = models / f"model-{i:05d}.onnx"
        shutil.copyfile(spare, target)
        os.utime(target, (1_700_000_000 + i, 1_700_000_000 + i))
    return models, spare


def run(repo: Path, models: Path, spare: Path, n: int, changes: bool) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPATH=str(repo), DIGITPAD_DATA_DIR=str(models.parent), QT_QPA_PLATFORM=env.get(
        "QT_QPA_PLATFORM", "offscreen"))
    out = subprocess.run([sys.executable, "-c", CHILD, str(models), str(spare), str(n),
                          "changes" if changes else "start"],
                         env=env, cwd=repo, capture_output=True, text=True, timeout=600)
    line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT")), None)
    if line is None:
        return f"failed: {out.stderr.strip().splitlines()[-1:]}"
    parts = line.split()
    frame, listed = float(parts[1]), float(parts[2])
    text = f"first frame {frame:.2f} s, all {n:,} listed and described {listed:.2f} s"
    if parts[3:]:
        text += "; UI blocked at most: " + ", ".join(
            f"{k} {float(v) * 1000:.0f} ms" for k, v in (p.split("=") for p in parts[3:]))
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=5000)
    ap.add_argument("--compare", type=Path, help="another checkout to measure the same way")
    args = ap.parse_args()
    checkouts = [("this checkout", REPO)] + ([("compare", args.compare.resolve())] if args.compare else [])
    with tempfile.TemporaryDirectory() as tmp:
        empty, spare = make_folder(Path(tmp) / "empty", 0)
        full, _ = make_folder(Path(tmp) / "full", args.models)
        for label, repo in checkouts:
            print(f"{label} ({repo}):")
            print(f"  no models:        {run(repo, empty, spare, 0, changes=False)}")
            print(f"  {args.models:,} models:     {run(repo, full, spare, args.models, changes=False)}")
            print(f"  {args.models:,} models, changes: {run(repo, full, spare, args.models, changes=True)}")


if __name__ == "__main__":
    main()
