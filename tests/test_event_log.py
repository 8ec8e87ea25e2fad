"""The event log as a user reads it: starts, stops, crashes with their traceback, sources'
status, copied as text; the app icon; `streamscope install-desktop`."""

from __future__ import annotations

import configparser
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PyQt5.QtCore import QItemSelectionModel, Qt
from PyQt5.QtGui import QPalette
from PyQt5.QtWidgets import QApplication, QDockWidget, QTableView

from tests.helpers import WAIT_MS, button, producer, session_from, wait_state
from widgets.app_palette import apply_to_application
from widgets.event_log import EventLog
from widgets.theme import DARK, LIGHT, contrast_ratio

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _own_settings(private_settings):
    """Its own QSettings (conftest): the window remembers its docks, and a pane left open
    here must not open in the tests that follow."""
    return private_settings


def texts(window) -> list[str]:
    return [e.text for e in window.event_log.entries()]


def wait_entry(qtbot, window, predicate):
    """The first entry for which `predicate(entry)` holds, once there is one."""
    found = []

    def seen():
        found[:] = [e for e in window.event_log.entries() if predicate(e)]
        assert found

    qtbot.waitUntil(seen, timeout=WAIT_MS)
    return found[0]


def select_rows(log: EventLog, rows) -> None:
    selection = log.view.selectionModel()
    selection.clearSelection()
    for row in rows:
        flags = QItemSelectionModel.Select | QItemSelectionModel.Rows
        selection.select(log.model.index(row, 0), flags)


def test_a_crash_shows_with_its_traceback(qtbot, open_window):
    window = open_window(session_from(producer("bad", "fail", mode="raise", after_batches=60)))
    assert window.findChild(EventLog, "eventLog") is window.event_log
    crash = wait_entry(qtbot, window, lambda e: "ProducerFailure" in e.text)
    assert crash.source == "bad"
    assert "Traceback (most recent call last)" in crash.details
    assert "raised after 60 batches" in crash.details
    wait_state(qtbot, window, "bad", "EXITED")
    wait_entry(qtbot, window, lambda e: e.text.startswith("bad: RUNNING -> EXITED"))
    # the traceback is read by selecting the entry
    log = window.event_log
    window.eventLogAction.trigger()
    row = log.entries().index(crash)
    select_rows(log, [row])
    assert "Traceback (most recent call last)" in log.details.toPlainText()
    assert "[+ details]" in log.model.index(row, 3).data()


def test_start_and_stop_are_logged_and_copied_as_text(qtbot, open_window):
    window = open_window(session_from(producer("a", "sine", autostart=False)))
    button(window, "start", "a").click()
    wait_state(qtbot, window, "a", "RUNNING")
    button(window, "stop", "a").click()
    wait_state(qtbot, window, "a", "STOPPED")
    stopped = wait_entry(qtbot, window, lambda e: e.text.startswith("a: STOPPING -> STOPPED"))
    lines = texts(window)
    assert "a: STOPPED -> STARTING" in lines and "a: STARTING -> RUNNING" in lines
    assert lines.index("a: STARTING -> RUNNING") < lines.index(stopped.text)  # newest last

    log = window.event_log
    window.eventLogAction.trigger()
    qtbot.waitExposed(log.view)
    first = lines.index("a: STOPPED -> STARTING")
    last = lines.index(stopped.text)
    select_rows(log, [first, last])
    QApplication.clipboard().clear()
    log.view.setFocus()
    qtbot.keyClick(log.view, Qt.Key_C, Qt.ControlModifier)  # Ctrl+C
    copied = QApplication.clipboard().text().splitlines()
    assert len(copied) == 2
    assert copied[0].endswith(" INFO a: STOPPED -> STARTING")
    assert " INFO a: STOPPING -> STOPPED" in copied[1]
    assert copied[0][:4].isdigit() and copied[0][10] == " "  # 2026-12-02 04:51:13.123 INFO …
    # the context menu has Copy and Copy all
    names = [a.objectName() for a in log.view.actions()]
    assert {"eventCopyAction", "eventCopyAllAction"} <= set(names)
    log.copyAllAction.trigger()
    assert QApplication.clipboard().text().count("\n") + 1 >= len(lines)


def test_sources_status_and_rich_text_errors_show_literally(qtbot, open_window, tmp_path):
    """A user's function that says what it does, then raises with markup in its message."""
    code = tmp_path / "source.py"
    code.write_text(
        "def produce(ctx):\n"
        "    ctx.set_status('connected to <b>bench</b>')\n"
        "    ctx.emit_sample('v', 1.0)\n"
        "    ctx.wait(1.2)\n"
        "    ctx.set_status('reconnecting: timed out')\n"
        "    ctx.wait(1.2)\n"
        "    raise RuntimeError('see <a href=\"http://example.invalid\">this link</a>')\n"
    )
    session = session_from(producer("src", "python", path=str(code)), str(tmp_path / "s.toml"))
    window = open_window(session)
    window.eventLogAction.trigger()
    wait_entry(qtbot, window, lambda e: e.text == "src: connected to <b>bench</b>")
    wait_entry(qtbot, window, lambda e: e.text == "src: reconnecting: timed out")
    crash = wait_entry(qtbot, window, lambda e: "this link" in e.text)
    assert '<a href="http://example.invalid">this link</a>' in crash.text
    log = window.event_log
    row = log.entries().index(crash)
    assert '<a href="http://example.invalid">' in log.model.index(row, 3).data()
    select_rows(log, [row])
    assert '<a href="http://example.invalid">this link</a>' in log.details.toPlainText()
    wait_state(qtbot, window, "src", "EXITED")


def test_the_pane_toggles_with_its_action_and_the_window_has_an_icon(qtbot, open_window):
    window = open_window(session_from(producer("a", "sine", autostart=False)))
    dock = window.findChild(QDockWidget, "eventLogDock")
    action = window.eventLogAction
    assert action.objectName() == "eventLogAction"
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    assert action in view_menu.actions()
    assert not dock.isVisible() and not action.isChecked()
    action.trigger()
    qtbot.waitUntil(lambda: window.event_log.isVisible(), timeout=3000)
    assert action.isChecked()
    assert window.event_log.findChild(QTableView, "eventLogView").isVisible()
    action.trigger()
    qtbot.waitUntil(lambda: not window.event_log.isVisible(), timeout=3000)
    assert not action.isChecked()
    icon = window.windowIcon()
    assert not icon.isNull() and not icon.pixmap(64).isNull()


def test_the_log_is_bounded_and_keeps_the_newest(qtbot):
    log = EventLog(limit=100)
    qtbot.addWidget(log)
    for i in range(250):
        log.add(20, f"line {i}")
    entries = log.entries()
    assert len(entries) == log.model.rowCount() == 100
    assert entries[0].text == "line 150" and entries[-1].text == "line 249"


def test_errors_and_warnings_are_in_the_theme_colours_readable_on_the_rows(qtbot):
    log = EventLog()
    qtbot.addWidget(log)
    log.add(logging.ERROR, "a crash")
    log.add(logging.WARNING, "dropped samples")
    log.add(logging.INFO, "started")

    def color(row: int) -> str | None:
        brush = log.model.data(log.model.index(row, 3), Qt.ForegroundRole)
        return brush.color().name() if brush is not None else None

    try:
        for theme in (DARK, LIGHT):
            apply_to_application(theme)
            assert (color(0), color(1), color(2)) == (theme.warn, theme.caution, None)
            rows = [
                log.view.palette().color(QPalette.Base),
                log.view.palette().color(QPalette.AlternateBase),
            ]
            for ground in rows:
                assert contrast_ratio(color(0), ground.name()) >= 4.5
                assert contrast_ratio(color(1), ground.name()) >= 4.5
    finally:
        apply_to_application(LIGHT)


def test_install_desktop_writes_the_entry_and_the_icon(tmp_path):
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "data"), PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "app", "install-desktop", "--user"],
        env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    desktop = tmp_path / "data" / "applications" / "streamscope.desktop"
    icon = tmp_path / "data" / "icons" / "hicolor" / "scalable" / "apps" / "streamscope.svg"
    assert f"wrote {desktop}" in done.stdout and f"wrote {icon}" in done.stdout
    assert icon.read_bytes() == (ROOT / "resources" / "streamscope.svg").read_bytes()
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(desktop, encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["Name"] == "streamscope"
    assert entry["Icon"] == "streamscope"
    assert entry["Categories"] == "Science;DataVisualization;Development;"
    exec_line = entry["Exec"].strip('"')
    assert exec_line == "streamscope" or (
        Path(exec_line).name == "streamscope" and os.access(exec_line, os.X_OK)
    )
