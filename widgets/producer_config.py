"""The Configure dialog: a form built from a producer kind's declared parameters.

Values are checked by the same `validate_params` the session loader uses, before anything
changes: a bad value is shown next to the form and the dialog stays open. Accepting emits a
new ProducerSpec; the window applies it (a running producer restarts with it).

Values are shown exactly (floats as repr, the shortest text that reads back as the same
float), so OK without an edit describes the very same spec; then nothing is emitted and the
dialog just closes, and a running producer is not restarted for nothing. All text is plain
text: a value such as `<img src=...>` is shown, never rendered.
"""

from __future__ import annotations

import dataclasses
import os

from PyQt5.QtCore import Qt, pyqtSignal, pyqtSlot
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.session import ProducerSpec
from app.core.supervisor import RESTART_POLICIES
from producers import Param, ParamError, get_kind
from producers.params import path, resolve_paths, validate_params
from widgets.warn_label import WarnLabel


def _plain_label(text: str) -> QLabel:
    """A label that shows its text as is: Qt would otherwise guess, and render, rich text."""
    label = QLabel(text)
    label.setTextFormat(Qt.PlainText)
    return label


def _editor(param: Param, value) -> QWidget:
    if value is None:
        value = param.default
    if param.type is bool:
        box = QCheckBox()
        box.setChecked(bool(value))
        return box
    if param.choices:
        combo = QComboBox()
        combo.addItems(param.choices)
        combo.setCurrentText(str(value))
        return combo
    return QLineEdit(param.to_text(value))


def _read(param: Param, editor: QWidget):
    """The editor's value in the parameter's type; ParamError if the text is not one."""
    if isinstance(editor, QCheckBox):
        return editor.isChecked()
    if isinstance(editor, QComboBox):
        return editor.currentText()
    return param.from_text(editor.text())


def _relative_to(chosen: str, base: str | None) -> str:
    """`chosen` relative to `base` when it lies inside it (so the session stays movable)."""
    if base:
        relative = os.path.relpath(chosen, base)
        if not relative.startswith(os.pardir):
            return relative
    return chosen


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
        form = QFormLayout()
        self.editors: dict[str, QWidget] = {}
        for param in self._params:
            editor = self.editors[param.name] = _editor(param, spec.params.get(param.name))
            editor.setObjectName(f"param:{param.name}")
            bounds = param.describe_range()
            editor.setToolTip(f"{param.help} ({param.type_name}{', ' + bounds if bounds else ''})")
            row = self._with_browse(param, editor) if param.type is path else editor
            form.addRow(_plain_label(param.name), row)
        self.autostart = QCheckBox()
        self.autostart.setChecked(spec.autostart)
        form.addRow(_plain_label("autostart"), self.autostart)
        self.restart = QComboBox()
        self.restart.addItems(RESTART_POLICIES)
        self.restart.setCurrentText(spec.restart)
        form.addRow(_plain_label("restart"), self.restart)
        self.error = WarnLabel()  # plain text, in the theme's red
        self.error.setObjectName("configError")
        self.error.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self._on_accepted)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        kind_help = _plain_label(get_kind(spec.kind).help)
        kind_help.setObjectName("kindHelp")
        layout.addWidget(kind_help)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def _with_browse(self, param: Param, editor: QLineEdit) -> QWidget:
        """A path's line edit with a Browse... button; a relative path stays relative to the
        session file's folder, as in the file."""
        button = QToolButton()
        button.setText("Browse...")
        button.setObjectName(f"browse:{param.name}")
        button.setToolTip(f"choose the file for {param.name}")
        button.clicked.connect(lambda: self._browse(param, editor))
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(editor)
        layout.addWidget(button)
        return row

    def _browse(self, param: Param, editor: QLineEdit) -> None:
        """A file dialog opened, not exec'd: the window keeps drawing while the user looks."""
        base = self.spec.base_dir
        current = resolve_paths((param,), {param.name: editor.text().strip()}, base)[param.name]
        dialog = QFileDialog(self, f"Choose {param.name}", current or base or "")
        dialog.setObjectName(f"fileDialog:{param.name}")
        dialog.setFileMode(QFileDialog.ExistingFile)
        dialog.setOption(QFileDialog.DontUseNativeDialog)  # a native one cannot be driven/tested
        dialog.fileSelected.connect(lambda chosen: editor.setText(_relative_to(chosen, base)))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def new_spec(self) -> ProducerSpec:
        """The spec the form describes; ParamError if a value does not fit its declaration."""
        given = {p.name: _read(p, self.editors[p.name]) for p in self._params}
        params = validate_params(self._params, given, self.spec.kind)
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
