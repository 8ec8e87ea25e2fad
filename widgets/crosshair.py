"""The chart's crosshair, its two cursors and the readout under the chart.

Hovering the plot draws a vertical line at the mouse and reads, for each visible series, the
stored sample nearest to that time (SeriesStore.nearest: exact where the raw ring still holds
the samples, a bucket's min..max where only the pyramid remembers). A left click on the plot
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
from PyQt5.QtCore import QEvent, QObject, QPointF, Qt, QTimer, pyqtSlot
from PyQt5.QtWidgets import QLabel

from app.core.readout import Reading, cursors_text, hover_text
from widgets.live_chart import LiveChart, series_label
from widgets.theme import Theme

READ_INTERVAL_S = 1 / 30
MAX_READ = 40  # series read and shown; more are counted ("+N more")
NEAR_PX = 3  # a sample further than this many pixels from the mouse says how far it is
HINT = "Hover the chart to read values · click: cursor A, then B · Esc: clear · Space: pause"


class Crosshair(QObject):
    """Hover line, cursors A and B, and `readout` (QLabel "cursorReadout") for a LiveChart.

    State for the window and tests: `hover_t` (epoch s under the mouse, None when off the
    plot), `hover_readings` (what was read there), `cursor_times()` (A, B epoch s or None) and
    `cursor_readings` ({"A": [...], "B": [...]})."""

    def __init__(self, chart: LiveChart):
        super().__init__(chart)
        self.chart = chart
        self.view = chart.getPlotItem().getViewBox()
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
        self.theme = chart.theme
        self._line = pg.InfiniteLine(angle=90, movable=False, pen=self._hover_pen())
        self._line.setVisible(False)
        self._line.setZValue(20)
        self.view.addItem(self._line, ignoreBounds=True)
        self._cursors: dict[str, pg.InfiniteLine] = {}
        self._last_read = 0.0
        self._cursors_moved = False  # read the cursors' values again (mouse moves don't)
        self._cursor_keys: list = []  # the series they were read for
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._read)
        scene = chart.scene()
        scene.sigMouseMoved.connect(self._on_mouse_moved)
        scene.sigMouseClicked.connect(self._on_mouse_clicked)
        chart.viewport().installEventFilter(self)

    # -- public ----------------------------------------------------------------------------------
    def cursor_times(self) -> tuple[float | None, float | None]:
        return tuple(self._epoch(self._cursors[n].value()) if n in self._cursors else None
                     for n in "AB")  # fmt: skip

    def set_theme(self, theme: Theme) -> None:
        """The hover line and the cursors (with their labels) in `theme`'s colours."""
        if theme is self.theme:
            return
        self.theme = theme
        self._line.setPen(self._hover_pen())
        for name, line in self._cursors.items():
            color = theme.cursors[name]
            line.setPen(pg.mkPen(color, width=2))
            line.setHoverPen(pg.mkPen(color, width=4))
            line.label.setColor(color)

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
        color = self.cursor_color(name)
        line = pg.InfiniteLine(
            t - self.chart.origin,
            angle=90,
            movable=True,
            pen=pg.mkPen(color, width=2),
            hoverPen=pg.mkPen(color, width=4),
            label=name,
            labelOpts={"position": 0.95, "color": color},
        )
        line.setZValue(21)
        line.sigPositionChanged.connect(self._on_cursor_moved)
        self.view.addItem(line, ignoreBounds=True)
        self._cursors[name] = line
        self._cursors_moved = True
        self._read()

    def clear_cursors(self) -> None:
        for line in self._cursors.values():
            self.view.removeItem(line)
        self._cursors.clear()
        self.cursor_readings = {}
        self._show()

    # -- events ----------------------------------------------------------------------------------
    @pyqtSlot(object)
    def _on_mouse_moved(self, pos: QPointF) -> None:
        if not self.view.sceneBoundingRect().contains(pos):
            self._leave()
            return
        x = self.view.mapSceneToView(pos).x()
        self.hover_t = x + self.chart.origin
        self._line.setPos(x)
        self._line.setVisible(True)
        self._schedule()

    @pyqtSlot(object)
    def _on_mouse_clicked(self, event) -> None:
        if event.isAccepted() or event.button() != Qt.LeftButton or event.double():
            return  # a legend entry, a cursor line or the menu took it
        pos = event.scenePos()
        if self.view.sceneBoundingRect().contains(pos):
            self.drop_cursor(self.view.mapSceneToView(pos).x() + self.chart.origin)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Leave:
            self._leave()
        return False

    def _leave(self) -> None:
        if self.hover_t is not None:
            self.hover_t, self.hover_readings = None, []
            self._line.setVisible(False)
            self._show()

    @pyqtSlot()
    def _on_cursor_moved(self) -> None:
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
        visible = self.chart.visible_series()
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

    def _epoch(self, x: float) -> float:
        return x + self.chart.origin


def _read(store, keys, t: float) -> list[Reading]:
    return [Reading(key, series_label(key), store.nearest(key, t)) for key in keys]
