"""Building a chart frame from the store, without Qt: what to draw for each series.

The chart decides *which* time span and width to show; this module turns that into arrays:
for each series either a band (dense min/max columns) or a line (raw samples or sparse
columns), plus the y extent of what is visible. In the app it runs on the consumer thread,
where the data lives (no lock convoys with the writer, and the GUI thread only uploads the
arrays and paints); standalone, the chart calls it directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from app.store import Envelope, SeriesKey, SeriesStore


@dataclass(frozen=True)
class FrameRequest:
    t0: float
    t1: float
    width: int  # columns: the plot's width in pixels
    hidden: frozenset = frozenset()  # series not drawn (unticked in the legend)


@dataclass
class SeriesFrame:
    key: SeriesKey
    kind: str  # "band": dense min/max columns | "line": raw samples or sparse columns
    x: np.ndarray
    lo: np.ndarray
    hi: np.ndarray  # for a line, the same array as lo


@dataclass
class Frame:
    request: FrameRequest
    series: list[SeriesFrame] = field(default_factory=list)
    y_lo: float = math.inf  # extent of the data inside [t0, t1]
    y_hi: float = -math.inf
    newest: float | None = None  # time of the newest sample among the drawn series


def is_dense(x: np.ndarray) -> bool:
    """Columns mostly side by side (not a slow series with one sample every few columns)."""
    if len(x) < 3:
        return False
    gaps = np.diff(x)
    return np.count_nonzero(gaps < 1.5 * gaps.min()) >= 0.9 * len(gaps)


def band_edges(env: Envelope) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, lo, hi) of a dense envelope, each column stretched to reach the previous one's
    range so the band is continuous where the signal jumps between columns."""
    lo, hi = env.ymin.copy(), env.ymax.copy()
    np.fmin(lo[1:], env.ymax[:-1], out=lo[1:])
    np.fmax(hi[1:], env.ymin[:-1], out=hi[1:])
    ok = np.isfinite(lo) & np.isfinite(hi)
    return env.x[ok], lo[ok], hi[ok]


def polyline(env: Envelope) -> tuple[np.ndarray, np.ndarray]:
    """Raw samples as they are; sparse columns as min then max."""
    if env.is_raw:
        return env.x, env.ymin
    y = np.empty(2 * len(env.x))
    y[0::2], y[1::2] = env.ymin, env.ymax
    return np.repeat(env.x, 2), y


def series_frame(key: SeriesKey, env: Envelope) -> SeriesFrame:
    if not env.is_raw and is_dense(env.x):
        return SeriesFrame(key, "band", *band_edges(env))
    x, y = polyline(env)
    return SeriesFrame(key, "line", x, y, y)


def build_frame(store: SeriesStore, request: FrameRequest) -> Frame:
    frame = Frame(request)
    for key in store.series_keys():
        if key in request.hidden:
            continue
        env = store.envelope(key, request.t0, request.t1, request.width)
        part = series_frame(key, env)
        frame.series.append(part)
        inside = (part.x >= request.t0) & (part.x <= request.t1)
        if inside.any():
            frame.y_lo = min(frame.y_lo, float(np.nanmin(part.lo[inside])))
            frame.y_hi = max(frame.y_hi, float(np.nanmax(part.hi[inside])))
        if math.isfinite(env.last_time):
            frame.newest = (
                env.last_time if frame.newest is None else max(frame.newest, env.last_time)
            )
    return frame
