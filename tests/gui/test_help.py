"""Help > digitpad Help (F1): the shortcuts, each one the window really has, and what each view means."""
from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence, QShortcut
from windows import open_window

from digitpad.gui.help import SHORTCUTS, VIEWS


def _window_keys(w) -> set[str]:
    w.my_digits   # noqa: B018  the later tabs, built
    keys = set()
    for sc in w.findChildren(QShortcut):
        keys.add(sc.key().toString())
    for action in w.findChildren(QAction):
        keys.update(k.toString() for k in action.shortcuts())
    return keys


def test_every_shortcut_on_the_help_page_is_the_windows(qtbot, random_model):
    w = open_window(qtbot, random_model, (1280, 720))
    have = _window_keys(w)
    for keys, where, _what in SHORTCUTS:
        wanted = ["0", "9"] if keys == "0 … 9" else ["Return"] if keys == "Enter" else [keys]
        for k in wanted:
            assert QKeySequence(k).toString() in have, f"{keys} ({where}) is on the help page but not in the window"
    w.close()


def test_f1_opens_the_help_page(qtbot, random_model):
    w = open_window(qtbot, random_model, (1280, 720))
    help_action = next(a for a in w.findChildren(QAction) if QKeySequence("F1") in a.shortcuts())
    help_action.trigger()
    dialog = next(d for d in w.findChildren(type(w.show_help())) if d.isVisible())
    qtbot.addWidget(dialog)
    text = dialog.text.text()
    assert "Keyboard shortcuts" in text and "Ctrl+Shift+O" in text
    for name, _shows, _read in VIEWS:
        assert name.replace("›", "&rsaquo;") in text or name in text
    dialog.close()
    w.close()


def test_the_window_has_the_apps_icon(qtbot, random_model):
    w = open_window(qtbot, random_model, (1280, 720))
    icon = w.windowIcon()
    assert not icon.isNull() and not icon.pixmap(64, 64).isNull()
    w.close()
