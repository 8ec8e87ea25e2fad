"""One value axis of a plot: its view box, strip image, y range and frame in flight.

A plot draws its series against a left axis and, when some series are assigned to it, a right
one; each has its own y range (steady, auto or fixed, app.core.view_layout.AxisView) and may
be logarithmic, so each is rendered as its own layer: its own frame request, its own renderer
in the consumer thread (keyed by `layer`), its own image. The plot (widgets/live_chart.py) asks
each layer for a request on its timer and hands each built frame to the layer it was for.
"""

from __future__ import annotations

import math

import pyqtgraph as pg

from app.core.frames import FrameRequest
from app.core.series_colors import argb
from app.core.stable_range import StableRange
from app.core.store import SeriesKey
from app.core.view_layout import AxisView
from widgets.strip_image import StripImageItem
from widgets.value_axis import ValueAxis

AUTO_PAD = 0.05


class ChartLayer:
    """State of one axis: `keys` drawn on it, their ARGB `colors` (replaced whole on change:
    a request in flight keeps the dict it was sent with), the frame `pending`, what was last
    asked for (`drawn`), and whether a frame was due while one was in flight (`late`)."""

    def __init__(self, name: str, layer: str, view: pg.ViewBox, axis: ValueAxis):
        self.name = name  # "left" or "right"
        self.layer = layer  # the renderer's key: view_layout.layer_key(plot id, name)
        self.view = view
        self.axis = axis
        self.settings = AxisView()
        self.strip = StripImageItem()
        self.strip.setZValue(-1)  # under the sparse curves
        view.addItem(self.strip)
        self.y_range = StableRange()
        self.keys: list[SeriesKey] = []
        self.colors: dict[SeriesKey, int] = {}
        self.hidden: frozenset[SeriesKey] = frozenset()
        self.lined: set[SeriesKey] = set()  # series whose curve holds a line
        self.pending: FrameRequest | None = None
        self.drawn: tuple | None = None
        self.late = False
        self.pending_live = False  # the frame in flight was asked for while following
        self.shown_state: tuple | None = None  # `drawn` of the frame shown last

    @property
    def log(self) -> bool:
        return self.settings.log

    def configure(self, settings: AxisView) -> bool:
        """New range mode / log scale; True when it changed (the layer is then drawn anew)."""
        if settings == self.settings:
            return False
        log_changed = settings.log != self.settings.log
        self.settings = settings
        self.y_range.reset()
        self.drawn = None
        if log_changed:
            self.axis.setLogMode(False, settings.log)
            self.axis.picture = None
            self.axis.update()
        fixed = self.fixed_range()
        if fixed is not None:
            self.view.setYRange(*fixed, padding=0)
        return True

    def fixed_range(self) -> tuple[float, float] | None:
        """The fixed range in view units (decades on a log axis)."""
        fixed = self.settings.fixed
        if fixed is None:
            return None
        return (math.log10(fixed[0]), math.log10(fixed[1])) if self.log else fixed

    def set_colors(self, colors: dict[SeriesKey, object]) -> None:
        """The pens of the series on this axis (QColor/str per key), as ARGB for requests."""
        self.colors = {key: argb(color) for key, color in colors.items()}
        self.drawn = None

    def request_y(self, following: bool) -> tuple[float, float]:
        """The y range a frame is asked for: the view's when the user moved it, else what the
        mode says."""
        if not following:
            return tuple(self.view.viewRange()[1])
        fixed = self.fixed_range()
        if fixed is not None:
            return fixed
        return self.y_range.range or (-1.0, 1.0)

    def new_y_range(self, extent: tuple[float, float]) -> tuple[float, float] | None:
        """After a frame while following: the range to show next, or None to keep it."""
        mode = self.settings.mode
        if mode == "fixed":
            return None
        if mode == "steady":
            return self.y_range.update(*extent)
        lo, hi = extent  # auto: the data's extent, padded, every frame it changes
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return None
        span = hi - lo if hi > lo else max(abs(hi), 1.0) * 0.2
        new = (lo - AUTO_PAD * span, hi + AUTO_PAD * span)
        if new == self.y_range.range:
            return None
        self.y_range.range = new
        return new
