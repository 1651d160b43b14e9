"""Does the window stay responsive while the Train tab runs the engine?

    xvfb-run -s "-screen 0 1400x900x24" .venv/bin/python tests/benchmarks/bench_train_tab_responsiveness.py \
        [--threads 2] [--limit 20000] [--epochs 1] [--arch digitpad-s]

The whole app (MainWindow) on the Train tab, live curves visible, runs a real training
run; a 5 ms QTimer probe on the UI thread records every gap between its ticks from Start
to the end of the export. A stall is a gap longer than the probe period. ``--threads 2``
makes the engine use both cores (the tab's default leaves one to the UI). Target: no
stall > 50 ms.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DIGITPAD_DATA_DIR", tempfile.mkdtemp(prefix="digitpad-bench-"))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--limit", type=int, default=20000)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--arch", default="digitpad-s")
    p.add_argument("--data-dir", default=str(REPO.parent / "shared" / "datasets"))
    p.add_argument("--nice", type=int, default=None, help="the engine's niceness (default: the tab's)")
    p.add_argument("--baseline", type=float, default=10.0,
                   help="seconds of the same probe with no run first: what the OS alone costs here")
    a = p.parse_args()

    from _train_tab_bench import open_train_tab
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    app, w = open_train_tab(sys.argv, a.nice)
    from digitpad.client import commands as tmodel
    from digitpad.client.run_settings import RunSettings
    from digitpad.gui import engine as trunner

    s = RunSettings.from_preset("fast")
    s.arch, s.data_dir, s.download, s.limit, s.epochs = a.arch, a.data_dir, False, a.limit, a.epochs
    s.name = f"bench-{os.getpid()}"
    w.training.form.set_settings(s)
    threads = a.threads
    tmodel_default = tmodel.default_threads
    tmodel.default_threads = lambda: threads   # what --threads the tab asks for

    ticks: list[float] = []
    cpu: dict[float, float] = {}
    probe = QTimer()
    probe.setTimerType(Qt.PreciseTimer)
    probe.setInterval(5)
    def tick():
        t = time.perf_counter()
        ticks.append(t)
        cpu[t] = time.thread_time()
    probe.timeout.connect(tick)

    # Time spent in the tab's own handlers on the UI thread (what the tab costs the loop).
    spent: dict[str, list[float]] = {}

    def timed(obj, name, label):
        fn = getattr(obj, name)

        def wrapper(*args):
            t = time.perf_counter()
            try:
                return fn(*args)
            finally:
                spent.setdefault(label, []).append((time.perf_counter() - t) * 1000)
        setattr(obj, name, wrapper)
        return wrapper

    tab = w.training
    tab._redraw.timeout.disconnect()
    tab._redraw.timeout.connect(timed(tab, "_redraw_now", "redraw (progress + curves)"))
    if a.baseline > 0:
        loop = QEventLoop()
        QTimer.singleShot(int(a.baseline * 1000), loop.quit)
        probe.start()
        loop.exec()
        probe.stop()
        base = sorted((b - a_) * 1000 for a_, b in zip(ticks, ticks[1:]))
        print(f"baseline, no run, {a.baseline:.0f} s: p99 {base[int(0.99 * (len(base) - 1))]:.1f} ms, "
              f"MAX {base[-1]:.1f} ms; gaps > 50 ms: {sum(g > 50 for g in base)}")
        ticks.clear()
    loop = QEventLoop()
    w.training.runFinished.connect(lambda _s: loop.quit())
    probe.start()
    t0 = time.perf_counter()
    assert w.training.start(), w.training.form.problem_label.text()
    runner = w.training.runner
    marks = [(t0, "start pressed")]
    runner.event.connect(lambda ev: ev["event"] != "step" and marks.append((time.perf_counter(), ev["event"])))
    runner.event.connect(lambda ev: ev["event"] == "step" and len(marks) < 3 and marks.append(
        (time.perf_counter(), "first step")))
    runner.proc.readyReadStandardOutput.disconnect()
    runner.proc.readyReadStandardOutput.connect(timed(runner, "_read_stdout", "stdout events"))
    loop.exec()
    wall = time.perf_counter() - t0
    probe.stop()
    tmodel.default_threads = tmodel_default
    st = w.training.runner.state
    gaps = sorted((b - a_) * 1000 for a_, b in zip(ticks, ticks[1:]))
    p99 = gaps[int(0.99 * (len(gaps) - 1))]
    over = sum(g > 50 for g in gaps)
    print(f"run: {a.arch}, {st.n_train:,} images x {a.epochs} epoch(s), --threads {threads}, status {st.status}, "
          f"nice {trunner.ENGINE_NICE}, {st.samples_per_s:,.0f} samples/s, "
          f"{wall:.1f} s from Start to the end of the export; cores "
          f"{os.cpu_count()}, load average {os.getloadavg()[0]:.1f}; platform {app.platformName()}")
    busy_all = sorted((cpu[b] - cpu[a_]) * 1000 for a_, b in zip(ticks, ticks[1:]))
    print(f"UI thread busy per gap: p99 {busy_all[int(0.99 * (len(busy_all) - 1))]:.1f} ms, "
          f"MAX {busy_all[-1]:.1f} ms (the rest of a gap is the OS giving the CPU to other processes)")
    print(f"UI probe (5 ms timer): {len(gaps):,} gaps; median {statistics.median(gaps):.1f} ms, "
          f"p99 {p99:.1f} ms, MAX {gaps[-1]:.1f} ms; gaps > 50 ms: {over}")
    print("worst 5 gaps (ms):", ", ".join(f"{g:.1f}" for g in gaps[-5:]))
    worst = sorted(zip(ticks, ticks[1:]), key=lambda ab: ab[0] - ab[1])[:8]
    for a_, b in sorted(worst):
        phase = max((m for m in marks if m[0] <= b), default=marks[0])
        busy = (cpu[b] - cpu[a_]) * 1000
        print(f"  gap {(b - a_) * 1000:6.1f} ms (UI thread busy {busy:5.1f} ms of it) at t={a_ - t0:6.2f} s, "
              f"after '{phase[1]}' (+{a_ - phase[0]:.2f} s)")
    for label, ms in spent.items():
        ms = sorted(ms)
        print(f"UI thread in {label}: {len(ms)} calls, median {statistics.median(ms):.2f} ms, "
              f"max {ms[-1]:.2f} ms, total {sum(ms):.0f} ms")
    w.close()


if __name__ == "__main__":
    main()
