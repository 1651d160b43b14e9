"""The desktop entry a user installs (``digitpad --install-desktop-entry``): where it goes, what it
starts, its icon; and that it goes away again."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from digitpad.core import desktop
from digitpad.core.paths import icon_path


def test_the_entry_and_icons_go_where_desktops_look(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    written = desktop.install()
    entry = tmp_path / "share" / "applications" / "digitpad.desktop"
    assert entry in written and all(p.is_file() for p in written)
    assert (tmp_path / "share/icons/hicolor/scalable/apps/digitpad.svg").read_bytes() == icon_path("svg").read_bytes()
    assert (tmp_path / "share/icons/hicolor/256x256/apps/digitpad.png").read_bytes() == icon_path("png").read_bytes()
    text = entry.read_text()
    assert text.startswith("[Desktop Entry]\n") and "\nType=Application\n" in text and "\nIcon=digitpad\n" in text
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    assert exec_line[len("Exec="):].split()[0].strip('"') in (str(sys.executable), *(desktop.command()[:1]))
    assert sorted(desktop.remove()) == sorted(written) and not any(p.exists() for p in written)


def test_a_path_with_spaces_is_quoted():
    assert desktop._quoted("/opt/my apps/bin/python") == '"/opt/my apps/bin/python"'
    assert desktop._quoted("-m") == "-m"


def test_the_command_line_flag(tmp_path):
    env = {"XDG_DATA_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-m", "digitpad", "--install-desktop-entry"], env=env, cwd=repo,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "applications" / "digitpad.desktop").is_file() and "wrote" in out.stdout
