"""The producer panel: one row per producer with its status and Start/Stop buttons.

Rows are built once per producer; `update_rows` copies the strings of
`app.core.producer_rows.RowStatus`
into existing cells, so a refresh is cheap and never re-creates widgets under the mouse. A
producer added or removed (or one a subscriber hears of elsewhere) inserts or removes its one
row where the engine's view has it; a rename renames the row in place (`rename_producer`):
the other rows, and their widgets, stay as they were.
Object names (`startButton:<name>`, `stopButton:<name>`, `stateLabel:<name>`, and
`configureButton:<name>`) are a contract for automation and accessibility tools.

Layout, from what users tripped over: the compact Start/Stop/Configure… buttons come first
(at the right, a 2x scale pushed them off screen); the figures are right-aligned in a font
whose digits have one width, in columns sized once for their largest plausible text (numbers
no longer shift or widen the column as they grow); the state column stays within 40% of the
table and a longer state is elided (full text in the label's text and tooltip); a selected
row is a light tint under the normal text colour, so the state colours stay readable. State
and warning colours come from the theme (`set_theme`, widgets/theme.py: light by default), each
with a contrast of at least 3 against the rows of its theme.
"""

from __future__ import annotations

from PyQt5.QtCore import QPoint, QSize, Qt, pyqtSignal, pyqtSlot
from PyQt5.QtGui import QBrush, QColor, QFont, QFontDatabase, QFontMetrics, QPainter, QPalette
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QAction,
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from app.core.producer_rows import RowStatus
from app.core.supervisor import State
from widgets.theme import LIGHT, Theme

COLUMNS = (
    "", "Name", "Kind", "State", "PID", "Samples/s", "Total", "Dropped",
    "Last value", "Uptime", "Last error",
)  # fmt: skip
COL = {name: i for i, name in enumerate(COLUMNS)}
ACTIONS = COL[""]  # first: at the right, a 2x scale pushed them off screen
# the figures' largest plausible texts: each column is sized for its own once, not widened
# (and everything after it shifted) as the numbers grow
WIDEST = {
    "PID": "9999999",  # pid_max is 4,194,304
    "Samples/s": "999.99 M/s",
    "Total": "99,999,999,999",
    "Dropped": "99,999,999,999",
    "Last value": "-1.23457e+308",
    "Uptime": "999:59:59",
}
STATE_SHARE = 0.4  # of the table's width, at most, for the state column when sized for its text
STATE_MIN_TEXT = "STOPPING…  "  # the state column is never narrower than this


def _button_tip(kind: str, name: str) -> str:
    return {
        "startButton": f"Start {name}",
        "stopButton": f"Stop {name}",
        "configureButton": f"Change {name}'s parameters (a running producer restarts)",
    }[kind]


def state_colors(theme: Theme) -> dict[State, QColor]:
    return {state: QColor(color) for state, color in theme.states.items()}


STATE_COLORS = state_colors(LIGHT)  # the default theme's
WARN = QColor(LIGHT.warn)


class StateLabel(QLabel):
    """The state of a row, drawn elided at the right when it is longer than its cell. `text()`
    stays the full text (automation reads it; so does a screen reader), and the tooltip
    starts with it; the size hint asks for no width, so a long state never widens the column.
    """

    def paintEvent(self, _event) -> None:
        rect = self.contentsRect()
        shown = self.fontMetrics().elidedText(self.text(), Qt.ElideRight, rect.width())
        painter = QPainter(self)
        self.style().drawItemText(
            painter, rect, Qt.AlignLeft | Qt.AlignVCenter, self.palette(), self.isEnabled(),
            shown, self.foregroundRole(),
        )  # fmt: skip

    def text_width(self) -> int:
        """What the full text needs, margins included."""
        margins = self.contentsMargins()
        return self.fontMetrics().horizontalAdvance(self.text()) + margins.left() + margins.right()

    def is_elided(self) -> bool:
        return self.text_width() > self.width()

    def sizeHint(self) -> QSize:
        return QSize(0, super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:
        return QSize(0, super().minimumSizeHint().height())


def figures_font(table_font: QFont) -> QFont:
    """A fixed-pitch font at the table's size: every digit has one width, so a right-aligned
    number does not shift as its digits change. The system's fixed font, or where that is not
    fixed-pitch (Qt's offscreen platform gives a proportional one), the "monospace" family."""
    font = QFontDatabase.systemFont(QFontDatabase.FixedFont)
    if not is_fixed_pitch(font):
        font = QFont("monospace")
        font.setStyleHint(QFont.TypeWriter)
        font.setFixedPitch(True)
    if table_font.pointSizeF() > 0:
        font.setPointSizeF(table_font.pointSizeF())
    elif table_font.pixelSize() > 0:
        font.setPixelSize(table_font.pixelSize())
    return font


def is_fixed_pitch(font: QFont) -> bool:
    """As drawn (QFontInfo.fixedPitch is unreliable with fontconfig)."""
    metrics = QFontMetrics(font)
    return metrics.horizontalAdvance("i") == metrics.horizontalAdvance("M")


def selection_palette(palette: QPalette) -> QPalette:
    """A selected row as a light tint of the highlight colour under the normal text colour: the
    full highlight (dark blue in most themes) made the coloured state word unreadable."""
    palette = QPalette(palette)
    for group in (QPalette.Active, QPalette.Inactive):
        base, mark = palette.color(group, QPalette.Base), palette.color(group, QPalette.Highlight)
        share = 0.15  # (the light highlight: #2a7bae on white becomes #dfebf3)
        tint = QColor(
            round(base.red() + (mark.red() - base.red()) * share),
            round(base.green() + (mark.green() - base.green()) * share),
            round(base.blue() + (mark.blue() - base.blue()) * share),
        )
        palette.setColor(group, QPalette.Highlight, tint)
        palette.setColor(group, QPalette.HighlightedText, palette.color(group, QPalette.Text))
    return palette


class ProducerPanel(QTableWidget):
    """Signals:
    start_requested(str): the user pressed Start on a producer.
    stop_requested(str): the user pressed Stop on a producer.
    configure_requested(str): the user pressed Configure… on a producer.
    details_requested(str): the user asked for a producer's error details (double-click).
    """

    start_requested = pyqtSignal(str)
    stop_requested = pyqtSignal(str)
    configure_requested = pyqtSignal(str)
    details_requested = pyqtSignal(str)

    def __init__(self, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self.setObjectName("producerPanel")
        self.setHorizontalHeaderLabels(COLUMNS)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSelectionMode(QAbstractItemView.SingleSelection)  # the row actions act on one
        self.setAlternatingRowColors(True)
        self.setPalette(selection_palette(self.palette()))
        self.theme = LIGHT
        self.state_colors, self.warn = STATE_COLORS, WARN
        self.figures_font = figures_font(self.font())
        # ResizeToContents would re-measure every row on every setText (4 times a second per
        # cell at full load, measured as most of the GUI thread's time): size on changes instead.
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.setSectionResizeMode(COL["Last error"], QHeaderView.Stretch)
        header.setSectionResizeMode(ACTIONS, QHeaderView.Fixed)
        self._rows: dict[str, int] = {}
        self._labels: dict[str, StateLabel] = {}
        self._last: dict[str, RowStatus] = {}
        self._remote: set[str] = set()  # rows of producers elsewhere (not removable here)
        self._row_actions: list[QAction] = []  # the right-click menu of a row
        self.row_menu: QMenu | None = None  # the one open
        self._select_on_arrival: str | None = None  # select this producer's row once it has one
        self.setContextMenuPolicy(Qt.CustomContextMenu)
        self.customContextMenuRequested.connect(self._on_context_menu)
        self._sizing = False  # the panel itself is resizing a column (not the user)
        self._state_width_chosen = False  # the user resized the state column: leave it
        self._size_figures()
        header.sectionResized.connect(self._on_section_resized)
        self.cellDoubleClicked.connect(self._on_cell_double_clicked)
        self.verticalScrollBar().valueChanged.connect(self._on_scrolled)

    def set_theme(self, theme: Theme) -> None:
        """State and warning colours of `theme`, and the selection tint taken again from the
        application's palette (call after the application's palette changed)."""
        if theme is self.theme:
            return
        self.theme = theme
        self.state_colors, self.warn = state_colors(theme), QColor(theme.warn)
        palette = QPalette(self.palette())
        natural = QApplication.palette(self)
        for group in (QPalette.Active, QPalette.Inactive):
            palette.setColor(group, QPalette.Highlight, natural.color(group, QPalette.Highlight))
        self.setPalette(selection_palette(palette))
        for status in self._last.values():
            row = self._rows.get(status.name)
            if row is not None:
                self._update_state(row, status)
                dropped = self.item(row, COL["Dropped"])
                dropped.setData(Qt.ForegroundRole, QBrush(self.warn) if status.has_drops else None)

    def set_producers(self, names_and_kinds: list[tuple[str, str]]) -> None:
        self.setRowCount(0)
        self._rows.clear()
        self._labels.clear()
        self._remote.clear()
        for name, kind in names_and_kinds:
            self._add_row(name, kind)
        self._size_to_names()

    # -- rows that come, go and are renamed -------------------------------------------------------
    def rename_producer(self, old: str, new: str) -> None:
        """The row of `old` is `new`'s from now on: its name cell, its widgets' object names and
        tooltips, and what its buttons ask for. Nothing is rebuilt (the selection stays)."""
        row = self._rows.get(old)
        if row is None or new in self._rows:
            return
        self._rows = {(new if n == old else n): r for n, r in self._rows.items()}
        self._labels[new] = label = self._labels.pop(old)
        label.setObjectName(f"stateLabel:{new}")
        self._last.pop(old, None)  # (the engine's next view has it under its new name)
        self.item(row, COL["Name"]).setText(new)
        box = self.cellWidget(row, ACTIONS)
        box.setProperty("producer", new)
        for button in box.findChildren(QPushButton):
            kind = button.objectName().partition(":")[0]
            button.setObjectName(f"{kind}:{new}")
            button.setToolTip(_button_tip(kind, new))
        self._size_to_names()

    def _follow(self, rows: list[RowStatus], complete: bool) -> bool:
        """A row for each producer of `rows` that has none: inserted where `rows` has it when
        `rows` is `complete` (every producer, in order), else at the end; with `complete`,
        the rows of producers not in it are removed. The other rows are untouched. Returns
        whether any row came or went."""
        gone = []
        if complete:
            wanted = {status.name for status in rows}
            gone = [name for name in self._rows if name not in wanted]
            for name in gone:
                self._remove_row(name)
        added = False
        for index, status in enumerate(rows):
            if status.name not in self._rows:
                at = index if complete else None
                self._add_row(status.name, status.kind, remote=status.remote, index=at)
                added = True
        if self._select_on_arrival in self._rows:
            self.select_producer(self._select_on_arrival)
            self._select_on_arrival = None
        return added or bool(gone)

    def _remove_row(self, name: str) -> None:
        row = self._rows.pop(name)
        self.removeRow(row)  # (deletes its widgets)
        self._rows = {n: (r - 1 if r > row else r) for n, r in self._rows.items()}
        self._labels.pop(name, None)
        self._last.pop(name, None)
        self._remote.discard(name)

    def names(self) -> list[str]:
        """The producers of the rows, top to bottom."""
        return sorted(self._rows, key=self._rows.__getitem__)

    # -- selection and the row menu ---------------------------------------------------------------
    def selected_producer(self) -> str | None:
        """The name of the selected row's producer (None: no row is selected)."""
        rows = self.selectionModel().selectedRows() if self.selectionModel() else []
        if not rows:
            return None
        return self.name_at(rows[0].row())

    def name_at(self, row: int) -> str | None:
        return next((name for name, r in self._rows.items() if r == row), None)

    def select_producer(self, name: str) -> None:
        row = self._rows.get(name)
        if row is not None:
            self.selectRow(row)

    def select_when_shown(self, name: str) -> None:
        """Select `name`'s row now, or as soon as the engine's view brings it (a producer just
        added): the next Rename or Remove applies to it."""
        if name in self._rows:
            self.select_producer(name)
        else:
            self._select_on_arrival = name

    def is_remote(self, name: str) -> bool:
        """A producer elsewhere, reported by a subscriber: not added, removed or renamed here."""
        return name in self._remote

    def set_row_actions(self, actions: list[QAction]) -> None:
        """What a right-click on a row offers (acting on that row's producer: it is selected
        first)."""
        self._row_actions = list(actions)

    @pyqtSlot(QPoint)
    def _on_context_menu(self, pos: QPoint) -> None:
        row = self.rowAt(pos.y())
        if row >= 0:
            self.selectRow(row)
        if not self._row_actions:
            return
        menu = QMenu(self)
        menu.setObjectName("producerRowMenu")
        menu.setAttribute(Qt.WA_DeleteOnClose)
        menu.addActions(self._row_actions)
        self.row_menu = menu
        menu.destroyed.connect(lambda *_: setattr(self, "row_menu", None))
        menu.popup(self.viewport().mapToGlobal(pos))  # not exec: the window keeps drawing

    def _set_width(self, col: int, width: int) -> None:
        self._sizing = True
        try:
            self.setColumnWidth(col, width)
        finally:
            self._sizing = False

    def _size_figures(self) -> None:
        """Each figure column once, for its largest plausible text (and its title)."""
        metrics = QFontMetrics(self.figures_font)
        header = self.horizontalHeader()
        for name, widest in WIDEST.items():
            col = COL[name]
            width = max(metrics.horizontalAdvance(widest) + 14, header.sectionSizeHint(col))
            self._set_width(col, width)

    def _size_to_names(self) -> None:
        self._sizing = True
        try:
            for col in (COL["Name"], COL["Kind"]):
                self.resizeColumnToContents(col)
        finally:
            self._sizing = False
        if self._rows:
            self._set_width(ACTIONS, self.cellWidget(0, ACTIONS).sizeHint().width())
        self._fit_state_column()

    def _fit_state_column(self) -> None:
        """Wide enough for the longest state, within STATE_SHARE of the table (longer ones are
        elided); shrinks back when that state is gone. In steps of a few characters, so a
        status that changes its length a little does not move the columns after it."""
        if self._state_width_chosen:
            return
        metrics = QFontMetrics(self._bold())
        step = 4 * max(metrics.averageCharWidth(), 1)
        floor = metrics.horizontalAdvance(STATE_MIN_TEXT) + 8
        need = max((label.text_width() for label in self._labels.values()), default=0)
        need = -(-need // step) * step  # rounded up to a step
        cap = int(self.viewport().width() * STATE_SHARE)
        width = max(floor, min(need, cap))
        if width != self.columnWidth(COL["State"]):
            self._set_width(COL["State"], width)

    def _bold(self) -> QFont:
        bold = QFont(self.font())
        bold.setBold(True)
        return bold

    @pyqtSlot(int, int, int)
    def _on_section_resized(self, col: int, _old: int, _new: int) -> None:
        if col == COL["State"] and not self._sizing:
            self._state_width_chosen = True  # the user's width; the elision follows it

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_state_column()  # its cap is a share of the width

    def _add_row(self, name: str, kind: str, remote: bool = False, index: int | None = None):
        row = self.rowCount() if index is None else min(index, self.rowCount())
        self.insertRow(row)
        self._rows = {n: (r + 1 if r >= row else r) for n, r in self._rows.items()}
        self._rows[name] = row
        if remote:
            self._remote.add(name)
        for col in range(len(COLUMNS)):
            if col != ACTIONS:
                self.setItem(row, col, QTableWidgetItem())
        self.item(row, COL["Name"]).setText(name)
        self.item(row, COL["Kind"]).setText(kind)
        for figure in WIDEST:
            item = self.item(row, COL[figure])
            item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
            item.setFont(self.figures_font)
        state = StateLabel()
        state.setObjectName(f"stateLabel:{name}")
        state.setTextFormat(Qt.PlainText)
        # in a table, a label's text takes the Text role by default: colour the one we set
        state.setForegroundRole(QPalette.WindowText)
        state.setFont(self._bold())
        state.setContentsMargins(4, 0, 4, 0)
        self._labels[name] = state
        self.setCellWidget(row, COL["State"], state)
        self.setCellWidget(row, ACTIONS, self._buttons(name))
        if remote:  # its parameters are its publisher's; Start/Stop only if that allows it
            configure = self.cellWidget(row, ACTIONS).findChild(
                QPushButton, f"configureButton:{name}"
            )
            configure.setEnabled(False)
            configure.setToolTip(f"{name} runs elsewhere: it is configured where it runs")
            for button in self.cellWidget(row, ACTIONS).findChildren(QPushButton):
                button.setEnabled(False)  # until its row says its publisher allows control

    def _buttons(self, name: str) -> QWidget:
        """Start, Stop, Configure…: compact (as wide as their text), so the column is narrow."""
        box = QWidget()
        box.setProperty("producer", name)  # (a rename changes it: the buttons ask for it)
        layout = QHBoxLayout(box)
        layout.setContentsMargins(2, 0, 2, 0)
        layout.setSpacing(2)
        start, stop = QPushButton("Start"), QPushButton("Stop")
        configure = QPushButton("Configure…")
        for button, kind in ((start, "startButton"), (stop, "stopButton"),
                             (configure, "configureButton")):  # fmt: skip
            button.setObjectName(f"{kind}:{name}")
            button.setToolTip(_button_tip(kind, name))
        start.clicked.connect(lambda: self.start_requested.emit(box.property("producer")))
        stop.clicked.connect(lambda: self.stop_requested.emit(box.property("producer")))
        configure.clicked.connect(lambda: self.configure_requested.emit(box.property("producer")))
        for button in (start, stop, configure):
            button.setFixedWidth(button.fontMetrics().horizontalAdvance(button.text()) + 12)
            layout.addWidget(button)
        return box

    def mark_pending(self, name: str, action: str, fit: bool = True) -> None:
        """Show a Start/Stop the user just asked for until the engine's view confirms it (its
        thread applies it within milliseconds): no button to click twice meanwhile."""
        row = self._rows.get(name)
        if row is None:
            return
        actions = self.cellWidget(row, ACTIONS)
        actions.findChild(QPushButton, f"startButton:{name}").setEnabled(False)
        actions.findChild(QPushButton, f"stopButton:{name}").setEnabled(action == "start")
        label = self.cellWidget(row, COL["State"])
        label.setText("STARTING…" if action == "start" else "STOPPING…")
        if fit:
            self._fit_state_column()

    def mark_all_pending(self, action: str) -> None:
        """Start all / Stop all: every row it applies to, as `mark_pending` (a Stop clicked
        right after Start all must not hit a button still disabled from before)."""
        button = "startButton" if action == "start" else "stopButton"
        for name, row in self._rows.items():  # the buttons know best, pending clicks included
            if self.cellWidget(row, ACTIONS).findChild(QPushButton, f"{button}:{name}").isEnabled():
                self.mark_pending(name, action, fit=False)
        self._fit_state_column()

    def state_label(self, name: str) -> QLabel:
        return self.findChild(QLabel, f"stateLabel:{name}")

    def update_rows(self, rows: list[RowStatus], complete: bool = False) -> None:
        """Show the engine's rows (`complete`: all of them, in order: a producer no longer
        among them loses its row, a new one gets one where it is). The state (word, colour,
        tooltip, buttons) is kept up to date on every row; the figures (rate, totals,
        uptime...) only on the rows in sight and as they scroll into it: with 100 producers,
        refreshing every cell 4 times a second was most of the GUI thread's time for nothing
        anyone could see."""
        self._last = {status.name: status for status in rows}
        # producers added or removed; those elsewhere appear as their subscriber hears of them
        added = self._follow(rows, complete)
        first, last = self._visible_rows()
        restated = False
        for status in rows:
            row = self._rows.get(status.name)
            if row is not None:
                restated |= self._update_state(row, status)
                if first <= row <= last:
                    self._update_figures(row, status)
        if added:
            self._size_to_names()  # (fits the state column too)
        elif restated:
            self._fit_state_column()

    def _visible_rows(self) -> tuple[int, int]:
        first = self.rowAt(0)
        last = self.rowAt(self.viewport().height() - 1)
        return (0 if first < 0 else first), (self.rowCount() - 1 if last < 0 else last)

    @pyqtSlot(int)
    def _on_scrolled(self, _value: int) -> None:
        self.update_rows(list(self._last.values()))

    def _update_state(self, row: int, s: RowStatus) -> bool:
        """The row's state label and buttons; returns whether the state's text changed."""
        label = self.cellWidget(row, COL["State"])
        color = self.warn if s.stalled else self.state_colors[s.state]
        if label.palette().color(QPalette.WindowText) != color:  # a palette, not a style sheet:
            palette = label.palette()  # re-polishing 100 style sheets stalled the window
            palette.setColor(QPalette.WindowText, color)
            label.setPalette(palette)
        changed = label.text() != s.state_text
        if changed:
            label.setText(s.state_text)
        why = s.traceback or s.error
        tip = f"{s.state_text}\n\n{why}" if why else s.state_text  # the state may be elided
        if label.toolTip() != tip:
            label.setToolTip(tip)
        actions = self.cellWidget(row, ACTIONS)
        actions.findChild(QPushButton, f"startButton:{s.name}").setEnabled(s.can_start)
        actions.findChild(QPushButton, f"stopButton:{s.name}").setEnabled(s.can_stop)
        self.item(row, COL["Last error"]).setToolTip(why if s.error else "")
        return changed

    def _update_figures(self, row: int, s: RowStatus) -> None:
        """The row's figures (only while it is in sight). Their columns are not re-measured:
        each was sized for its largest plausible text (WIDEST)."""
        for col, text in (
            ("PID", s.pid), ("Samples/s", s.rate), ("Total", s.total), ("Dropped", s.dropped),
            ("Last value", s.last_value), ("Uptime", s.uptime), ("Last error", s.error),
        ):  # fmt: skip
            item = self.item(row, COL[col])
            if item.text() != text:
                item.setText(text)
        dropped = self.item(row, COL["Dropped"])
        if dropped.data(Qt.UserRole) != s.has_drops:
            dropped.setData(Qt.UserRole, s.has_drops)
            # none: the palette's text colour, whichever theme is on
            dropped.setData(Qt.ForegroundRole, QBrush(self.warn) if s.has_drops else None)

    @pyqtSlot(int, int)
    def _on_cell_double_clicked(self, row: int, _col: int) -> None:
        for name, r in self._rows.items():
            if r == row:
                self.details_requested.emit(name)
