"""``digitpad`` / ``python -m digitpad``: open the app."""
from __future__ import annotations

import argparse
import sys


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
