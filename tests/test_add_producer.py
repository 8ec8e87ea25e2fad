"""The Add producer… and Rename… dialogs on their own: every kind listed with what it is, a free
name offered, the kind's own form, and what they emit is what a session file would hold."""

from __future__ import annotations

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QCheckBox, QLabel, QLineEdit

from app.core.session import parse_session
from producers.registry import all_kinds, summary
from tests.helpers import producer
from widgets.add_producer import AddProducerDialog
from widgets.rename_producer import RenameProducerDialog


def make(qtbot, taken=(), base_dir=None) -> AddProducerDialog:
    dialog = AddProducerDialog(taken, base_dir)
    qtbot.addWidget(dialog)
    dialog.open()
    return dialog


def test_every_kind_is_listed_with_its_one_line_description(qtbot):
    dialog = make(qtbot)
    listed = {
        dialog.kinds.item(i).data(Qt.UserRole): dialog.kinds.item(i).text()
        for i in range(dialog.kinds.count())
    }
    assert set(listed) >= set(all_kinds())
    for kind, cls in all_kinds().items():
        assert listed[kind] == f"{kind} — {summary(cls)}"
    assert dialog.kinds.toolTip()


def test_a_free_name_is_offered_and_the_form_is_the_kinds(qtbot):
    dialog = make(qtbot, taken={"sine", "noise", "noise-2"})
    assert (dialog.kind, dialog.name.text()) == ("sine", "sine-2")
    dialog.select_kind("noise")
    assert dialog.name.text() == "noise-3"
    assert {p.name for p in all_kinds()["noise"].params} == set(dialog.form.editors)
    assert all(editor.toolTip() for editor in dialog.form.editors.values())
    dialog.select_kind("system")
    assert isinstance(dialog.findChild(QCheckBox, "param:per_core"), QCheckBox)


def test_what_it_emits_is_what_the_same_session_file_holds(qtbot, tmp_path):
    dialog = make(qtbot, base_dir=str(tmp_path))
    dialog.select_kind("command")
    dialog.name.setText("cmd")
    dialog.findChild(QLineEdit, "param:argv").setText("python3 -c 'print(1)'")
    dialog.findChild(QLineEdit, "param:env").setText('{ A = "1" }')
    dialog.autostart.setChecked(False)
    dialog.restart.setCurrentText("never")
    emitted = []
    dialog.added.connect(emitted.append)
    dialog.ok.click()
    (spec,) = emitted
    toml = producer(
        "cmd", "command", autostart=False, restart="never",
        argv=["python3", "-c", "print(1)"], env={"A": "1"},
    )  # fmt: skip
    assert spec == parse_session(toml).producers[0]
    assert spec.base_dir == str(tmp_path)  # relative paths: the session's folder
    assert not dialog.isVisible()


def test_every_label_is_plain_text(qtbot):
    dialog = make(qtbot)
    dialog.name.setText("<b>x</b>")
    labels = dialog.findChildren(QLabel)
    assert labels and all(label.textFormat() == Qt.PlainText for label in labels)
    assert "1-64 letters" in dialog.findChild(QLabel, "nameError").text()


def test_rename_checks_the_name_as_you_type(qtbot):
    dialog = RenameProducerDialog("wave", ["wave", "other"], running=True)
    qtbot.addWidget(dialog)
    dialog.open()
    error = dialog.findChild(QLabel, "renameError")
    for text, says in (("other", "duplicate producer name 'other'"), ("a b", "1-64 letters")):
        dialog.name.setText(text)
        assert says in error.text() and not dialog.ok.isEnabled()
    renamed = []
    dialog.renamed.connect(lambda old, new: renamed.append((old, new)))
    dialog.name.setText("wave")  # unchanged: nothing to do
    assert dialog.ok.isEnabled()
    dialog.name.setText("scope")
    dialog.ok.click()
    assert renamed == [("wave", "scope")]
