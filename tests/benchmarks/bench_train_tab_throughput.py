"""Does watching a run from the Train tab slow the training down?

    xvfb-run -s "-screen 0 1400x900x24" .venv/bin/python tests/benchmarks/bench_train_tab_throughput.py \
        [--rounds 3] [--limit 6000] [--arch digitpad-s] [--nice 0]

The same engine command, alternately (1) in a shell-like subprocess whose stdout is only
collected, and (2) from the Train tab of the whole app, on screen with live curves. The
figure is the engine's own samples/s for the training loop (its last step event: total
samples over the loop's time). Medians over the rounds; target: the tab within 5 %.
``--nice`` sets the niceness the tab gives the engine (default: the tab's own, 10; the shell
runs at 0, so on a machine busy with other work the tab's default is slower by design).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DIGITPAD_DATA_DIR", tempfile.mkdtemp(prefix="digitpad-bench-"))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--limit", type=int, default=6000)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--arch", default="digitpad-s")
    p.add_argument("--nice", type=int, default=None)
    p.add_argument("--data-dir", default=str(REPO.parent / "shared" / "datasets"))
    a = p.parse_args()

    from _train_tab_bench import open_train_tab
    from PySide6.QtCore import QEventLoop

    app, w = open_train_tab(sys.argv, a.nice)
    from digitpad.client import commands as tmodel
    from digitpad.client.run_settings import RunSettings
    from digitpad.core.paths import models_dir
    from digitpad.gui import engine as trunner

    def settings(name: str) -> RunSettings:
        s = RunSettings.from_preset("fast")
        s.arch, s.data_dir, s.download, s.limit, s.epochs, s.name = a.arch, a.data_dir, False, a.limit, a.epochs, name
        return s

    def shell_run(i: int) -> float:
        s = settings(f"shell-{i}")
        args = tmodel.engine_command() + tmodel.train_args(s, s.out_path(models_dir()))
        out = subprocess.run(args, cwd=REPO, capture_output=True, text=True, check=True).stdout
        steps = [json.loads(line) for line in out.splitlines() if '"event": "step"' in line]
        return steps[-1]["samples_per_s"]

    def tab_run(i: int) -> float:
        loop = QEventLoop()
        w.training.runFinished.connect(loop.quit)
        assert w.training.start() if w.training.form.set_settings(settings(f"tab-{i}")) is None else False
        loop.exec()
        w.training.runFinished.disconnect(loop.quit)
        st = w.training.runner.state
        assert st.status == "completed", st.error
        return st.samples_per_s

    shell, tab = [], []
    print(f"command: digitpad-train {' '.join(tmodel.train_args(settings('X'), Path('X.onnx')))}")
    print(f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}, tab's engine nice "
          f"{trunner.ENGINE_NICE}", flush=True)
    for i in range(a.rounds):
        first, second = (shell_run, tab_run) if i % 2 == 0 else (tab_run, shell_run)
        for fn in (first, second):
            v = fn(i)
            (shell if fn is shell_run else tab).append(v)
            print(f"round {i + 1} {'shell' if fn is shell_run else 'tab  '}: {v:,.0f} samples/s "
                  f"(load average {os.getloadavg()[0]:.1f})", flush=True)
    ms, mt = statistics.median(shell), statistics.median(tab)
    print(f"MEDIAN shell {ms:,.0f} samples/s, tab {mt:,.0f} samples/s: tab/shell = {mt / ms:.3f} "
          f"({(mt / ms - 1) * 100:+.1f} %; target within 5 %)")
    w.close()


if __name__ == "__main__":
    main()
