"""Producers from the window, as a user meets them: Add producer… (a kind, a name, the kind's
form, checked as you type), Duplicate, Rename…, Remove… through the menu bar, the keys and a
row's right-click menu, with real producers; the table changes row by row, the chart and the
legend follow, the session is marked unsaved, and what is saved opens again the same."""

from __future__ import annotations

import psutil
import pytest
from PyQt5.QtCore import Qt
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import QAction, QApplication, QLabel, QLineEdit, QMessageBox

from app.core.session import load_session
from tests.helpers import (
    WAIT_MS,
    assert_pids_gone,
    button,
    producer,
    session_from,
    state_of,
    wait_state,
)
from widgets.producer_panel import ACTIONS, COL

pytestmark = pytest.mark.slow

ACTIONS_AND_KEYS = {
    "addProducerAction": "Ctrl+Shift+N",
    "duplicateProducerAction": "Ctrl+D",
    "renameProducerAction": "F2",
    "removeProducerAction": "Delete",
}


@pytest.fixture(autouse=True)
def _own_settings(private_settings):
    """Saving a session writes QSettings (recent files): this module's own."""
    return private_settings


# -- helpers --------------------------------------------------------------------------------------
def _has_row(window, name: str) -> bool:
    return window.panel.state_label(name) is not None


def _running(qtbot, window, name: str) -> None:
    qtbot.waitUntil(lambda: _has_row(window, name), timeout=WAIT_MS)
    wait_state(qtbot, window, name, "RUNNING")


def _samples(window, name: str) -> int:
    return window.engine.counters.snapshot(name).samples


def _widgets(window) -> dict:
    """Each row's widgets (its state label and its buttons): the same objects while the row
    lives (a panel that rebuilt its rows would make new ones)."""
    panel = window.panel
    return {
        name: (panel.cellWidget(row, COL["State"]), panel.cellWidget(row, ACTIONS))
        for name, row in panel._rows.items()
    }


def _dialog(qtbot, window, object_name: str):
    found = []

    def shown():
        dialogs = [
            w for w in QApplication.topLevelWidgets()
            if w.objectName() == object_name and w.isVisible()
        ]  # fmt: skip
        assert dialogs
        found[:] = dialogs[-1:]

    qtbot.waitUntil(shown, timeout=WAIT_MS)
    return found[0]


def _add(qtbot, window, kind: str, name: str, start: bool = True, **params):
    """Add producer… as a user does: the action, the kind, a name, the fields, Add."""
    window.addProducerAction.trigger()
    dialog = _dialog(qtbot, window, "addProducerDialog")
    dialog.select_kind(kind)
    dialog.name.clear()
    qtbot.keyClicks(dialog.name, name)
    for key, text in params.items():
        editor = dialog.findChild(QLineEdit, f"param:{key}")
        editor.setText(text)
    dialog.autostart.setChecked(start)
    assert dialog.ok.isEnabled(), dialog.problems()
    dialog.ok.click()
    assert not dialog.isVisible()
    qtbot.waitUntil(lambda: _has_row(window, name), timeout=WAIT_MS)


def _select(window, name: str) -> None:
    window.panel.select_producer(name)
    assert window.panel.selected_producer() == name


def _remove(qtbot, window, name: str) -> None:
    _select(window, name)
    window.removeProducerAction.trigger()
    box = _dialog(qtbot, window, "removeProducerDialog")
    assert name in box.text()
    next(b for b in box.buttons() if b.text() == "Remove").click()
    qtbot.waitUntil(lambda: not _has_row(window, name), timeout=WAIT_MS)


def _rename(qtbot, window, old: str, new: str) -> None:
    _select(window, old)
    window.renameProducerAction.trigger()
    dialog = _dialog(qtbot, window, "renameProducerDialog")
    dialog.name.setText(new)
    assert dialog.ok.isEnabled()
    dialog.ok.click()


def _colors(window, name: str) -> dict:
    return {k: window.chart.colors.color(k) for k in window.chart._curves if k[0] == name}


# -- the tests ------------------------------------------------------------------------------------
@pytest.mark.qt_log_ignore("This plugin does not support (raise|grabbing the keyboard)")  # a menu
def test_the_actions_are_in_the_producers_menu_with_shortcuts_tooltips_and_the_row_menu(
    qtbot, open_window
):
    window = open_window(session_from(producer("wave", "sine", autostart=False)))
    menus = {a.text(): a.menu() for a in window.menuBar().actions()}
    in_menu = [a.objectName() for a in menus["&Producers"].actions()]
    for name, keys in ACTIONS_AND_KEYS.items():
        action = window.findChild(QAction, name)
        assert action is not None and name in in_menu
        assert action.shortcut() == QKeySequence(keys)
        assert action.toolTip() and action.statusTip()
    assert in_menu.index("addProducerAction") < in_menu.index("startAllAction")
    # acting on the selected row: nothing selected, nothing to act on
    assert window.addProducerAction.isEnabled()
    assert not window.removeProducerAction.isEnabled()
    _select(window, "wave")
    assert window.removeProducerAction.isEnabled() and window.renameProducerAction.isEnabled()
    # the row's right-click menu: the same actions, for the row clicked
    window.panel.clearSelection()
    panel = window.panel
    rect = panel.visualRect(panel.model().index(panel._rows["wave"], COL["Name"]))
    panel.customContextMenuRequested.emit(rect.center())
    menu = panel.row_menu
    assert menu is not None and menu.isVisible()
    assert {a.objectName() for a in menu.actions()} >= set(ACTIONS_AND_KEYS)
    assert panel.selected_producer() == "wave"
    menu.close()


def test_add_producer_starts_a_real_producer_and_inserts_one_row(qtbot, open_window):
    window = open_window(
        session_from(producer("wave", "sine", rate_hz=100.0) + producer("other", "clock"))
    )
    _running(qtbot, window, "wave")
    before = _widgets(window)
    assert window.windowTitle().endswith("test-session.toml")
    _add(qtbot, window, "noise", "hiss", rate_hz="400", channels="2")
    assert window.panel.names() == ["wave", "other", "hiss"]
    assert {n: w for n, w in _widgets(window).items() if n != "hiss"} == before  # same objects
    assert all(_widgets(window)[n][0] is before[n][0] for n in before)
    _running(qtbot, window, "hiss")
    counted = _samples(window, "hiss")
    qtbot.waitUntil(lambda: _samples(window, "hiss") > counted + 200, timeout=WAIT_MS)
    keys = [("hiss", "ch0"), ("hiss", "ch1")]
    qtbot.waitUntil(lambda: all(window.chart.curve(k) is not None for k in keys), timeout=WAIT_MS)
    assert window.windowTitle().endswith("*")  # unsaved
    assert window.panel.selected_producer() == "hiss"  # the next Rename or Remove is for it
    assert window.current_session().producers[-1].params["rate_hz"] == 400.0


def test_wrong_input_is_said_under_its_field_and_add_stays_disabled(qtbot, open_window):
    window = open_window(session_from(producer("wave", "sine", autostart=False)))
    window.addProducerAction.trigger()
    dialog = _dialog(qtbot, window, "addProducerDialog")
    assert dialog.kind == "sine" and dialog.name.text() == "sine" and dialog.ok.isEnabled()
    name_error = dialog.findChild(QLabel, "nameError")

    dialog.name.setText("wave")  # taken
    assert name_error.text() == "duplicate producer name 'wave'"  # the session file's words
    assert name_error.isVisible() and not dialog.ok.isEnabled()
    dialog.name.setText("two words")
    assert "1-64 letters, digits" in name_error.text() and not dialog.ok.isEnabled()
    dialog.name.clear()
    qtbot.keyClicks(dialog.name, "fine")  # typed: a kind chosen after keeps it
    assert not name_error.isVisible() and dialog.ok.isEnabled()

    rate = dialog.findChild(QLineEdit, "param:rate_hz")
    rate_error = dialog.findChild(QLabel, "paramError:rate_hz")
    for text, says in (("-3", "rate_hz must be in [0.001,"), ("fast", "rate_hz must be float")):
        rate.setText(text)
        assert says in rate_error.text() and rate_error.isVisible()
        assert says in dialog.findChild(QLabel, "addError").text()
        assert not dialog.ok.isEnabled()
        dialog.ok.click()  # (disabled: nothing happens)
        assert dialog.isVisible()
    rate.setText("250")
    assert not rate_error.isVisible() and dialog.ok.isEnabled()

    # a typed name stays when the kind changes; a required parameter left blank is missing
    dialog.select_kind("sweep")
    assert dialog.name.text() == "fine"
    target_error = dialog.findChild(QLabel, "paramError:target")
    assert target_error.text().startswith("target is required for kind 'sweep'")
    assert not dialog.ok.isEnabled()
    dialog.reject()
    assert window.engine.names == ["wave"] and not window.unsaved


def test_removing_a_running_producer_ends_its_processes_and_its_series(qtbot, open_window):
    loop = "while true; do echo 1; sleep 0.01; done"
    window = open_window(
        session_from(
            producer("wave", "sine", rate_hz=100.0)
            + producer("cmd", "command", argv=["sh", "-c", loop], format="number")
            + producer("last", "sine", rate_hz=50.0)
        )
    )
    _running(qtbot, window, "cmd")
    qtbot.waitUntil(lambda: window.chart.curve(("cmd", "value")) is not None, timeout=WAIT_MS)
    pid = window.engine.view.entries["cmd"].pid
    tree = [pid, *(p.pid for p in psutil.Process(pid).children(recursive=True))]
    assert len(tree) >= 2
    before = _widgets(window)
    _remove(qtbot, window, "cmd")
    assert window.panel.names() == ["wave", "last"]
    assert all(_widgets(window)[n] == before[n] for n in ("wave", "last"))  # not rebuilt
    assert_pids_gone(tree)
    curve = ("cmd", "value")
    qtbot.waitUntil(lambda: window.chart.curve(curve) is None, timeout=WAIT_MS)
    window.chart.redraw()
    qtbot.waitUntil(
        lambda: all("cmd" not in label.text for _, label in window.chart.legend.items),
        timeout=WAIT_MS,
    )
    assert curve not in window.chart.visible_series()
    assert window.windowTitle().endswith("*")
    assert [s.name for s in window.current_session().producers] == ["wave", "last"]
    state = state_of(window, "wave")
    assert state.startswith("RUNNING")  # the others run on


def test_a_duplicate_is_a_stopped_copy_whose_series_get_colours_of_their_own(qtbot, open_window):
    window = open_window(
        session_from(producer("noise", "noise", rate_hz=200.0, channels=2) + producer("x", "clock"))
    )
    _running(qtbot, window, "noise")
    qtbot.waitUntil(lambda: len(_colors(window, "noise")) == 2, timeout=WAIT_MS)
    _select(window, "noise")
    window.duplicateProducerAction.trigger()
    qtbot.waitUntil(lambda: _has_row(window, "noise-2"), timeout=WAIT_MS)
    assert window.panel.names() == ["noise", "noise-2", "x"]  # right after it
    assert state_of(window, "noise-2").startswith("STOPPED")
    copy = window.current_session().producers[1]
    assert (copy.kind, copy.params) == ("noise", window.current_session().producers[0].params)
    button(window, "start", "noise-2").click()
    _running(qtbot, window, "noise-2")
    qtbot.waitUntil(lambda: len(_colors(window, "noise-2")) == 2, timeout=WAIT_MS)
    colours = [*_colors(window, "noise").values(), *_colors(window, "noise-2").values()]
    assert len(set(colours)) == 4  # no series shares a colour with another
    # Ctrl+D on the copy: noise-3, not noise-2-2
    _select(window, "noise-2")
    window.duplicateProducerAction.trigger()
    qtbot.waitUntil(lambda: _has_row(window, "noise-3"), timeout=WAIT_MS)


def test_renaming_a_running_producer_keeps_its_row_history_and_colour(qtbot, open_window):
    window = open_window(
        session_from(producer("a", "sine", rate_hz=200.0) + producer("b", "clock"))
    )
    _running(qtbot, window, "a")
    qtbot.waitUntil(lambda: window.chart.curve(("a", "value")) is not None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: _samples(window, "a") > 200, timeout=WAIT_MS)
    colour = window.chart.colors.color(("a", "value"))
    before = _widgets(window)
    first_pid = window.engine.view.entries["a"].pid
    _rename(qtbot, window, "a", "scope")
    assert window.panel.names() == ["scope", "b"]
    assert _widgets(window)["scope"] == before["a"]  # the same row, renamed in place
    assert window.panel.selected_producer() == "scope"
    assert window.panel.findChild(QLabel, "stateLabel:scope") is before["a"][0]
    assert state_of(window, "scope") == "STARTING…"  # it restarts under its new name
    _running(qtbot, window, "scope")
    assert window.engine.view.entries["scope"].pid != first_pid
    assert_pids_gone([first_pid])
    key = ("scope", "value")
    qtbot.waitUntil(lambda: window.chart.curve(key) is not None, timeout=WAIT_MS)
    assert window.chart.curve(("a", "value")) is None
    assert window.chart.colors.color(key) == colour
    assert _samples(window, "scope") > 200  # the count went on, not from 0
    assert window.windowTitle().endswith("*")
    # a taken name is refused in the dialog, with the session file's words
    _select(window, "b")
    window.renameProducerAction.trigger()
    dialog = _dialog(qtbot, window, "renameProducerDialog")
    dialog.name.setText("scope")
    assert dialog.findChild(QLabel, "renameError").text() == "duplicate producer name 'scope'"
    assert not dialog.ok.isEnabled()
    dialog.reject()


@pytest.mark.qt_log_ignore("This plugin does not support")  # activating the window
def test_the_keys_work_with_the_table_focused(qtbot, open_window):
    window = open_window(session_from(producer("wave", "sine", autostart=False)))
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT_MS)
    _select(window, "wave")
    window.panel.setFocus()
    qtbot.keyClick(window.panel, Qt.Key_D, Qt.ControlModifier)
    qtbot.waitUntil(lambda: _has_row(window, "wave-2"), timeout=WAIT_MS)
    _select(window, "wave-2")
    qtbot.keyClick(window.panel, Qt.Key_F2)
    _dialog(qtbot, window, "renameProducerDialog").reject()
    qtbot.keyClick(window.panel, Qt.Key_Delete)
    box = _dialog(qtbot, window, "removeProducerDialog")
    box.button(QMessageBox.Cancel).click()
    assert window.panel.names() == ["wave", "wave-2"]


SESSION = """\
# the lab
[[producers]]
name = "wave"   # the generator
kind = "sine"
autostart = false
[producers.params]
rate_hz = 50

[[producers]]
name = "gone"
kind = "clock"
autostart = false
"""


def test_what_was_added_renamed_and_removed_is_saved_and_opens_again_the_same(
    qtbot, open_window, tmp_path
):
    file = tmp_path / "lab.toml"
    file.write_text(SESSION)
    window = open_window(load_session(file))
    qtbot.waitUntil(lambda: _has_row(window, "gone"), timeout=WAIT_MS)
    _add(qtbot, window, "random_walk", "ticker", start=False, volatility="0.5")
    _select(window, "wave")
    window.duplicateProducerAction.trigger()
    qtbot.waitUntil(lambda: _has_row(window, "wave-2"), timeout=WAIT_MS)
    _rename(qtbot, window, "wave", "generator")
    qtbot.waitUntil(lambda: _has_row(window, "generator"), timeout=WAIT_MS)
    _remove(qtbot, window, "gone")
    assert window.windowTitle() == "streamscope — lab.toml*"
    saved = window.current_session()
    assert [s.name for s in saved.producers] == ["generator", "wave-2", "ticker"]
    window.saveSessionAction.trigger()  # Ctrl+S: over the file
    assert window.windowTitle() == "streamscope — lab.toml"
    text = file.read_text()
    assert 'name = "generator"   # the generator' in text and "# the lab" in text
    assert 'name = "gone"' not in text
    with qtbot.waitSignal(window.replaced_by, timeout=WAIT_MS) as opened:
        assert window.open_session(file)
    new = opened.args[0]
    try:
        assert new.session.producers == saved.producers
        assert new.session.producers[2].params["volatility"] == 0.5
        assert new.panel.names() == ["generator", "wave-2", "ticker"]
    finally:
        with qtbot.waitSignal(new.shutdown_finished, timeout=WAIT_MS):
            new.close()
