"""The live chart: every series, scrolling over a time window, redrawn on a timer.

A frame is built from each visible series' min/max envelope at the chart's pixel width, so
its cost depends on pixels, not on how many samples arrived (see app/pyramid.py). Dense series
arrive as one image that scrolls (app/strip.py, shown by StripImageItem); sparse ones and raw
samples as polylines, one curve per series, created once and updated with setData. The curves
also carry the legend. While following, the chart drives its x range itself and holds its y
range steady (StableRange); any mouse pan/zoom stops following until the user turns Follow
back on. Paused (`set_paused`, Space in the window) is not following and frozen too: no frame
is asked for new data, only for a pan or zoom; Follow (or Space again) ends it.

Colours come from a theme (widgets/theme.py; light unless `set_theme` says otherwise): the
background, axes, grid, legend and the series' palette. A switch restyles the items once and
redraws; nothing is looked up per frame (a frame request carries the colours it was made with).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import Qt, QTimer, pyqtSignal, pyqtSlot

from app.core.frames import Frame, FrameRequest
from app.core.series_colors import PALETTE, SeriesColors, argb
from app.core.stable_range import StableRange
from app.core.store import SeriesKey, SeriesStore
from widgets.chart_legend import ChartLegend
from widgets.follow_view_box import FollowViewBox
from widgets.strip_image import StripImageItem
from widgets.theme import LIGHT, Theme
from widgets.time_axis import WallClockAxis
from widgets.value_axis import ValueAxis

__all__ = ["PALETTE", "LiveChart", "argb", "series_label"]
MAX_COLUMNS = 2048
IDLE_FRAME_MS = 200


def series_label(key: SeriesKey) -> str:
    producer, series = key
    return producer if series == "value" else f"{producer}/{series}"


class LiveChart(pg.PlotWidget):
    """Signals:
    follow_changed(bool): following the newest data was turned on or off.
    paused_changed(bool): the view was paused (frozen) or resumed.
    frame_requested(object): a FrameRequest; whoever builds frames (the consumer thread, in
        the app) answers by calling `show_frame` with the Frame.
    """

    follow_changed = pyqtSignal(bool)
    paused_changed = pyqtSignal(bool)
    frame_requested = pyqtSignal(object)

    def __init__(self, store: SeriesStore, window_s: float = 30.0, fps: float = 40.0, parent=None):
        self.origin = math.floor(time.time() / 60.0) * 60.0
        self.value_axis = ValueAxis("left")
        super().__init__(
            parent,
            axisItems={
                "bottom": WallClockAxis(self.origin, orientation="bottom"),
                "left": self.value_axis,
            },
            viewBox=FollowViewBox(),
        )
        self.setObjectName("liveChart")
        self.store = store
        self.window_s = window_s
        self.following = True
        self.paused = False  # frozen: new data is not drawn (the store still takes it)
        self.live = False  # some producer is running: keep scrolling even without new data
        self._curves: dict[SeriesKey, pg.PlotCurveItem] = {}  # sparse data and the legend
        self._colors: dict[SeriesKey, int] = {}  # replaced whole when series are added
        self._hidden_keys: frozenset[SeriesKey] = frozenset()
        self._lined: set[SeriesKey] = set()  # series whose curve holds a line
        self._shown: dict[SeriesKey, tuple] = {}  # (x, lo, hi) of the last frame, epoch x
        self._order: dict[str, int] = {}  # producer -> position in the legend
        self.theme: Theme | None = None
        self.colors = SeriesColors()  # the curve, the strip image and the legend agree
        self._hidden: set[str] = set()  # producers whose series start hidden
        self._unit_of: Callable[[SeriesKey], str] = lambda key: ""
        self._drawn: tuple | None = None  # (store version, t0, t1, width) of the last frame
        self._keys_version = -1  # the store's series as of the last look (added, removed)
        self._newest_in_frame: float | None = None
        self._pending: FrameRequest | None = None  # asked for, not shown yet
        self._late = False  # a frame was due while one was in flight
        self.paint_times: deque[float] = deque(maxlen=600)  # perf_counter of painted frames
        self.frames_painted = 0
        self.frame_latencies: deque[float] = deque(maxlen=600)  # newest sample -> painted, s
        self.show_costs: deque[float] = deque(maxlen=600)  # seconds spent showing a frame
        self.paint_costs: deque[float] = deque(maxlen=600)  # seconds spent painting
        self.y_range = StableRange()
        self._setup_plot()
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.PreciseTimer)
        self._frame_ms = max(int(1000 / fps), 5)
        self._timer.setInterval(IDLE_FRAME_MS)
        self._timer.timeout.connect(self._on_frame_timer)
        self._timer.start()
        self.set_theme(LIGHT)

    def _setup_plot(self) -> None:
        item = self.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.25)
        item.setDownsampling(auto=False)
        item.setClipToView(False)
        for side in ("bottom", "left"):  # re-setting the label's HTML on every scroll cost
            axis = item.getAxis(side)  # ~0.15 ms a frame, for no label
            axis.enableAutoSIPrefix(False)
            # major and minor ticks with labels, not a third level: the axes were most of a
            # frame's paint (every scroll moves the time axis)
            axis.setStyle(maxTickLevel=1, maxTextLevel=1)
        self._strip = StripImageItem()
        self._strip.setZValue(-1)  # under the sparse curves
        item.addItem(self._strip)
        self.legend = ChartLegend(item)
        # pyqtgraph's "A" button and its scene's "Export..." fit a wrong range and write a
        # nearly empty CSV: auto range means Follow (FollowViewBox); the window puts its own
        # export actions in the context menu (set_context_actions)
        item.hideButtons()
        self.sceneObj.contextMenu = []
        view = item.getViewBox()
        view.follow_requested.connect(lambda: self.set_follow(True))
        view.disableAutoRange()  # x follows time, y follows self.y_range (see stable_range.py)
        view.setXRange(time.time() - self.origin - self.window_s, time.time() - self.origin, 0)
        view.sigRangeChangedManually.connect(self._on_range_changed_manually)

    # -- public ----------------------------------------------------------------------------------
    def set_follow(self, follow: bool) -> None:
        if follow != self.following:
            self.following = follow
            if follow:
                self.set_paused(False)
                self.y_range.reset()
                self._drawn = None
            self.follow_changed.emit(follow)

    def set_paused(self, paused: bool) -> None:
        """Freeze the view where it is (not following, no new data drawn), or resume live."""
        if paused != self.paused:
            self.paused = paused
            self.set_follow(not paused)
            self.paused_changed.emit(paused)

    def set_theme(self, theme: Theme) -> None:
        """Draw in `theme`'s colours: background, axes and their text, grid, legend, and the
        series (each keeps its palette slot). Costs nothing when the theme is the same."""
        if theme is self.theme:
            return
        self.theme = theme
        self.setBackground(theme.chart_background)
        item = self.getPlotItem()
        for side in ("bottom", "left"):
            axis = item.getAxis(side)
            axis.setPen(theme.axis)
            axis.setTextPen(theme.axis_text)
        item.showGrid(alpha=theme.grid_alpha)
        self.colors.set_palette(theme.series)
        for key, curve in self._curves.items():
            curve.setPen(pg.mkPen(self.colors.color(key), width=1))
        # a new object: a request in flight keeps the colours it was sent with
        self._colors = {key: argb(self.colors.color(key)) for key in self._curves}
        self.legend.set_theme(theme)
        self._drawn = None  # the strip image is painted in the series' colours: paint it anew
        if self._curves:  # now, not at the next tick (a frame in flight is asked again)
            QTimer.singleShot(0, self._on_frame_timer)

    def set_context_actions(self, actions: list) -> None:
        """Actions the chart's right-click menu offers after pyqtgraph's view entries."""
        self.sceneObj.contextMenu = list(actions)

    def visible_range(self) -> tuple[float, float]:
        """The time span shown, epoch seconds."""
        (x0, x1), _ = self.getPlotItem().getViewBox().viewRange()
        return x0 + self.origin, x1 + self.origin

    def visible_series(self) -> list[SeriesKey]:
        """Series ticked in the legend, in legend order."""
        keys = [k for k in self._curves if k not in self._hidden_keys]
        return sorted(keys, key=self._legend_order)

    def set_producers(self, names: list[str], hidden: set[str] = frozenset()) -> None:
        """Legend order follows the session; series of `hidden` producers start unticked."""
        self._order = {name: i for i, name in enumerate(names)}
        self.colors.set_producers(names)
        self._hidden = set(hidden)

    def set_units(self, unit_of: Callable[[SeriesKey], str]) -> None:
        """Where the unit of a series comes from ("" for none): the value axis shows it when
        every visible series has the same one."""
        self._unit_of = unit_of
        self._show_unit()

    def set_live(self, live: bool) -> None:
        """Producers are running: redraw at the frame rate. Otherwise poll a few times a
        second (new data or a pan still shows up) and cost next to nothing."""
        self.live = live
        self._timer.setInterval(self._frame_ms if live else IDLE_FRAME_MS)

    def set_window(self, seconds: float) -> None:
        self.window_s = seconds
        self._drawn = None

    def set_fps(self, fps: float) -> None:
        self._frame_ms = max(int(1000 / fps), 5)
        if self.live:
            self._timer.setInterval(self._frame_ms)

    def curve(self, key: SeriesKey) -> pg.PlotCurveItem | None:
        return self._curves.get(key)

    def drawn(self, key: SeriesKey) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What the last frame drew for a series: (epoch x, low y, high y) per point/column."""
        empty = np.empty(0)
        return self._shown.get(key, (empty, empty, empty))

    def fps(self, seconds: float = 1.0) -> float:
        now = time.perf_counter()
        recent = [t for t in self.paint_times if now - t <= seconds]
        return len(recent) / seconds

    def redraw(self) -> None:
        """Ask for a frame now, whatever changed (tests and tools; a builder connected
        directly answers before this returns)."""
        self._drawn = None
        self._on_frame_timer()

    # -- frame -----------------------------------------------------------------------------------
    @pyqtSlot()
    def _on_frame_timer(self) -> None:
        view = self.getPlotItem().getViewBox()
        if self.following:
            if self.live or self._drawn is None:
                t1 = time.time()
            else:  # nothing running: hold still (idle costs nothing) unless new data arrives
                t1 = max(self._drawn[2], self.store.newest_time())
            t0 = t1 - self.window_s
        else:
            (x0, x1), _ = view.viewRange()
            t0, t1 = x0 + self.origin, x1 + self.origin
        width = int(min(max(view.width(), 50), MAX_COLUMNS))
        height = int(min(max(view.height(), 20), 4096))
        state = (self.store.version, t0, t1, width, height)
        if self._drawn is not None and self._unchanged(state):
            return
        if self.store.keys_version != self._keys_version:  # series came or went
            self._keys_version = self.store.keys_version
            self._add_curves(self.store.series_keys())
        self.legend.update_if_due(
            lambda: sorted(self._curves, key=self._legend_order), self._curves.get, series_label
        )
        y_range = tuple(view.viewRange()[1]) if not self.following else self._y_for_request()
        request = FrameRequest(t0, t1, width, height, y_range, self._colors, self._hidden_keys)
        if self._pending is None:  # one in flight at a time: the builder is never flooded
            self._drawn, self._pending = state, request
            self.frame_requested.emit(request)
        else:
            self._late = True  # ask again as soon as the frame in flight arrives

    def _y_for_request(self) -> tuple[float, float]:
        return self.y_range.range or (-1.0, 1.0)

    def _unchanged(self, state: tuple) -> bool:
        version, t0, t1, *size = state
        old_version, old_t0, old_t1, *old_size = self._drawn
        if (version != old_version and not self.paused) or size != old_size:
            return False
        if self.following and self.live:
            return False  # time moves on: scroll
        return (t0, t1) == (old_t0, old_t1)

    @pyqtSlot(object)
    def show_frame(self, frame: Frame) -> None:
        """Show a built frame and move the view to its time span."""
        started = time.perf_counter()
        if frame.request is self._pending:
            self._pending = None
            if self._late:
                self._late = False
                QTimer.singleShot(0, self._on_frame_timer)
        strip, request = frame.strip, frame.request
        self._strip.set_frame(strip.image, strip.grid, self.origin)
        self._shown = dict(strip.bands)
        view = self.getPlotItem().getViewBox()
        for key in self._lined - strip.lines.keys():  # lines no longer drawn leave the view:
            self._curves[key].setData([], [])  # 1,000 empty curves in it cost every paint
            view.removeItem(self._curves[key])
        self._lined = strip.lines.keys() & self._curves.keys()  # (a removed producer's: gone)
        for key, (x, y) in strip.lines.items():
            curve = self._curves.get(key)
            if curve is None:
                continue
            self._shown[key] = (x, y, y)
            if curve.scene() is None:  # into the view only: the plot would add a legend entry
                view.addItem(curve, ignoreBounds=True)
            curve.setData(x - self.origin, y, connect="finite")
        if self.following:
            view.setRange(
                xRange=(request.t0 - self.origin, request.t1 - self.origin),
                yRange=request.y_range,
                padding=0,
            )
            # pyqtgraph applies a new range while painting, which moves every item and makes
            # Qt paint the plot a second time: apply it now, one paint per frame (was two)
            view.updateMatrix()
            y_range = self.y_range.update(*strip.extent)
            if y_range is not None and y_range != request.y_range:
                self._drawn = None  # the next frame redraws at the new scale
        self.legend.place_if_due(strip, self.origin)  # every few seconds, not per frame
        self._newest_in_frame = strip.newest
        self.show_costs.append(time.perf_counter() - started)

    def _legend_order(self, key: SeriesKey) -> tuple:
        return (self._order.get(key[0], len(self._order)), key)

    def _add_curves(self, keys: list[SeriesKey]) -> None:
        """Create curves for new series, drop those of series the store no longer has (their
        producer was removed or renamed); the legend follows in a batch (`_rebuild_legend`)."""
        held = set(keys)
        gone = [k for k in self._curves if k not in held]
        if gone:
            self._drop_curves(gone)
        colors = dict(self._colors)
        new = self.colors.assign([k for k in keys if k not in self._curves])
        for key in sorted(new, key=self._legend_order):
            color = new[key]
            curve = pg.PlotCurveItem(
                pen=pg.mkPen(color, width=1), antialias=False, name=series_label(key)
            )
            # not in the plot until it has a line to draw (a sparse series): dense series are
            # in the strip image, and 1,000 empty curves in the scene cost every paint
            curve.setVisible(key[0] not in self._hidden)
            curve.visibleChanged.connect(self._on_visibility_changed)
            self._curves[key] = curve
            colors[key] = argb(color)
        # new objects, not changed in place: requests in flight keep the ones they were sent with
        self._colors = colors
        self._hidden_keys = frozenset(k for k, c in self._curves.items() if not c.isVisible())
        self._show_unit()
        self.legend.schedule()

    def _drop_curves(self, keys: list[SeriesKey]) -> None:
        view = self.getPlotItem().getViewBox()
        for key in keys:
            curve = self._curves.pop(key)
            if curve.scene() is not None:
                view.removeItem(curve)
            self._lined.discard(key)
            self._shown.pop(key, None)
        self._colors = {k: c for k, c in self._colors.items() if k in self._curves}
        self.colors.forget(keys)
        self._hidden_keys = frozenset(k for k in self._hidden_keys if k in self._curves)
        self.legend.due = 0.0  # now, not batched: a removed series must not linger there
        self._drawn = None

    # -- events ----------------------------------------------------------------------------------
    def paintEvent(self, event):
        started = time.perf_counter()
        super().paintEvent(event)
        self.paint_costs.append(time.perf_counter() - started)
        if self._newest_in_frame is not None:
            self.frame_latencies.append(time.time() - self._newest_in_frame)
            self.paint_times.append(time.perf_counter())
            self.frames_painted += 1
            self._newest_in_frame = None

    @pyqtSlot()
    def _on_visibility_changed(self) -> None:
        """A series was ticked or unticked in the legend: redraw without it (the hidden set is
        kept here, on change, rather than asked of every curve on every frame)."""
        self._hidden_keys = frozenset(k for k, c in self._curves.items() if not c.isVisible())
        self._show_unit()
        self._drawn = None

    def _show_unit(self) -> None:
        units = {self._unit_of(key) for key in self._curves if key not in self._hidden_keys}
        self.value_axis.set_unit(units.pop() if len(units) == 1 else "")

    @pyqtSlot(object)
    def _on_range_changed_manually(self, _mask) -> None:
        self.set_follow(False)
        QTimer.singleShot(0, self._on_frame_timer)  # redraw the new span now, even when idle

    def stop(self) -> None:
        self._timer.stop()

    def closeEvent(self, event):
        self.stop()  # pyqtgraph drops the plot item on close; a late frame would find none
        super().closeEvent(event)
