"""``digitpad`` / ``python -m digitpad``: open the app."""
from __future__ import annotations

import argparse
import os
import sys

# One BLAS thread: the app's numpy work is small, and OpenBLAS threads spinning against
# a training process on the same cores turned a 0.4 ms preprocessing step into 3 ms.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="digitpad", description="Draw a digit and watch a CNN think.")
    parser.add_argument("--model", help="an .onnx file to open instead of the last used one")
    args, qt_args = parser.parse_known_args(argv)

    from PySide6.QtWidgets import QApplication

    app = QApplication([sys.argv[0], *qt_args])
    app.setApplicationName("digitpad")
    app.setOrganizationName("digitpad")
    from .app import MainWindow

    window = MainWindow(model_path=args.model)
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
