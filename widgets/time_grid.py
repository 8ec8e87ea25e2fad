"""Vertical grid lines for a plot whose time axis is not shown (the upper plots of a stack).

Stacked plots show the time labels once, under the bottom plot. The others still want their
vertical grid lines, but a hidden pyqtgraph axis still regenerates its ticks in Python on every
frame (the time range moves every frame) to draw them; with eight plots that was a tenth of
the GUI thread. This item draws the same lines from the tick positions of the axis that is
shown (`source`), computed once per frame for all the plots that share them (`TickCache`), in
one drawLines call, in the view box's pixel coordinates (so a new range needs a repaint, not a
geometry change).
"""

from __future__ import annotations

import pyqtgraph as pg
from PyQt5.QtCore import QLineF, QRectF
from PyQt5.QtGui import QPainter

GRID_Z = -100  # under the data (the strip image, the curves)


class TickCache:
    """The time axis' tick positions for the range shown, asked once per range."""

    def __init__(self):
        self.source: pg.AxisItem | None = None
        self._key: tuple | None = None
        self._ticks: list = []

    def ticks(self, x0: float, x1: float, width: float) -> list:
        """[(alpha factor, [x, ...]), ...]: major lines first, then minor ones."""
        if self.source is None or width <= 0:
            return []
        key = (x0, x1, round(width))
        if key != self._key:
            self._key = key
            levels = self.source.tickValues(x0, x1, width)
            self._ticks = [(1.0 if i == 0 else 0.5, list(values))
                           for i, (_spacing, values) in enumerate(levels[:2])]  # fmt: skip
        return self._ticks


class TimeGrid(pg.GraphicsObject):
    """Vertical lines at the time ticks, over the whole view box of a plot."""

    def __init__(self, view: pg.ViewBox, cache: TickCache):
        super().__init__(view)
        self.view = view
        self.cache = cache
        self.color = pg.mkColor("#000000")
        self.alpha = 0.25
        self._pens: dict[float, object] = {}  # per tick level
        self.setZValue(GRID_Z)
        view.sigXRangeChanged.connect(self.update)
        view.sigResized.connect(self._resized)

    def set_style(self, color, alpha: float) -> None:
        self.color, self.alpha = pg.mkColor(color), alpha
        self._pens = {}
        self.update()

    def _pen(self, factor: float):
        pen = self._pens.get(factor)
        if pen is None:
            color = pg.mkColor(self.color)
            color.setAlphaF(min(self.alpha * factor * 1.2, 1.0))
            pen = self._pens[factor] = pg.mkPen(color, width=0)
        return pen

    def _resized(self) -> None:
        self.prepareGeometryChange()
        self.update()

    def boundingRect(self) -> QRectF:
        return self.view.boundingRect()

    def paint(self, painter: QPainter, *_args) -> None:
        rect = self.view.boundingRect()
        (x0, x1), _ = self.view.viewRange()
        if x1 <= x0:
            return
        scale = rect.width() / (x1 - x0)
        for factor, values in self.cache.ticks(x0, x1, rect.width()):
            painter.setPen(self._pen(factor))
            lines = [
                QLineF(rect.left() + (v - x0) * scale, rect.top(),
                       rect.left() + (v - x0) * scale, rect.bottom())
                for v in values
            ]  # fmt: skip
            if lines:
                painter.drawLines(lines)
