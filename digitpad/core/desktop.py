"""The app in the desktop's menus: a freedesktop.org desktop entry and its icon, installed for the
user (``digitpad --install-desktop-entry``; ``--remove-desktop-entry`` takes them away again).

Per the XDG base directory and desktop entry specifications: the entry goes to
``$XDG_DATA_HOME/applications/digitpad.desktop`` (``~/.local/share`` by default) and the icon to
``$XDG_DATA_HOME/icons/hicolor/`` (scalable SVG and a 256x256 PNG), where every desktop looks.
The entry starts this very installation: the ``digitpad`` script beside the Python that runs this,
else that Python with ``-m digitpad``.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from . import fileio, paths

APP_ID = "digitpad"
ENTRY = """[Desktop Entry]
Type=Application
Version=1.1
Name=digitpad
GenericName=Handwritten digit reader
Comment=Draw a digit or open a picture and watch a neural network read it
Exec={exec}
Icon={icon}
Terminal=false
Categories=Education;ArtificialIntelligence;
Keywords=MNIST;CNN;neural network;handwriting;ONNX;
StartupWMClass=digitpad
"""


def data_home() -> Path:
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(value) if value and Path(value).is_absolute() else Path.home() / ".local" / "share"


def _quoted(arg: str) -> str:
    """One Exec argument, quoted as the desktop entry specification asks when it needs it."""
    if arg and not any(c in arg for c in ' \t\n"\'\\><~|&;$*?#()`'):
        return arg
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`").replace("$", "\\$")
    return f'"{escaped}"'.replace("%", "%%")


def command() -> list[str]:
    """How to start this installation: its ``digitpad`` script, else ``python -m digitpad``."""
    script = Path(sys.executable).with_name("digitpad")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "digitpad"]


def files(home: Path | None = None) -> dict[str, Path]:
    """Where the entry and the icons go."""
    home = home or data_home()
    icons = home / "icons" / "hicolor"
    return {"entry": home / "applications" / f"{APP_ID}.desktop",
            "svg": icons / "scalable" / "apps" / f"{APP_ID}.svg",
            "png": icons / "256x256" / "apps" / f"{APP_ID}.png"}


def install(home: Path | None = None) -> list[Path]:
    """Write the desktop entry and copy the icons; the files written."""
    where = files(home)
    for kind in ("svg", "png"):
        where[kind].parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(paths.icon_path(kind), where[kind])
    where["entry"].parent.mkdir(parents=True, exist_ok=True)
    text = ENTRY.format(exec=" ".join(_quoted(a) for a in command()), icon=APP_ID)
    fileio.atomic_write_bytes(where["entry"], text.encode("utf-8"))
    return [where["entry"], where["svg"], where["png"]]


def remove(home: Path | None = None) -> list[Path]:
    """Take the entry and the icons away again; the files removed."""
    gone = []
    for path in files(home).values():
        if path.is_file():
            path.unlink()
            gone.append(path)
    return gone
