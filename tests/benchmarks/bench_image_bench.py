"""The image bench: an opened picture -> its prediction and feature maps on screen, and a test image
clicked in the strip -> on screen, for a CIFAR-10-shaped model (seed 003's network, random weights:
timing, not accuracy), a Fashion-MNIST one and the shipped digit model reading a photo of a digit.

    cd CHECKOUT && PYTHONPATH=. QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/bench_image_bench.py

"On screen" is: Open image… (the file named) -> the worker reads and prepares it -> the UI thread
predicts and hands the answer to every view -> the input view and the Feature maps grid (conv1, 32
maps of 32x32 for seed 003) are repainted. Files: a 32x32 PNG, a 640x480 JPEG, a 12-megapixel JPEG
(a phone's photo) and PNG. Prints medians (and the worker's share); asserts nothing.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "support"))
os.environ.setdefault("DIGITPAD_DATA_DIR", tempfile.mkdtemp(prefix="bench-image-bench-"))

import numpy as np  # noqa: E402

RUNS = 15


def _files(folder: Path) -> dict[str, Path]:
    from pictures import scene
    from PIL import Image

    out = {}
    for name, (w, h), fmt in (("32x32 PNG", (32, 32), "PNG"), ("640x480 JPEG", (640, 480), "JPEG"),
                              ("4032x3024 JPEG", (4032, 3024), "JPEG"), ("4032x3024 PNG", (4032, 3024), "PNG")):
        path = folder / f"{name.replace(' ', '-')}.{fmt.lower()}"
        small = Image.fromarray(scene(min(w, 800), min(h, 600), seed=1))
        small.resize((w, h), Image.BICUBIC).save(path, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
        out[name] = path
    return out


def main() -> None:
    from model_factory import make_fashion_model, make_seed003_model
    from pictures import digit_photo, write_cifar_folder
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from digitpad.app import MainWindow
    from digitpad.core.datasets import load_split
    from digitpad.core.paths import shipped_model_path
    from digitpad.core.settings import SettingsStore

    tmp = Path(tempfile.mkdtemp(prefix="bench-pictures-"))
    files = _files(tmp)
    data = write_cifar_folder(tmp / "data", per_class=5)
    SettingsStore().update(datasets_folder=str(data))
    seed003 = make_seed003_model(tmp / "seed003.onnx")

    def settle(cond=lambda: True, seconds=30.0, at_least=0.2):
        t0 = time.time()
        while (time.time() - t0 < at_least) or (not cond() and time.time() - t0 < seconds):
            app.processEvents()
            time.sleep(0.002)

    w = MainWindow(model_path=seed003)
    w.resize(1400, 900)
    w.show()
    wb = w.workbench
    settle(lambda: wb.feature_maps is not None and not wb.stepwise.loading and not wb.strip.jobs.busy(), at_least=1)
    wb.inspector.setCurrentWidget(wb.feature_maps)
    wb.feature_maps.chooser.combo.setCurrentText("conv1")

    def on_screen() -> None:
        wb.input_view.repaint()
        wb.feature_maps.grid.viewport().repaint()

    def open_and_show(path: Path) -> tuple[float, float]:
        """Seconds from Open to painted, and the worker's share."""
        before = wb.opened
        t0 = time.perf_counter()
        wb.opener.open_file(path)
        while wb.opened is before:
            app.processEvents()
        on_screen()
        return time.perf_counter() - t0, wb.opened.seconds

    print(f"{REPO.name}: load {os.getloadavg()[0]:.1f}; seed 003 (1,250,858 parameters), Feature maps on conv1 "
          f"(32 maps of 32x32); medians of {RUNS}")
    for name, path in files.items():
        open_and_show(path)   # warm: the file in the page cache, Pillow's plugin imported
        runs = [open_and_show(path) for _ in range(RUNS)]
        total, worker = (np.median([r[i] for r in runs]) * 1e3 for i in (0, 1))
        print(f"  open {name:15s} -> on screen {total:6.1f} ms (reading and preparing on the worker {worker:6.1f} ms)")
    clicks = []
    for i in range(RUNS):
        t0 = time.perf_counter()
        wb.strip.choose(i % len(wb.strip.entries))
        on_screen()
        clicks.append(time.perf_counter() - t0)
    print(f"  a test image clicked in the strip -> on screen {np.median(clicks) * 1e3:6.1f} ms")
    page = []
    for _ in range(5):
        t0 = time.perf_counter()
        wb.strip.classes.setCurrentIndex(1 + len(page) % 10)
        settle(lambda: not wb.strip.jobs.busy(), at_least=0)
        page.append(time.perf_counter() - t0)
    print(f"  a page of the strip (one class, read, predicted, thumbnails made) {np.median(page) * 1e3:6.1f} ms")

    # Fashion-MNIST: a product photo.
    w.controller.load(make_fashion_model(tmp / "fashion.onnx"))
    settle(lambda: not wb.stepwise.loading, at_least=0.5)
    runs = [open_and_show(files["640x480 JPEG"]) for _ in range(RUNS)]
    print(f"Fashion-MNIST model: open 640x480 JPEG -> on screen {np.median([r[0] for r in runs]) * 1e3:6.1f} ms")

    # The shipped digit model: a photo of a handwritten digit, through the Draw tab's Open.
    w.controller.load(shipped_model_path())
    settle(lambda: not wb.stepwise.loading, at_least=0.5)
    digit = load_split(REPO.parent / "shared" / "datasets", "mnist", "test").images[0]
    photo = tmp / "digit.jpg"
    photo.write_bytes(digit_photo(digit))
    runs = [open_and_show(photo) for _ in range(RUNS)]
    print(f"Shipped digit model: open a 400x400 JPEG photo of a digit -> on screen "
          f"{np.median([r[0] for r in runs]) * 1e3:6.1f} ms (worker {np.median([r[1] for r in runs]) * 1e3:.1f} ms)")
    w.close()


if __name__ == "__main__":
    main()
