"""The plots, stacked top to bottom and sharing the time axis, drawn from the view description.

The window holds one PlotStack. It turns the view description (app.core.view_layout.ViewLayout:
plots -> axes -> series) into panels: a LiveChart per time plot, an XYPlot per XY plot, each in
a frame named `plotPanel:<n>` (n = position from the top), in a splitter the user can drag. A
change to the layout (add, remove, move a plot; a series to another plot or axis; a range mode,
log scale, colour) is a new layout given to `set_layout`: panels that stay are kept and told
their part, only new ones are made, so nothing redraws more than it must.

Time plots share one origin and the first one's x range, and move together: following, paused,
panned. Each asks for its frames itself (one per axis layer) and the stack passes them on and
routes the built frames back by their layer key, so N plots cost N frames built in the consumer
thread and N uploads here, not N times the work of one.
"""

from __future__ import annotations

import math
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable

from PyQt5.QtCore import Qt, QTimer, pyqtSignal, pyqtSlot
from PyQt5.QtWidgets import QFrame, QSplitter, QVBoxLayout, QWidget

from app.core.frames import Frame
from app.core.series_colors import SeriesColors
from app.core.store import SeriesKey, SeriesStore
from app.core.view_layout import AXES, LayoutError, ViewLayout, layer_key, xy_layer_key
from widgets.live_chart import IDLE_FRAME_MS, LiveChart, frame_interval_ms
from widgets.theme import LIGHT, Theme
from widgets.time_grid import TickCache, TimeGrid
from widgets.xy_plot import XYPlot

MIN_PLOT_HEIGHT = 120
ALIGN_EVERY_MS = 1000
SVG_NS = "http://www.w3.org/2000/svg"


def _natural_width(axis) -> float:
    """The width a vertical axis would take by itself (pyqtgraph's AxisItem._updateWidth)."""
    if not axis.style["showValues"]:
        return 0.0
    return axis.textWidth + axis.style["tickTextOffset"][0] + max(0, axis.style["tickLength"])


def _svg_size(svg, item) -> tuple[float, float]:
    """A pyqtgraph SVG's size: its viewBox (it writes no width/height), else the item's."""
    box = (svg.get("viewBox") or "").split()
    if len(box) == 4:
        return float(box[2]), float(box[3])
    rect = item.sceneBoundingRect()
    return rect.width(), rect.height()


class PlotPanel(QFrame):
    """The frame one plot sits in (`plotPanel:<n>`), which takes series dropped on it."""

    def __init__(self, plot_id: int, widget):
        super().__init__()
        self.plot_id = plot_id
        self.widget = widget
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(widget)
        self.setMinimumHeight(MIN_PLOT_HEIGHT)


class PlotStack(QWidget):
    """Signals:
    follow_changed(bool), paused_changed(bool): as a LiveChart's, for all plots at once.
    frame_requested(object): a FrameRequest of some plot's layer (the consumer builds it).
    layout_changed(object): the user changed the view (the new ViewLayout).
    layers_dropped(object): layer keys of plots that are gone (their renderers may go).
    """

    follow_changed = pyqtSignal(bool)
    paused_changed = pyqtSignal(bool)
    frame_requested = pyqtSignal(object)
    layout_changed = pyqtSignal(object)
    layers_dropped = pyqtSignal(object)

    def __init__(self, store: SeriesStore, window_s: float = 30.0, fps: float = 40.0, parent=None):
        super().__init__(parent)
        self.setObjectName("plotStack")
        # a splitter inside, not the stack itself: overlays (the pause badge) are children of
        # the stack, and a splitter would make every child a pane
        self.splitter = QSplitter(Qt.Vertical)
        self.splitter.setObjectName("plotSplitter")
        self.splitter.setChildrenCollapsible(False)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.splitter)
        self.store = store
        self.window_s = window_s
        self.fps_setting = fps
        self.origin = math.floor(time.time() / 60.0) * 60.0
        self.view_layout = ViewLayout()
        self._ticks = TickCache()  # the bottom plot's time ticks, for the grids above it
        self._grids: dict[LiveChart, TimeGrid] = {}
        self.colors = SeriesColors()  # one palette slot per series, whichever plot it is on
        self.panels: dict[int, PlotPanel] = {}
        self.following = True
        self.paused = False
        self.live = False
        self.theme: Theme = LIGHT
        self._producers: tuple[list[str], set[str]] = ([], set())
        self._unit_of: Callable[[SeriesKey], str] = lambda key: ""
        self._context: list = []
        self._plot_menu: Callable | None = None  # plot id -> QMenu for its context menu
        self._syncing = False  # follow/pause being handed to every plot: one signal out
        self._align_timer = QTimer(self)  # y labels change width as values do: re-align
        self._align_timer.setInterval(ALIGN_EVERY_MS)
        self._align_timer.timeout.connect(self.align_axes)
        self._align_timer.start()
        # one timer asks every plot for its frames: they are built in one go in the consumer
        # thread and painted in one pass (eight timers painted eight times per period)
        self._frame_timer = QTimer(self)
        self._frame_timer.setTimerType(Qt.PreciseTimer)
        self._frame_timer.timeout.connect(self.tick)
        self._set_pace()
        self._frame_timer.start()
        self.set_layout(ViewLayout())

    # -- the plots -------------------------------------------------------------------------------
    @property
    def charts(self) -> list[LiveChart]:
        """The time plots, top to bottom."""
        return [
            self.panels[p.id].widget for p in self.view_layout.plots if p.kind == "time"
        ]  # fmt: skip

    @property
    def chart(self) -> LiveChart:
        """The first time plot: the one whose x range all follow."""
        return self.charts[0]

    def panel(self, index: int) -> PlotPanel:
        """The plot at position `index` from the top."""
        return self.panels[self.view_layout.plots[index].id]

    def set_layout(self, layout: ViewLayout, user: bool = False) -> None:
        """Show `layout`: make panels for new plots, drop those of removed ones, order them,
        and tell every plot its part. `user`: the change came from the user (say so)."""
        old = self.view_layout
        self.view_layout = layout
        wanted = {p.id: p for p in layout.plots}
        dropped = []

        def stale(plot_id: int) -> bool:  # gone, or now of the other kind (made anew)
            plot = wanted.get(plot_id)
            return plot is None or (plot.kind == "time") != isinstance(
                self.panels[plot_id].widget, LiveChart
            )

        for plot_id in [i for i in self.panels if stale(i)]:
            panel = self.panels.pop(plot_id)
            panel.widget.stop()
            if isinstance(panel.widget, LiveChart):
                dropped += [layer_key(plot_id, axis) for axis in AXES]
            else:
                dropped.append(xy_layer_key(plot_id))
            panel.hide()
            panel.setParent(None)
            panel.deleteLater()
        for plot in layout.plots:
            if plot.id not in self.panels:
                self.panels[plot.id] = self._make_panel(plot)
        for index, plot in enumerate(layout.plots):
            panel = self.panels[plot.id]
            panel.setObjectName(f"plotPanel:{index}")
            self.splitter.insertWidget(index, panel)
            panel.show()
        self._show_time_axes()
        for plot in layout.plots:
            widget = self.panels[plot.id].widget
            if isinstance(widget, LiveChart):
                widget.set_view(plot, layout.placement, layout.series)
                self._set_context(plot.id)
            else:
                widget.set_plot(plot)
        self.align_axes()
        if dropped:
            self.layers_dropped.emit(dropped)
        if user and layout != old:
            self.layout_changed.emit(layout)

    def _show_time_axes(self) -> None:
        """Time labels once, under the bottom plot; the plots above draw only its grid lines
        (widgets/time_grid.py: a hidden axis still redid its ticks every frame)."""
        charts = self.charts
        self._ticks.source = charts[-1].getPlotItem().getAxis("bottom")
        for chart in charts:
            last = chart is charts[-1]
            chart.getPlotItem().showAxis("bottom", last)
            grid = self._grids.get(chart)
            if grid is None and not last:
                grid = self._grids[chart] = TimeGrid(chart.getPlotItem().getViewBox(), self._ticks)
                grid.set_style(self.theme.axis, self.theme.grid_alpha)
            if grid is not None:
                grid.setVisible(not last)
        for chart in [c for c in self._grids if c not in charts]:
            del self._grids[chart]

    def align_axes(self) -> None:
        """Time plots one above the other show the same instant at the same x: their left
        axes get the width of the widest, and when one has a right axis all have one (empty
        where no series is on it), as wide as the widest."""
        charts = self.charts
        if len(charts) < 2:
            for chart in charts:
                chart.getPlotItem().getAxis("left").setWidth(None)
                chart.getPlotItem().getAxis("right").setWidth(None)
            return
        item = lambda c: c.getPlotItem()  # noqa: E731
        right = {c: bool(c.layers.get("right") and c.layers["right"].keys) for c in charts}
        for side in ("left", "right"):
            axes = [item(c).getAxis(side) for c in charts]
            if side == "right":
                if not any(right.values()):
                    for c in charts:
                        item(c).hideAxis("right")
                    continue
                for c, axis in zip(charts, axes, strict=True):
                    item(c).showAxis("right")
                    axis.setStyle(showValues=right[c])
            width = max(_natural_width(a) for a in axes)
            for axis in axes:
                if axis.fixedWidth != width:
                    axis.setWidth(width)

    def _make_panel(self, plot) -> PlotPanel:
        if plot.kind == "time":
            widget = LiveChart(
                self.store,
                self.window_s,
                self.fps_setting,
                plot_id=plot.id,
                origin=self.origin,
                colors=self.colors,
            )
            widget.set_producers(*self._producers)
            widget.set_units(self._unit_of)
            widget.set_theme(self.theme)
            widget.set_live(self.live)
            widget.frame_requested.connect(self.frame_requested, Qt.DirectConnection)
            widget.follow_changed.connect(self._on_follow_changed)
            widget.paused_changed.connect(self._on_paused_changed)
            widget.series_toggled.connect(self._on_series_toggled)
            widget.panned.connect(self._on_panned)
            widget.set_driven(True)
            widget.series_dropped.connect(
                lambda keys, axis, plot_id=plot.id: self.move_series(keys, plot_id, axis)
            )
            if not self.following:  # a plot added while the others are held: held too
                widget.set_follow(False)
        else:
            widget = XYPlot(self.store, plot)
            widget.set_theme(self.theme)
            widget.set_live(self.live)
            widget.frame_requested.connect(self.frame_requested, Qt.DirectConnection)
            widget.plot_changed.connect(lambda p: self.change(self.view_layout.with_plot(p)))
        return PlotPanel(plot.id, widget)

    def change(self, layout: ViewLayout) -> None:
        """A change the user made (menus, the series list, a drop): show it and say so."""
        self.set_layout(layout, user=True)

    def set_plot_menu(self, menu_for: Callable) -> None:
        """`menu_for(plot id)`: the QMenu of a time plot's own actions in its context menu."""
        self._plot_menu = menu_for
        for plot in self.view_layout.time_plots:
            self._set_context(plot.id)

    def set_context_actions(self, actions: list) -> None:
        """Actions every plot's right-click menu offers (after the plot's own menu)."""
        self._context = list(actions)
        for plot in self.view_layout.time_plots:
            self._set_context(plot.id)

    def _set_context(self, plot_id: int) -> None:
        own = [self._plot_menu(plot_id)] if self._plot_menu is not None else []
        self.panels[plot_id].widget.set_context_actions(own + self._context)

    # -- what the window asks of "the chart" -----------------------------------------------------
    def set_follow(self, follow: bool) -> None:
        self._for_all(lambda c: c.set_follow(follow))

    def set_paused(self, paused: bool) -> None:
        self._for_all(lambda c: c.set_paused(paused))

    def _for_all(self, do) -> None:
        before = (self.following, self.paused)
        self._syncing = True
        try:
            for chart in self.charts:
                do(chart)
        finally:
            self._syncing = False
        self.following, self.paused = self.chart.following, self.chart.paused
        if self.paused != before[1]:
            self.paused_changed.emit(self.paused)
        if self.following != before[0]:
            self.follow_changed.emit(self.following)

    @pyqtSlot(bool)
    def _on_follow_changed(self, follow: bool) -> None:
        if not self._syncing:  # one plot was panned (or followed again): all of them
            self.set_follow(follow)

    @pyqtSlot(bool)
    def _on_paused_changed(self, paused: bool) -> None:
        if not self._syncing:
            self.set_paused(paused)

    @pyqtSlot(object, bool)
    def _on_series_toggled(self, key: SeriesKey, visible: bool) -> None:
        self.change(self.view_layout.with_series(key, visible=visible))

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        for panel in self.panels.values():
            panel.widget.set_theme(theme)
        for grid in self._grids.values():
            grid.set_style(theme.axis, theme.grid_alpha)

    def set_live(self, live: bool) -> None:
        self.live = live
        for panel in self.panels.values():
            panel.widget.set_live(live)
        self._set_pace()

    def set_fps(self, fps: float) -> None:
        self.fps_setting = fps
        for chart in self.charts:
            chart.set_fps(fps)
        self._set_pace()

    def _set_pace(self) -> None:
        live_ms = frame_interval_ms(self.fps_setting)
        self._frame_timer.setInterval(live_ms if self.live else IDLE_FRAME_MS)

    @pyqtSlot()
    def tick(self) -> None:
        """Every time plot asks for the frames it is due."""
        now = time.time()  # one instant for all: the same span, the same ticks, in every plot
        for chart in self.charts:
            chart.tick(now)

    @pyqtSlot(float, float)
    def _on_panned(self, x0: float, x1: float) -> None:
        """One plot was panned or zoomed in time: the others show the same span (no x link:
        while following, each plot sets its own range per frame, and a link made every one
        of those move all the others)."""
        for chart in self.charts:
            if chart is not self.sender():
                chart.getPlotItem().getViewBox().setXRange(x0, x1, padding=0)
                QTimer.singleShot(0, chart.tick)

    def set_window(self, seconds: float) -> None:
        self.window_s = seconds
        for chart in self.charts:
            chart.set_window(seconds)

    def set_producers(self, names: list[str], hidden: set[str] = frozenset()) -> None:
        self._producers = (list(names), set(hidden))
        self.colors.set_producers(names)
        for chart in self.charts:
            chart.set_producers(names, hidden)

    def set_units(self, unit_of: Callable[[SeriesKey], str]) -> None:
        self._unit_of = unit_of
        for chart in self.charts:
            chart.set_units(unit_of)

    def visible_range(self) -> tuple[float, float]:
        return self.chart.visible_range()

    def visible_series(self) -> list[SeriesKey]:
        """Series shown, plot by plot from the top, each plot's in legend order."""
        return [key for chart in self.charts for key in chart.visible_series()]

    def curve(self, key: SeriesKey):
        for chart in self.charts:
            curve = chart.curve(key)
            if curve is not None:
                return curve
        return None

    def chart_of(self, key: SeriesKey) -> LiveChart | None:
        return next((c for c in self.charts if c.curve(key) is not None), None)

    def color_of(self, key: SeriesKey):
        chart = self.chart_of(key)
        if chart is not None:
            return chart.color_of(key)
        return self.view_layout.view_of(key).color or self.colors.assign([key])[key]

    def redraw(self) -> None:
        for panel in self.panels.values():
            panel.widget.redraw()

    @pyqtSlot(object)
    def show_frames(self, frames: list) -> None:
        """Frames built in one pass of the consumer thread, each to its plot."""
        for frame in frames:
            self.show_frame(frame)
        overdue = [chart for chart in self.charts if chart.overdue]
        if overdue:  # frames were due while these were built: ask again now, together
            for chart in overdue:
                chart.overdue = False
            QTimer.singleShot(0, self.tick)

    def show_frame(self, frame: Frame) -> None:
        """A built frame, to the plot whose layer it is (none if the plot is gone)."""
        head, _, tail = frame.request.layer.partition(":")
        plot_id = int(tail if head == "xy" else head)
        panel = self.panels.get(plot_id)
        if panel is not None and isinstance(panel.widget, LiveChart) == (head != "xy"):
            panel.widget.show_frame(frame)

    def fps(self, seconds: float = 1.0) -> float:
        return self.chart.fps(seconds)

    def stop(self) -> None:
        self._frame_timer.stop()
        self._align_timer.stop()
        for panel in self.panels.values():
            panel.widget.stop()

    def svg(self) -> bytes:
        """Every plot as one SVG drawing, top to bottom (pyqtgraph draws each plot's scene;
        they are nested here at their heights)."""
        from pyqtgraph.exporters import SVGExporter

        ET.register_namespace("", SVG_NS)
        ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
        root = ET.Element(f"{{{SVG_NS}}}svg", version="1.1")
        y, width = 0.0, 0.0
        for plot in self.view_layout.plots:
            widget = self.panels[plot.id].widget
            item = (
                widget.getPlotItem()
                if isinstance(widget, LiveChart)
                else widget.graph.getPlotItem()
            )
            part = ET.fromstring(SVGExporter(item).export(toBytes=True))
            w, h = _svg_size(part, item)
            part.set("width", f"{w:g}")
            part.set("height", f"{h:g}")
            part.set("x", "0")
            part.set("y", f"{y:g}")
            root.append(part)
            y, width = y + h, max(width, w)
        root.set("width", f"{width:g}")
        root.set("height", f"{y:g}")
        root.set("viewBox", f"0 0 {width:g} {y:g}")
        return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root)

    def add_plot(self, kind: str = "time", **settings) -> int | None:
        """A new plot at the bottom (View → Add plot); its id (None: there are MAX_PLOTS)."""
        try:
            layout, plot_id = self.view_layout.adding_plot(kind, **settings)
        except LayoutError:
            return None
        self.change(layout)
        return plot_id

    def remove_plot(self, plot_id: int) -> bool:
        """Remove a plot (its series go to the top time plot); not the last time plot."""
        try:
            layout = self.view_layout.removing_plot(plot_id)
        except LayoutError:
            return False
        self.change(layout)
        return True

    def move_series(self, keys, plot_id: int | None = None, axis: str | None = None) -> None:
        """Put `keys` on plot `plot_id` (None: where they are) on `axis` (None: as they are),
        shown: what a drop or the series list's menu does."""
        layout = self.view_layout
        for key in keys:
            changes = {"visible": True}
            if plot_id is not None:
                changes["plot"] = plot_id
            if axis is not None:
                changes["axis"] = axis
            layout = layout.with_series(key, **changes)
        self.change(layout)
