"""Start to the first curve point in the Train tab (issue 14: target <= 1.5 s): the real window,
the real engine in its QProcess, the `fast` preset on MNIST; the clock runs from the Start
button's click to the live view's first plotted training-loss point. Each round is timed twice,
side by side: with the warm engine the open tab keeps (torch already imported), and cold (that
engine killed first, so Start launches one). Prints medians; asserts nothing.

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
    results = {"warm": ([], []), "cold": ([], [])}
    for r in range(args.rounds):
        for kind in ("warm", "cold"):
            t_wait = time.perf_counter()
            while not tab.runner.has_warm_engine() and time.perf_counter() - t_wait < 60:
                app.processEvents()
            if kind == "cold" and tab.runner._warm is not None:
                tab.runner._warm.kill()
                while tab.runner._warm is not None:
                    app.processEvents()
            s = RunSettings.from_preset("fast")
            s.data_dir, s.download, s.name = args.data_dir, False, f"bench-start-{kind}-{r}"
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
            events, points = results[kind]
            events.append(seen.get("step", float("nan")) - t0)
            points.append(seen.get("point", float("nan")) - t0)
            print(f"round {r + 1}, {kind}: first step event {events[-1]:.2f} s, first curve point {points[-1]:.2f} s"
                  f" (warm engine used: {tab.runner.used_warm})", flush=True)
            tab.stop()
            while tab.runner.is_running():
                app.processEvents()
            tab.runner.event.disconnect()
            tab.runner.event.connect(tab._event)
    for kind, (events, points) in results.items():
        print(f"{kind}: Start -> first step event median {statistics.median(events):.2f} s; Start -> first curve "
              f"point median {statistics.median(points):.2f} s ({args.rounds} rounds; target <= 1.5 s)")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    tab.shutdown()
    w.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
