"""The event log: what happened, newest at the bottom, with when and how bad (producer starts,
stops and crashes, sources' status and drops, recordings, exports, errors).

Fed by the window from the same place it logs (the engine's news and its own messages): the
log file and this pane cannot disagree. A model over a bounded deque, so appending is a row
inserted (and the oldest removed past MAX_ENTRIES), never a rebuild; a few lines a second cost
nothing on the GUI thread, and nothing at all per frame. Everything is plain text: a producer's
error may hold `<a href=...>`, which must show as typed, never as a link.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass

from PyQt5.QtCore import QAbstractTableModel, QModelIndex, Qt, pyqtSlot
from PyQt5.QtGui import QBrush, QColor, QKeySequence
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QAction,
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from widgets.app_palette import current_theme

MAX_ENTRIES = 5000
COLUMNS = ("Time", "Level", "Source", "Message")
# a level's text colour, from the theme (readable on its rows): errors red, warnings amber
LEVEL_COLORS = {logging.WARNING: "caution", logging.ERROR: "warn", logging.CRITICAL: "warn"}


@dataclass(frozen=True)
class Entry:
    at: float  # wall clock
    level: int  # logging level
    text: str
    source: str = ""  # the producer it is about, if any
    details: str = ""  # e.g. a traceback

    def time_text(self) -> str:
        return time.strftime("%H:%M:%S", time.localtime(self.at)) + f".{self.millis():03d}"

    def millis(self) -> int:
        return int(self.at * 1000) % 1000

    def as_text(self) -> str:
        """One line (date, time, level, message); the details follow, indented."""
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.at))
        line = f"{stamp}.{self.millis():03d} {logging.getLevelName(self.level)} {self.text}"
        if self.details:
            line += "\n" + "\n".join("    " + d for d in self.details.rstrip("\n").splitlines())
        return line


class EventModel(QAbstractTableModel):
    def __init__(self, limit: int = MAX_ENTRIES, parent=None):
        super().__init__(parent)
        self._entries: deque[Entry] = deque()
        self.limit = limit

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._entries)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if role == Qt.DisplayRole and orientation == Qt.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        entry = self._entries[index.row()]
        column = index.column()
        if role == Qt.DisplayRole:
            if column == 0:
                return entry.time_text()
            if column == 1:
                return logging.getLevelName(entry.level)
            if column == 2:
                return entry.source
            first = entry.text.splitlines()[0] if entry.text else ""
            return first + ("  [+ details]" if entry.details else "")
        if role == Qt.ToolTipRole and column == 3:
            return entry.text if len(entry.text) < 2000 else entry.text[:2000] + "…"
        if role == Qt.ForegroundRole and entry.level in LEVEL_COLORS:
            return QBrush(QColor(getattr(current_theme(), LEVEL_COLORS[entry.level])))
        return None

    def entry(self, row: int) -> Entry:
        return self._entries[row]

    def entries(self) -> list[Entry]:
        return list(self._entries)

    def append(self, entry: Entry) -> None:
        if len(self._entries) >= self.limit:
            self.beginRemoveRows(QModelIndex(), 0, 0)
            self._entries.popleft()
            self.endRemoveRows()
        n = len(self._entries)
        self.beginInsertRows(QModelIndex(), n, n)
        self._entries.append(entry)
        self.endInsertRows()

    def clear(self) -> None:
        self.beginResetModel()
        self._entries.clear()
        self.endResetModel()


class EventLog(QWidget):
    """The pane: a table of entries, the selected entry in full (its traceback) below it, and
    Copy (Ctrl+C, the selected entries) / Copy all / Clear."""

    def __init__(self, limit: int = MAX_ENTRIES, parent=None):
        super().__init__(parent)
        self.setObjectName("eventLog")
        self.model = EventModel(limit, self)
        self.view = QTableView()
        self.view.setObjectName("eventLogView")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.view.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.view.setWordWrap(False)
        self.view.setTextElideMode(Qt.ElideRight)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 4)
        self.view.horizontalHeader().setStretchLastSection(True)
        for column in range(3):
            self.view.horizontalHeader().setSectionResizeMode(column, QHeaderView.Fixed)
        metrics = self.fontMetrics()
        self.view.setColumnWidth(0, metrics.horizontalAdvance("00:00:00.000") + 16)
        self.view.setColumnWidth(1, metrics.horizontalAdvance("WARNING") + 16)
        self.view.setColumnWidth(2, metrics.horizontalAdvance("a producer") + 16)
        self.view.setContextMenuPolicy(Qt.ActionsContextMenu)
        self.view.selectionModel().selectionChanged.connect(self._show_selected)

        self.details = QPlainTextEdit()  # plain text: nothing in it is ever markup
        self.details.setObjectName("eventDetails")
        self.details.setReadOnly(True)
        self.details.setLineWrapMode(QPlainTextEdit.NoWrap)
        self.details.setPlaceholderText("Select an entry to read it in full (a crash's traceback)")

        self.copyAction = _action("&Copy", "eventCopyAction", self.copy_selected, self.view)
        self.copyAction.setShortcut(QKeySequence.Copy)
        self.copyAction.setShortcutContext(Qt.WidgetWithChildrenShortcut)
        self.copyAllAction = _action("Copy &all", "eventCopyAllAction", self.copy_all, self.view)
        self.clearAction = _action("C&lear", "eventClearAction", self.clear, self.view)
        self.view.addActions([self.copyAction, self.copyAllAction, self.clearAction])
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        for action, name in ((self.copyAllAction, "eventCopyAllButton"),
                             (self.clearAction, "eventClearButton")):  # fmt: skip
            button = QPushButton(action.text().replace("&", ""))
            button.setObjectName(name)
            button.setToolTip(action.toolTip())
            button.clicked.connect(action.trigger)
            buttons.addWidget(button)
        buttons.addStretch(1)

        split = QSplitter(Qt.Vertical)
        split.setChildrenCollapsible(False)
        split.addWidget(self.view)
        split.addWidget(self.details)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(split, 1)
        layout.addLayout(buttons)

    # -- feeding ---------------------------------------------------------------------------------
    def add(self, level: int, text: str, source: str = "", details: str = "", at=None) -> None:
        """Append an entry (`at`: when it happened, wall clock; now if None). The view follows
        the newest entry while it is scrolled to the bottom, and stays put otherwise."""
        bar = self.view.verticalScrollBar()
        follow = bar.value() >= bar.maximum()
        self.model.append(Entry(time.time() if at is None else at, level, text, source, details))
        if follow and self.view.isVisible():
            self.view.scrollToBottom()

    def entries(self) -> list[Entry]:
        return self.model.entries()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.view.scrollToBottom()  # shown again: at the newest

    # -- reading and copying ---------------------------------------------------------------------
    def selected_entries(self) -> list[Entry]:
        rows = sorted({index.row() for index in self.view.selectionModel().selectedRows()})
        return [self.model.entry(row) for row in rows]

    @pyqtSlot()
    def copy_selected(self) -> str:
        """Put the selected entries on the clipboard as plain text lines; returns the text."""
        return _to_clipboard(self.selected_entries())

    @pyqtSlot()
    def copy_all(self) -> str:
        return _to_clipboard(self.entries())

    @pyqtSlot()
    def clear(self) -> None:
        self.model.clear()
        self.details.clear()

    def _show_selected(self, *_args) -> None:
        chosen = self.selected_entries()
        self.details.setPlainText("\n".join(e.as_text() for e in chosen[-50:]))


def _to_clipboard(entries: list[Entry]) -> str:
    text = "\n".join(e.as_text() for e in entries)
    if entries:
        QApplication.clipboard().setText(text)
    return text


def _action(text: str, name: str, slot, parent) -> QAction:
    action = QAction(text, parent)
    action.setObjectName(name)
    tips = {
        "eventCopyAction": "Copy the selected entries as text (Ctrl+C)",
        "eventCopyAllAction": "Copy every entry of the event log as text",
        "eventClearAction": "Empty the event log (what is written to the log stays there)",
    }
    action.setToolTip(tips[name])
    action.setStatusTip(tips[name])
    action.triggered.connect(lambda _checked=False: slot())
    return action
