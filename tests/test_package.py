"""A real package: a wheel built from the project works away from the checkout.

The wheel is built, installed into a fresh folder and used from another working directory:
the app opens with the shipped model (package data) and the engine trains and exports a
model. Nothing may come from the checkout: the imported files must be the installed ones.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    # Built from a copy: setuptools keeps a build/ folder in the source tree, whose stale
    # files (modules since deleted) would end up in the wheel.
    source = tmp_path_factory.mktemp("source") / "digitpad-src"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "tests", ".pytest_cache"))
    wheels = tmp_path_factory.mktemp("wheels")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(wheels), str(source)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = wheels.glob("digitpad-*.whl")
    target = tmp_path_factory.mktemp("site")
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                              str(wheel)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-3000:]
    return target


def _env(target: Path, data: Path) -> dict[str, str]:
    # The installed folder first: it shadows the editable install of the checkout.
    return dict(os.environ, PYTHONPATH=str(target), DIGITPAD_DATA_DIR=str(data), QT_QPA_PLATFORM="offscreen")


def test_the_installed_app_opens_with_the_shipped_model(installed, tmp_path):
    code = textwrap.dedent("""
        import digitpad, training
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from digitpad.app import MainWindow
        w = MainWindow()
        w.workbench.canvas.draw_stroke([(200, 80), (200, 320)])
        print(digitpad.__file__)
        print(training.__file__)
        print(w.controller.predictor.path)
        print(w.workbench.prediction.top)
        print(not w.windowIcon().isNull())   # the icon is package data too
        w.close()
    """)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    out = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env=_env(installed, tmp_path / "data"),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    package, engine, model, top, icon = out.stdout.split()[-5:]
    assert icon == "True"
    assert Path(package).is_relative_to(installed) and Path(engine).is_relative_to(installed)
    assert Path(model) == installed / "digitpad" / "assets" / "models" / "default.onnx"
    assert top == "1"     # a vertical bar, read by the shipped model


def test_the_installed_engine_trains_and_exports(installed, tmp_path, mnist_dir):
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    script = installed / "bin" / "digitpad-train"
    out = subprocess.run([sys.executable, str(script), "--preset", "fast", "--limit", "2000", "--data-dir",
                          str(mnist_dir), "--out", "fast.onnx", "--threads", "2", "--progress", "jsonl"],
                         cwd=elsewhere, env=_env(installed, tmp_path / "data"), capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    events = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    exported = next(e for e in events if e["event"] == "exported")
    assert (elsewhere / exported["path"]).resolve() == (elsewhere / "fast.onnx").resolve()   # relative to its cwd
    assert (elsewhere / "fast.onnx").is_file() and (elsewhere / "fast.ckpt.pt").is_file()
    # 16 steps on 2,000 digits: it learned (chance is 10%); the preset's real figure is a benchmark's
    assert exported["metrics"]["test_accuracy"] > 0.5 and events[-1]["event"] == "done"
