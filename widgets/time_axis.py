"""A wall-clock time axis for x values stored relative to an origin.

The chart plots `t - origin` rather than epoch seconds: at 1.8e9 s, float32 paths in Qt lose
sub-second precision and a zoomed-in curve jitters. This axis adds the origin back for ticks
and labels, so the user still reads local wall-clock time.
"""

from __future__ import annotations

import pyqtgraph as pg


class WallClockAxis(pg.DateAxisItem):
    def __init__(self, origin: float, **kwargs):
        super().__init__(**kwargs)
        self.origin = origin

    def tickValues(self, minVal, maxVal, size):
        ticks = super().tickValues(minVal + self.origin, maxVal + self.origin, size)
        return [(spacing, [v - self.origin for v in values]) for spacing, values in ticks]

    def tickStrings(self, values, scale, spacing):
        return super().tickStrings([v + self.origin for v in values], scale, spacing)

    def linkToView(self, view):
        # DateAxisItem also limits the view to valid epoch times; ours are relative.
        self._linkToView_internal(view)
