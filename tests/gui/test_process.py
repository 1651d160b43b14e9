"""Whole-process properties, each checked in a fresh interpreter."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import PySide6

REPO = Path(__file__).resolve().parents[2]


def run_python(code: str, tmp_path: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", DIGITPAD_DATA_DIR=str(tmp_path / "data"),
               PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests" / "gui")]))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_pyside6_below_6_12():
    # 6.12.0 drops a reference to None on every call that returns nothing and aborts
    # the interpreter after a few thousand of them (see DEVELOPERS.md).
    major, minor = (int(p) for p in PySide6.__version__.split(".")[:2])
    assert (major, minor) < (6, 12), f"PySide6 {PySide6.__version__}: pyproject pins <6.12"


def test_many_none_returning_qt_calls_do_not_crash(tmp_path):
    """>= 50,000 None-returning Qt calls (QPainterPath.lineTo/quadTo, QPainter.drawPath,
    setPen, setRenderHint, end...) from real drawing, then exit 0: PySide6 6.12.0 fails this."""
    result = run_python("""
        import math
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from digitpad.gui.canvas import DrawingCanvas
        c = DrawingCanvas(size=200)
        points = 0
        for k in range(60):
            stroke = [(100 + 80 * math.sin(t / 40 + k), 100 + 80 * math.cos(t / 37)) for t in range(300)]
            c.draw_stroke(stroke, width=6)
            points += len(stroke)
            if k % 20 == 19:
                c.undo(); c.redo()           # re-render everything: more calls
        c.clear()
        app.processEvents()
        print("POINTS", points)
    """, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    # Each point paints one piece: QPainterPath.quadTo, QWidget.update, and per image (ink and
    # view) QPainter.setRenderHint, setPen and drawPath: at least 7 None-returning calls.
    assert int(result.stdout.split("POINTS")[1]) * 7 >= 50_000


def test_app_never_imports_torch(tmp_path, random_model):
    result = run_python(f"""
        import sys
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from digitpad.app import MainWindow
        w = MainWindow(model_path={str(random_model)!r})
        w.show()
        for _ in range(20):
            app.processEvents()
        w.workbench.build_inspectors()
        w.workbench.canvas.draw_stroke([(200, 80), (200, 320)])
        w.workbench.saliency_box.setChecked(True)
        w.workbench.inspector.setCurrentIndex(1)
        app.processEvents()
        heavy = sorted(m for m in ("torch", "torchvision") if m in sys.modules)
        print("HEAVY", heavy)
        w.close()
    """, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "HEAVY []" in result.stdout, result.stdout


def test_console_entry_point_help(tmp_path):
    result = subprocess.run([sys.executable, "-m", "digitpad", "--help"], cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and "--model" in result.stdout


def test_first_frame_comes_before_the_slow_parts(tmp_path, random_model):
    """The window's first frame (the Draw tab, the model loaded) is painted before pyqtgraph is
    imported and before the other tabs are built; both follow by themselves, without input."""
    result = run_python(f"""
        import sys
        from PySide6.QtCore import QEvent, QObject, QTimer
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from digitpad.app import MainWindow
        seen = {{}}
        class FirstPaint(QObject):
            def eventFilter(self, obj, event):
                if event.type() == QEvent.Paint and obj is w.workbench.canvas and not seen:
                    seen.update(pyqtgraph="pyqtgraph" in sys.modules, tabs=w._tabs_built,
                                loaded=w.controller.predictor is not None)
                return False
        watcher = FirstPaint()
        app.installEventFilter(watcher)
        w = MainWindow(model_path={str(random_model)!r})
        w.show()
        def done():
            if w.workbench.feature_maps is None or not w._tabs_built:
                QTimer.singleShot(20, done)
                return
            print("AT_FIRST_FRAME", seen, "LATER", w.tabs.widget(1) is w.training, flush=True)
            app.quit()
        QTimer.singleShot(20, done)
        QTimer.singleShot(20_000, app.quit)
        app.exec()
    """, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "AT_FIRST_FRAME {'pyqtgraph': False, 'tabs': False, 'loaded': True} LATER True" in result.stdout, \
        result.stdout + result.stderr[-2000:]


def test_closing_at_once_leaves_no_child_process_running(tmp_path, random_model):
    """Opening the Train tab starts child processes (the arch list, the CUDA probe, a warm
    engine); closing the window a moment later stops and reaps every one of them. Run as
    ``python -m digitpad`` runs: the event loop, and the window gone before the interpreter."""
    result = run_python(f"""
        import sys
        from PySide6.QtCore import QProcess, QTimer
        from PySide6.QtWidgets import QApplication

        def main():
            app = QApplication([])
            from digitpad.app import MainWindow
            w = MainWindow(model_path={str(random_model)!r})
            w.show()
            children = []
            def open_train():
                w.tabs.setCurrentWidget(w.training)
                children.extend(w.findChildren(QProcess))
                print("STARTED", sum(p.state() != QProcess.NotRunning for p in children), flush=True)
                w.close()
                print("RUNNING", sum(p.state() != QProcess.NotRunning for p in children), flush=True)
            QTimer.singleShot(0, open_train)
            return app.exec()

        sys.exit(main())
    """, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "STARTED 0" not in result.stdout and "RUNNING 0" in result.stdout, result.stdout
    assert "Destroyed while process" not in result.stderr, result.stderr[-2000:]
