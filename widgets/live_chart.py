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
from PyQt5.QtWidgets import QGraphicsItem, QGraphicsScene, QGraphicsView

from app.core.frames import Frame, FrameRequest
from app.core.series_colors import PALETTE, SeriesColors, argb
from app.core.stable_range import StableRange
from app.core.store import SeriesKey, SeriesStore
from app.core.strip_grid import Grid
from app.core.view_layout import AXES, AxisView, PlotView, SeriesView, layer_key
from widgets.chart_layer import ChartLayer
from widgets.chart_legend import ChartLegend
from widgets.follow_view_box import FollowViewBox
from widgets.series_mime import SERIES_MIME, series_from_mime
from widgets.theme import LIGHT, Theme
from widgets.time_axis import WallClockAxis
from widgets.value_axis import ValueAxis

__all__ = ["PALETTE", "LiveChart", "argb", "series_label"]
MAX_COLUMNS = 2048
IDLE_FRAME_MS = 200
_EMPTY_GRID = (Grid(1.0, 0, 1, 1, 0.0, 1.0),)  # an empty image for an axis left unused


def frame_interval_ms(fps: float) -> int:
    """The frame timer's period at `fps` (at most 200 frames a second)."""
    return max(int(1000 / fps), 5)


def series_label(key: SeriesKey) -> str:
    producer, series = key
    return producer if series == "value" else f"{producer}/{series}"


class LiveChart(pg.PlotWidget):
    """One time plot (a panel of the stack, widgets/plot_stack.py; alone in tools and tests).

    It draws the series its `placement` puts on it (all of them by default), each on its left
    or right axis (a layer each: widgets/chart_layer.py).

    Signals:
    follow_changed(bool): following the newest data was turned on or off.
    paused_changed(bool): the view was paused (frozen) or resumed.
    frame_requested(object): a FrameRequest; whoever builds frames (the consumer thread, in
        the app) answers by calling `show_frame` with the Frame.
    series_toggled(object, bool): the user showed or hid a series (legend): key, visible.
    panned(float, float): the user moved or zoomed the time span (view x range, seconds after
        `origin`): the other plots of a stack follow.
    series_dropped(object, str): series dragged from the series list were dropped here: their
        keys, and the axis ("right" when dropped over the right fifth of the plot).
    """

    follow_changed = pyqtSignal(bool)
    paused_changed = pyqtSignal(bool)
    frame_requested = pyqtSignal(object)
    series_toggled = pyqtSignal(object, bool)
    series_dropped = pyqtSignal(object, str)
    panned = pyqtSignal(float, float)

    def __init__(
        self,
        store: SeriesStore,
        window_s: float = 30.0,
        fps: float = 40.0,
        parent=None,
        *,
        plot_id: int = 0,
        origin: float | None = None,
        colors: SeriesColors | None = None,
    ):
        self.origin = origin if origin is not None else math.floor(time.time() / 60.0) * 60.0
        self.value_axis = ValueAxis("left")
        self.right_axis = ValueAxis("right")
        super().__init__(
            parent,
            axisItems={
                "bottom": WallClockAxis(self.origin, orientation="bottom"),
                "left": self.value_axis,
                "right": self.right_axis,
            },
            viewBox=FollowViewBox(),
        )
        self.setObjectName("liveChart")
        self.setAcceptDrops(True)  # series dragged from the series list
        self.store = store
        self.plot_id = plot_id
        self.window_s = window_s
        self.following = True
        self.paused = False  # frozen: new data is not drawn (the store still takes it)
        self.live = False  # some producer is running: keep scrolling even without new data
        self._curves: dict[SeriesKey, pg.PlotCurveItem] = {}  # sparse data and the legend
        self._colors: dict[SeriesKey, int] = {}  # ARGB of every series here (both axes)
        self._hidden_keys: frozenset[SeriesKey] = frozenset()
        self._axis_of: dict[SeriesKey, str] = {}  # the layer each series is drawn in
        self._shown: dict[SeriesKey, tuple] = {}  # (x, lo, hi) of the last frame, epoch x
        self._order: dict[str, int] = {}  # producer -> position in the legend
        self.theme: Theme | None = None
        # the curve, the strip image and the legend agree; plots of a stack share one, so a
        # series keeps its colour on whichever plot it is put
        self.colors = colors if colors is not None else SeriesColors()
        self._color_override: dict[SeriesKey, str] = {}  # colours the user picked
        self._hidden: set[str] = set()  # producers whose series start hidden
        self._shown_default: dict[SeriesKey, bool] = {}  # visibility set by the view
        self._placement: Callable[[SeriesKey], tuple[int, str]] = lambda key: (plot_id, "left")
        self._unit_of: Callable[[SeriesKey], str] = lambda key: ""
        self._keys_version = -1  # the store's series as of the last look (added, removed)
        self._newest_in_frame: float | None = None
        self.driven = False  # frames asked for by a stack's tick, not the own timer
        self.overdue = False  # (driven) a frame was due while one was in flight
        self.paint_times: deque[float] = deque(maxlen=600)  # perf_counter of painted frames
        self.frames_painted = 0
        self.frame_latencies: deque[float] = deque(maxlen=600)  # newest sample -> painted, s
        self.show_costs: deque[float] = deque(maxlen=600)  # seconds spent showing a frame
        self.paint_costs: deque[float] = deque(maxlen=600)  # seconds spent painting
        self._setup_plot()
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.PreciseTimer)
        self._frame_ms = frame_interval_ms(fps)
        self._timer.setInterval(IDLE_FRAME_MS)
        self._timer.timeout.connect(self._on_frame_timer)
        self._timer.start()
        self.set_theme(LIGHT)

    def _setup_plot(self) -> None:
        # every frame moves the strip image and the time axis: a BSP index of the scene's items
        # is rebuilt for nothing, and "minimal" updates compute regions that are the whole view
        self.scene().setItemIndexMethod(QGraphicsScene.NoIndex)
        self.setViewportUpdateMode(QGraphicsView.FullViewportUpdate)
        item = self.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.25)
        item.setDownsampling(auto=False)
        item.setClipToView(False)
        for side in ("bottom", "left", "right", "top"):  # re-setting the label's HTML on every
            axis = item.getAxis(side)  # scroll cost ~0.15 ms a frame, for no label (hidden too)
            axis.enableAutoSIPrefix(False)
            # major and minor ticks with labels, not a third level: the axes were most of a
            # frame's paint (every scroll moves the time axis)
            axis.setStyle(maxTickLevel=1, maxTextLevel=1)
        item.hideAxis("right")  # until a series is put on it
        view = item.getViewBox()
        self.layers = {"left": ChartLayer("left", layer_key(self.plot_id, "left"), view,
                                          self.value_axis)}  # fmt: skip
        self._strip = self.layers["left"].strip
        self.legend = ChartLegend(item)
        # the value axes (labels, horizontal grid) change only with the y range: painted from
        # a cached pixmap, not replayed line by line and glyph by glyph every frame
        self.value_axis.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        self.right_axis.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        # pyqtgraph's "A" button and its scene's "Export..." fit a wrong range and write a
        # nearly empty CSV: auto range means Follow (FollowViewBox); the window puts its own
        # export actions in the context menu (set_context_actions)
        item.hideButtons()
        self.sceneObj.contextMenu = []
        view.follow_requested.connect(lambda: self.set_follow(True))
        view.disableAutoRange()  # x follows time, y follows the layer's range (chart_layer.py)
        view.setXRange(time.time() - self.origin - self.window_s, time.time() - self.origin, 0)
        view.sigRangeChangedManually.connect(self._on_range_changed_manually)

    def _right_layer(self) -> ChartLayer:
        """The right axis' layer, made when a series is first put on it: a second view box
        under the first (the first takes the mouse), sharing its x range and geometry."""
        layer = self.layers.get("right")
        if layer is not None:
            return layer
        item = self.getPlotItem()
        main = item.getViewBox()
        view = FollowViewBox()
        view.setZValue(item.zValue() - 1)
        item.scene().addItem(view)
        self.right_axis.linkToView(view)
        view.setXLink(main)
        view.disableAutoRange()
        view.follow_requested.connect(lambda: self.set_follow(True))
        view.sigRangeChangedManually.connect(self._on_range_changed_manually)

        def fit() -> None:
            view.setGeometry(main.sceneBoundingRect())
            view.linkedViewChanged(main, view.XAxis)

        main.sigResized.connect(fit)
        fit()
        layer = self.layers["right"] = ChartLayer(
            "right", layer_key(self.plot_id, "right"), view, self.right_axis
        )
        return layer

    # -- public ----------------------------------------------------------------------------------
    def set_follow(self, follow: bool) -> None:
        if follow != self.following:
            self.following = follow
            if follow:
                self.set_paused(False)
                for layer in self.layers.values():
                    layer.y_range.reset()
                    layer.drawn = None
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
        for side in ("bottom", "left", "right"):
            axis = item.getAxis(side)
            axis.setPen(theme.axis)
            axis.setTextPen(theme.axis_text)
        item.showGrid(alpha=theme.grid_alpha)
        self.colors.set_palette(theme.series)
        self._recolor()
        self.legend.set_theme(theme)
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
        """Series shown here (ticked in the legend), in legend order."""
        keys = [k for k in self._curves if k not in self._hidden_keys]
        return sorted(keys, key=self._legend_order)

    def series(self) -> list[SeriesKey]:
        """Every series on this plot, shown or not, in legend order."""
        return sorted(self._curves, key=self._legend_order)

    def axis_of(self, key: SeriesKey) -> str | None:
        return self._axis_of.get(key)

    def set_producers(self, names: list[str], hidden: set[str] = frozenset()) -> None:
        """Legend order follows the session; series of `hidden` producers start unticked."""
        self._order = {name: i for i, name in enumerate(names)}
        self.colors.set_producers(names)
        self._hidden = set(hidden)

    def set_units(self, unit_of: Callable[[SeriesKey], str]) -> None:
        """Where the unit of a series comes from ("" for none): a value axis shows it when
        every visible series on it has the same one."""
        self._unit_of = unit_of
        self._show_unit()

    def set_view(
        self,
        plot: PlotView,
        placement: Callable[[SeriesKey], tuple[int, str]],
        series: dict[SeriesKey, SeriesView],
    ) -> None:
        """Apply the view description's part for this plot: its axes' range modes and log
        scale, which series are drawn here and on which axis (`placement(key)` -> (plot id,
        axis)), and the series' colours and visibility the user chose."""
        self._placement = placement
        changed = False
        for name in AXES:
            settings = plot.axis(name)
            if name == "right" and "right" not in self.layers and settings == AxisView():
                continue
            changed |= self._layer(name).configure(settings)
        overrides = {k: v.color for k, v in series.items() if v.color is not None}
        shown = {k: v.visible for k, v in series.items()}
        recolor = overrides != self._color_override
        self._color_override = overrides
        self._shown_default = shown
        self._sync_series(force=True)
        for key, curve in self._curves.items():  # visibility the view says (legend clicks
            want = shown.get(key, key[0] not in self._hidden)  # come back through it too)
            if curve.isVisible() != want:
                curve.blockSignals(True)
                curve.setVisible(want)
                curve.blockSignals(False)
                changed = True
        if recolor:
            self._recolor()
        if changed or recolor:
            self._on_visibility_changed()

    def set_live(self, live: bool) -> None:
        """Producers are running: redraw at the frame rate. Otherwise poll a few times a
        second (new data or a pan still shows up) and cost next to nothing."""
        self.live = live
        self._timer.setInterval(self._frame_ms if live else IDLE_FRAME_MS)

    def set_driven(self, driven: bool) -> None:
        """Frames asked for by whoever calls `tick` (a stack ticks all its plots at once, so
        their frames are built together and painted in one pass), not by the own timer. A
        frame that was due while one was in flight is then left to the driver (`overdue`)."""
        self.driven = driven
        if driven:
            self._timer.stop()
        elif not self._timer.isActive():
            self._timer.start()

    def tick(self, now: float | None = None) -> None:
        """Ask for the frames that are due (what the frame timer does); `now`: the time the
        newest edge shows while following (a stack gives all its plots the same instant)."""
        self._on_frame_timer(now)

    def set_window(self, seconds: float) -> None:
        self.window_s = seconds
        self._invalidate()

    def set_fps(self, fps: float) -> None:
        self._frame_ms = frame_interval_ms(fps)
        if self.live:
            self._timer.setInterval(self._frame_ms)

    def curve(self, key: SeriesKey) -> pg.PlotCurveItem | None:
        return self._curves.get(key)

    def drawn(self, key: SeriesKey) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What the last frame drew for a series: (epoch x, low y, high y) per point/column
        (in decades on a log axis, for lines)."""
        empty = np.empty(0)
        return self._shown.get(key, (empty, empty, empty))

    def fps(self, seconds: float = 1.0) -> float:
        now = time.perf_counter()
        recent = [t for t in self.paint_times if now - t <= seconds]
        return len(recent) / seconds

    def redraw(self) -> None:
        """Ask for a frame now, whatever changed (tests and tools; a builder connected
        directly answers before this returns)."""
        self._invalidate()
        self._on_frame_timer()

    @property
    def y_range(self) -> StableRange:
        """The left axis' steady range (tools and tests)."""
        return self.layers["left"].y_range

    @property
    def _drawn(self) -> tuple | None:
        return self.layers["left"].drawn

    def _invalidate(self) -> None:
        for layer in self.layers.values():
            layer.drawn = None

    # -- frame -----------------------------------------------------------------------------------
    @pyqtSlot()
    def _on_frame_timer(self, now: float | None = None) -> None:
        view = self.getPlotItem().getViewBox()
        left = self.layers["left"]
        if self.following:
            if self.live or left.drawn is None:
                t1 = now if now is not None else time.time()
            else:  # nothing running: hold still (idle costs nothing) unless new data arrives
                t1 = max(left.drawn[2], self.store.newest_time())
            t0 = t1 - self.window_s
        else:
            (x0, x1), _ = view.viewRange()
            t0, t1 = x0 + self.origin, x1 + self.origin
        width = int(min(max(view.width(), 50), MAX_COLUMNS))
        height = int(min(max(view.height(), 20), 4096))
        ratio = self.devicePixelRatioF()  # the image is rendered in device pixels: crisp at 2x
        state = (self.store.version, t0, t1, width, height, ratio)
        self._sync_series()
        self.legend.update_if_due(self.series, self._curves.get, series_label)
        for layer in self.layers.values():
            if layer is not left and not layer.keys:
                continue
            if layer.drawn is not None and self._unchanged(state, layer.drawn):
                continue
            request = FrameRequest(
                t0, t1, width, height, layer.request_y(self.following), layer.colors,
                layer.hidden, layer.log, layer.layer, ratio,
            )  # fmt: skip
            if layer.pending is None:  # one in flight at a time: the builder is never flooded
                layer.drawn, layer.pending = state, request
                layer.pending_live = self.following
                self.frame_requested.emit(request)
            else:
                layer.late = True  # ask again as soon as the frame in flight arrives

    def _unchanged(self, state: tuple, drawn: tuple) -> bool:
        version, t0, t1, *size = state
        old_version, old_t0, old_t1, *old_size = drawn
        if (version != old_version and not self.paused) or size != old_size:
            return False
        if self.following and self.live:
            return False  # time moves on: scroll
        return (t0, t1) == (old_t0, old_t1)

    @pyqtSlot(object)
    def show_frame(self, frame: Frame) -> None:
        """Show a built frame (of one of this plot's layers) and move the view to its span."""
        started = time.perf_counter()
        strip, request = frame.strip, frame.request
        layer = next((x for x in self.layers.values() if x.layer == request.layer), None)
        if layer is None:
            return
        if request is layer.pending:
            layer.pending = None
            if layer.late:
                layer.late = False
                if self.driven:  # the stack asks again, for all its plots at once
                    self.overdue = True
                else:
                    QTimer.singleShot(0, self._on_frame_timer)
            if self.paused and layer.pending_live:
                # asked for before the pause, built after: the view stays as it was paused
                layer.drawn = layer.shown_state
                return
            layer.shown_state = layer.drawn
        layer.strip.set_frame(strip.image, strip.grid, self.origin, request.pixel_ratio)
        for key in list(self._shown):  # this layer's, and series no longer on this plot
            if self._axis_of.get(key, layer.name) == layer.name:
                del self._shown[key]
        # (a frame asked for before a series moved away may still hold it)
        self._shown.update((k, v) for k, v in strip.bands.items() if k in self._curves)
        for key in layer.lined - strip.lines.keys():  # lines no longer drawn leave the view:
            curve = self._curves.get(key)  # 1,000 empty curves in it cost every paint
            if curve is not None and curve.getViewBox() is not None:
                curve.setData([], [])
                curve.getViewBox().removeItem(curve)
        layer.lined = strip.lines.keys() & self._curves.keys()  # (a removed producer's: gone)
        for key, (x, y) in strip.lines.items():
            curve = self._curves.get(key)
            if curve is None or self._axis_of.get(key) != layer.name:
                continue
            self._shown[key] = (x, y, y)
            if curve.scene() is None:  # into the view only: the plot would add a legend entry
                layer.view.addItem(curve, ignoreBounds=True)
            curve.setData(x - self.origin, y, connect="finite")
        if self.following:
            if layer.name == "left":
                layer.view.setRange(
                    xRange=(request.t0 - self.origin, request.t1 - self.origin),
                    yRange=request.y_range,
                    padding=0,
                )
                # pyqtgraph applies a new range while painting, which moves every item and
                # makes Qt paint the plot a second time: apply it now, one paint per frame
                layer.view.updateMatrix()
            else:
                layer.view.setYRange(*request.y_range, padding=0)
            y_range = layer.new_y_range(strip.extent)
            if y_range is not None and y_range != request.y_range:
                layer.drawn = None  # the next frame redraws at the new scale
        if layer.name == "left":
            self.legend.place_if_due(strip, self.origin)  # every few seconds, not per frame
            self._newest_in_frame = strip.newest
        self.show_costs.append(time.perf_counter() - started)

    def _legend_order(self, key: SeriesKey) -> tuple:
        return (self._order.get(key[0], len(self._order)), key)

    def _layer(self, name: str) -> ChartLayer:
        return self.layers["left"] if name == "left" else self._right_layer()

    def _sync_series(self, force: bool = False) -> None:
        """Curves for the series placed here, each in its axis' layer; series placed elsewhere
        leave. Looked at when the store has new series or the view changed."""
        version = self.store.keys_version
        if not force and version == self._keys_version:
            return
        self._keys_version = version
        held = self.store.series_keys()
        mine = {}
        for key in held:
            plot_id, axis = self._placement(key)
            if plot_id == self.plot_id:
                mine[key] = axis
        gone = [k for k in self._curves if k not in mine]
        for key in gone:
            curve = self._curves.pop(key)
            if curve.getViewBox() is not None:
                curve.getViewBox().removeItem(curve)
            self._axis_of.pop(key, None)
            self._shown.pop(key, None)
            for layer in self.layers.values():
                layer.lined.discard(key)
        removed = set(gone) - set(held)  # their producer was removed or renamed: their colour
        if removed:  # slots are free again (a series moved to another plot keeps its colour)
            self.colors.forget(list(removed))
        new = self.colors.assign([k for k in mine if k not in self._curves])
        for key in sorted(new, key=self._legend_order):
            curve = pg.PlotCurveItem(
                pen=pg.mkPen(self._color_override.get(key, new[key]), width=1),
                antialias=False,
                name=series_label(key),
            )
            # not in the plot until it has a line to draw (a sparse series): dense series are
            # in the strip image, and 1,000 empty curves in the scene cost every paint
            curve.setVisible(self._shown_default.get(key, key[0] not in self._hidden))
            curve.visibleChanged.connect(self._on_curve_toggled)
            self._curves[key] = curve
        moved = [k for k, axis in mine.items() if self._axis_of.get(k) != axis]
        for key in moved:
            curve = self._curves[key]
            if curve.getViewBox() is not None:  # a line in the other layer's view
                curve.getViewBox().removeItem(curve)
            self._axis_of[key] = mine[key]
        if not (new or gone or moved):
            return
        right = any(axis == "right" for axis in mine.values())
        if right:
            self._right_layer()  # (made on first use)
        for name, layer in self.layers.items():
            layer.keys = [k for k in self._curves if self._axis_of[k] == name]
        if right:
            self.getPlotItem().showAxis("right")
        elif "right" in self.layers:
            self.getPlotItem().hideAxis("right")
            self.layers["right"].strip.set_frame(np.zeros((1, 1), np.uint32),
                                                 *_EMPTY_GRID, self.origin)  # fmt: skip
        self._recolor()
        self._on_visibility_changed()
        if gone:
            self.legend.rebuild()  # now, not batched: a series gone must not linger there
        self.legend.schedule()

    def _recolor(self) -> None:
        """Pens and the layers' ARGB colours from the palette slots and the user's picks."""
        colors = {}
        for key, curve in self._curves.items():
            color = self._color_override.get(key) or self.colors.color(key)
            curve.setPen(pg.mkPen(color, width=1))
            colors[key] = color
        # new objects, not changed in place: requests in flight keep the ones they were sent with
        self._colors = {key: argb(color) for key, color in colors.items()}
        for name, layer in self.layers.items():
            layer.set_colors({k: c for k, c in colors.items() if self._axis_of.get(k) == name})

    def color_of(self, key: SeriesKey):
        """The colour a series is drawn in here (the user's pick, else its palette slot)."""
        return self._color_override.get(key) or self.colors.color(key)

    # -- events ----------------------------------------------------------------------------------
    def dragEnterEvent(self, event):
        if event.mimeData().hasFormat(SERIES_MIME):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event):
        if event.mimeData().hasFormat(SERIES_MIME):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event):
        data = event.mimeData()
        if not data.hasFormat(SERIES_MIME):
            super().dropEvent(event)
            return
        keys = series_from_mime(data)
        axis = "right" if event.pos().x() > 0.8 * self.width() else "left"
        event.acceptProposedAction()
        if keys:
            self.series_dropped.emit(keys, axis)

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
    def _on_curve_toggled(self) -> None:
        """A series was ticked or unticked in the legend."""
        curve = self.sender()
        key = next((k for k, c in self._curves.items() if c is curve), None)
        self._on_visibility_changed()
        if key is not None:
            self.series_toggled.emit(key, curve.isVisible())

    def _on_visibility_changed(self) -> None:
        """Redraw without the hidden series (the hidden set is kept here, on change, rather
        than asked of every curve on every frame)."""
        self._hidden_keys = frozenset(k for k, c in self._curves.items() if not c.isVisible())
        for layer in self.layers.values():
            layer.hidden = frozenset(k for k in self._hidden_keys if k in layer.colors)
        self._show_unit()
        self._invalidate()

    def _show_unit(self) -> None:
        for name, layer in self.layers.items():
            units = {
                self._unit_of(key)
                for key in self._curves
                if key not in self._hidden_keys and self._axis_of.get(key) == name
            }
            layer.axis.set_unit(units.pop() if len(units) == 1 else "")

    @pyqtSlot(object)
    def _on_range_changed_manually(self, _mask) -> None:
        self.set_follow(False)
        x0, x1 = self.getPlotItem().getViewBox().viewRange()[0]
        self.panned.emit(x0, x1)
        QTimer.singleShot(0, self._on_frame_timer)  # redraw the new span now, even when idle

    def stop(self) -> None:
        self._timer.stop()

    def closeEvent(self, event):
        self.stop()  # pyqtgraph drops the plot item on close; a late frame would find none
        super().closeEvent(event)
