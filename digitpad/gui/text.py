"""Text on screen is shown as written: the one rule for every label, tooltip and dialog of the GUI.

Qt guesses whether a string is HTML (``Qt.mightBeRichText``: a tag on its first line) for a
QLabel left on its default AutoText format, for every tooltip, for message boxes and for an
input dialog's prompt; pyqtgraph renders plot titles and axis labels as HTML. Text laid out as
HTML loads what it names: ``<img src="/dev/zero">`` in a model's metadata, a layer name, a file
name, a run log or an error message quoting a file made Qt read that file on the UI thread
(memory exhausted, or a FIFO hanging the app, at every start once the model was the last used).

So the GUI never hands Qt a string to guess about. It builds text widgets here:

And one rule for long text: a label wraps only between words, so one long "word" (a path, a run
name, an error quoting a file, a URL) made its label, and the page holding it, as wide as that word:
an engine error once made the Train page 2.5 times the window. Every label here shows its text
:func:`breakable` (a zero-width space where a long run of characters may wrap), and ``text()`` gives
back the text as it was set. A page is then never wider than its widgets need: it wraps and scrolls.

- :func:`plain_label` (:class:`PlainLabel`): a QLabel on ``Qt.PlainText``; any text it is given
  later is shown as written. Almost every label is one.
- :func:`rich_label` (:class:`RichLabel`) and :func:`rich`: for the few labels styled on purpose
  (a bold number, a coloured swatch, the arithmetic tables). The markup is a template written in
  the code; :func:`rich` escapes every value put into it and returns :class:`Html`. A RichLabel
  shows any text that is not ``Html`` as written, so an f-string slipped in shows its tags rather
  than rendering them.
- :func:`literal`: for the places Qt guesses and offers no format to set (tooltips, item tooltips,
  an input dialog's prompt): the text Qt will show exactly as written. :func:`set_tip`,
  :func:`set_item_tip` and :func:`show_tip` apply it.
- :func:`message_box`, :func:`warn`, :func:`ask`, :func:`ask_text`: dialogs whose text is plain.
- :func:`plot_title`, :func:`axis_label`: pyqtgraph's HTML, with the text escaped.

``tests/gui/test_text_rule.py`` fails on any other way of putting text on screen in
``digitpad/gui`` or ``digitpad/app.py`` (QLabel built directly, setToolTip, setTextFormat,
QMessageBox's static helpers, setHtml, pyqtgraph's HTML titles, a rich() template that is not a
literal); its behaviour test opens every view with a model whose every text holds an ``<img>``.
"""
from __future__ import annotations

import html
import re
import string

from PySide6 import QtGui
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QInputDialog, QLabel, QLineEdit, QMessageBox, QToolTip, QWidget

__all__ = ["Html", "PlainLabel", "RichLabel", "plain_label", "rich_label", "rich", "escape", "literal",
           "set_tip", "tip_text", "set_item_tip", "item_tip", "show_tip",
           "breakable", "unbroken", "message_box", "warn", "ask", "ask_text",
           "plot_title", "axis_label"]

TIP_TEXT = "digitpadTipText"   # the text a widget's tooltip was given, before :func:`literal`


# -- markup -------------------------------------------------------------------------------------
class Html(str):
    """Markup that is safe to render: a template from the code with its values escaped (see :func:`rich`).

    Joining or adding plain strings to it escapes them, as MarkupSafe's ``Markup`` does, so markup
    stays markup and text stays text however the pieces are put together."""

    __slots__ = ()

    def __add__(self, other) -> Html:
        return Html(str.__add__(self, escape(other)))

    def __radd__(self, other) -> Html:
        return Html(str.__add__(escape(other), self))

    def join(self, parts) -> Html:
        return Html(str.join(self, (escape(p) for p in parts)))


def escape(value, in_attribute: bool = False) -> Html:
    """``value`` as text inside markup (``Html`` passes unchanged: it is markup already). Quotes
    are escaped only inside a tag's attributes, so a label's text reads back as it was written."""
    if isinstance(value, Html):
        return value
    return Html(html.escape(str(value), quote=in_attribute))


_FORMATTER = string.Formatter()


def rich(template: str, *args, **values) -> Html:
    """``template.format(...)`` with every value escaped (``Html`` values are kept as markup).

    ``template`` is markup written in the code, never text from outside: the rule's test checks
    that every call passes a string literal. Format specs work on the value before it is escaped
    (``{acc:.2f}``); a value inside a tag (``style='color:{}'``) has its quotes escaped too."""
    out, in_tag, auto = [], False, 0
    for text, field, spec, conversion in _FORMATTER.parse(template):
        out.append(text)
        opened, closed = text.rfind("<"), text.rfind(">")
        if opened != closed:   # -1 both: no tag boundary in this piece of the template
            in_tag = opened > closed
        if field is None:
            continue
        if field == "":
            field, auto = str(auto), auto + 1
        value = _FORMATTER.convert_field(_FORMATTER.get_field(field, args, values)[0], conversion)
        if conversion is not None:
            value = str(value)   # !r / !s: text, even of Html
        if spec or not isinstance(value, Html):
            text = format(value, spec or "")
            value = escape(text if in_tag else breakable(text), in_attribute=in_tag)
        out.append(value)
    return Html("".join(out))


def _as_html(text) -> Html:
    """Plain text as markup that shows it as written (line breaks kept, long runs breakable)."""
    return Html(escape(breakable(text)).replace("\n", "<br>"))


# -- labels -------------------------------------------------------------------------------------
class PlainLabel(QLabel):
    """A label that shows its text as written, whatever the text (``Qt.PlainText`` from the start), long
    runs of characters breakable (``text()`` gives the text back as it was set)."""

    def __init__(self, text: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setTextFormat(Qt.PlainText)   # before any text: AutoText never sees one
        self.setText(text)

    def setText(self, text: str) -> None:
        super().setText(breakable(text))

    def text(self) -> str:
        return unbroken(super().text())


class RichLabel(QLabel):
    """A label styled with markup: ``Html`` (from :func:`rich`) renders; any other text shows as written."""

    def __init__(self, text: Html | str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setTextFormat(Qt.RichText)
        self.setText(text)

    def setText(self, text: Html | str) -> None:
        super().setText(text if isinstance(text, Html) else _as_html(text))

    def text(self) -> str:
        return unbroken(super().text())


def plain_label(text: str = "", object_name: str = "", wrap: bool = False) -> PlainLabel:
    label = PlainLabel(text)
    if object_name:
        label.setObjectName(object_name)
    label.setWordWrap(wrap)
    return label


def rich_label(text: Html | str = "", object_name: str = "", wrap: bool = False) -> RichLabel:
    label = RichLabel(text)
    if object_name:
        label.setObjectName(object_name)
    label.setWordWrap(wrap)
    return label


# -- text Qt guesses about ----------------------------------------------------------------------
def literal(text) -> str:
    """``text`` in the form Qt's automatic format shows exactly as written.

    Text Qt would take for plain is returned unchanged (so tooltips look as they always did);
    text it would take for HTML is escaped into HTML that displays it, tags and all."""
    text = "" if text is None else str(text)
    if QtGui.Qt.mightBeRichText(text):
        return QtGui.Qt.convertFromPlainText(text, Qt.WhiteSpaceNormal)
    return text


def set_tip(target, text) -> None:
    """Set the tooltip of a widget, an action, or a table / list / standard item, shown as written.

    A widget keeps the text it was given (:func:`tip_text`), so ``widgets.set_enabled`` can put
    back a control's own tooltip without escaping it twice."""
    text = "" if text is None else str(text)
    target.setToolTip(literal(text))
    if isinstance(target, QObject):
        target.setProperty(TIP_TEXT, text)


def tip_text(widget: QWidget) -> str:
    """The text last given to :func:`set_tip` for ``widget`` (its tooltip as the user reads it)."""
    text = widget.property(TIP_TEXT)
    return text if isinstance(text, str) else widget.toolTip()


def set_item_tip(view, index: int, text) -> None:
    """The tooltip of item ``index`` of a combo box (or any view with ``setItemData``), shown as written."""
    view.setItemData(index, literal(text), Qt.ToolTipRole)


ZWSP = "\u200b"        # a zero-width space: where a line may wrap, seen by nobody
LONG_RUN = 24          # characters without a space beyond which a run gets places to wrap
_SEPARATORS = "/\\_.-:,;=&?+)]}>|@"
_RUN = re.compile(r"\S{" + str(LONG_RUN + 1) + ",}")


def _break_run(match: re.Match) -> str:
    out, since = [], 0
    for ch in match.group(0):
        out.append(ch)
        since += 1
        if ch in _SEPARATORS or since >= LONG_RUN:   # after a separator, else every LONG_RUN characters
            out.append(ZWSP)
            since = 0
    return "".join(out).rstrip(ZWSP)


def breakable(text) -> str:
    """``text`` with a zero-width space after each separator (slash, underscore, dot, dash ...) of every
    run longer than LONG_RUN characters without a space, and every LONG_RUN characters where a run has
    none: a QLabel wraps only between words, and one long "word" would widen the page to its length."""
    text = "" if text is None else str(text)
    return _RUN.sub(_break_run, text) if len(text) > LONG_RUN else text


def unbroken(text: str) -> str:
    """``text`` without the places to wrap :func:`breakable` put in."""
    return text.replace(ZWSP, "")


def item_tip(role, text) -> str | None:
    """For an item model's ``data(index, role)``: the item's tooltip shown as written when Qt asks for
    the tooltip role, else None."""
    return literal(text) if role == Qt.ToolTipRole else None


def show_tip(pos, text, widget: QWidget | None = None) -> None:
    """``QToolTip.showText`` for text shown as written."""
    QToolTip.showText(pos, literal(text), widget)


# -- dialogs ------------------------------------------------------------------------------------
def message_box(parent: QWidget | None, icon, title: str, text: str,
                buttons=QMessageBox.Ok) -> QMessageBox:
    """A message box whose text is plain (QMessageBox's static helpers guess, on AutoText)."""
    box = QMessageBox(icon, title, "", buttons, parent)
    box.setTextFormat(Qt.PlainText)
    box.setText(text)
    return box


def warn(parent: QWidget | None, title: str, text: str) -> None:
    message_box(parent, QMessageBox.Warning, title, text).exec()


def ask(parent: QWidget | None, title: str, text: str) -> bool:
    """A yes / no question, No by default: True when the user said yes."""
    box = message_box(parent, QMessageBox.Question, title, text, QMessageBox.Yes | QMessageBox.No)
    box.setDefaultButton(QMessageBox.No)
    box.exec()
    return box.standardButton(box.clickedButton()) == QMessageBox.Yes


def ask_text(parent: QWidget | None, title: str, prompt: str, default: str = "") -> str | None:
    """A line of text from the user (None: cancelled); the prompt is shown as written."""
    text, ok = QInputDialog.getText(parent, title, literal(prompt), QLineEdit.Normal, default)
    return text if ok else None


# -- pyqtgraph ----------------------------------------------------------------------------------
def plot_title(plot_item, text: str, **style) -> None:
    """A pyqtgraph plot's title (rendered as HTML by pyqtgraph), shown as written."""
    plot_item.setTitle(html.escape(str(text)), **style)


def axis_label(plot_item, axis: str, text: str, **style) -> None:
    """A pyqtgraph axis label (rendered as HTML by pyqtgraph), shown as written."""
    plot_item.setLabel(axis, html.escape(str(text)), **style)
