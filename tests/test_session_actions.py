"""File → Open / Save / Save as with real windows: what is saved opens again the same, changes
are marked and asked about, a broken file is an error that leaves the session running."""

from __future__ import annotations

from pathlib import Path

import pytest
from PyQt5.QtCore import QSettings
from PyQt5.QtWidgets import QAction, QDialogButtonBox, QLineEdit, QMessageBox

from app import session_files
from app.core.session import load_session
from tests.helpers import WAIT_MS

pytestmark = pytest.mark.slow

SESSION = """\
# my notes about this session

[chart]
window_s = 30   # half a minute

[[producers]]
name = "wave"
kind = "sine"
autostart = false
[producers.params]
rate_hz = 50      # slow on purpose

[[producers]]
name = "cmd"
kind = "command"
autostart = false
restart = "never"
[producers.params]
argv = ["python3", "-c", "print(1)"]
env = { A = "1", B = [1, 2] }
cwd = "scripts"   # relative to this file
"""


@pytest.fixture(autouse=True)
def _own_settings(private_settings):
    """Every test here reads and writes QSettings (recent files, geometry): its own."""
    return private_settings


@pytest.fixture
def session_file(tmp_path) -> Path:
    (tmp_path / "scripts").mkdir()
    file = tmp_path / "lab.toml"
    file.write_text(SESSION)
    return file


def _close(qtbot, window) -> None:
    if not window._closed:
        with qtbot.waitSignal(window.shutdown_finished, timeout=WAIT_MS):
            window.close()


def _configure(qtbot, window, name: str, param: str, text: str) -> None:
    dialog = window.show_configure(name)
    editor = dialog.editors[param]
    assert isinstance(editor, QLineEdit)
    editor.setText(text)
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.Ok).click()
    qtbot.waitUntil(lambda: window._specs[name].params[param] == float(text), timeout=WAIT_MS)


def _find_box(qtbot, name: str) -> QMessageBox:
    found = []

    def shown():
        from PyQt5.QtWidgets import QApplication

        boxes = [w for w in QApplication.topLevelWidgets() if w.objectName() == name]
        assert boxes and boxes[-1].isVisible()
        found[:] = boxes[-1:]

    qtbot.waitUntil(shown, timeout=WAIT_MS)
    return found[0]


def test_the_actions_are_in_the_file_menu_with_their_shortcuts(open_window, session_file):
    window = open_window(load_session(session_file))
    file_menu = window.menuBar().actions()[0].menu()
    in_menu = {a.objectName() for a in file_menu.actions()}
    for name, keys in (
        ("openSessionAction", "Ctrl+O"),
        ("saveSessionAction", "Ctrl+S"),
        ("saveSessionAsAction", "Ctrl+Shift+S"),
    ):
        action = window.findChild(QAction, name)
        assert action is not None and action.shortcut().toString() == keys
        assert name in in_menu
    assert window.recentMenu.menuAction() in file_menu.actions()


def test_save_then_open_gives_the_same_producers_and_chart(
    qtbot, open_window, session_file, tmp_path
):
    window = open_window(load_session(session_file))
    combo = window.toolbar.window  # the Window box: 10 min
    combo.setCurrentIndex(combo.findData(600.0))
    _configure(qtbot, window, "wave", "frequency_hz", "3.5")
    saved = window.current_session()
    copy = tmp_path / "copy.toml"
    assert window.save_session(copy)
    text = copy.read_text()
    assert "# my notes about this session" in text and "# slow on purpose" in text
    assert 'cwd = "scripts"   # relative to this file' in text  # as the user wrote it

    with qtbot.waitSignal(window.replaced_by, timeout=WAIT_MS) as opened:
        assert window.open_session(copy)
    new = opened.args[0]
    try:
        assert window._closed  # the old window stopped its producers and closed
        assert new.session.producers == saved.producers
        assert new.session.producers[0].params["frequency_hz"] == 3.5
        assert (new.chart.window_s, new.session.fps) == (600.0, saved.fps)
        assert new.windowTitle() == "streamscope — copy.toml"
        assert not new.unsaved
    finally:
        _close(qtbot, new)


def test_a_configure_change_is_marked_until_saved(qtbot, open_window, session_file):
    window = open_window(load_session(session_file))
    assert window.windowTitle() == "streamscope — lab.toml"
    _configure(qtbot, window, "wave", "rate_hz", "75")
    assert window.windowTitle() == "streamscope — lab.toml*"
    window.saveSessionAction.trigger()  # Ctrl+S: over the session's own file
    assert window.windowTitle() == "streamscope — lab.toml"
    text = session_file.read_text()
    assert "rate_hz = 75      # slow on purpose" in text
    assert load_session(session_file).producers[0].params["rate_hz"] == 75.0


def test_opening_a_broken_file_shows_an_error_and_keeps_the_session(
    qtbot, open_window, session_file, tmp_path
):
    window = open_window(load_session(session_file))
    broken = tmp_path / "broken.toml"
    broken.write_text('[[producers]]\nname = "x"\nkind = "no-such-kind"\n')
    assert not window.open_session(broken)
    box = _find_box(qtbot, "errorDialog")
    assert "Cannot open the session" in box.text() and "broken.toml:3" in box.text()
    box.close()
    assert not window._closed and window._shutdown_started is None
    assert window.engine.names == ["wave", "cmd"]


def test_recent_sessions_newest_first_at_most_eight(qtbot, open_window, session_file, tmp_path):
    window = open_window(load_session(session_file))
    paths = [tmp_path / f"s{i}.toml" for i in range(10)]
    for path in paths:
        assert window.save_session(path)
    assert session_files.recent_paths() == [str(p) for p in reversed(paths)][:8]
    window._fill_recent_menu()
    shown = [a.data() for a in window.recentMenu.actions()]
    assert shown == session_files.recent_paths()


def test_the_window_opens_where_it_was_left(qtbot, open_window, session_file):
    first = open_window(load_session(session_file))
    first.resize(900, 555)
    first.splitter.setSizes([300, 200])
    sizes = first.splitter.sizes()
    _close(qtbot, first)
    second = open_window(load_session(session_file))  # (the fixture resizes: read settings)
    settings = QSettings()
    assert settings.value("window/geometry") is not None
    second.restoreGeometry(settings.value("window/geometry"))
    assert (second.width(), second.height()) == (900, 555)
    assert second.splitter.sizes() == sizes


def test_closing_with_unsaved_changes_asks_and_discard_closes(qtbot, open_window, session_file):
    window = open_window(load_session(session_file))
    _configure(qtbot, window, "wave", "rate_hz", "80")
    window.quitAction.trigger()  # the user's Ctrl+Q
    box = _find_box(qtbot, "unsavedDialog")
    assert not window._closed and window._shutdown_started is None  # nothing stops before
    with qtbot.waitSignal(window.shutdown_finished, timeout=WAIT_MS):
        box.button(QMessageBox.Discard).click()
    assert "rate_hz = 50" in session_file.read_text()  # discarded: the file is as it was


def test_cancel_keeps_the_window_and_save_saves_then_closes(qtbot, open_window, session_file):
    window = open_window(load_session(session_file))
    _configure(qtbot, window, "wave", "rate_hz", "90")
    window.windowHandle().close()  # the window manager's close button (a spontaneous close)
    _find_box(qtbot, "unsavedDialog").button(QMessageBox.Cancel).click()
    assert not window._closed and window._shutdown_started is None and window.unsaved
    window.quitAction.trigger()
    with qtbot.waitSignal(window.shutdown_finished, timeout=WAIT_MS):
        _find_box(qtbot, "unsavedDialog").button(QMessageBox.Save).click()
    assert load_session(session_file).producers[0].params["rate_hz"] == 90.0


def test_a_close_by_code_never_asks(qtbot, open_window, session_file):
    """close() by code (signals, tests), like app.quit() (tests/exit_scenarios.py), ends the
    window without a question even with unsaved changes."""
    window = open_window(load_session(session_file))
    _configure(qtbot, window, "wave", "rate_hz", "60")
    with qtbot.waitSignal(window.shutdown_finished, timeout=WAIT_MS):
        window.close()


def test_everything_buffered_saves_the_sessions_own_window(qtbot, open_window, session_file):
    """ "Everything buffered" is a span that grows by itself: the file keeps its window_s
    rather than whatever span that happened to cover at the moment of saving."""
    window = open_window(load_session(session_file))
    combo = window.toolbar.window
    combo.setCurrentIndex(combo.count() - 1)  # everything buffered
    assert window.current_session().window_s == window.session.window_s


def test_plots_series_and_theme_saved_reopen_identical(qtbot, open_window, session_file, tmp_path):
    """Plots added, series moved to another plot and axis, a colour, a log axis, a fixed range,
    an XY plot, a producer reconfigured, the dark theme: saved, opened, the same."""
    from app.core.session_view_writer import savable_view
    from widgets.theme import DARK

    window = open_window(load_session(session_file))
    wave = ("wave", "value")
    window.findChild(QAction, "addPlotAction").trigger()
    second = window.plots.view_layout.plots[1].id
    window.plots.move_series([wave], second, "right")
    window.series_list.set_color([wave], "#aa5500")
    layout = window.plots.view_layout.with_axis(second, "right", log=True)
    layout = layout.with_axis(window.plots.view_layout.plots[0].id, "left", mode="fixed",
                              lo=-2.0, hi=5.0)  # fmt: skip
    window.plots.change(layout)
    xy = window.plots.add_plot("xy", x_series=("cmd", "value"), y_series=wave, xy_window_s=12.0)
    window.plots.change(window.plots.view_layout.moving_plot(xy, 0))
    window.findChild(QAction, "darkThemeAction").trigger()
    _configure(qtbot, window, "wave", "rate_hz", "75")
    assert window.unsaved
    saved = window.current_session()
    names = [spec.name for spec in saved.producers]
    copy = tmp_path / "plots.toml"
    assert window.save_session(copy)
    text = copy.read_text()
    assert "# my notes about this session" in text and "[[plots]]" in text
    assert '[series."wave"]' in text and 'theme = "dark"' in text

    with qtbot.waitSignal(window.replaced_by, timeout=WAIT_MS) as opened:
        assert window.open_session(copy)
    new = opened.args[0]
    try:
        assert new.session.producers == saved.producers
        assert new.session.producers[0].params["rate_hz"] == 75.0
        assert new.plots.view_layout == savable_view(saved.view, set(names))
        assert [p.kind for p in new.plots.view_layout.plots] == ["xy", "time", "time"]
        assert new.plots.view_layout.placement(wave) == (2, "right")
        assert new.theme is DARK and new.darkThemeAction.isChecked()
        assert new.plots.charts[1].layers["right"].log
        assert not new.unsaved
    finally:
        _close(qtbot, new)
