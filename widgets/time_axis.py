"""A wall-clock time axis for x values stored relative to an origin.

The chart plots `t - origin` rather than epoch seconds: at 1.8e9 s, float32 paths in Qt lose
sub-second precision and a zoomed-in curve jitters. This axis adds the origin back for ticks
and labels, so the user still reads local wall-clock time.

While the chart scrolls, the axis is redrawn on every frame, but its ticks hardly change: the
same times, a pixel further left. Working them out (and formatting them with strftime) was about
a millisecond of the GUI thread per frame, so ticks are computed for a range three times the
view and reused while the view stays inside it at the same zoom, and labels are remembered.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg

LABELS_REMEMBERED = 512


@dataclass(frozen=True)
class _Ticks:
    size: float
    span: float
    lo: float
    hi: float
    levels: list  # [(spacing, [epoch values])]


class WallClockAxis(pg.DateAxisItem):
    def __init__(self, origin: float, **kwargs):
        super().__init__(**kwargs)
        self.origin = origin
        self._ticks: _Ticks | None = None
        self._labels: dict[tuple[float, float], str] = {}

    def tickValues(self, minVal, maxVal, size):
        lo, hi, span = minVal + self.origin, maxVal + self.origin, maxVal - minVal
        cached = self._ticks
        if (
            cached is None
            or size != cached.size
            or abs(span - cached.span) > 1e-6 * max(span, 1e-9)
            or lo < cached.lo
            or hi > cached.hi
        ):
            levels = super().tickValues(lo - span, hi + span, 3 * size)  # the same density
            cached = self._ticks = _Ticks(size, span, lo - span, hi + span, levels)
        return [
            (spacing, [v - self.origin for v in values if lo <= v <= hi])
            for spacing, values in cached.levels
        ]

    def tickStrings(self, values, scale, spacing):
        missing = [v for v in values if (v, spacing) not in self._labels]
        if missing:
            if len(self._labels) > LABELS_REMEMBERED:
                self._labels.clear()
            epoch = [v + self.origin for v in missing]
            for v, text in zip(missing, super().tickStrings(epoch, scale, spacing), strict=True):
                self._labels[(v, spacing)] = text
        return [self._labels[(v, spacing)] for v in values]

    def linkToView(self, view):
        # DateAxisItem also limits the view to valid epoch times; ours are relative.
        self._linkToView_internal(view)
