"""An XY plot: one series against another over the last N seconds (a sweep's result against
its input, a Lissajous figure, pressure against temperature).

The points are paired by time in the consumer thread (app.core.xy_pairs); this widget asks for
them on a timer, one request in flight, and draws them: a line through the pairs in time order
with a dot at each while there are few enough to see. Its header picks the X and Y series and
the window; a change there is a change of the view description (`plot_changed`), saved with
the session like every other.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import QTimer, pyqtSignal, pyqtSlot
from PyQt5.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.core.store import SeriesStore
from app.core.view_layout import PlotView, key_label, label_key, xy_layer_key
from app.core.xy_pairs import MAX_POINTS, XYFrame, XYRequest
from widgets.theme import Theme
from widgets.value_axis import ValueAxis

DOTS_UP_TO = 2_000  # pairs drawn with a dot each; more: the line alone
IDLE_MS = 500
STALE_S = 2.0  # a request unanswered this long is given up
LIVE_MS = 100  # 10 updates a second: pairs are for reading a relation, not for smoothness


class XYPlot(QWidget):
    """Signals:
    frame_requested(object): an XYRequest (the consumer thread answers with `show_frame`).
    plot_changed(object): the user picked other series or another window (the new PlotView).
    """

    frame_requested = pyqtSignal(object)
    plot_changed = pyqtSignal(object)

    def __init__(self, store: SeriesStore, plot: PlotView, parent=None):
        super().__init__(parent)
        self.setObjectName("xyPlot")
        self.store = store
        self.plot = plot
        self.live = False
        self.pairs = 0
        self._pending: XYRequest | None = None
        self._asked_at = 0.0  # monotonic time of the request in flight
        self._keys: list = []
        header = QHBoxLayout()
        header.setContentsMargins(6, 2, 6, 2)
        self.x_box, self.y_box = QComboBox(), QComboBox()
        self.x_box.setObjectName("xySeriesX")
        self.y_box.setObjectName("xySeriesY")
        self.x_box.setToolTip("The series on the horizontal axis")
        self.y_box.setToolTip("The series on the vertical axis, each sample paired with the X "
                              "sample nearest in time")  # fmt: skip
        self.window_box = QDoubleSpinBox()
        self.window_box.setObjectName("xyWindow")
        self.window_box.setRange(0.1, 86400.0)
        self.window_box.setSuffix(" s")
        self.window_box.setDecimals(1)
        self.window_box.setToolTip("Pair the samples of the last this many seconds")
        self.summary = QLabel()
        self.summary.setObjectName("xySummary")
        for label, box in (("X", self.x_box), ("Y", self.y_box)):
            header.addWidget(QLabel(label))
            header.addWidget(box, 1)
        header.addWidget(QLabel("last"))
        header.addWidget(self.window_box)
        header.addWidget(self.summary)
        self.graph = pg.PlotWidget(
            axisItems={"bottom": ValueAxis("bottom"), "left": ValueAxis("left")}
        )
        self.graph.getPlotItem().showGrid(x=True, y=True, alpha=0.25)
        self.graph.getPlotItem().hideButtons()
        self.curve = pg.PlotDataItem([], [], symbol="o", symbolSize=4)
        self.graph.addItem(self.curve)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(header)
        layout.addWidget(self.graph, 1)
        self.x_box.activated.connect(self._on_picked)
        self.y_box.activated.connect(self._on_picked)
        self.window_box.editingFinished.connect(self._on_picked)
        self._timer = QTimer(self)
        self._timer.setInterval(IDLE_MS)
        self._timer.timeout.connect(self._on_timer)
        self._timer.start()
        self.set_plot(plot, redraw=False)  # (nobody is connected yet to answer a request)

    # -- public ----------------------------------------------------------------------------------
    def set_plot(self, plot: PlotView, redraw: bool = True) -> None:
        """Show what the view description says for this plot."""
        self.plot = plot
        self._fill_boxes(force=True)
        self.window_box.blockSignals(True)
        self.window_box.setValue(plot.xy_window_s)
        self.window_box.blockSignals(False)
        self.graph.getPlotItem().setLabel(
            "bottom", key_label(plot.x_series) if plot.x_series else ""
        )
        self.graph.getPlotItem().setLabel("left", key_label(plot.y_series) if plot.y_series else "")
        if redraw:
            self.redraw()

    def set_theme(self, theme: Theme) -> None:
        self.graph.setBackground(theme.chart_background)
        for side in ("bottom", "left"):
            axis = self.graph.getPlotItem().getAxis(side)
            axis.setPen(theme.axis)
            axis.setTextPen(theme.axis_text)
        color = theme.series[0]
        self.curve.setPen(pg.mkPen(color, width=1))
        self.curve.setSymbolBrush(color)
        self.curve.setSymbolPen(None)

    def set_live(self, live: bool) -> None:
        self.live = live
        self._timer.setInterval(LIVE_MS if live else IDLE_MS)

    def redraw(self) -> None:
        self._on_timer()

    def stop(self) -> None:
        self._timer.stop()

    def points(self):
        """(x, y) drawn (tests and tools)."""
        x, y = self.curve.getData()
        return (np.empty(0), np.empty(0)) if x is None else (x, y)

    @pyqtSlot(object)
    def show_frame(self, frame: XYFrame) -> None:
        if frame.request is self._pending:
            self._pending = None
        self.pairs = frame.pairs
        dots = len(frame.x) <= DOTS_UP_TO
        self.curve.setSymbol("o" if dots else None)
        self.curve.setData(frame.x, frame.y, connect="finite")
        shown = f"newest {MAX_POINTS:,} of " if frame.pairs > len(frame.x) else ""
        self.summary.setText(f"{shown}{frame.pairs:,} pairs")

    # -- inside ----------------------------------------------------------------------------------
    def _fill_boxes(self, force: bool = False) -> None:
        keys = self.store.series_keys()
        if not force and len(keys) == len(self._keys):
            return
        self._keys = list(keys)
        for box, chosen in ((self.x_box, self.plot.x_series), (self.y_box, self.plot.y_series)):
            box.blockSignals(True)
            box.clear()
            box.addItem("(choose a series)", "")
            options = list(keys) + ([chosen] if chosen and chosen not in keys else [])
            for key in options:  # labels as data: QVariant compares strings, not tuples
                box.addItem(key_label(key), key_label(key))
            box.setCurrentIndex(max(box.findData(key_label(chosen)), 0) if chosen else 0)
            box.blockSignals(False)

    @pyqtSlot()
    def _on_picked(self) -> None:
        plot = replace(
            self.plot,
            x_series=label_key(self.x_box.currentData()) if self.x_box.currentData() else None,
            y_series=label_key(self.y_box.currentData()) if self.y_box.currentData() else None,
            xy_window_s=self.window_box.value(),
        )
        if plot != self.plot:
            self.plot_changed.emit(plot)

    @pyqtSlot()
    def _on_timer(self) -> None:
        self._fill_boxes()
        plot = self.plot
        if plot.x_series is None or plot.y_series is None:
            self.summary.setText("choose X and Y")
            return
        if self._pending is not None and time.monotonic() - self._asked_at < STALE_S:
            return  # one in flight (one lost, say with a layer forgotten, is asked again)
        t1 = time.time() if self.live else max(self.store.newest_time(), 0.0)
        request = XYRequest(xy_layer_key(plot.id), plot.x_series, plot.y_series,
                            t1 - plot.xy_window_s, t1)  # fmt: skip
        self._pending, self._asked_at = request, time.monotonic()
        self.frame_requested.emit(request)

    def closeEvent(self, event):
        self.stop()
        super().closeEvent(event)
