"""The window as a user drives it: buttons, states, data in the chart, errors shown."""

from __future__ import annotations

import pytest
from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QLabel, QMessageBox

from app.core.session import Session, load_session
from app.core.supervisor import Policy
from tests.helpers import (
    WAIT_MS,
    button,
    cell,
    points_in_chart,
    producer,
    session_from,
    state_of,
    wait_state,
)


def test_contract_object_names(qtbot, open_window):
    window = open_window(session_from(producer("a", "sine", autostart=False)))
    assert window.findChild(QLabel, "stateLabel:a").text().startswith("STOPPED")
    assert button(window, "start", "a").isEnabled()
    assert not button(window, "stop", "a").isEnabled()
    assert window.chart.objectName() == "liveChart"


def test_start_streams_into_chart_and_stop_stops(qtbot, open_window):
    window = open_window(session_from(producer("a", "sine", autostart=False, rate_hz=1000.0)))
    qtbot.mouseClick(button(window, "start", "a"), Qt.LeftButton)
    wait_state(qtbot, window, "a", "RUNNING")
    qtbot.waitUntil(lambda: points_in_chart(window, "a") > 50, timeout=WAIT_MS)
    pid = int(cell(window, "a", "PID"))
    assert pid > 0
    qtbot.mouseClick(button(window, "stop", "a"), Qt.LeftButton)
    wait_state(qtbot, window, "a", "STOPPED")
    assert cell(window, "a", "PID") == ""
    total = int(cell(window, "a", "Total").replace(",", ""))
    assert total > 100
    assert cell(window, "a", "Dropped") == "0"


def test_start_stop_repeatedly_at_any_moment(qtbot, open_window):
    window = open_window(session_from(producer("a", "noise", autostart=False, rate_hz=20000.0)))
    start, stop = button(window, "start", "a"), button(window, "stop", "a")
    for _ in range(4):  # click in every state: STOPPED, STARTING, STOPPING
        start.click()
        stop.click()
        start.click()
        qtbot.wait(50)
        stop.click()
        wait_state(qtbot, window, "a", "STOPPED")
    start.click()
    wait_state(qtbot, window, "a", "RUNNING")
    assert window.engine.supervisor.entries["a"].generation >= 5


def test_default_session_streams_several_producers(qtbot, open_window):
    from app.core.session import DEFAULT_SESSION

    window = open_window(load_session(DEFAULT_SESSION))
    streaming = [s.name for s in window.session.producers if s.autostart and s.visible]
    assert len(streaming) >= 3
    for name in streaming:
        wait_state(qtbot, window, name, "RUNNING")
    qtbot.waitUntil(lambda: all(points_in_chart(window, n) > 5 for n in streaming), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.readout.latest.text().startswith("latest: "), timeout=WAIT_MS)
    perf = window.readout.perf.text()
    assert "fps" in perf and "lag p99" in perf and "buffers" in perf and "dropped 0" in perf


def test_producer_that_raises_shows_traceback(qtbot, open_window):
    session = session_from(
        producer("ok", "sine", rate_hz=500.0)
        + producer("bad", "fail", mode="raise", after_batches=60)  # fails ~1.2 s in: EXITED
    )
    window = open_window(session)
    wait_state(qtbot, window, "bad", "EXITED")
    assert "exit code 1" in state_of(window, "bad")
    qtbot.waitUntil(lambda: "ProducerFailure" in cell(window, "bad", "Last error"), timeout=WAIT_MS)
    assert "Traceback" in window.panel.state_label("bad").toolTip()
    assert state_of(window, "ok").startswith("RUNNING")
    before = int(cell(window, "ok", "Total").replace(",", ""))
    qtbot.waitUntil(
        lambda: int(cell(window, "ok", "Total").replace(",", "")) > before + 100, timeout=WAIT_MS
    )


def test_producer_raising_in_init_backs_off_then_fatal(qtbot, open_window):
    fast = Policy(backoff_step=0.05, startretries=2)
    window = open_window(session_from(producer("bad", "fail", mode="raise_init")), fast)
    wait_state(qtbot, window, "bad", "FATAL", timeout=30000)
    assert "raised in __init__" in cell(window, "bad", "Last error")
    assert button(window, "start", "bad").isEnabled()


def test_details_dialog_shows_traceback(qtbot, open_window):
    window = open_window(session_from(producer("bad", "fail", mode="raise", after_batches=60)))
    wait_state(qtbot, window, "bad", "EXITED")
    qtbot.waitUntil(
        lambda: window.engine.supervisor.entries["bad"].traceback != "", timeout=WAIT_MS
    )
    window.show_details("bad")
    box = window.findChild(QMessageBox, "detailsDialog")
    assert box is not None and "ProducerFailure" in box.detailedText()
    box.close()


def test_session_error_dialog_keeps_app_running(qtbot, open_window):
    window = open_window(Session([]))
    window.show_error("error: broken.toml:3: unknown producer kind 'sinx'")
    box = window.findChild(QMessageBox, "errorDialog")
    assert box is not None and box.isVisible()
    assert "broken.toml:3" in box.text()
    box.close()
    assert window.isVisible()


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".arrows"])
def test_record_button_writes_what_arrives(qtbot, open_window, tmp_path, suffix):
    import pandas as pd

    window = open_window(session_from(producer("a", "sine", rate_hz=500.0)))
    wait_state(qtbot, window, "a", "RUNNING")
    out = tmp_path / f"rec{suffix}"
    window.toolbar.start_recording(str(out))
    assert window.toolbar.record.isChecked()
    qtbot.waitUntil(lambda: window.engine.recorder.samples_written_total > 500, timeout=WAIT_MS)
    status = window.toolbar._recording_status
    qtbot.waitUntil(lambda: f"REC rec{suffix}" in status.text(), timeout=5000)
    window.toolbar.record.setChecked(False)  # the user un-presses Record
    assert window.engine.recorder is None
    qtbot.waitUntil(
        lambda: "recording finished" in window.statusBar().currentMessage(), timeout=WAIT_MS
    )
    message = window.statusBar().currentMessage()
    assert "NOT recorded" not in message
    written = int(message.split("finished: ")[1].split(" samples")[0].replace(",", ""))
    if suffix == ".csv":
        frame = pd.read_csv(out)
        assert list(frame.columns) == ["timestamp", "producer", "series", "value"]
    elif suffix == ".parquet":
        frame = pd.read_parquet(out)
    else:
        import pyarrow as pa

        with pa.ipc.open_stream(out) as reader:
            frame = reader.read_pandas()
    assert len(frame) == written > 500
    assert set(frame["producer"].astype(str)) == {"a"}


def test_recording_to_an_unwritable_place_stops_it_with_a_message(qtbot, open_window, tmp_path):
    """The recording stops with a clear message (dialog, status bar, log); everything else
    keeps running."""
    window = open_window(session_from(producer("a", "sine", rate_hz=500.0)))
    window.toolbar.start_recording(str(tmp_path / "no" / "such" / "dir" / "rec.csv"))

    def dialog_shown():
        box = window.findChild(QMessageBox, "errorDialog")
        assert box is not None and box.isVisible()
        assert "cannot record" in box.text() and "rec.csv" in box.text()

    qtbot.waitUntil(dialog_shown, timeout=WAIT_MS)
    assert not window.toolbar.record.isChecked()
    assert window.engine.recorder is None
    assert "cannot record" in window.statusBar().currentMessage()
    wait_state(qtbot, window, "a", "RUNNING")
    total = int(cell(window, "a", "Total").replace(",", ""))
    qtbot.waitUntil(lambda: int(cell(window, "a", "Total").replace(",", "")) > total + 100)


def test_configure_changes_parameters_and_restarts_a_running_producer(qtbot, open_window):
    from PyQt5.QtWidgets import QDialog, QDialogButtonBox, QLineEdit

    window = open_window(session_from(producer("a", "sine", rate_hz=100.0)))
    wait_state(qtbot, window, "a", "RUNNING")
    first = window.engine.supervisor.entries["a"].generation
    button(window, "configure", "a").click()
    dialog = window.findChild(QDialog, "configDialog:a")
    assert dialog is not None and dialog.isVisible()
    dialog.findChild(QLineEdit, "param:rate_hz").setText("2000")
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.Ok).click()
    qtbot.waitUntil(
        lambda: window.engine.supervisor.entries["a"].generation > first, timeout=WAIT_MS
    )
    assert window.engine.supervisor.entries["a"].spec.params["rate_hz"] == 2000.0
    wait_state(qtbot, window, "a", "RUNNING")

    def fast():  # the new rate shows in the Samples/s column
        assert float(cell(window, "a", "Samples/s").split("/")[0].replace(" k", "e3")) > 1000

    qtbot.waitUntil(fast, timeout=WAIT_MS)


def test_configure_rejects_a_bad_value_and_changes_nothing(qtbot, open_window):
    from PyQt5.QtWidgets import QDialogButtonBox, QLabel, QLineEdit

    window = open_window(session_from(producer("a", "sine", autostart=False)))
    dialog = window.show_configure("a")
    dialog.findChild(QLineEdit, "param:rate_hz").setText("fast")
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.Ok).click()
    assert dialog.isVisible()
    assert "rate_hz must be float" in dialog.findChild(QLabel, "configError").text()
    dialog.findChild(QLineEdit, "param:rate_hz").setText("-5")
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.Ok).click()
    assert "rate_hz must be in" in dialog.findChild(QLabel, "configError").text()
    dialog.reject()
    assert window.engine.supervisor.entries["a"].spec.params["rate_hz"] == 200.0
    assert window.engine.supervisor.entries["a"].generation == 0


def test_if_the_consumer_thread_dies_the_window_says_so(qtbot, open_window):
    window = open_window(session_from(producer("a", "sine", rate_hz=500.0)))
    wait_state(qtbot, window, "a", "RUNNING")

    def broken(_timeout):  # a bug in the data path, injected
        raise RuntimeError("a bug in the data path")

    window.engine.drain = broken
    status = window.consumer_status
    qtbot.waitUntil(lambda: "consumer thread died" in status.text(), timeout=WAIT_MS)
    assert "RuntimeError: a bug in the data path" in window.consumer_status.toolTip()
    box = window.findChild(QMessageBox, "errorDialog")
    assert box is not None and "no new data will be shown" in box.text()
    assert "RuntimeError" in box.detailedText()
    box.close()
