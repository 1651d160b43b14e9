"""Small widgets every tab uses, so each looks and behaves the same."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, QSize, Qt, QTimer
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from . import style
from .text import Html, PlainLabel, plain_label, rich_label, set_tip, tip_text


class Card(QFrame):
    """A white rounded panel with an optional small-caps title; ``body`` is its layout."""

    def __init__(self, title: str | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("card")
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(14, 12, 14, 14)
        self.body.setSpacing(8)
        if title:
            label = plain_label(title.upper(), "cardTitle")
            label.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)   # spare height never goes to a title
            self.body.addWidget(label)


def card(title: str | None = None) -> tuple[Card, QVBoxLayout]:
    """A :class:`Card` and its layout, for building a panel in place."""
    c = Card(title)
    return c, c.body


def muted(text: str = "", wrap: bool = True) -> PlainLabel:
    """Secondary text: captions, notes, what a control does (plain text, as every label: gui.text)."""
    return plain_label(text, "muted", wrap)


def thin_progress_bar(height: int = 8) -> QProgressBar:
    bar = QProgressBar()
    bar.setRange(0, 1000)
    bar.setTextVisible(False)
    bar.setFixedHeight(height)
    return bar


class JobStatus:
    """A view's one line about its long job and the thin bar under it: busy (no end known), then
    counting what is done, hidden when the line says how it ended."""

    def __init__(self, line, bar_height: int = 4):
        self.line = line
        self.bar = thin_progress_bar(bar_height)
        self.bar.setVisible(False)

    def say(self, text: str, busy: bool = False) -> None:
        self.line.set_text(text)
        self.bar.setVisible(busy)
        if busy:
            self.bar.setRange(0, 0)

    def progress(self, done: int, total: int) -> None:
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)


class ResultBox(QFrame):
    """The outcome of something long (a run, an export, a fine-tune): coloured text, and
    buttons for what to do next. ``show_result("ok" | "warn" | "error", text)``: ``Html`` from
    ``text.rich`` renders (bold words), anything else shows as written."""

    def __init__(self, buttons: list[QPushButton] = (), parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("resultBox")
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 8, 10, 8)
        self.label = rich_label(wrap=True)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        row.addWidget(self.label, 1)
        for b in buttons:
            row.addWidget(b, 0, Qt.AlignTop)
        self.setVisible(False)

    def show_result(self, kind: str, text: Html | str) -> None:
        style.set_kind(self, kind)
        self.label.setText(text)
        self.setVisible(True)

    def text(self) -> str:
        return self.label.text()


HELP_PROPERTY = "digitpadHelp"


def set_enabled(widget: QWidget, on: bool, why: str = "") -> None:
    """Enable or disable a control; a disabled one says why in its tooltip.

    The control's own tooltip (what it does) is kept aside the first time and comes back
    when it is enabled again. A disabled control always has a reason: clicking a grey
    button that does nothing, with no word, is what users of the first versions met."""
    help_text = widget.property(HELP_PROPERTY)
    if help_text is None:
        help_text = tip_text(widget)
        widget.setProperty(HELP_PROPERTY, help_text)
    widget.setEnabled(on)
    set_tip(widget, help_text if on else (why or help_text))


def set_help(widget: QWidget, text: str) -> None:
    """What a control does (its tooltip while enabled), for controls managed by :func:`set_enabled`."""
    widget.setProperty(HELP_PROPERTY, text)
    if widget.isEnabled():
        set_tip(widget, text)


class PageArea(QScrollArea):
    """A tab's page at the viewport's size, or at its minimum size when the viewport is smaller
    (then, and only then, it scrolls).

    Not ``setWidgetResizable(True)``: for a page holding word-wrapped labels (height for width),
    QScrollArea sizes it by its *preferred* heights, so a 1280x720 page that fits at its minimum
    was laid out 958 px tall and scrolled."""

    def __init__(self, page: QWidget, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("page")
        self.setFrameShape(QFrame.NoFrame)
        self.setWidgetResizable(False)
        self.setWidget(page)
        self.viewport().setAutoFillBackground(False)
        page.installEventFilter(self)

    def set_page(self, page: QWidget) -> None:
        """Show ``page`` instead of the current one (which is deleted)."""
        self.setWidget(page)
        page.installEventFilter(self)
        self.fit()

    def needed(self) -> QSize:
        """The page's minimum size. Once the page is squeezed to it (a window below the designed size), its
        height at the width it has: a word-wrapped label takes more lines in a narrow window, which a
        layout's minimum size does not count (at 800x500 the Evaluate tab's caption was drawn over its
        matrix). Not before: the pages of a tab widget inside a page count in that height too, hidden or not."""
        page = self.widget()
        need = page.minimumSizeHint().expandedTo(page.minimumSize())
        layout, room = page.layout(), self.viewport().size()
        squeezed = need.width() > room.width() or need.height() > room.height()
        if squeezed and layout is not None and layout.hasHeightForWidth():
            width = max(need.width(), room.width())
            need.setHeight(max(need.height(), layout.totalMinimumHeightForWidth(width)))
        return need

    def fit(self) -> None:
        page = self.widget()
        if page is not None:
            page.resize(self.viewport().size().expandedTo(self.needed()))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit()

    def eventFilter(self, obj, event) -> bool:
        if obj is self.widget() and event.type() == QEvent.LayoutRequest:
            self.fit()   # the page needs more (or less) room: a banner appeared, a hint went
        return super().eventFilter(obj, event)


class PageTabs(QTabWidget):
    """Tabs whose pages scroll when the window is smaller than a page needs.

    A page's minimum size is then no longer the window's: a hint, a longer caption or a
    wider prompt can never make the window grow by itself, and below the size a page is
    designed for (1280x720) a scroll bar appears instead of widgets squeezed over each
    other. ``indexOf`` / ``setCurrentWidget`` / ``currentWidget`` / ``widget`` speak of the
    pages themselves, not of their scroll areas."""

    def add_page(self, page: QWidget, title: str) -> int:
        return self.addTab(PageArea(page), title)

    def set_page(self, index: int, page: QWidget) -> None:
        """Replace the page at ``index`` (a placeholder built before the first frame)."""
        self.area(index).set_page(page)

    def widget(self, index: int) -> QWidget | None:
        area = super().widget(index)
        return area.widget() if isinstance(area, QScrollArea) else area

    def area(self, index: int) -> QScrollArea | None:
        area = super().widget(index)
        return area if isinstance(area, QScrollArea) else None

    def indexOf(self, page: QWidget) -> int:
        for i in range(self.count()):
            if self.widget(i) is page or super().widget(i) is page:
                return i
        return -1

    def setCurrentWidget(self, page: QWidget) -> None:
        i = self.indexOf(page)
        if i >= 0:
            self.setCurrentIndex(i)

    def currentWidget(self) -> QWidget | None:
        return self.widget(self.currentIndex())


class _FirstPaint(QObject):
    def __init__(self, widget: QWidget, callback):
        super().__init__(widget)
        self._callback = callback
        widget.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Paint:
            obj.removeEventFilter(self)
            # Queued, so it runs once this frame is painted and on screen.
            QTimer.singleShot(0, self._callback)
            self.deleteLater()
        return False


def after_first_paint(widget: QWidget, callback) -> None:
    """Call ``callback`` once ``widget`` has been painted for the first time.

    Work that can wait (pyqtgraph's import, the other tabs) goes here rather than in a
    ``QTimer.singleShot(0)`` at start: zero-timers queued before ``show()`` run *before* the
    window system's first expose, so they delay the first frame they were meant to follow."""
    _FirstPaint(widget, callback)


class WheelGuard(QObject):
    """One rule for the wheel over inputs on pages that scroll: a spin box or combo box changes only
    when it has the keyboard (clicked or tabbed to). Scrolling the Model page over a what-if spin box
    changed its value, and the shapes with it; now the page scrolls on, as the user meant.

    Installed once on the application (``install_wheel_guard``): it makes such inputs take focus by
    click or tab, not by the wheel (Qt's WheelFocus gave them the keyboard as the wheel passed), and
    hands a wheel over an unfocused one to the nearest scroll area under it."""

    INPUTS = (QAbstractSpinBox, QComboBox)

    def eventFilter(self, obj, event) -> bool:
        kind = event.type()
        if kind == QEvent.Polish and isinstance(obj, self.INPUTS) and obj.focusPolicy() == Qt.WheelFocus:
            obj.setFocusPolicy(Qt.StrongFocus)
        elif kind == QEvent.Wheel and isinstance(obj, self.INPUTS) and not obj.hasFocus():
            area = obj.parentWidget()
            while area is not None and not isinstance(area, QAbstractScrollArea):
                area = area.parentWidget()
            if area is not None:
                at = area.viewport().mapFromGlobal(event.globalPosition().toPoint())
                QApplication.sendEvent(area.viewport(), QWheelEvent(
                    QPointF(at), event.globalPosition(), event.pixelDelta(), event.angleDelta(), event.buttons(),
                    event.modifiers(), event.phase(), event.inverted()))
            return True
        return False


def install_wheel_guard(app: QApplication) -> None:
    """The :class:`WheelGuard`, once per application."""
    if app.property("digitpadWheelGuard") is None:
        guard = WheelGuard(app)
        app.installEventFilter(guard)
        app.setProperty("digitpadWheelGuard", True)
