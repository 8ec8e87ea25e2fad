"""Add producer…: pick a kind, name it, fill in its parameters; checked as you type.

The kinds are every kind the registry knows, each with its one-line description (a plugin that
failed to load is listed, greyed out, with why). The name is prefilled with a free one (the
kind's, then `-2`, `-3`...), until the user types their own. The parameters are the same form
as Configure… (widgets/param_form.py). Every field is checked on each change with the session
file's rules and words (app.core.producer_specs): what is wrong shows under the field, and OK
stays disabled until nothing is. Accepting emits the spec; the window hands it to the engine,
which starts it (if asked) on its own thread: nothing here starts a process.
"""

from __future__ import annotations

from collections.abc import Collection

from PyQt5.QtCore import Qt, pyqtSignal, pyqtSlot
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QScrollArea,
    QVBoxLayout,
)

from app.core.producer_specs import SpecError, check_name, checked_spec, unique_name
from app.core.session import ProducerSpec
from app.core.supervisor import RESTART_POLICIES
from producers import ParamError
from producers.registry import entries, summary
from widgets.param_form import ParamForm, error_color, error_label, plain_label

DEFAULT_KIND = "sine"


class AddProducerDialog(QDialog):
    """Signals:
    added(object): the new ProducerSpec, checked as a session file's producer would be. Its
        `autostart` says whether to start it now (and whenever the session opens).
    """

    added = pyqtSignal(object)

    def __init__(self, taken: Collection[str], base_dir: str | None = None, parent=None):
        """`taken`: the names in use; `base_dir`: the folder relative paths are relative to
        (the session file's)."""
        super().__init__(parent)
        self.setObjectName("addProducerDialog")
        self.setWindowTitle("Add producer")
        self.taken = frozenset(taken)
        self.base_dir = base_dir
        self.form: ParamForm | None = None
        self._name_typed = False  # the user typed a name: a kind change keeps it

        self.kinds = QListWidget()
        self.kinds.setObjectName("kindList")
        self.kinds.setToolTip("What the producer is: a signal, a program's output, a file…")
        for name, entry in entries().items():
            if entry.cls is not None:
                item = QListWidgetItem(f"{name} — {summary(entry.cls)}")
                item.setToolTip(summary(entry.cls))
            else:
                item = QListWidgetItem(f"{name} — unavailable")
                item.setToolTip(entry.error)
                item.setFlags(item.flags() & ~(Qt.ItemIsEnabled | Qt.ItemIsSelectable))
            item.setData(Qt.UserRole, name)
            self.kinds.addItem(item)
        self.kinds.setMinimumWidth(self.kinds.sizeHintForColumn(0) + 24)
        self.kinds.setMaximumHeight(8 * max(self.kinds.sizeHintForRow(0), 16) + 8)

        self.name = QLineEdit()
        self.name.setObjectName("producerName")
        self.name.setToolTip(
            "A name of its own: 1-64 letters, digits, '_', '-' or '.' (shown in the table and "
            "the legend, used in recordings)"
        )
        self.name_error = error_label("nameError")
        self.name_error.hide()
        self.autostart = QCheckBox("start it now, and whenever the session opens")
        self.autostart.setObjectName("autostartBox")
        self.autostart.setChecked(True)
        self.autostart.setToolTip("Off: it is added stopped; press Start when you want it")
        self.restart = QComboBox()
        self.restart.setObjectName("restartBox")
        self.restart.addItems(RESTART_POLICIES)
        self.restart.setCurrentText("on-failure")
        self.restart.setToolTip("Start it again when it ends: never, on-failure, always")
        top = QFormLayout()
        top.addRow(plain_label("kind"), self.kinds)
        top.addRow(plain_label("name"), self.name)
        top.addRow(plain_label(""), self.name_error)
        self.scroll = QScrollArea()  # a kind with many parameters scrolls, the dialog does not
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.NoFrame)
        bottom = QFormLayout()
        bottom.addRow(plain_label("autostart"), self.autostart)
        bottom.addRow(plain_label("restart"), self.restart)
        self.error = error_label("addError")
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.ok = self.buttons.button(QDialogButtonBox.Ok)
        self.ok.setText("Add")
        self.ok.setToolTip("Add the producer (enabled once every field is right)")
        self.buttons.button(QDialogButtonBox.Cancel).setToolTip("Close without adding")
        self.buttons.accepted.connect(self._on_accepted)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.scroll, 1)
        layout.addLayout(bottom)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

        self.kinds.currentItemChanged.connect(self._on_kind_changed)
        self.name.textEdited.connect(self._on_name_typed)
        self.name.textChanged.connect(self._check)
        self.restart.currentIndexChanged.connect(self._check)
        usable = [n for n, e in entries().items() if e.cls is not None]
        self.select_kind(DEFAULT_KIND if DEFAULT_KIND in usable else (usable or [""])[0])
        self.resize(max(self.sizeHint().width(), 560), 620)

    # -- public -----------------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        item = self.kinds.currentItem()
        return item.data(Qt.UserRole) if item is not None else ""

    def select_kind(self, kind: str) -> None:
        """Choose `kind` as a click in the list would (its form replaces the last one)."""
        for row in range(self.kinds.count()):
            if self.kinds.item(row).data(Qt.UserRole) == kind:
                self.kinds.setCurrentRow(row)
                return
        raise KeyError(kind)

    def spec(self) -> ProducerSpec:
        """The producer the dialog describes, checked; SpecError (or ParamError) if it is not
        one a session file would accept."""
        if self.form is None:
            raise SpecError("kind", "choose a kind")
        return checked_spec(
            ProducerSpec(
                self.name.text().strip(),
                self.kind,
                self.form.given(),
                autostart=self.autostart.isChecked(),
                restart=self.restart.currentText(),
                base_dir=self.base_dir,
            ),
            self.taken,
        )

    def problems(self) -> dict[str, str]:
        """What is wrong, by field ("name" or a parameter's name); empty when OK may be pressed."""
        found = {}
        try:
            check_name(self.name.text().strip(), self.taken)
        except SpecError as exc:
            found["name"] = str(exc)
        if self.form is None:
            found["kind"] = "choose a kind"
            return found
        found.update(self.form.problems())
        if not found:
            try:
                self.spec()
            except (SpecError, ParamError) as exc:  # a rule of the whole, if any
                found["spec"] = str(exc)
        return found

    # -- internals --------------------------------------------------------------------------------
    @pyqtSlot(QListWidgetItem, QListWidgetItem)
    def _on_kind_changed(self, current, _previous) -> None:
        if current is None:
            return
        kind = current.data(Qt.UserRole)
        cls = entries()[kind].cls
        if cls is None:
            return
        self.form = ParamForm(cls.params, {}, self.base_dir, kind)
        self.form.edited.connect(self._check)
        self.scroll.setWidget(self.form)  # (deletes the previous form)
        if not self._name_typed:
            self.name.setText(unique_name(kind, self.taken))
        self._check()

    @pyqtSlot(str)
    def _on_name_typed(self, _text: str) -> None:
        self._name_typed = True

    @pyqtSlot()
    def _check(self) -> None:
        """Show what is wrong under each field and as a summary; OK only when nothing is."""
        found = self.problems()
        self.name_error.setText(found.get("name", ""))
        self.name_error.setVisible("name" in found)
        style = f"border: 1px solid {error_color()};" if "name" in found else ""
        if self.name.styleSheet() != style:
            self.name.setStyleSheet(style)
        if self.form is not None:
            self.form.show_problems(found)
        self.error.setText(next(iter(found.values()), ""))
        self.ok.setEnabled(not found)

    @pyqtSlot()
    def _on_accepted(self) -> None:
        try:
            spec = self.spec()
        except (SpecError, ParamError) as exc:  # (OK is disabled then; a shortcut may get here)
            self.error.setText(str(exc))
            return
        self.added.emit(spec)
        self.accept()
