"""A form built from a producer kind's declared parameters (producers/params.py): one editor per
parameter, the value shown exactly, a Browse… button for paths. Configure… and Add producer…
both use it, so a parameter looks and reads back the same in each.

Values are read with the parameter's own `from_text` and checked with `coerce` (the session
loader's rules and words): `problems()` says what is wrong with each field, which a dialog shows
next to it while the user types. A required parameter left blank is missing, as in a file.
All text is plain text: a value such as `<img src=...>` is shown, never rendered.
"""

from __future__ import annotations

import os

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QWidget,
)

from producers import Param, ParamError
from producers.params import path, resolve_paths, validate_params
from widgets.app_palette import current_theme
from widgets.warn_label import WarnLabel


def plain_label(text: str) -> QLabel:
    """A label that shows its text as is: Qt would otherwise guess, and render, rich text."""
    label = QLabel(text)
    label.setTextFormat(Qt.PlainText)
    return label


def error_color() -> str:
    """The theme's warning colour (readable on its window, light or dark)."""
    return current_theme().warn


def error_label(object_name: str) -> QLabel:
    """A wrapping, plain-text label for what is wrong (empty: nothing), in the theme's red."""
    label = WarnLabel()
    label.setObjectName(object_name)
    label.setWordWrap(True)
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


class ParamForm(QWidget):
    """Signals:
    edited(): a value was changed (any editor).
    """

    edited = pyqtSignal()

    def __init__(
        self,
        params: tuple[Param, ...],
        values: dict,
        base_dir: str | None = None,
        kind: str = "",
        parent=None,
    ):
        super().__init__(parent)
        self.setObjectName("paramForm")
        self.params = params
        self.kind = kind  # (named in what is wrong, as the loader names it)
        self.base_dir = base_dir  # relative paths are relative to it (the session's folder)
        self.layout_ = QFormLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.editors: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        for param in params:
            editor = self.editors[param.name] = _editor(param, values.get(param.name))
            editor.setObjectName(f"param:{param.name}")
            bounds = param.describe_range()
            required = ", required" if param.required else ""
            editor.setToolTip(
                f"{param.help} ({param.type_name}{', ' + bounds if bounds else ''}{required})"
            )
            row = self._with_browse(param, editor) if param.type is path else editor
            self.layout_.addRow(plain_label(param.name), row)
            error = self.errors[param.name] = error_label(f"paramError:{param.name}")
            error.hide()
            self.layout_.addRow(plain_label(""), error)
            self._connect(editor)

    def add_row(self, label: str, widget: QWidget) -> None:
        """A row of the dialog's own after the parameters (autostart, restart)."""
        self.layout_.addRow(plain_label(label), widget)

    def _connect(self, editor: QWidget) -> None:
        if isinstance(editor, QCheckBox):
            editor.toggled.connect(self.edited)
        elif isinstance(editor, QComboBox):
            editor.currentIndexChanged.connect(self.edited)
        else:  # typed, pasted or chosen with Browse…
            editor.textChanged.connect(self.edited)

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
        base = self.base_dir
        current = resolve_paths((param,), {param.name: editor.text().strip()}, base)[param.name]
        dialog = QFileDialog(self, f"Choose {param.name}", current or base or "")
        dialog.setObjectName(f"fileDialog:{param.name}")
        dialog.setFileMode(QFileDialog.ExistingFile)
        dialog.setOption(QFileDialog.DontUseNativeDialog)  # a native one cannot be driven/tested
        dialog.fileSelected.connect(lambda chosen: editor.setText(_relative_to(chosen, base)))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def given(self) -> dict:
        """The values as typed, each in its parameter's type (not yet checked against its
        bounds: `validate_params` does that); a required one left blank is left out, as if a
        file did not name it. ParamError for text that is not of the type."""
        out = {}
        for param in self.params:
            editor = self.editors[param.name]
            if param.required and isinstance(editor, QLineEdit) and not editor.text().strip():
                continue
            out[param.name] = _read(param, editor)
        return out

    def problems(self) -> dict[str, str]:
        """What is wrong with each field, by parameter name, in the loader's words."""
        found = {}
        for param in self.params:
            editor = self.editors[param.name]
            try:
                if param.required and isinstance(editor, QLineEdit) and not editor.text().strip():
                    validate_params((param,), {}, self.kind)  # missing: raises, as the loader
                param.coerce(_read(param, editor))
            except ParamError as exc:
                found[param.name] = str(exc)
        return found

    def show_problems(self, problems: dict[str, str]) -> None:
        """Each field's problem under it, its editor outlined; the others cleared."""
        for name, label in self.errors.items():
            text = problems.get(name, "")
            if label.text() != text:
                label.setText(text)
                label.setVisible(bool(text))
                editor = self.editors[name]
                editor.setStyleSheet(f"border: 1px solid {error_color()};" if text else "")
