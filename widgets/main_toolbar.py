"""The main toolbar: start/stop everything, follow the newest data, time window, recording.

Recording asks for a file with a non-blocking dialog and asks the window to record there (the
engine opens and writes the file on a thread of its own); the toolbar only shows how it goes.
"""

from __future__ import annotations

import math
import time

from PyQt5.QtCore import Qt, QTimer, pyqtSignal, pyqtSlot
from PyQt5.QtWidgets import QAction, QComboBox, QFileDialog, QLabel, QToolBar

from app.core.producer_rows import format_count

WINDOWS_S = (10, 60, 600, 3600)  # presets; the session's window is added if not among them
EVERYTHING = 0.0  # the Window box's data for "everything buffered"
EVERYTHING_MS = 1000  # how often "everything buffered" looks again at what the series hold
# the file's suffix chooses the format (as for `streamscope record --out`)
RECORD_FORMATS = {
    "Parquet, compact and fast enough for the full rate (*.parquet)": "parquet",
    "Arrow IPC stream (*.arrows)": "arrows",
    "CSV text (*.csv)": "csv",
}


def window_label(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:g} s"
    return f"{seconds / 60:g} min" if seconds < 3600 else f"{seconds / 3600:g} h"


class MainToolbar(QToolBar):
    """Signals:
    start_all(), stop_all(): the user asked to start / stop every producer.
    record_requested(str): the user chose a file to record to.
    record_stop_requested(): the user asked to stop recording.
    """

    start_all = pyqtSignal()
    stop_all = pyqtSignal()
    record_requested = pyqtSignal(str)
    record_stop_requested = pyqtSignal()

    def __init__(self, parent, chart, window_s: float):
        super().__init__("Main", parent)
        self.setObjectName("mainToolbar")
        self.setMovable(False)
        self._chart = chart
        self._action("Start all", "startAllAction", self.start_all.emit)
        self._action("Stop all", "stopAllAction", self.stop_all.emit)
        self.addSeparator()
        self.follow = self._action("Follow", "followAction", chart.set_follow, checkable=True)
        self.follow.setChecked(True)
        self.follow.setToolTip("Scroll with the newest data (turns off when you pan or zoom)")
        chart.follow_changed.connect(self.follow.setChecked)
        self.addWidget(QLabel(" Window: "))
        self.window = self._window_combo(window_s)
        self.addSeparator()
        self.record = self._action("Record…", "recordAction", self._on_record, checkable=True)
        self.record.setToolTip(
            "Write every received sample to a file: Parquet, Arrow stream or CSV (by suffix)"
        )
        self._recording_status = QLabel()
        self._recording_status.setObjectName("recordingStatus")
        self.addWidget(self._recording_status)

    def _action(self, text: str, name: str, slot, checkable: bool = False) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        action.setCheckable(checkable)
        (action.toggled if checkable else action.triggered).connect(
            slot if checkable else lambda _checked=False: slot()
        )
        self.addAction(action)
        return action

    def _window_combo(self, window_s: float) -> QComboBox:
        """The presets, the session's window among them, and "everything buffered": from the
        oldest sample any visible series holds to now (looked at again every second, as the
        history grows). Choosing one follows the newest data: the span is what one asked for."""
        combo = QComboBox()
        combo.setObjectName("windowCombo")
        choices = sorted(set(WINDOWS_S) | {window_s})
        for seconds in choices:
            combo.addItem(window_label(seconds), float(seconds))
        combo.addItem("everything buffered", EVERYTHING)
        tip = "From the oldest sample a visible series holds to now"
        combo.setItemData(combo.count() - 1, tip, Qt.ToolTipRole)
        combo.setCurrentIndex(choices.index(window_s))
        self._everything = QTimer(self)
        self._everything.setInterval(EVERYTHING_MS)
        self._everything.timeout.connect(self._show_everything)
        combo.currentIndexChanged.connect(self._on_window_chosen)
        self.addWidget(combo)
        return combo

    @pyqtSlot(int)
    def _on_window_chosen(self, index: int) -> None:
        seconds = self.window.itemData(index)
        if seconds == EVERYTHING:
            self._everything.start()
            self._show_everything()
        else:
            self._everything.stop()
            self._chart.set_window(seconds)
        self._chart.set_follow(True)

    def chosen_window_s(self) -> float | None:
        """The window chosen in the box, in seconds; None for "everything buffered" (a span
        that grows by itself, which a session file cannot say)."""
        seconds = self.window.currentData()
        return None if seconds == EVERYTHING else float(seconds)

    def everything_span(self) -> float | None:
        """Seconds from the oldest sample a visible series holds to now (None: none holds any)."""
        chart = self._chart
        oldest = chart.store.oldest_time(chart.visible_series())
        return None if math.isinf(oldest) else max(time.time() - oldest, 1.0)

    @pyqtSlot()
    def _show_everything(self) -> None:
        span = self.everything_span()
        if span is not None and span != self._chart.window_s:
            self._chart.set_window(span)

    @pyqtSlot(bool)
    def _on_record(self, checked: bool) -> None:
        if not checked:
            self.record_stop_requested.emit()
            return
        dialog = QFileDialog(self, "Record to…", "recording.parquet")
        dialog.setObjectName("recordDialog")
        dialog.setAcceptMode(QFileDialog.AcceptSave)
        dialog.setNameFilters(list(RECORD_FORMATS))
        dialog.setDefaultSuffix("parquet")
        dialog.filterSelected.connect(lambda f: dialog.setDefaultSuffix(RECORD_FORMATS[f]))
        dialog.fileSelected.connect(self.start_recording)
        dialog.rejected.connect(lambda: self.record.setChecked(False))
        dialog.open()

    def start_recording(self, path: str) -> None:
        """Record to `path` (the dialog calls this; automation may call it directly)."""
        self.set_recording(True)
        self.record_requested.emit(path)

    def set_recording(self, on: bool) -> None:
        """Show the Record action checked or not, without asking for anything."""
        self.record.blockSignals(True)
        self.record.setChecked(on)
        self.record.blockSignals(False)

    def show_recording(self, recorder) -> None:
        """The recording's progress (a recorder: path, samples_written, dropped_total)."""
        if recorder is None:
            self._recording_status.setText("")
            return
        dropped = recorder.dropped_total
        lost = f", {format_count(dropped)} dropped" if dropped else ""
        name = recorder.path.name
        text = f" ● REC {name}: {format_count(recorder.samples_written_total)} samples{lost}"
        self._recording_status.setText(text)
