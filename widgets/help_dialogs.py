"""Help menu dialogs: the keyboard shortcuts (read from the actions themselves, so the list
cannot drift from what the keys do) and About (versions, as plain text to paste in a report)."""

from __future__ import annotations

import platform
from importlib import metadata

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import PYQT_VERSION_STR, QT_VERSION_STR, Qt
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import (
    QAction,
    QDialog,
    QDialogButtonBox,
    QMenuBar,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)


def app_version() -> str:
    try:
        return metadata.version("streamscope")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def about_text() -> str:
    return (
        f"streamscope {app_version()}\n"
        "A live dashboard for data from supervised producer processes.\n\n"
        f"Qt {QT_VERSION_STR}\n"
        f"PyQt {PYQT_VERSION_STR}\n"
        f"pyqtgraph {pg.__version__}\n"
        f"numpy {np.__version__}\n"
        f"Python {platform.python_version()}"
    )


def menu_actions(menubar: QMenuBar) -> list[tuple[str, QAction]]:
    """(menu title, action) for every action in the menu bar, in menu order."""
    rows = []
    for top in menubar.actions():
        menu = top.menu()
        if menu is None:
            continue
        for action in menu.actions():
            if not action.isSeparator() and action.menu() is None:
                rows.append((_plain(menu.title()), action))
    return rows


def _plain(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


class ShortcutsDialog(QDialog):
    """Every menu action with its shortcut(s) and what it does."""

    def __init__(self, menubar: QMenuBar, parent=None):
        super().__init__(parent)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts")
        rows = menu_actions(menubar)
        table = QTableWidget(len(rows), 4, self)
        table.setObjectName("shortcutsTable")
        table.setHorizontalHeaderLabels(["Menu", "Action", "Shortcut", "What it does"])
        table.verticalHeader().hide()
        table.setEditTriggers(QTableWidget.NoEditTriggers)
        for r, (menu, action) in enumerate(rows):
            keys = ", ".join(k.toString(QKeySequence.NativeText) for k in action.shortcuts())
            texts = (menu, _plain(action.text()), keys, action.statusTip() or action.toolTip())
            for c, text in enumerate(texts):
                table.setItem(r, c, QTableWidgetItem(text))  # items are plain text
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(buttons)
        self.resize(760, 420)
        self.setAttribute(Qt.WA_DeleteOnClose)
