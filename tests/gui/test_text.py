"""``digitpad.gui.text``: each helper shows text from outside as written, and markup only as written in the code."""
from __future__ import annotations

import pytest
from PySide6 import QtGui
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QInputDialog, QMessageBox, QPushButton

from digitpad.gui import text
from digitpad.gui.text import Html, escape, literal, rich
from digitpad.gui.widgets import set_enabled

HOSTILE = ['<img src="/dev/zero">', 'Model: <img src="x"> & more', "&lt;b&gt; already escaped",
           "<b>bold</b>\nsecond line <i>", "a < b > c", "<p>a paragraph</p>", "it's \"quoted\""]


def shown(markup: str) -> str:
    """What a rich text renderer shows for ``markup``, as plain text."""
    doc = QTextDocument()
    doc.setHtml(markup)
    return doc.toPlainText()


@pytest.mark.parametrize("value", HOSTILE + ["plain words", ""])
def test_literal_is_shown_exactly_as_written(qapp, value):
    tip = literal(value)
    if QtGui.Qt.mightBeRichText(tip):
        assert shown(tip).replace("\u2028", "\n") == value
    else:
        assert tip == value   # text Qt takes for plain is left alone: tooltips look as they did


@pytest.mark.parametrize("value", HOSTILE)
def test_rich_escapes_every_value(qapp, value):
    markup = rich("<b>{}</b>: {name}", value, name=value)
    assert isinstance(markup, Html) and "<img" not in markup
    assert shown(markup).replace("\u2028", "\n") == f"{value}: {value}".replace("\n", " ")


def test_rich_keeps_markup_built_by_rich_and_formats_before_escaping():
    bold = rich("<b>{}</b>", "<x>")
    assert rich("{} and {:.2f} %", bold, 99.456) == "<b>&lt;x&gt;</b> and 99.46 %"
    assert rich("{!r}", bold) == "'&lt;b&gt;&amp;lt;x&amp;gt;&lt;/b&gt;'"   # !r is text again
    assert rich("<span style='color:{}'>{}</span>", "x' y='z", "it's") == \
        "<span style='color:x&#x27; y=&#x27;z'>it's</span>"          # quotes escaped inside a tag only
    assert Html("<br>").join(["<a>", bold]) == "&lt;a&gt;<br><b>&lt;x&gt;</b>"
    assert "<i>" + bold == "&lt;i&gt;<b>&lt;x&gt;</b>" and isinstance("<i>" + bold, Html)
    assert escape(bold) is bold


@pytest.mark.parametrize("value", HOSTILE)
def test_labels(qtbot, value):
    plain = text.plain_label(value)
    assert plain.textFormat() == Qt.PlainText and plain.text() == value
    rich_label = text.rich_label(value)   # plain text given to a rich label: shown as written
    qtbot.addWidget(plain)
    qtbot.addWidget(rich_label)
    assert rich_label.textFormat() == Qt.RichText and "<img" not in rich_label.text()
    assert shown(rich_label.text()).replace("\u2028", "\n") == value
    rich_label.setText(rich("<b>{}</b>", value))
    assert rich_label.text().startswith("<b>") and "<img" not in rich_label.text()


def test_a_control_gets_its_own_tooltip_back_unchanged_after_being_disabled(qtbot):
    button = QPushButton("Open")
    qtbot.addWidget(button)
    help_text = '<img src="x"> opens the file'
    text.set_tip(button, help_text)
    assert button.toolTip() == literal(help_text) and text.tip_text(button) == help_text
    set_enabled(button, False, 'Cannot open <img src="y">')
    assert button.toolTip() == literal('Cannot open <img src="y">')
    set_enabled(button, True)
    assert button.toolTip() == literal(help_text)   # not escaped twice


def test_dialogs_show_their_text_as_written(qapp, monkeypatch):
    box = text.message_box(None, QMessageBox.Warning, "Delete", '<img src="x"> will be deleted')
    assert box.textFormat() == Qt.PlainText and box.text() == '<img src="x"> will be deleted'
    prompts = []
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: prompts.append(a[2]) or ("typed", True))
    assert text.ask_text(None, "Rename", 'New name for <img src="x">:', "old") == "typed"
    assert prompts == [literal('New name for <img src="x">:')]


def test_plot_titles_and_axis_labels_are_escaped(qtbot):
    import pyqtgraph as pg

    widget = pg.GraphicsLayoutWidget()
    qtbot.addWidget(widget)
    plot = widget.addPlot()
    text.plot_title(plot, '<img src="x"> loss', color="#000")
    text.axis_label(plot, "bottom", '<img src="y"> step')
    assert "<img" not in plot.titleLabel.item.toHtml() and "&lt;img" in plot.titleLabel.text
    assert "<img" not in plot.getAxis("bottom").label.toHtml()
