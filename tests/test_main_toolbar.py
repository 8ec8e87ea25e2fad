"""widgets.main_toolbar on its own: what its actions ask for, and how it shows a recording."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PyQt5.QtWidgets import QFileDialog, QMainWindow

from app.core.store import SeriesStore
from widgets.live_chart import LiveChart
from widgets.main_toolbar import RECORD_FORMATS, MainToolbar


@dataclass
class Progress:
    """What the toolbar reads of a recording (the Recorder's properties)."""

    path: Path
    samples_written_total: int
    dropped_total: int


def make(qtbot):
    chart = LiveChart(SeriesStore())
    qtbot.addWidget(chart, before_close_func=LiveChart.stop)
    window = QMainWindow()
    qtbot.addWidget(window)
    toolbar = MainToolbar(window, chart, 30.0)
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
    toolbar.window.setCurrentIndex(toolbar.window.findData(300.0))
    assert chart.window_s == 300.0
