"""The GUI puts text on screen only through ``digitpad.gui.text``: a source check over the Qt side
(``digitpad/gui``, ``digitpad/app.py``, any module that imports Qt) that fails when someone adds a
label, a tooltip, a message box or a pyqtgraph title the one rule does not cover.

Why it is a rule and not a review point: Qt guesses whether a string is HTML (QLabel's
default AutoText, every tooltip, QMessageBox's helpers, QInputDialog's prompt, QFormLayout's
row labels), pyqtgraph renders titles and axis labels as HTML, and HTML loads what it names:
``<img src="/dev/zero">`` in a layer name made Qt read that file on the UI thread. Any new
widget built the old way reopens the hole, usually with a constant at first and file text later.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HELPER = REPO / "digitpad" / "gui" / "text.py"
# The Qt side: digitpad/gui, app.py, and any other module of the app that imports Qt or pyqtgraph.
SOURCES = sorted(p for p in (REPO / "digitpad").rglob("*.py")
                 if "gui" in p.relative_to(REPO).parts or p.name == "app.py"
                 or any(qt in p.read_text(encoding="utf-8") for qt in ("PySide6", "pyqtgraph")))

# Calls that make Qt (or pyqtgraph) render or guess at markup, whatever the receiver.
METHODS = {
    "setToolTip": "text.set_tip (tooltips guess at HTML)",
    "setTabToolTip": "text.set_tip on the tab's page, or text.literal",
    "setWhatsThis": "text.literal (What's This guesses at HTML)",
    "setTextFormat": "text.plain_label / text.rich_label (a label's format is chosen once, there)",
    "setHtml": "text.rich_label with text.rich",
    "insertHtml": "a plain text widget",
    "appendHtml": "appendPlainText",
    "setInformativeText": "text.message_box (plain text)",
    "setLabelText": "text.ask_text / a plain label",
    "showText": "text.show_tip",
    "setTitle": "text.plot_title (pyqtgraph renders titles as HTML)",
    "setLabel": "text.axis_label (pyqtgraph renders axis labels as HTML)",
    "setLabels": "text.axis_label",
    "addLegend": "a text.rich_label legend with escaped names (pyqtgraph's legend renders names as HTML)",
}
# Classes whose text is guessed at or rendered as HTML: built only by the helpers.
CLASSES = {
    "QLabel": "text.plain_label / text.rich_label",
    "QTextEdit": "QPlainTextEdit (plain)", "QTextBrowser": "QPlainTextEdit (plain)",
    "QTextDocument": "text.rich", "QStaticText": "QPainter.drawText", "QGraphicsTextItem": "pg.TextItem(text)",
    "QErrorMessage": "text.warn", "QProgressDialog": "a progress bar and a plain label",
    "QMessageBox": "text.message_box / text.warn / text.ask",
    "QInputDialog": "text.ask_text",
    "LabelItem": "text.plot_title", "LegendItem": "a text.rich_label legend",
}
ROLES = {"ToolTipRole": "text.set_item_tip", "WhatsThisRole": "text.literal"}


def _name(node: ast.AST) -> str:
    """The last name of ``QLabel`` / ``QtWidgets.QLabel`` / ``pg.LabelItem``."""
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def _is_text_literal(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def problems_in(source: str, where: str = "<snippet>") -> list[str]:
    """Every way ``source`` puts text on screen outside the rule, as 'file:line: what (use instead)'."""
    out = []

    def bad(node: ast.AST, what: str, instead: str) -> None:
        out.append(f"{where}:{node.lineno}: {what} (use {instead})")

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            if "html" in names:
                bad(node, "imports html: escaping happens in one place", "text.rich / text.escape")
        elif isinstance(node, ast.ClassDef):
            for base in node.bases:
                if _name(base) in CLASSES:
                    bad(node, f"subclasses {_name(base)}", "text.PlainLabel / text.RichLabel")
        elif isinstance(node, ast.Attribute) and node.attr in ROLES:
            bad(node, f"uses Qt.{node.attr}", ROLES[node.attr])
        elif isinstance(node, ast.Call):
            func = node.func
            called = _name(func)
            if called in CLASSES:
                bad(node, f"builds a {called}", CLASSES[called])
            elif isinstance(func, ast.Attribute) and _name(func.value) in CLASSES:
                bad(node, f"calls {_name(func.value)}.{called}", CLASSES[_name(func.value)])
            elif isinstance(func, ast.Attribute) and called in METHODS:
                bad(node, f"calls .{called}()", METHODS[called])
            elif called == "TextItem" and any(k.arg == "html" for k in node.keywords):
                bad(node, "gives pg.TextItem html=", "pg.TextItem(text)")
            elif called == "addRow" and node.args and isinstance(node.args[0], (ast.Constant, ast.JoinedStr)):
                bad(node, "gives QFormLayout.addRow a string (it becomes an AutoText label)", "text.plain_label")
            elif called in ("rich", "Html") and not (node.args and _is_text_literal(node.args[0])):
                bad(node, f"calls {called}() with a template that is not a string literal",
                    "a literal template, the values as arguments")
    return out


def test_no_text_reaches_the_screen_outside_gui_text():
    found = []
    for path in SOURCES:
        if path != HELPER:
            found += problems_in(path.read_text(encoding="utf-8"), str(path.relative_to(REPO)))
    assert not found, "text put on screen without digitpad.gui.text:\n" + "\n".join(found)


def test_the_sources_checked_include_every_view():
    names = {p.relative_to(REPO).as_posix() for p in SOURCES}
    assert {"digitpad/app.py", "digitpad/__main__.py", "digitpad/gui/model_picker.py",
            "digitpad/gui/draw/arithmetic_terms.py", "digitpad/gui/train/curves.py", "digitpad/gui/evaluate/view.py",
            "digitpad/gui/mydigits/view.py"} <= names


@pytest.mark.parametrize("snippet", [
    "label = QLabel(meta.arch)",
    "label = QtWidgets.QLabel('x')",
    "class Line(QLabel):\n    pass",
    "button.setToolTip(path.name)",
    "item.setToolTip(f'{name}')",
    "combo.setItemData(0, text, Qt.ToolTipRole)",
    "label.setTextFormat(Qt.AutoText)",
    "label.setTextFormat(Qt.RichText)",
    "QMessageBox.warning(self, 'Export', str(e))",
    "QMessageBox.question(self, 'Quit', text)",
    "box = QMessageBox(QMessageBox.Warning, 'Delete', name)",
    "QInputDialog.getText(self, 'Rename', f'New name for {stem}')",
    "QToolTip.showText(pos, layer_name)",
    "view.setHtml(log)",
    "plot.setTitle(run.stem)",
    "plot.setLabel('bottom', key)",
    "plot.addLegend()",
    "item = pg.LabelItem(name)",
    "item = pg.TextItem(html=name)",
    "form.addRow(f'{key}:', field)",
    "import html",
    "from html import escape",
    "label.setText(rich(template, name=x))",
    "label.setText(rich(f'<b>{name}</b>'))",
    "text = Html(name)",
])
def test_the_check_finds_each_way_around_the_rule(snippet):
    assert problems_in(snippet), f"not caught: {snippet}"


@pytest.mark.parametrize("snippet", [
    "label = plain_label(meta.arch, 'muted')",
    "set_tip(button, path.name)",
    "set_item_tip(combo, 0, text)",
    "label.setText(rich('<b>{}</b> {name}', value, name=x))",
    "sep = Html('<br>')",
    "item = pg.TextItem('', color=style.TEXT)",
    "form.addRow(_form_label(label), value)",
    "log.appendPlainText(line)",
    "QToolTip.hideText()",
    "box = message_box(self, QMessageBox.Warning, 'Delete', name, QMessageBox.Cancel)",
])
def test_the_check_lets_the_helpers_through(snippet):
    assert problems_in(snippet) == []
