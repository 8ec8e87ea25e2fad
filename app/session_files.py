"""What the window remembers across runs (QSettings): the recent session files, its geometry
(with its splitter and docks: event log, statistics) and the theme, and the question asked
before unsaved changes are lost.

QSettings() uses the application's organization and name: the app sets both (app.gui); tests
point QSettings at a temporary folder (tests/conftest.py) so they never touch a user's.
"""

from __future__ import annotations

import os
from pathlib import Path

from PyQt5.QtCore import QSettings, Qt
from PyQt5.QtWidgets import QMessageBox

RECENT_MAX = 8
RECENT_KEY = "sessions/recent"
THEME_KEY = "theme"


def recent_paths() -> list[str]:
    """The last session files opened or saved, newest first."""
    value = QSettings().value(RECENT_KEY, [])
    if isinstance(value, str):  # QSettings gives a 1-item list back as a plain string
        value = [value]
    return [str(v) for v in value or []][:RECENT_MAX]


def remember_recent(path: str | Path) -> list[str]:
    path = os.path.abspath(path)
    paths = [path, *(p for p in recent_paths() if p != path)][:RECENT_MAX]
    settings = QSettings()
    settings.setValue(RECENT_KEY, paths)
    settings.sync()
    return paths


def save_geometry(window, splitter) -> None:
    settings = QSettings()
    settings.setValue("window/geometry", window.saveGeometry())
    settings.setValue("window/splitter", splitter.saveState())
    settings.setValue("window/state", window.saveState())  # docks: shown, where, how big
    settings.sync()


def restore_geometry(window, splitter) -> bool:
    """Where the window was at the end of the last run, its splitter and docks as they were;
    False if nothing was saved."""
    settings = QSettings()
    geometry, state = settings.value("window/geometry"), settings.value("window/splitter")
    if state is not None:
        splitter.restoreState(state)
    docks = settings.value("window/state")
    if docks is not None:
        window.restoreState(docks)
    return geometry is not None and bool(window.restoreGeometry(geometry))


def saved_theme(default: str = "light") -> str:
    """The name of the theme chosen last (View → Dark theme), `default` if none was."""
    return str(QSettings().value(THEME_KEY, default) or default)


def remember_theme(name: str) -> None:
    settings = QSettings()
    settings.setValue(THEME_KEY, name)
    settings.sync()


def ask_unsaved(parent, name: str, on_answer) -> QMessageBox:
    """Save / Discard / Cancel, non-blocking (`open()`); `on_answer(button)` gets
    QMessageBox.Save, Discard or Cancel."""
    box = QMessageBox(QMessageBox.Warning, "streamscope", "", parent=parent)
    box.setObjectName("unsavedDialog")
    box.setTextFormat(Qt.PlainText)
    box.setAttribute(Qt.WA_DeleteOnClose)
    box.setText(f"The session {name} has changes that are not saved.")
    box.setInformativeText("Save them before going on?")
    box.setStandardButtons(QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel)
    box.setDefaultButton(QMessageBox.Save)

    def answered(_result) -> None:
        button = box.clickedButton()  # Escape: the Cancel button
        on_answer(box.standardButton(button) if button is not None else QMessageBox.Cancel)

    box.finished.connect(answered)
    box.open()
    return box
