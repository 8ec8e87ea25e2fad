"""The producer panel: one row per producer with its status and Start/Stop buttons.

Rows are built once per producer; `update_rows` copies the strings of
`app.core.producer_rows.RowStatus`
into existing cells, so a refresh is cheap and never re-creates widgets under the mouse.
Object names (`startButton:<name>`, `stopButton:<name>`, `stateLabel:<name>`, and
`configureButton:<name>`) are a contract for automation and accessibility tools.
"""

from __future__ import annotations

from PyQt5.QtCore import Qt, pyqtSignal, pyqtSlot
from PyQt5.QtGui import QBrush, QColor, QPalette
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from app.core.producer_rows import RowStatus
from app.core.supervisor import State

COLUMNS = (
    "Name", "Kind", "State", "PID", "Samples/s", "Total", "Dropped",
    "Last value", "Uptime", "Last error", "",
)  # fmt: skip
COL = {name: i for i, name in enumerate(COLUMNS)}
ACTIONS = len(COLUMNS) - 1
STATE_COLORS = {
    State.RUNNING: QColor("#2e9d4f"),
    State.STARTING: QColor("#c9a227"),
    State.STOPPING: QColor("#c9a227"),
    State.BACKOFF: QColor("#d9822b"),
    State.EXITED: QColor("#d9822b"),
    State.FATAL: QColor("#d64545"),
    State.STOPPED: QColor("#808080"),
    State.UNKNOWN: QColor("#9a6fb0"),
}
WARN = QColor("#d64545")


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
        self.setAlternatingRowColors(True)
        # ResizeToContents would re-measure every row on every setText (4 times a second per
        # cell at full load, measured as most of the GUI thread's time): size on changes instead.
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.setSectionResizeMode(COL["Last error"], QHeaderView.Stretch)
        self._rows: dict[str, int] = {}
        self._last: dict[str, RowStatus] = {}
        self.cellDoubleClicked.connect(self._on_cell_double_clicked)
        self.verticalScrollBar().valueChanged.connect(self._on_scrolled)

    def set_producers(self, names_and_kinds: list[tuple[str, str]]) -> None:
        self.setRowCount(0)
        self._rows.clear()
        for name, kind in names_and_kinds:
            self._add_row(name, kind)
        for col in range(len(COLUMNS)):
            if col != COL["Last error"]:
                self.resizeColumnToContents(col)

    def _add_row(self, name: str, kind: str, remote: bool = False) -> None:
        row = self.rowCount()
        self.insertRow(row)
        self._rows[name] = row
        for col in range(ACTIONS):
            self.setItem(row, col, QTableWidgetItem())
        self.item(row, COL["Name"]).setText(name)
        self.item(row, COL["Kind"]).setText(kind)
        for col in (COL["PID"], COL["Samples/s"], COL["Total"], COL["Dropped"]):
            self.item(row, col).setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
        state = QLabel()
        state.setObjectName(f"stateLabel:{name}")
        state.setTextFormat(Qt.PlainText)
        # in a table, a label's text takes the Text role by default: colour the one we set
        state.setForegroundRole(QPalette.WindowText)
        bold = state.font()
        bold.setBold(True)
        state.setFont(bold)
        state.setContentsMargins(4, 0, 4, 0)
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
        box = QWidget()
        layout = QHBoxLayout(box)
        layout.setContentsMargins(2, 0, 2, 0)
        start, stop = QPushButton("Start"), QPushButton("Stop")
        start.setObjectName(f"startButton:{name}")
        stop.setObjectName(f"stopButton:{name}")
        start.setToolTip(f"Start {name}")
        stop.setToolTip(f"Stop {name}")
        configure = QPushButton("Configure…")
        configure.setObjectName(f"configureButton:{name}")
        configure.setToolTip(f"Change {name}'s parameters (a running producer restarts)")
        start.clicked.connect(lambda: self.start_requested.emit(name))
        stop.clicked.connect(lambda: self.stop_requested.emit(name))
        configure.clicked.connect(lambda: self.configure_requested.emit(name))
        layout.addWidget(start)
        layout.addWidget(stop)
        layout.addWidget(configure)
        return box

    def mark_pending(self, name: str, action: str) -> None:
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

    def mark_all_pending(self, action: str) -> None:
        """Start all / Stop all: every row it applies to, as `mark_pending` (a Stop clicked
        right after Start all must not hit a button still disabled from before)."""
        button = "startButton" if action == "start" else "stopButton"
        for name, row in self._rows.items():  # the buttons know best, pending clicks included
            if self.cellWidget(row, ACTIONS).findChild(QPushButton, f"{button}:{name}").isEnabled():
                self.mark_pending(name, action)

    def state_label(self, name: str) -> QLabel:
        return self.findChild(QLabel, f"stateLabel:{name}")

    def update_rows(self, rows: list[RowStatus]) -> None:
        """Show the engine's rows. The state (word, colour, tooltip, buttons) is kept up to date
        on every row; the figures (rate, totals, uptime...) only on the rows in sight and as they
        scroll into it: with 100 producers, refreshing every cell 4 times a second was most of
        the GUI thread's time for nothing anyone could see."""
        self._last = {status.name: status for status in rows}
        added = False
        for status in rows:  # producers elsewhere appear as their subscriber hears of them
            if status.name not in self._rows:
                self._add_row(status.name, status.kind, remote=status.remote)
                added = True
        if added:
            for col in (COL["Name"], COL["Kind"], ACTIONS):
                self.resizeColumnToContents(col)
        first, last = self._visible_rows()
        widened: set[int] = set()
        for status in rows:
            row = self._rows.get(status.name)
            if row is not None:
                widened |= self._update_state(row, status)
                if first <= row <= last:
                    widened |= self._update_figures(row, status)
        for col in widened:
            self.resizeColumnToContents(col)

    def _visible_rows(self) -> tuple[int, int]:
        first = self.rowAt(0)
        last = self.rowAt(self.viewport().height() - 1)
        return (0 if first < 0 else first), (self.rowCount() - 1 if last < 0 else last)

    @pyqtSlot(int)
    def _on_scrolled(self, _value: int) -> None:
        self.update_rows(list(self._last.values()))

    def _update_state(self, row: int, s: RowStatus) -> set[int]:
        """The row's state label and buttons; returns the columns a text outgrew."""
        label = self.cellWidget(row, COL["State"])
        color = WARN if s.stalled else STATE_COLORS[s.state]
        if label.palette().color(QPalette.WindowText) != color:  # a palette, not a style sheet:
            palette = label.palette()  # re-polishing 100 style sheets stalled the window
            palette.setColor(QPalette.WindowText, color)
            label.setPalette(palette)
        if label.text() != s.state_text:
            label.setText(s.state_text)
        tip = s.traceback or s.error or s.state_text
        if label.toolTip() != tip:
            label.setToolTip(tip)
        actions = self.cellWidget(row, ACTIONS)
        actions.findChild(QPushButton, f"startButton:{s.name}").setEnabled(s.can_start)
        actions.findChild(QPushButton, f"stopButton:{s.name}").setEnabled(s.can_stop)
        self.item(row, COL["Last error"]).setToolTip(tip if s.error else "")
        too_wide = label.sizeHint().width() > self.columnWidth(COL["State"])
        return {COL["State"]} if too_wide else set()

    def _update_figures(self, row: int, s: RowStatus) -> set[int]:
        """The row's figures (only while it is in sight); returns the columns a text outgrew."""
        widened = set()
        metrics = self.fontMetrics()
        for col, text in (
            ("PID", s.pid), ("Samples/s", s.rate), ("Total", s.total), ("Dropped", s.dropped),
            ("Last value", s.last_value), ("Uptime", s.uptime), ("Last error", s.error),
        ):  # fmt: skip
            item = self.item(row, COL[col])
            if item.text() != text:
                item.setText(text)
                too_wide = metrics.horizontalAdvance(text) + 16 > self.columnWidth(COL[col])
                if too_wide and col != "Last error":  # that one stretches to fill the row
                    widened.add(COL[col])
        dropped = self.item(row, COL["Dropped"])
        if dropped.data(Qt.UserRole) != s.has_drops:
            dropped.setData(Qt.UserRole, s.has_drops)
            dropped.setForeground(QBrush(WARN) if s.has_drops else self.palette().text())
        return widened

    @pyqtSlot(int, int)
    def _on_cell_double_clicked(self, row: int, _col: int) -> None:
        for name, r in self._rows.items():
            if r == row:
                self.details_requested.emit(name)
