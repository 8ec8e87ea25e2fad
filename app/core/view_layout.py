"""The view description: which plots the window shows, their axes, and which series go where.

A plot is a panel of the chart stack (stacked top to bottom, sharing the time axis) or an XY
plot (one series against another). A time plot has a left and a right value axis, each with
its own range mode and log scale; a series is drawn on one axis of one plot, or hidden, in its
palette colour or one the user picked. Series nobody assigned go to the first time plot, left
axis: a new producer's series show up without the user doing anything.

Plots are keyed by an id that does not change when plots are added, removed or reordered, so
what the consumer thread renders for a plot (its strip renderers, keyed by `layer_key`) stays
with that plot. Everything is frozen dataclasses compared by value: a session saved and reopened
must give an equal `ViewLayout`, and a change is a new object (`with_...` methods), never an
edit in place that a frame request in flight might see half done.

No Qt here: the window draws it (widgets/plot_stack.py), sessions read and write it
(app/core/session.py, session_writer.py).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

from app.core.store import SeriesKey

__all__ = [
    "AXES",
    "RANGE_MODES",
    "AxisView",
    "LayoutError",
    "PlotView",
    "SeriesView",
    "ViewLayout",
    "key_label",
    "label_key",
    "layer_key",
    "xy_layer_key",
]

AXES = ("left", "right")
RANGE_MODES = ("steady", "auto", "fixed")  # steady: auto, but held still (app.core.stable_range)
PLOT_KINDS = ("time", "xy")
MAX_PLOTS = 16
COLOR_RE = re.compile(r"#[0-9a-fA-F]{6}")


class LayoutError(ValueError):
    """A view description that cannot be drawn (a bad range, an unknown plot id, ...)."""


def key_label(key: SeriesKey) -> str:
    """How a series is named to people and in session files: `producer/series`, or just
    `producer` for a producer's single `value` series."""
    producer, series = key
    return producer if series == "value" else f"{producer}/{series}"


def label_key(label: str) -> SeriesKey:
    """The inverse of `key_label` (producer names never hold a '/')."""
    producer, _, series = label.partition("/")
    return (producer, series or "value")


def layer_key(plot_id: int, axis: str) -> str:
    """What one axis of one plot is rendered under in the consumer thread."""
    return f"{plot_id}:{axis}"


def xy_layer_key(plot_id: int) -> str:
    """What an XY plot's points are built under in the consumer thread."""
    return f"xy:{plot_id}"


@dataclass(frozen=True)
class AxisView:
    """One value axis: how its range is chosen, and whether it is logarithmic."""

    mode: str = "steady"
    lo: float = 0.0  # the range when mode is "fixed"
    hi: float = 1.0
    log: bool = False

    def __post_init__(self):
        if self.mode not in RANGE_MODES:
            raise LayoutError(f"range must be one of {', '.join(RANGE_MODES)}, not {self.mode!r}")
        if self.mode == "fixed":
            if not (math.isfinite(self.lo) and math.isfinite(self.hi) and self.lo < self.hi):
                raise LayoutError(f"a fixed range needs min < max (got {self.lo:g}, {self.hi:g})")
            if self.log and self.lo <= 0:
                raise LayoutError("a logarithmic axis needs a fixed range above 0")

    @property
    def fixed(self) -> tuple[float, float] | None:
        return (self.lo, self.hi) if self.mode == "fixed" else None


@dataclass(frozen=True)
class PlotView:
    """One plot. A time plot uses `left`/`right`; an XY plot draws `y_series` against
    `x_series` over the last `xy_window_s` seconds (samples paired by time), on `left`."""

    id: int
    kind: str = "time"
    left: AxisView = field(default_factory=AxisView)
    right: AxisView = field(default_factory=AxisView)
    x_series: SeriesKey | None = None
    y_series: SeriesKey | None = None
    xy_window_s: float = 30.0

    def __post_init__(self):
        if self.kind not in PLOT_KINDS:
            raise LayoutError(f"plot kind must be one of {', '.join(PLOT_KINDS)}")
        if self.kind == "xy" and not (0 < self.xy_window_s <= 86400):
            raise LayoutError("an XY plot's window must be in (0, 86400] seconds")

    def axis(self, name: str) -> AxisView:
        return self.left if name == "left" else self.right


@dataclass(frozen=True)
class SeriesView:
    """Where a series is drawn and how; `plot` None: the first time plot."""

    plot: int | None = None
    axis: str = "left"
    visible: bool = True
    color: str | None = None  # "#rrggbb" picked by the user; None: its palette colour

    def __post_init__(self):
        if self.axis not in AXES:
            raise LayoutError(f"axis must be left or right, not {self.axis!r}")
        if self.color is not None and not COLOR_RE.fullmatch(self.color):
            raise LayoutError(f"colour must be #rrggbb, not {self.color!r}")


DEFAULT_SERIES = SeriesView()


@dataclass(frozen=True)
class ViewLayout:
    """Plots top to bottom, and what the user set for series (the rest: defaults)."""

    plots: tuple[PlotView, ...] = (PlotView(0),)
    series: dict[SeriesKey, SeriesView] = field(default_factory=dict)

    def __post_init__(self):
        if not any(p.kind == "time" for p in self.plots):
            raise LayoutError("there must be at least one time plot")
        if len(self.plots) > MAX_PLOTS:
            raise LayoutError(f"at most {MAX_PLOTS} plots")
        ids = [p.id for p in self.plots]
        if len(set(ids)) != len(ids):
            raise LayoutError("plot ids must be unique")
        for key, view in self.series.items():
            if view.plot is not None and view.plot not in ids:
                raise LayoutError(f"{key_label(key)} is on plot {view.plot}, which does not exist")

    def __hash__(self):  # frozen with a dict inside: hash what identifies it
        return hash((self.plots, tuple(sorted(self.series.items()))))

    # -- questions -------------------------------------------------------------------------------
    @property
    def time_plots(self) -> list[PlotView]:
        return [p for p in self.plots if p.kind == "time"]

    def plot(self, plot_id: int) -> PlotView:
        for p in self.plots:
            if p.id == plot_id:
                return p
        raise LayoutError(f"no plot {plot_id}")

    def index_of(self, plot_id: int) -> int:
        """Position top to bottom (the n of `plotPanel:<n>`)."""
        return [p.id for p in self.plots].index(plot_id)

    def view_of(self, key: SeriesKey) -> SeriesView:
        return self.series.get(key, DEFAULT_SERIES)

    def plot_of(self, key: SeriesKey) -> int:
        """The time plot `key` is drawn on (hidden or not)."""
        view = self.view_of(key)
        if view.plot is not None and self.plot(view.plot).kind == "time":
            return view.plot
        return self.time_plots[0].id

    def placement(self, key: SeriesKey) -> tuple[int, str]:
        """(plot id, axis) of a series."""
        view = self.view_of(key)
        return self.plot_of(key), view.axis

    def series_on(self, keys, plot_id: int, axis: str, visible_only: bool = True) -> list:
        """Of `keys`, those drawn on that axis of that plot, in the order given."""
        return [
            k
            for k in keys
            if self.placement(k) == (plot_id, axis)
            and (self.view_of(k).visible or not visible_only)
        ]

    def visible(self, key: SeriesKey) -> bool:
        return self.view_of(key).visible

    # -- changes (each a new layout) -------------------------------------------------------------
    def with_series(self, key: SeriesKey, **changes) -> ViewLayout:
        """`key`'s view with `changes` (plot, axis, visible, color)."""
        series = dict(self.series)
        view = replace(self.view_of(key), **changes)
        if view == DEFAULT_SERIES:
            series.pop(key, None)  # defaults are not written down
        else:
            series[key] = view
        return replace(self, series=series)

    def with_plot(self, plot: PlotView) -> ViewLayout:
        """The plot with `plot.id` replaced by `plot`."""
        self.plot(plot.id)
        return replace(self, plots=tuple(plot if p.id == plot.id else p for p in self.plots))

    def with_axis(self, plot_id: int, axis: str, **changes) -> ViewLayout:
        plot = self.plot(plot_id)
        return self.with_plot(replace(plot, **{axis: replace(plot.axis(axis), **changes)}))

    def adding_plot(self, kind: str = "time", **settings) -> tuple[ViewLayout, int]:
        """A new plot at the bottom, and its id."""
        new_id = max(p.id for p in self.plots) + 1
        plot = PlotView(new_id, kind, **settings)
        return replace(self, plots=(*self.plots, plot)), new_id

    def removing_plot(self, plot_id: int) -> ViewLayout:
        """Without the plot; its series go back to the first remaining time plot."""
        self.plot(plot_id)
        plots = tuple(p for p in self.plots if p.id != plot_id)
        series = {}
        for key, view in self.series.items():
            if view.plot == plot_id:
                view = replace(view, plot=None)
            if view != DEFAULT_SERIES:
                series[key] = view
        return ViewLayout(plots, series)  # raises if no time plot is left

    def moving_plot(self, plot_id: int, index: int) -> ViewLayout:
        """The plot moved to position `index` (clamped)."""
        plots = [p for p in self.plots if p.id != plot_id]
        index = min(max(index, 0), len(plots))
        plots.insert(index, self.plot(plot_id))
        return replace(self, plots=tuple(plots))

    def forgetting(self, producers: set[str]) -> ViewLayout:
        """Without the settings of series of producers no longer in the session."""
        series = {k: v for k, v in self.series.items() if k[0] in producers}

        def gone(key) -> bool:
            return key is not None and key[0] not in producers

        plots = tuple(
            replace(p, x_series=None, y_series=None)
            if p.kind == "xy" and (gone(p.x_series) or gone(p.y_series))
            else p
            for p in self.plots
        )
        return replace(self, plots=plots, series=series)

    def renaming_producer(self, old: str, new: str) -> ViewLayout:
        """The same view with producer `old`'s series under its new name."""

        def moved(key):
            return (new, key[1]) if key is not None and key[0] == old else key

        series = {moved(k): v for k, v in self.series.items()}
        plots = tuple(replace(p, x_series=moved(p.x_series), y_series=moved(p.y_series))
                      for p in self.plots)  # fmt: skip
        return replace(self, plots=plots, series=series)

    def renumbered(self) -> ViewLayout:
        """Ids 0..n-1 top to bottom (what a session file reads back as): the same view."""
        ids = {p.id: i for i, p in enumerate(self.plots)}
        plots = tuple(replace(p, id=ids[p.id]) for p in self.plots)
        series = {
            k: replace(v, plot=None if v.plot is None else ids[v.plot])
            for k, v in self.series.items()
        }
        return ViewLayout(plots, series)
