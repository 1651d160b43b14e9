"""Screenshots of every tab at a given window size, for checking the layout by eye.

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python scripts/screenshots.py --size 1280x720 --out shots/

The window is driven as a user would: a digit drawn on the canvas, a feature map opened,
a photo of a handwritten digit opened, the history's runs selected, a guided set started. With a
model that takes pictures (``--model`` a CIFAR-10 or Fashion-MNIST model; ``--data-dir`` a folder
with its test set) the Draw tab is the image bench: a test image chosen, a photo opened (``--picture``,
else one made here), the colour kernels, a conv1 unit's arithmetic over three channels, the Model page.
Point ``DIGITPAD_DATA_DIR`` at a data folder with a few runs (and My digits) to see the history and
fine-tuning as they look in use.
Each PNG is the window's own pixels (``QWidget.grab``); ``--root`` also saves the whole
screen, which shows whether the window kept its size.

``--readme assets`` also writes the README's pictures, one per tab (and the image bench, for a
model that takes pictures), in 256 colours so each stays well under 300 KB:

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python scripts/screenshots.py --size 1280x720 \
        --data-dir ../shared/datasets --out shots/ --readme assets/
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

SEVEN = [[(0.28, 0.2), (0.72, 0.2), (0.6, 0.45), (0.46, 0.8)]]
FOUR = [[(0.55, 0.18), (0.3, 0.58), (0.74, 0.58)], [(0.6, 0.35), (0.6, 0.84)]]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="1280x720", help="window size WxH")
    p.add_argument("--out", default="shots", help="folder for the PNGs")
    p.add_argument("--model", help="an .onnx to start with (default: the last used or the shipped model)")
    p.add_argument("--data-dir", help="the test set folder for the Evaluate tab")
    p.add_argument("--image-folder", help="a folder of labelled pictures for the Train tab's \"Image folder…\"")
    p.add_argument("--only", help="only these screenshots' groups, comma-separated: draw,explore,learn,train,"
                                  "evaluate,mydigits")
    p.add_argument("--second", help="an .onnx to compare with (the explore group's Compare and Evaluate shots)")
    p.add_argument("--root", action="store_true", help="also save the whole screen (ImageMagick import)")
    p.add_argument("--picture", help="a picture to open in the Draw tab (default: one made here)")
    p.add_argument("--readme", help="also write the README's pictures (one per tab) to this folder")
    p.add_argument("--run", action="store_true", help="train group: start a real run (the form's settings) and "
                                                      "shoot its live kernels and maps after a few snapshots, then "
                                                      "stop it")
    args = p.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtWidgets import QApplication

    from digitpad.app import MainWindow
    from digitpad.core.settings import SettingsStore

    app = QApplication.instance() or QApplication(sys.argv)
    if args.data_dir:
        SettingsStore().update(datasets_folder=args.data_dir)
    win = MainWindow(model_path=args.model)
    win.resize(w, h)
    win.show()

    def settle(seconds: float = 0.3) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    groups = set(args.only.split(",")) if args.only else {"draw", "explore", "learn", "timeline", "train", "evaluate",
                                                                       "mydigits"}

    def wait_for(jobs, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        settle(0.2)
        while jobs.busy() and time.monotonic() < deadline:
            settle(0.2)

    def shot(name: str) -> None:
        settle()
        win.grab().save(str(out / f"{name}.png"))
        if args.root:
            os.system(f"import -window root {out / (name + '-screen.png')}")
        size = win.size()
        print(f"{name}: window {size.width()}x{size.height()}", flush=True)

    settle(1.0)
    if "draw" in groups:
        if win.workbench.takes_pictures:
            bench(win, settle, shot, out, args.picture)
        else:
            draw(win, settle, shot)
            digit_photo(win, settle, shot, out, args.picture, args.data_dir)
    if "explore" in groups:
        explore(win, settle, shot, wait_for, args.second)
    if "learn" in groups:
        learn(win, settle, shot, wait_for)
    if "timeline" in groups:
        timeline(win, settle, shot, wait_for)
    if "train" in groups:
        train(win, settle, shot, wait_for, args.image_folder)
        if args.run:
            live_run(win, settle, shot)
    if "evaluate" in groups:
        win.tabs.setCurrentWidget(win.evaluation)
        wait_for(win.evaluation.jobs)
        shot("evaluate")
        if win.evaluation.gallery.count():
            win.evaluation.show_cell(*max(((r, c) for r in range(win.evaluation.result.confusion.shape[0])
                                           for c in range(win.evaluation.result.confusion.shape[0]) if r != c),
                                          key=lambda rc: win.evaluation.result.confusion[rc]))
            shot("evaluate-cell")
    if "mydigits" in groups:
        win.tabs.setCurrentWidget(win.my_digits)
        if win.my_digits.list.count():   # one sample selected: what the model reads of it
            win.my_digits.list.item(0).setSelected(True)
        shot("mydigits")
        win.my_digits.start_guided()
        shot("mydigits-guided")
        for name, dialog in (("about", win.show_about()), ("manage-models", win.manage_models())):
            settle()
            dialog.grab().save(str(out / f"{name}.png"))
            print(f"{name}: dialog {dialog.width()}x{dialog.height()}", flush=True)
            dialog.close()
    print(f"window at the end: {win.width()}x{win.height()} (asked {w}x{h})")
    win.close()
    if args.readme:
        readme_pictures(out, Path(args.readme))
    return 0


# The README's pictures: the name in the README, and the screenshot it is (the first one taken).
README = {"draw.png": ["draw-seven"], "arithmetic.png": ["draw-arithmetic"], "image-bench.png": ["bench-test-image"],
          "train.png": ["train-history-overlay", "train-history", "train-live"],
          "evaluate.png": ["evaluate-cell", "evaluate"], "my-digits.png": ["mydigits-guided", "mydigits"]}


def readme_pictures(shots: Path, folder: Path) -> None:
    """The screenshots the README shows, in 256 colours (a UI has few; a tenth of the bytes)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for name, candidates in README.items():
        found = next((shots / f"{c}.png" for c in candidates if (shots / f"{c}.png").is_file()), None)
        if found is None:
            continue
        with Image.open(found) as im:
            im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE) \
                .save(folder / name, optimize=True)
        print(f"{folder / name}: {(folder / name).stat().st_size // 1024} KB (from {found.name})", flush=True)


def draw(win, settle, shot) -> None:
    wb = win.workbench
    shot("draw-empty")
    side = wb.canvas.width()
    for stroke in SEVEN:
        wb.canvas.draw_stroke([(x * side, y * side) for x, y in stroke])
    wb.corrections.correct(7)
    if wb.feature_maps is not None and wb.feature_maps.chooser.combo.count() > 1:
        wb.feature_maps.chooser.combo.setCurrentIndex(1)
        wb.feature_maps.select_map(3)
    wb.saliency_box.setChecked(True)
    settle(1.0)
    shot("draw-seven")
    wb.canvas.clear()
    wb.canvas.draw_stroke([(side * 0.5, side * 0.48), (side * 0.52, side * 0.5)], width=8)   # a hint
    shot("draw-hint")
    wb.canvas.clear()
    for stroke in FOUR:
        wb.canvas.draw_stroke([(x * side, y * side) for x, y in stroke])
    wb.inspector.setCurrentIndex(1)
    shot("draw-kernels")
    wb.inspector.setCurrentIndex(2)
    shot("draw-arithmetic")
    wb.inspector.setCurrentIndex(wb.inspector.count() - 1)
    shot("draw-model")
    wb.inspector.setCurrentIndex(0)


def _opened(win, settle, path) -> None:
    """Open a picture as Open image… does, and wait until it is on screen."""
    wb = win.workbench
    before = wb.opened
    wb.opener.open_file(path)
    deadline = time.monotonic() + 20
    while wb.opened is before and time.monotonic() < deadline:
        settle(0.05)


def _support():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))
    import pictures

    return pictures


def digit_photo(win, settle, shot, out: Path, picture, data_dir) -> None:
    """A photo of MNIST's first test digit (ink on paper, lit from one corner) opened in the Draw tab."""
    if picture is None and data_dir:
        from digitpad.core.datasets import DatasetError, load_split

        try:
            digit = load_split(data_dir, "mnist", "test").images[0]
        except DatasetError:
            return
        picture = out / "_digit-photo.jpg"
        picture.write_bytes(_support().digit_photo(digit))
    if picture is not None:
        _opened(win, settle, picture)
        shot("draw-photo")


def bench(win, settle, shot, out: Path, picture) -> None:
    """The image bench of a model that takes pictures."""
    wb = win.workbench
    deadline = time.monotonic() + 120
    while wb.strip.jobs.busy() and time.monotonic() < deadline:
        settle(0.2)
    shot("bench-strip")
    if wb.strip.entries:
        wb.strip.choose(min(3, len(wb.strip.entries) - 1))
    wb.saliency_box.setChecked(True)
    if wb.feature_maps is not None:
        wb.feature_maps.select_map(1)
    settle(1.0)
    shot("bench-test-image")
    if picture is None:   # a photo-like picture, 4:3: a red and a blue block under a sky
        from PIL import Image

        picture = out / "_photo.jpg"
        Image.fromarray(_support().scene(800, 600)).save(picture, quality=90)
    _opened(win, settle, picture)
    settle(0.5)
    shot("bench-picture")
    wb.inspector.setCurrentIndex(1)
    shot("bench-kernels")
    wb.inspector.setCurrentIndex(2)
    p = wb.controller.predictor
    conv1 = next((st.name for st in p.stages() if st.op == "Conv"), None) if wb.stepwise.ready else None
    if conv1 is not None:
        c, h, w = p.network.stage(conv1).shape
        wb.arithmetic.show_unit(conv1, (1, h // 2, w // 2))
    shot("bench-arithmetic")
    wb.inspector.setCurrentIndex(wb.inspector.count() - 1)
    shot("bench-model")
    if wb.shapes_view is not None and wb.shapes_view.rows:
        wb.inspector.currentWidget().ensureWidgetVisible(wb.shapes_view.rows[-1]["result"], 0, 40)
        shot("bench-what-if")
    wb.inspector.setCurrentIndex(0)


def show_input(wb, wait_for) -> None:
    """An input for the views: a seven drawn, or on the image bench the fourth test image."""
    if wb.takes_pictures:
        wait_for(wb.strip.jobs, 120)
        if wb.strip.entries:
            wb.strip.choose(min(3, len(wb.strip.entries) - 1))
    else:
        wb.canvas.clear()
        side = wb.canvas.width()
        for stroke in SEVEN:
            wb.canvas.draw_stroke([(x * side, y * side) for x, y in stroke])


def explore(win, settle, shot, wait_for, second: str | None) -> None:
    """The test set's map with the input as a live point (and a point hovered), what a feature map responds
    to, and with ``second`` a second model: the Compare view and Evaluate's side-by-side accuracy."""
    wb = win.workbench
    show_input(wb, wait_for)
    tm = wb.inspectors.test_map
    wb.inspector.setCurrentWidget(tm)
    deadline = time.monotonic() + 120
    while not (tm.map is not None and tm.map.final) and time.monotonic() < deadline:
        settle(0.2)
    shot("explore-map")
    if tm.map is not None and tm.placement is not None:
        far = tm.placement.nearest[-1]          # a neighbour of the input: hovered, its preview shown
        from PySide6.QtCore import QPointF

        tm._mouse_moved(tm.view.mapViewToScene(QPointF(*map(float, tm.map.points[far]))))
        shot("explore-map-hover")
        tm._mouse_moved(QPointF(-100, -100))
    fm = wb.feature_maps
    wb.inspector.setCurrentWidget(fm)
    if fm.chooser.combo.count() > 1:
        fm.chooser.combo.setCurrentIndex(1)
    fm.select_map(3)
    wait_for(fm.responses.jobs, 120)
    shot("explore-responses")
    if second:
        win.controller.second.load(second)
        cv = wb.inspectors.compare
        wb.inspector.setCurrentWidget(cv)
        wait_for(cv.jobs, 120)
        shot("explore-compare")
        win.tabs.setCurrentWidget(win.evaluation)
        wait_for(win.evaluation.jobs, 120)
        wait_for(win.evaluation.second_jobs, 120)
        shot("explore-evaluate")
        win.tabs.setCurrentWidget(wb)
    wb.inspector.setCurrentIndex(0)


def learn(win, settle, shot, wait_for) -> None:
    """Backpropagation for the drawing (a seven, the loss taken for "1"; an image on the bench, for its answer):
    the input's gradient, the first layer's kernels' gradient, two steps taken (probabilities before and
    after, the kernels after them, the test sample), a layer's feature maps' gradient, and the backward side
    of the arithmetic of the unit with the largest gradient. Nothing is saved: the steps stay in memory."""
    wb = win.workbench
    view = wb.inspectors.learn
    show_input(wb, wait_for)
    wb.inspector.setCurrentWidget(view)
    if not wb.takes_pictures and wb.controller.predictor is not None:
        wb.backprop.choose(1)   # "what if it was a 1?": a large loss, a step that visibly moves it
    wait_for(wb.backprop.job)
    settle(0.5)
    shot("learn-input")
    p = wb.controller.predictor
    layers = p.layers if p is not None else []
    if wb.backprop.gradients is None or not layers:
        wb.inspector.setCurrentIndex(0)
        return
    kernels = view.what.findData(f"kernels:{layers[0]}")
    if kernels >= 0:
        view.what.setCurrentIndex(kernels)
    shot("learn-kernels")
    view.step_panel.rate.setCurrentIndex(view.step_panel.rate.findData(0.1))
    for _ in range(2):
        view.step_panel.take()
        wait_for(view.step_panel.stepper)
    wait_for(view.step_panel.sampler, 120)
    if view.show_buttons[2].isVisible():
        view.show_buttons[2].click()
    shot("learn-step")
    maps = view.what.findData(f"maps:{layers[min(1, len(layers) - 1)]}")
    if maps >= 0:
        view.what.setCurrentIndex(maps)
        view.show_buttons[0].click()
        shot("learn-maps")
        g = wb.backprop.gradients
        layer = view.choice[1]
        # the unit with the largest gradient among those that are on (an off ReLU passes nothing further back)
        grad = np.abs(g.activations[layer]) * (wb.prediction.activations[layer] > 0)
        c, r, col = np.unravel_index(int(np.argmax(grad)), grad.shape)
        view.unitClicked.emit(layer, int(c), int(r), int(col))
        wait_for(wb.backprop.job)
        settle(0.5)
        shot("learn-arithmetic")
        section = wb.inspectors.backward   # its heading at the top of the page
        top = section.mapTo(wb.arithmetic.panel, section.rect().topLeft()).y()
        wb.arithmetic.scroll.verticalScrollBar().setValue(top)
        shot("learn-arithmetic-backward")
    wb.inspector.setCurrentIndex(0)


def timeline(win, settle, shot, wait_for) -> None:
    """A model with training snapshots: its maps and kernels at an early snapshot and at the last."""
    wb = win.workbench
    view = wb.timeline
    wait_for(view.opening)
    if view.timeline is None:
        print(f"timeline: none ({view.note.full})", flush=True)
        return
    win.tabs.setCurrentWidget(wb)
    show_input(wb, wait_for)
    wb.inspector.setCurrentWidget(wb.feature_maps)
    for name, k in (("timeline-early", min(3, view.last)), ("timeline-late", view.last)):
        view.set_snapshot(k)
        wait_for(view.jobs)
        shot(name)
        wb.inspector.setCurrentWidget(wb.kernels_view)
        shot(name + "-kernels")
        wb.inspector.setCurrentWidget(wb.feature_maps)


def live_run(win, settle, shot, seconds: float = 240) -> None:
    """A real run from the Train tab: its live kernels and maps once a few snapshots have come, then stopped."""
    tab = win.training
    win.tabs.setCurrentWidget(tab)
    tab.views.setCurrentIndex(0)
    if not tab.start():
        print("train-live-run: the run did not start", flush=True)
        return
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        settle(0.5)
        snap = tab.runner.state.snapshot
        if snap is not None and snap.step >= 40:
            break
    settle(1.0)
    shot("train-live-run")
    tab.stop()
    deadline = time.monotonic() + 60
    while tab.runner.is_running() and time.monotonic() < deadline:
        settle(0.5)
    shot("train-live-stopped")


def _choose(combo, data) -> None:
    combo.setCurrentIndex(combo.findData(data))
    combo.activated.emit(combo.currentIndex())


def train(win, settle, shot, wait_for, image_folder: str | None) -> None:
    win.tabs.setCurrentWidget(win.training)
    shot("train-live")
    win.training.views.setCurrentIndex(1)
    settle(0.5)
    shot("train-history")
    hist = win.training.history
    if hist.table.rowCount() >= 2:
        from PySide6.QtWidgets import QTableWidgetSelectionRange

        hist.table.selectRow(0)
        hist.table.setRangeSelected(QTableWidgetSelectionRange(1, 0, 1, hist.table.columnCount() - 1), True)
        shot("train-history-overlay")
        hist.curves.by_time.setChecked(True)
        shot("train-history-overlay-time")
        hist.curves.by_step.setChecked(True)
    fine = [i for i, r in enumerate(hist.runs) if r.base_model is not None]
    if fine:
        hist.table.clearSelection()
        hist.table.selectRow(fine[0])
        shot("train-history-finetune")
    form = win.training.form
    before = form.settings()
    _choose(form.dataset, "cifar10")              # the Data set page comes up with its samples
    wait_for(win.training.previews)
    shot("train-cifar10")
    if image_folder:
        form.data.ask_folder = lambda *_a: image_folder
        form.data.image_dir.setText("")
        _choose(form.dataset, "folder")
        wait_for(win.training.previews)
        shot("train-folder")
    form.set_settings(before)
    win.training.views.setCurrentIndex(0)


if __name__ == "__main__":
    sys.exit(main())
