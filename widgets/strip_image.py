"""Shows a strip frame's image (app/strip.py) in the plot, at the times and values it covers.

The image is rendered in device pixels (FrameRequest.pixel_ratio): at 2x it has twice the
columns and rows of the plot's logical size and is drawn into the same rect, so each of its
pixels lands on one pixel of the screen (it was drawn at logical pixels and stretched: blocky).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import QRectF
from PyQt5.QtGui import QImage, QPainter

from app.core.strip import Grid


class StripImageItem(pg.GraphicsObject):
    def __init__(self):
        super().__init__()
        self._image: QImage | None = None
        self._pixels: np.ndarray | None = None  # the buffer the QImage reads: keep it alive
        self._rect = QRectF()

    def set_frame(self, pixels: np.ndarray, grid: Grid, origin: float, ratio: float = 1.0) -> None:
        """`ratio`: device pixels per logical pixel the image was rendered at; its rect in the
        view (times and values) does not depend on it."""
        self.prepareGeometryChange()
        self._pixels = pixels
        height, width = pixels.shape
        self._image = QImage(
            pixels.data, width, height, 4 * width, QImage.Format_ARGB32_Premultiplied
        )
        self._image.setDevicePixelRatio(ratio)
        # row 0 is y0; the view's y axis points up, so the rect starts at y0 with height > 0
        self._rect = QRectF(grid.t0 - origin, grid.y0, grid.t1 - grid.t0, grid.y1 - grid.y0)
        self.update()

    def image(self) -> QImage | None:
        """The image drawn (tests and tools)."""
        return self._image

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, *_args) -> None:
        if self._image is not None:
            painter.setRenderHint(QPainter.SmoothPixmapTransform, False)
            painter.drawImage(self._rect, self._image)
