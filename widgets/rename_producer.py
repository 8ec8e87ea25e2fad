"""Rename…: a producer's new name, checked as you type with the session file's rules and words
(app.core.producer_specs); OK stays disabled while the name is not one a session allows or is
taken. A running producer restarts under its new name (the window says so here)."""

from __future__ import annotations

from collections.abc import Collection

from PyQt5.QtCore import pyqtSignal, pyqtSlot
from PyQt5.QtWidgets import QDialog, QDialogButtonBox, QLineEdit, QVBoxLayout

from app.core.producer_specs import SpecError, check_name
from widgets.param_form import error_color, error_label, plain_label


class RenameProducerDialog(QDialog):
    """Signals:
    renamed(str, str): the old name and the new one (only when it changed).
    """

    renamed = pyqtSignal(str, str)

    def __init__(self, name: str, taken: Collection[str], running: bool = False, parent=None):
        super().__init__(parent)
        self.setObjectName("renameProducerDialog")
        self.setWindowTitle(f"Rename {name}")
        self.old = name
        self.taken = frozenset(taken) - {name}
        note = " It is running: it restarts under the new name." if running else ""
        about = plain_label(
            f"A new name for {name}. Its series and their colours keep their history under "
            f"it; a recording keeps the name the samples were sent with.{note}"
        )
        about.setWordWrap(True)
        self.name = QLineEdit(name)
        self.name.setObjectName("renameName")
        self.name.setToolTip("1-64 letters, digits, '_', '-' or '.', not another producer's")
        self.name.selectAll()
        self.error = error_label("renameError")
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.ok = buttons.button(QDialogButtonBox.Ok)
        self.ok.setText("Rename")
        self.ok.setToolTip("Rename the producer (enabled once the name is right)")
        buttons.button(QDialogButtonBox.Cancel).setToolTip("Keep the name it has")
        buttons.accepted.connect(self._on_accepted)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(about)
        layout.addWidget(self.name)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.name.textChanged.connect(self._check)
        self._check()

    def problem(self) -> str:
        try:
            check_name(self.name.text().strip(), self.taken)
        except SpecError as exc:
            return str(exc)
        return ""

    @pyqtSlot()
    def _check(self) -> None:
        problem = self.problem()
        self.error.setText(problem)
        self.name.setStyleSheet(f"border: 1px solid {error_color()};" if problem else "")
        self.ok.setEnabled(not problem)

    @pyqtSlot()
    def _on_accepted(self) -> None:
        if self.problem():
            return
        new = self.name.text().strip()
        if new != self.old:
            self.renamed.emit(self.old, new)
        self.accept()
