"""A filled min/max band: how dense series are painted.

Painting one vertical 1-px segment per column costs ~5 ns per pixel in Qt's raster engine
(each pixel of a vertical line is in another row) and noisy data covers much of the plot: 8
noisy series took ~15 ms a frame. The same area filled as one polygon is rasterised in
horizontal spans: ~1.5 ms (see the commit that introduced this file). The band is at least
one pixel thick, so a quiet signal still shows as a line.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import QRectF, Qt
from PyQt5.QtGui import QBrush, QColor, QPainter


class BandItem(pg.GraphicsObject):
    def __init__(self, color: str):
        super().__init__()
        self._brush = QBrush(QColor(color))
        self._polygon = None
        self.data = (np.empty(0), np.empty(0), np.empty(0))  # x, lo, hi as drawn
        self._bounds = (None, None)  # ((xmin, xmax), (ymin, ymax)) of the data
        self._rect = QRectF()

    def setData(self, x: np.ndarray, lo: np.ndarray, hi: np.ndarray, min_height: float) -> None:
        """Fill between `lo` and `hi` at columns `x`; `min_height` is one pixel, in data units."""
        self.prepareGeometryChange()
        if not len(x):
            self._polygon, self._bounds, self._rect = None, (None, None), QRectF()
            self.data = (x, lo, hi)
            self.update()
            return
        hi = np.maximum(hi, lo + min_height)
        self.data = (x, lo, hi)
        xs = np.concatenate((x, x[::-1]))
        ys = np.concatenate((hi, lo[::-1]))
        self._polygon = pg.functions.arrayToQPolygonF(xs, ys)
        ymin, ymax = float(lo.min()), float(hi.max())
        self._bounds = ((float(x[0]), float(x[-1])), (ymin, ymax))
        self._rect = QRectF(x[0], ymin, x[-1] - x[0], ymax - ymin)
        self.update()

    def clear(self) -> None:
        if self._polygon is not None:
            self.setData(np.empty(0), np.empty(0), np.empty(0), 0.0)

    def dataBounds(self, axis: int, frac: float = 1.0, orthoRange=None):
        return self._bounds[axis] or (None, None)

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, *_args) -> None:
        if self._polygon is None:
            return
        painter.setRenderHint(QPainter.Antialiasing, False)
        painter.setPen(Qt.NoPen)
        painter.setBrush(self._brush)
        painter.drawPolygon(self._polygon)
