"""The Configure dialog: OK without an edit changes nothing (every value shown exactly, so no
needless restart), an edit is applied, and text from a session is shown, never rendered."""

from __future__ import annotations

import os
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QLineEdit,
    QToolButton,
)

from app.core.session import ProducerSpec, parse_session
from producers import all_kinds
from producers.params import Param, path
from widgets.producer_config import ProducerConfigDialog

QT_FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def spec_of(kind: str, **params) -> ProducerSpec:
    """A spec as a session file would produce it (validated, defaults filled in)."""
    lines = "".join(f"{key} = {value!r}\n" for key, value in params.items())
    text = f'[[producers]]\nname = "p"\nkind = "{kind}"\n[producers.params]\n{lines}'
    return parse_session(text.replace("True", "true").replace("False", "false")).producers[0]


def press_ok(dialog: ProducerConfigDialog) -> list[ProducerSpec]:
    """Click OK; the specs the dialog emitted."""
    emitted: list[ProducerSpec] = []
    dialog.applied.connect(emitted.append)
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.Ok).click()
    return emitted


@pytest.fixture
def dialog_for(qtbot):
    def make(spec: ProducerSpec) -> ProducerConfigDialog:
        dialog = ProducerConfigDialog(spec)
        qtbot.addWidget(dialog)
        dialog.open()
        return dialog

    return make


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("sine", dict(amplitude=1234567.0, offset=0.1, frequency_hz=1 / 3, rate_hz=12345.678)),
        ("noise", dict(mean=-2.5e-7, std=1.0000001, seed=123456789012345678)),
        ("random_walk", dict(start=1.0000000000000002e-09, volatility=99.99999999999999)),
        ("fail", dict(mode="hang_hard", after_batches=10**30, exit_code=255)),
        ("system", dict(interval_s=0.05, per_core=False)),
        ("clock", dict(period_s=3599.9999999999995)),
    ],
)
def test_ok_without_an_edit_emits_nothing_and_closes(dialog_for, kind, params):
    """`:g` used to turn 1234567 into 1234570: the producer restarted with a changed value."""
    spec = spec_of(kind, **params)
    dialog = dialog_for(spec)
    assert press_ok(dialog) == []
    assert not dialog.isVisible() and dialog.result() == QDialog.Accepted
    assert dialog.new_spec() == spec
    for name, value in spec.params.items():
        if isinstance(value, float):
            assert bits(dialog.new_spec().params[name]) == bits(value), name


def test_the_amplitude_shows_every_digit(dialog_for):
    dialog = dialog_for(spec_of("sine", amplitude=1234567.0))
    assert dialog.findChild(QLineEdit, "param:amplitude").text() == "1234567.0"


@QT_FUZZ
@given(data=st.data())
def test_every_float_a_parameter_admits_round_trips_exactly(dialog_for, data):
    kind = data.draw(st.sampled_from(["sine", "noise", "random_walk", "clock", "system", "fail"]))
    declared = [p for p in all_kinds()[kind].params if p.type is float]
    params = {
        p.name: data.draw(st.floats(p.min, p.max, allow_nan=False), label=p.name) for p in declared
    }
    spec = spec_of(kind, **params)
    dialog = dialog_for(spec)
    assert press_ok(dialog) == []
    for name, value in params.items():
        assert bits(dialog.new_spec().params[name]) == bits(value), name
    dialog.close()


def test_an_edit_is_emitted(dialog_for):
    spec = spec_of("sine", amplitude=1234567.0)
    dialog = dialog_for(spec)
    dialog.findChild(QLineEdit, "param:amplitude").setText("1234567.5")
    (new,) = press_ok(dialog)
    assert new.params["amplitude"] == 1234567.5
    assert {k: v for k, v in new.params.items() if k != "amplitude"} == {
        k: v for k, v in spec.params.items() if k != "amplitude"
    }
    dialog = dialog_for(spec)
    dialog.autostart.setChecked(not spec.autostart)
    (new,) = press_ok(dialog)
    assert new.autostart is not spec.autostart and new.params == spec.params


def test_the_same_value_written_differently_is_no_change(dialog_for):
    dialog = dialog_for(spec_of("sine", amplitude=2.0, rate_hz=100.0))
    dialog.findChild(QLineEdit, "param:amplitude").setText(" 2 ")
    dialog.findChild(QLineEdit, "param:rate_hz").setText("1e2")
    assert press_ok(dialog) == []
    assert not dialog.isVisible()


def test_a_bad_value_keeps_the_dialog_open_and_emits_nothing(dialog_for):
    dialog = dialog_for(spec_of("noise"))
    dialog.findChild(QLineEdit, "param:std").setText("1e999")  # float() says inf
    assert press_ok(dialog) == []
    assert dialog.isVisible()
    assert "std must be finite" in dialog.findChild(QLabel, "configError").text()


def test_text_is_shown_as_text_not_rendered(dialog_for):
    """Labels guess rich text by default: `<b>` would be bold, `<img src=...>` fetched."""
    dialog = dialog_for(spec_of("sine"))
    labels = dialog.findChildren(QLabel)
    assert labels and all(label.textFormat() == Qt.PlainText for label in labels)
    assert dialog.findChild(QLabel, "kindHelp").text() == all_kinds()["sine"].help
    dialog.findChild(QLineEdit, "param:amplitude").setText("<b>big</b><img src='x.png'>")
    assert press_ok(dialog) == []
    error = dialog.findChild(QLabel, "configError")
    assert "<b>big</b><img src='x.png'>" in error.text()
    assert error.textFormat() == Qt.PlainText


def test_a_bool_parameter_round_trips(dialog_for):
    spec = spec_of("system", per_core=False)
    dialog = dialog_for(spec)
    assert not dialog.findChild(QCheckBox, "param:per_core").isChecked()
    assert press_ok(dialog) == []
    assert dialog.new_spec() == spec


def test_a_path_is_chosen_with_browse_and_kept_relative_to_the_session(dialog_for, qtbot, tmp_path):
    (tmp_path / "scripts").mkdir()
    script = tmp_path / "scripts" / "mine.py"
    script.write_text("def produce():\n    yield 1\n")
    spec = spec_of("sine")
    spec.base_dir = str(tmp_path)
    dialog = dialog_for(spec)
    param = Param("path", path, "", "a file")
    editor = QLineEdit("")
    row = dialog._with_browse(param, editor)
    qtbot.addWidget(row)

    def choose(chosen: str) -> None:
        row.findChild(QToolButton, "browse:path").click()
        chooser = dialog.findChildren(QFileDialog, "fileDialog:path")[-1]
        qtbot.waitUntil(chooser.isVisible)
        chooser.selectFile(chosen)
        chooser.accept()  # what pressing Open does

    choose(str(script))
    assert editor.text() == os.path.join("scripts", "mine.py")
    choose("/usr/bin/env")  # outside the session's folder: absolute
    assert editor.text() == "/usr/bin/env"
