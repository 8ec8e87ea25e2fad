"""A wall-clock time axis for x values stored relative to an origin.

The chart plots `t - origin` rather than epoch seconds: at 1.8e9 s, float32 paths in Qt lose
sub-second precision and a zoomed-in curve jitters. This axis adds the origin back for ticks
and labels, so the user still reads local wall-clock time.

Every label is a time a person reads off a clock (`wall_clock_label`): `14:03:07` at
second-ish spacing, `14:03:07.3` (as many decimals as the spacing needs) closer than a second,
`14:03` at minute spacing, and the date on the first tick of a day (`2024-05-02 00:00`) or
alone at day spacing. pyqtgraph's own labels drop the hours below a second of spacing (`49.000`)
because they are formatted per zoom level, from the level's nominal spacing: here the spacing a
label is formatted for is the one the ticks really have, the finest of the levels shown, so a
whole-minute tick among tenths reads `14:04:00.0`, like its neighbours.

While the chart scrolls, the axis is redrawn on every frame, but its ticks hardly change: the
same times, a pixel further left. Working them out (and formatting them with strftime) was about
a millisecond of the GUI thread per frame, so ticks are computed for a range three times the
view and reused while the view stays inside it at the same zoom, and labels are remembered.
"""

from __future__ import annotations

import datetime
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from pyqtgraph.graphicsItems import DateAxisItem as date_axis

LABELS_REMEMBERED = 512
DAY = 86400.0
MAX_DECIMALS = 3  # pyqtgraph's finest ticks are a millisecond apart

# pyqtgraph's zoom levels (which ticks, how far apart) with example labels as wide as ours:
# the example sets how close ticks may come, so our wider labels never overlap.
ZOOM_LEVELS = (
    (np.inf, date_axis.YEAR_MONTH_ZOOM_LEVEL, "9999-99-99"),
    (5 * DAY, date_axis.MONTH_DAY_ZOOM_LEVEL, "9999-99-99"),
    (6 * 3600, date_axis.DAY_HOUR_ZOOM_LEVEL, "99:99"),
    (15 * 60, date_axis.HOUR_MINUTE_ZOOM_LEVEL, "99:99"),
    (30, date_axis.HMS_ZOOM_LEVEL, "99:99:99"),
    (1, date_axis.MS_ZOOM_LEVEL, "99:99:99.999"),
)


def decimals_for(spacing: float) -> int:
    """How many decimals of a second tell ticks `spacing` apart: 0.5 -> 1, 0.25 -> 2."""
    for decimals in range(MAX_DECIMALS + 1):
        scaled = spacing * 10**decimals
        if abs(scaled - round(scaled)) < 0.01 * scaled:
            return decimals
    return MAX_DECIMALS


def wall_clock_label(epoch: float, spacing: float) -> str:
    """The local time at `epoch` as a label among ticks `spacing` seconds apart."""
    if spacing >= DAY:
        return f"{datetime.datetime.fromtimestamp(round(epoch)):%Y-%m-%d}"
    decimals = 0 if spacing >= 1 else decimals_for(spacing)
    seconds, fraction = divmod(round(epoch * 10**decimals), 10**decimals)
    when = datetime.datetime.fromtimestamp(seconds)
    text = f"{when:%H:%M}" if spacing >= 60 else f"{when:%H:%M:%S}"
    if decimals:
        text += f".{fraction:0{decimals}d}"
    if datetime.datetime.fromtimestamp(epoch - spacing).date() != when.date():
        text = f"{when:%Y-%m-%d} {text}"  # the first tick of a day
    return text


def tick_spacing(levels: list) -> float:
    """The spacing ticks really have: the finest step between neighbours of any level (the
    levels name a nominal spacing, 0.001 s for ticks half a second apart)."""
    steps = [np.diff(values).min() for _, values in levels if len(values) > 1]
    spacing = min(steps) if steps else min((s for s, _ in levels), default=1.0)
    return round(spacing, 3) if spacing < 1 else float(round(spacing))


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
        self.zoomLevels = OrderedDict(
            (most, date_axis.ZoomLevel(level.tickSpecs, example))
            for most, level, example in ZOOM_LEVELS
        )
        # ticks come no closer than a label's width (minSpacing): pyqtgraph's default fill
        # limits (80 %) dropped every label of a level whose labels were that close
        self.setStyle(textFillLimits=[(0, 1.0)])
        self._ticks: _Ticks | None = None
        self._labels: dict[tuple[float, float], str] = {}

    def setZoomLevelForDensity(self, density):
        super().setZoomLevelForDensity(density)
        fine = self.zoomLevel.tickSpecs[-1]
        if fine.spacing >= 1:
            return
        # below a second a label is as wide as its decimals, and how many it needs depends on
        # the spacing this width allows: the fewest decimals whose width leaves room for ticks
        # that need no more (pyqtgraph sized every such label for milliseconds)
        for decimals in range(MAX_DECIMALS + 1):
            example = "99:99:99" + ("." + "9" * decimals if decimals else "")
            least = density * (self.fontMetrics.boundingRect(example).width() + 10)
            if decimals_for(fine.spacing * fine.skipFactor(least)) <= decimals:
                break
        self.minSpacing = least

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
            spacing = tick_spacing(levels)  # every level is labelled at the finest's precision
            levels = [(spacing, values) for _, values in levels]
            cached = self._ticks = _Ticks(size, span, lo - span, hi + span, levels)
        return [
            (spacing, [v - self.origin for v in values if lo <= v <= hi])
            for spacing, values in cached.levels
        ]

    def tickStrings(self, values, scale, spacing):
        labels = self._labels
        missing = [v for v in values if (v, spacing) not in labels]
        if missing:
            if len(labels) > LABELS_REMEMBERED:
                labels.clear()
            for v in missing:
                labels[(v, spacing)] = wall_clock_label(v + self.origin, spacing)
        return [labels[(v, spacing)] for v in values]

    def linkToView(self, view):
        # DateAxisItem also limits the view to valid epoch times; ours are relative.
        self._linkToView_internal(view)
