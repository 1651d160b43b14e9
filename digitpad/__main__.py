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
    entry = parser.add_mutually_exclusive_group()
    entry.add_argument("--install-desktop-entry", action="store_true",
                       help="add digitpad, with its icon, to your desktop's applications menu, and exit")
    entry.add_argument("--remove-desktop-entry", action="store_true",
                       help="take digitpad's desktop entry and icon away again, and exit")
    args, qt_args = parser.parse_known_args(argv)
    if args.install_desktop_entry or args.remove_desktop_entry:
        from .core import desktop

        done = desktop.install() if args.install_desktop_entry else desktop.remove()
        for path in done:
            print(f"{'wrote' if args.install_desktop_entry else 'removed'} {path}")
        return 0

    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from .core.paths import icon_path

    app = QApplication([sys.argv[0], *qt_args])
    app.setApplicationName("digitpad")
    app.setOrganizationName("digitpad")
    app.setDesktopFileName("digitpad")          # the desktop entry's name: its icon in the task bar
    app.setWindowIcon(QIcon(str(icon_path())))
    from .app import MainWindow

    window = MainWindow(model_path=args.model)
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
