"""Start to the first curve point in the Train tab (issue 14: target <= 1.5 s): the real window,
the real engine in its QProcess, the `fast` preset on MNIST; the clock runs from the Start
button's click to the live view's first plotted training-loss point. Prints medians; asserts
nothing.

    xvfb-run -a .venv/bin/python tests/benchmarks/bench_train_tab_start.py [--rounds 5]
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
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "datasets"))
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    os.environ["DIGITPAD_DATA_DIR"] = tempfile.mkdtemp(prefix="bench-start-")

    from _train_tab_bench import open_train_tab

    from digitpad.client.run_settings import RunSettings

    app, w = open_train_tab(sys.argv[:1], None)
    tab = w.training
    first_event, first_point = [], []
    for r in range(args.rounds):
        s = RunSettings.from_preset("fast")
        s.data_dir, s.download, s.name = args.data_dir, False, f"bench-start-{r}"
        tab.form.set_settings(s)
        seen = {}
        tab.runner.event.connect(lambda ev, seen=seen: seen.setdefault(ev.get("event"), time.perf_counter()))
        t0 = time.perf_counter()
        tab.form.start_button.click()
        while "point" not in seen and time.perf_counter() - t0 < 60:
            app.processEvents()
            curves = tab.live.curves
            if curves is not None and len(curves.plots["train_loss"].series[0][1]):   # its x values
                seen["point"] = time.perf_counter()
        first_event.append(seen.get("step", float("nan")) - t0)
        first_point.append(seen.get("point", float("nan")) - t0)
        print(f"round {r + 1}: first step event {first_event[-1]:.2f} s, first curve point {first_point[-1]:.2f} s",
              flush=True)
        tab.stop()
        while tab.runner.is_running():
            app.processEvents()
        tab.runner.event.disconnect()
        tab.runner.event.connect(tab._event)
    print(f"Start -> first step event: median {statistics.median(first_event):.2f} s; "
          f"Start -> first curve point: median {statistics.median(first_point):.2f} s "
          f"({args.rounds} rounds; target <= 1.5 s); load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    w.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
