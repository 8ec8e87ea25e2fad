"""The frame protocol between the chart and whoever builds its frames, without Qt.

The chart decides which time span, size and y range to show and which series in which colour
(a `FrameRequest`, one per axis of each plot: its `layer`); `StripRenderer.frame`
(app/core/strip.py) answers with a `Frame`: one image for the dense series and a polyline for
each sparse one. In the app the request travels to the
consumer thread, where the data lives, and the frame comes back by signal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.core.store import SeriesKey

if TYPE_CHECKING:
    from app.core.strip import StripFrame


@dataclass(frozen=True, eq=False)
class FrameRequest:
    t0: float
    t1: float
    width: int  # plot size in pixels
    height: int
    y_range: tuple[float, float]
    colors: dict[SeriesKey, int] = field(default_factory=dict)  # ARGB32 per series to draw
    hidden: frozenset = frozenset()  # series not drawn (unticked in the legend)
    log: bool = False  # y_range is in log10 units and values are drawn as log10(value)
    layer: str = "0:left"  # which plot's axis (view_layout.layer_key): one renderer each


@dataclass
class Frame:
    request: FrameRequest
    strip: StripFrame  # the image, the lines and what they show
