"""The chart's crosshair, its two cursors and the readout under the chart.

Hovering a plot draws a vertical line at the mouse (in every time plot of the stack) and reads,
for each visible series, the stored sample nearest to that time (SeriesStore.nearest: exact
where the raw ring still holds the samples, a bucket's min..max where only the pyramid
remembers). A left click on the plot
(or C, at the mouse) drops cursor A, the next one cursor B; the readout then shows Δt = B - A
and each series' Δvalue. A click with both placed starts a new pair. Cursors are lines that
can be dragged; Esc clears them.

Reading happens on the GUI thread, on mouse moves: at most ~30 times a second (a trailing read
catches the last position), and for the first MAX_READ visible series (legend order), a few us
each. The line itself follows the mouse on every move. Lines and labels take the chart's theme
(`set_theme`); the readout is a plain label in the window's palette.
"""

from __future__ import annotations

import time

import pyqtgraph as pg
from PyQt5.QtCore import QEvent, QObject, QPointF, Qt, QTimer
from PyQt5.QtWidgets import QLabel

from app.core.readout import Reading, cursors_text, hover_text
from widgets.live_chart import LiveChart, series_label
from widgets.theme import Theme

READ_INTERVAL_S = 1 / 30
MAX_READ = 40  # series read and shown; more are counted ("+N more")
NEAR_PX = 3  # a sample further than this many pixels from the mouse says how far it is
HINT = "Hover the chart to read values · click: cursor A, then B · Esc: clear · Space: pause"


class Crosshair(QObject):
    """Hover line, cursors A and B, and `readout` (QLabel "cursorReadout") for the time plots
    of a PlotStack (or one LiveChart): the lines are drawn in every plot at the same time.

    State for the window and tests: `hover_t` (epoch s under the mouse, None when off the
    plots), `hover_readings` (what was read there), `cursor_times()` (A, B epoch s or None) and
    `cursor_readings` ({"A": [...], "B": [...]})."""

    def __init__(self, plots):
        super().__init__(plots)
        self.plots = plots  # a PlotStack (its `charts`) or a single LiveChart
        self.readout = QLabel(HINT)
        self.readout.setObjectName("cursorReadout")
        self.readout.setTextFormat(Qt.PlainText)
        self.readout.setWordWrap(True)
        self.readout.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.readout.setContentsMargins(6, 2, 6, 2)
        self.hover_t: float | None = None
        self.hover_readings: list[Reading] = []
        self.cursor_readings: dict[str, list[Reading]] = {}
        self._more = 0
        self.theme = plots.theme
        self._lines: dict[LiveChart, pg.InfiniteLine] = {}  # the hover line in each plot
        self._cursors: dict[str, float] = {}  # cursor -> epoch time
        self._cursor_lines: dict[str, dict[LiveChart, pg.InfiniteLine]] = {}
        self._last_read = 0.0
        self._cursors_moved = False  # read the cursors' values again (mouse moves don't)
        self._cursor_keys: list = []  # the series they were read for
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._read)
        self.attach()

    @property
    def charts(self) -> list[LiveChart]:
        return self.plots.charts if hasattr(self.plots, "charts") else [self.plots]

    @property
    def chart(self) -> LiveChart:
        return self.charts[0]

    @property
    def view(self):
        return self.chart.getPlotItem().getViewBox()

    def attach(self) -> None:
        """Draw in every time plot (again after plots were added or removed)."""
        charts = self.charts
        for chart in [c for c in self._lines if c not in charts]:
            del self._lines[chart]
            for lines in self._cursor_lines.values():
                lines.pop(chart, None)
        for chart in charts:
            if chart in self._lines:
                continue
            line = pg.InfiniteLine(angle=90, movable=False, pen=self._hover_pen())
            line.setVisible(False)
            line.setZValue(20)
            chart.getPlotItem().getViewBox().addItem(line, ignoreBounds=True)
            self._lines[chart] = line
            scene = chart.scene()
            scene.sigMouseMoved.connect(lambda pos, c=chart: self._on_mouse_moved(pos, c))
            scene.sigMouseClicked.connect(lambda ev, c=chart: self._on_mouse_clicked(ev, c))
            chart.viewport().installEventFilter(self)
            for name, t in self._cursors.items():
                self._cursor_line(name, chart, t)

    # -- public ----------------------------------------------------------------------------------
    def cursor_times(self) -> tuple[float | None, float | None]:
        return tuple(self._cursors.get(n) for n in "AB")

    def set_theme(self, theme: Theme) -> None:
        """The hover line and the cursors (with their labels) in `theme`'s colours."""
        if theme is self.theme:
            return
        self.theme = theme
        for line in self._lines.values():
            line.setPen(self._hover_pen())
        for name, lines in self._cursor_lines.items():
            color = theme.cursors[name]
            for line in lines.values():
                line.setPen(pg.mkPen(color, width=2))
                line.setHoverPen(pg.mkPen(color, width=4))
                line.label.setColor(color)

    def cursor_lines(self, name: str) -> list[pg.InfiniteLine]:
        """Cursor `name`'s line in each time plot, top to bottom ([] when not placed)."""
        lines = self._cursor_lines.get(name, {})
        return [lines[c] for c in self.charts if c in lines]

    def cursor_color(self, name: str) -> str:
        return self.theme.cursors[name]

    def _hover_pen(self):
        return pg.mkPen(self.theme.crosshair, style=Qt.DotLine)

    def drop_cursor(self, t: float | None = None) -> None:
        """Drop the next cursor at epoch time `t` (default: under the mouse, else the middle
        of the view): A, then B; with both placed, A anew (B removed)."""
        if t is None:
            t = self.hover_t if self.hover_t is not None else sum(self.chart.visible_range()) / 2
        if len(self._cursors) == 2:
            self.clear_cursors()
        name = "A" if "A" not in self._cursors else "B"
        self._cursors[name] = t
        self._cursor_lines[name] = {}
        for chart in self.charts:
            self._cursor_line(name, chart, t)
        self._cursors_moved = True
        self._read()

    def _cursor_line(self, name: str, chart: LiveChart, t: float) -> None:
        color = self.cursor_color(name)
        line = pg.InfiniteLine(
            t - chart.origin,
            angle=90,
            movable=True,
            pen=pg.mkPen(color, width=2),
            hoverPen=pg.mkPen(color, width=4),
            label=name,
            labelOpts={"position": 0.95, "color": color},
        )
        line.setZValue(21)
        line.sigPositionChanged.connect(lambda ln, n=name, c=chart: self._on_cursor_moved(n, c, ln))
        chart.getPlotItem().getViewBox().addItem(line, ignoreBounds=True)
        self._cursor_lines[name][chart] = line

    def clear_cursors(self) -> None:
        for lines in self._cursor_lines.values():
            for chart, line in lines.items():
                chart.getPlotItem().getViewBox().removeItem(line)
        self._cursors.clear()
        self._cursor_lines.clear()
        self.cursor_readings = {}
        self._show()

    # -- events ----------------------------------------------------------------------------------
    def _on_mouse_moved(self, pos: QPointF, chart: LiveChart) -> None:
        view = chart.getPlotItem().getViewBox()
        if not view.sceneBoundingRect().contains(pos):
            self._leave()
            return
        x = view.mapSceneToView(pos).x()
        self.hover_t = x + chart.origin
        for line in self._lines.values():  # the same time in every plot
            line.setPos(x)
            line.setVisible(True)
        self._schedule()

    def _on_mouse_clicked(self, event, chart: LiveChart) -> None:
        if event.isAccepted() or event.button() != Qt.LeftButton or event.double():
            return  # a legend entry, a cursor line or the menu took it
        pos = event.scenePos()
        view = chart.getPlotItem().getViewBox()
        if view.sceneBoundingRect().contains(pos):
            self.drop_cursor(view.mapSceneToView(pos).x() + chart.origin)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Leave:
            self._leave()
        return False

    def _leave(self) -> None:
        if self.hover_t is not None:
            self.hover_t, self.hover_readings = None, []
            for line in self._lines.values():
                line.setVisible(False)
            self._show()

    def _on_cursor_moved(self, name: str, chart: LiveChart, moved) -> None:
        """A cursor dragged in one plot: the same time in the others."""
        t = moved.value() + chart.origin
        if self._cursors.get(name) == t:
            return
        self._cursors[name] = t
        for other, line in self._cursor_lines.get(name, {}).items():
            if line is not moved:
                line.blockSignals(True)
                line.setValue(t - other.origin)
                line.blockSignals(False)
        self._cursors_moved = True
        self._schedule()

    # -- reading ---------------------------------------------------------------------------------
    def _schedule(self, *_args) -> None:
        """Read now if the last read is old enough, else once the interval is up."""
        if self._timer.isActive():
            return
        wait = self._last_read + READ_INTERVAL_S - time.perf_counter()
        if wait <= 0:
            self._read()
        else:
            self._timer.start(int(wait * 1000) + 1)

    def _read(self) -> None:
        self._last_read = time.perf_counter()
        visible = self.plots.visible_series()
        keys, self._more = visible[:MAX_READ], max(len(visible) - MAX_READ, 0)
        store = self.chart.store
        if self.hover_t is not None:
            self.hover_readings = _read(store, keys, self.hover_t)
        if self._cursors_moved or keys != self._cursor_keys:  # else they still hold
            self._cursors_moved, self._cursor_keys = False, keys
            self.cursor_readings = {
                name: _read(store, keys, t)
                for name, t in zip("AB", self.cursor_times(), strict=True)
                if t is not None
            }
        self._show()

    def _show(self) -> None:
        lines = []
        if self.hover_t is not None:
            (x0, x1), _ = self.view.viewRange()
            near = NEAR_PX * (x1 - x0) / max(self.view.width(), 1)
            lines.append(hover_text(self.hover_t, self.hover_readings, near, self._more))
        ta, tb = self.cursor_times()
        if ta is not None:
            a, b = self.cursor_readings.get("A", []), self.cursor_readings.get("B", [])
            lines.append(cursors_text(ta, tb, a, b, self._more))
        self.readout.setText("\n".join(lines) or HINT)


def _read(store, keys, t: float) -> list[Reading]:
    return [Reading(key, series_label(key), store.nearest(key, t)) for key in keys]
