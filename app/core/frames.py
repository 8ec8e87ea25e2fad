"""The frame protocol between the chart and whoever builds its frames, without Qt.

The chart decides which time span, size and y range to show and which series in which colour
(a `FrameRequest`, one per axis of each plot: its `layer`), and how many device pixels make
one of its pixels (`pixel_ratio`: 2 on a HiDPI screen at 2x, where an image of logical pixels
would be stretched and look blocky);
`StripRenderer.frame` (app/core/strip.py) answers with a `Frame`: one image for the dense
series, in device pixels, and a polyline for each sparse one. In the app the request travels
to the consumer thread, where the data lives, and the frame comes back by signal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.core.store import SeriesKey

# The image's size in device pixels is capped (an 8K screen at 2x would ask for more): memory
# and paint cost grow with it, and past this the columns stay exact min/max, only wider.
MAX_IMAGE_COLUMNS = 4096
MAX_IMAGE_ROWS = 4096

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
    pixel_ratio: float = 1.0  # device pixels per logical pixel (QWidget.devicePixelRatioF)

    def image_size(self) -> tuple[int, int]:
        """(columns, rows) of the strip image: the plot in device pixels, so that one image
        pixel is one pixel of the screen at any scale; capped (MAX_IMAGE_COLUMNS/ROWS)."""
        ratio = max(self.pixel_ratio, 1e-3)
        columns = min(max(round(self.width * ratio), 1), MAX_IMAGE_COLUMNS)
        rows = min(max(round(self.height * ratio), 1), MAX_IMAGE_ROWS)
        return columns, rows


@dataclass
class Frame:
    request: FrameRequest
    strip: StripFrame  # the image, the lines and what they show
