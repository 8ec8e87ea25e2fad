"""widgets.main_toolbar on its own: what its actions ask for, and how it shows a recording."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QComboBox, QFileDialog, QMainWindow

from app.core.store import SeriesStore
from app.core.strip import StripRenderer
from producers.wire import Chunk
from widgets.live_chart import LiveChart
from widgets.main_toolbar import EVERYTHING, RECORD_FORMATS, MainToolbar


@dataclass
class Progress:
    """What the toolbar reads of a recording (the Recorder's properties)."""

    path: Path
    samples_written_total: int
    dropped_total: int


def make(qtbot, store=None, window_s=30.0):
    chart = LiveChart(store or SeriesStore(), window_s)
    qtbot.addWidget(chart, before_close_func=LiveChart.stop)
    window = QMainWindow()
    qtbot.addWidget(window)
    toolbar = MainToolbar(window, chart, window_s)
    window.addToolBar(toolbar)
    toolbar.keep = window  # (qtbot holds widgets weakly: the window must outlive this call)
    return toolbar, chart


def test_start_and_stop_all_ask_for_it(qtbot):
    toolbar, _ = make(qtbot)
    with qtbot.waitSignal(toolbar.start_all):
        toolbar.findChild(type(toolbar.record), "startAllAction").trigger()
    with qtbot.waitSignal(toolbar.stop_all):
        toolbar.findChild(type(toolbar.record), "stopAllAction").trigger()


def test_record_asks_for_a_file_in_any_of_the_formats_and_unpressing_stops(qtbot):
    toolbar, _ = make(qtbot)
    toolbar.record.setChecked(True)  # as a click does: the dialog opens, nothing is asked yet
    dialog = toolbar.findChild(QFileDialog, "recordDialog")
    assert dialog is not None and dialog.nameFilters() == list(RECORD_FORMATS)
    assert dialog.defaultSuffix() == "parquet"
    dialog.selectNameFilter(list(RECORD_FORMATS)[-1])
    dialog.filterSelected.emit(list(RECORD_FORMATS)[-1])
    assert dialog.defaultSuffix() == "csv"
    with qtbot.waitSignal(toolbar.record_requested) as blocker:
        dialog.fileSelected.emit("/tmp/run.csv")
    assert blocker.args == ["/tmp/run.csv"] and toolbar.record.isChecked()
    with qtbot.waitSignal(toolbar.record_stop_requested):
        toolbar.record.setChecked(False)
    dialog.close()


def test_a_cancelled_dialog_leaves_record_unpressed(qtbot):
    toolbar, _ = make(qtbot)
    toolbar.record.setChecked(True)
    toolbar.findChild(QFileDialog, "recordDialog").reject()
    assert not toolbar.record.isChecked()


def test_recording_progress_and_losses_are_shown(qtbot):
    toolbar, _ = make(qtbot)
    status = toolbar._recording_status
    toolbar.show_recording(Progress(Path("/x/run.parquet"), 1_234_567, 0))
    assert status.text() == " ● REC run.parquet: 1,234,567 samples"
    toolbar.show_recording(Progress(Path("/x/run.parquet"), 10, 5))
    assert status.text().endswith("10 samples, 5 dropped")
    toolbar.show_recording(None)
    assert status.text() == ""


def test_follow_and_window_drive_the_chart(qtbot):
    toolbar, chart = make(qtbot)
    toolbar.follow.setChecked(False)
    assert not chart.following
    chart.set_follow(True)  # the chart turns it back on (Follow pressed, or a reset)
    assert toolbar.follow.isChecked()
    toolbar.window.setCurrentIndex(toolbar.window.findData(600.0))
    assert chart.window_s == 600.0


def test_window_presets_and_the_sessions_own_window(qtbot):
    toolbar, chart = make(qtbot, window_s=30.0)
    box = toolbar.findChild(QComboBox, "windowCombo")
    labels = [box.itemText(i) for i in range(box.count())]
    assert labels == ["10 s", "30 s", "1 min", "10 min", "1 h", "everything buffered"]
    assert box.currentText() == "30 s" and chart.window_s == 30.0
    chart.set_follow(False)  # panned away: a preset shows the span it names, up to now
    box.setCurrentIndex(box.findText("1 h"))
    assert chart.window_s == 3600.0 and chart.following
    toolbar2, _ = make(qtbot, window_s=60.0)  # one of the presets: not listed twice
    assert [toolbar2.window.itemText(i) for i in range(toolbar2.window.count())].count("1 min") == 1


def test_everything_buffered_spans_the_oldest_sample_any_visible_series_holds(qtbot):
    store = SeriesStore(raw_capacity=1 << 12, bucket_capacity=512)
    now = time.time()
    # an old slow series (an hour ago on) and a fast one whose raw ring forgot most of it
    store.append("slow", Chunk("t", np.arange(7.0), explicit_times=now - 3600 + 600 * np.arange(7)))
    store.append("fast", Chunk("v", np.zeros(50_000), t0=now - 50, dt=1e-3))
    toolbar, chart = make(qtbot, store)
    renderer = StripRenderer()  # frames built here, as the consumer thread does in the app
    chart.frame_requested.connect(
        lambda request: chart.show_frame(renderer.frame(store, request)), Qt.DirectConnection
    )
    chart.resize(800, 400)
    chart.show()
    qtbot.waitExposed(chart)
    chart.set_live(True)
    chart.redraw()  # the chart learns of the series (and shows them all)
    assert set(chart.visible_series()) == {("slow", "t"), ("fast", "v")}
    toolbar.window.setCurrentIndex(toolbar.window.findData(EVERYTHING))
    assert chart.window_s == pytest.approx(3600, abs=5)
    chart.redraw()
    x0, x1 = chart.visible_range()
    assert x0 <= now - 3600 + 1 and x1 >= now - 1  # the oldest sample is in view
    chart.curve(("slow", "t")).setVisible(False)  # only the fast one: its 50 s
    qtbot.waitUntil(lambda: chart.window_s < 60, timeout=3000)  # looked at again each second
    assert chart.window_s == pytest.approx(50, abs=5)
    toolbar.window.setCurrentIndex(toolbar.window.findData(10.0))  # a preset again
    assert chart.window_s == 10.0 and not toolbar._everything.isActive()
