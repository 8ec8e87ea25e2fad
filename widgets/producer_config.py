"""The Configure dialog: a form built from a producer kind's declared parameters.

Values are checked by the same `validate_params` the session loader uses, before anything
changes: a bad value is shown under its field as it is typed, and OK with one keeps the dialog
open. The form itself is widgets/param_form.py, shared with Add producer…. Accepting emits a
new ProducerSpec; the window applies it (a running producer restarts with it).

Values are shown exactly (floats as repr, the shortest text that reads back as the same
float), so OK without an edit describes the very same spec; then nothing is emitted and the
dialog just closes, and a running producer is not restarted for nothing. All text is plain
text: a value such as `<img src=...>` is shown, never rendered.
"""

from __future__ import annotations

import dataclasses

from PyQt5.QtCore import pyqtSignal, pyqtSlot
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.core.session import ProducerSpec
from app.core.supervisor import RESTART_POLICIES
from producers import Param, ParamError, get_kind
from producers.params import validate_params
from widgets.param_form import ParamForm, error_label, plain_label


class ProducerConfigDialog(QDialog):
    """Signals:
    applied(object): the validated new ProducerSpec; only if it differs from the spec the
        dialog opened with (OK without a change just closes the dialog).
    """

    applied = pyqtSignal(object)

    def __init__(self, spec: ProducerSpec, parent=None):
        super().__init__(parent)
        self.spec = spec
        self.setObjectName(f"configDialog:{spec.name}")
        self.setWindowTitle(f"Configure {spec.name} ({spec.kind})")
        self._params = get_kind(spec.kind).params
        self.form = ParamForm(self._params, spec.params, spec.base_dir, spec.kind)
        self.editors: dict[str, QWidget] = self.form.editors
        self.form.edited.connect(lambda: self.form.show_problems(self.form.problems()))
        self.autostart = QCheckBox()
        self.autostart.setChecked(spec.autostart)
        self.autostart.setToolTip("start this producer when the session opens")
        self.form.add_row("autostart", self.autostart)
        self.restart = QComboBox()
        self.restart.addItems(RESTART_POLICIES)
        self.restart.setCurrentText(spec.restart)
        self.restart.setToolTip("restart the producer when it ends: never, on-failure, always")
        self.form.add_row("restart", self.restart)
        self.error = error_label("configError")
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self._on_accepted)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        kind_help = plain_label(get_kind(spec.kind).help)
        kind_help.setObjectName("kindHelp")
        layout.addWidget(kind_help)
        layout.addWidget(self.form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def _with_browse(self, param: Param, editor: QLineEdit) -> QWidget:
        """A path's line edit with a Browse... button (widgets/param_form.py)."""
        return self.form._with_browse(param, editor)

    def new_spec(self) -> ProducerSpec:
        """The spec the form describes; ParamError if a value does not fit its declaration."""
        params = validate_params(self._params, self.form.given(), self.spec.kind)
        return dataclasses.replace(
            self.spec,
            params=params,
            autostart=self.autostart.isChecked(),
            restart=self.restart.currentText(),
        )

    @pyqtSlot()
    def _on_accepted(self) -> None:
        try:
            spec = self.new_spec()
        except ParamError as exc:
            self.error.setText(str(exc))
            if exc.key in self.editors:
                self.editors[exc.key].setFocus()
            return
        if spec != self.spec:
            self.applied.emit(spec)
        self.accept()
