"""What the chart asks for and gets back, without Qt.

The chart decides which time span, size and y range to show and which series in which color;
a `StripRenderer` (app/core/strip.py) turns that into a frame: one image for the dense series
and a polyline for each sparse one. In the app the request travels to the consumer thread, where
the data lives, and the frame comes back by signal; standalone, the chart builds it itself.

A renderer keeps every series' columns from one frame to the next and reads the samples
appended since, without the store's locks: use one per chart, on the thread that appends to the
store (the consumer thread), or while nothing appends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.core.store import SeriesKey, SeriesStore
from app.core.strip import StripFrame, StripRenderer


@dataclass(frozen=True, eq=False)
class FrameRequest:
    t0: float
    t1: float
    width: int  # plot size in pixels
    height: int
    y_range: tuple[float, float]
    colors: dict[SeriesKey, int] = field(default_factory=dict)  # ARGB32 per series to draw
    hidden: frozenset = frozenset()  # series not drawn (unticked in the legend)


@dataclass
class Frame:
    request: FrameRequest
    strip: StripFrame


def build_frame(store: SeriesStore, request: FrameRequest, renderer: StripRenderer) -> Frame:
    strip = renderer.render(
        store,
        request.t0,
        request.t1,
        (request.width, request.height),
        request.y_range,
        request.colors,
        request.hidden,
    )
    return Frame(request, strip)
