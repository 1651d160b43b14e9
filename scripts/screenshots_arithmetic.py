"""Screenshots of the Arithmetic tab and the Model tab's shapes (issue 11), for looking at.

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python scripts/screenshots_arithmetic.py \
        --out shots/ [--model F.onnx] [--size 1920x1080] [--digit 7]

Draws a digit on the canvas as a user would (tests/support/drawing.py strokes), then clicks
units the way the mouse does (the Feature maps grid's and large map's click handlers) and saves the window:
the last layer's feature maps (honest maps: what feeds nothing dimmed; a unit's receptive field
outlined on the input), a conv1 unit, a conv3 unit (the strongest of a map, so ReLU passes it),
a pooled unit, the top logit and its probability, and the Model tab scrolled to the shapes.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "support"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--model", type=Path)
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--digit", default="7", choices=["7", "0", "1"])
    ap.add_argument("--prefix", default="")
    args = ap.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))

    import numpy as np
    from drawing import draw, loop, seven, vertical_line
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from digitpad.app import MainWindow
    from digitpad.core.paths import shipped_model_path

    w = MainWindow(model_path=args.model or shipped_model_path())
    w.resize(width, height)
    w.show()

    def settle(cond=lambda: True, seconds: float = 10.0, at_least: float = 0.15) -> None:
        t0 = time.time()
        while (time.time() - t0 < at_least) or (not cond() and time.time() - t0 < seconds):
            app.processEvents()
            time.sleep(0.01)

    settle(lambda: w.workbench.feature_maps is not None)
    wb = w.workbench
    settle(lambda: not wb.stepwise.loading)
    strokes = {"7": seven, "0": loop, "1": vertical_line}[args.digit](wb.canvas.width())
    draw(wb.canvas, strokes)
    settle()
    args.out.mkdir(parents=True, exist_ok=True)
    fm, tab = wb.feature_maps, wb.arithmetic
    p = wb.controller.predictor

    def shot(name: str) -> None:
        settle()
        path = args.out / f"{args.prefix}{name}-{width}x{height}.png"
        w.grab().save(str(path))
        print(path)

    def click_map(layer: str, channel: int | None = None) -> None:
        wb.inspector.setCurrentWidget(fm)
        fm.chooser.combo.setCurrentText(layer)
        settle()
        acts = wb.prediction.activations[layer]
        if channel is None:   # a map that is on: the one with the largest value
            channel = int(np.argmax(acts.reshape(len(acts), -1).max(axis=1)))
        r, c = np.unravel_index(int(np.argmax(acts[channel])), acts.shape[1:])
        x, y = fm.grid.tile_origin(channel)
        fm.grid._click_at(x + c + 0.5, y + r + 0.5)    # where a mouse click on that map lands: it opens large
        fm.large._click_at(c + 0.5, r + 0.5)           # and on its pixel there: its arithmetic

    if p.layers:   # honest maps: the last layer's maps, one selected, a unit hovered (its field outlined)
        wb.inspector.setCurrentWidget(fm)
        fm.chooser.combo.setCurrentText(p.layers[-1])
        settle()
        fm.select_map(0)
        last = p.stage_name(p.layers[-1])
        h, wd = p.network.stage(last).shape[1:]
        wb.arithmetic_link.show_field((p.layers[-1], (0, h // 2, wd // 2)))
        shot("honest")
        click_map(p.layers[0])
        shot("conv1")
        if len(p.layers) > 2:
            click_map(p.layers[2])
            shot("conv3")
            tab.scroll.verticalScrollBar().setValue(tab.scroll.verticalScrollBar().maximum())
            shot("conv3-bottom")
    pooled = next((s for s in p.stages() if s.op == "MaxPool"), None)
    if pooled is not None:
        values = p.trace(wb.model_input)[pooled.name][0]
        tab.show_unit(pooled.name, np.unravel_index(int(np.argmax(values)), values.shape))
        wb.inspector.setCurrentWidget(tab)
        shot("pool")
    logits = p.stage_name(p.logits_name) if p.logits_name else p.stages()[-1].name
    tab.show_unit(logits, (int(wb.prediction.top),))
    wb.inspector.setCurrentWidget(tab)
    shot("logit")
    probs = p.stages()[-1]
    if probs.op == "Softmax":
        tab.show_unit(probs.name, (int(wb.prediction.top),))
        shot("softmax")
    wb.inspector.setCurrentIndex(wb.inspector.count() - 1)
    settle()
    page = wb.inspector.currentWidget()
    bar = page.verticalScrollBar()
    bar.setValue(wb.shapes_view.y() - 8)
    shot("shapes")
    bar.setValue(bar.maximum())
    shot("what-if")
    sv = wb.shapes_view
    if sv.rows:   # settings that cannot work, explained; and ceil mode on the last pool
        sv.rows[-1]["ceil"].setChecked(True)
        sv.rows[1]["k"].setValue(40)
        settle()
        bar.setValue(bar.maximum())
        shot("what-if-invalid")
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
