"""An XY plot's points: one series against another, samples paired by time.

Two series rarely share timestamps unless one producer stamps them together (a sweep stamps
each result with its inputs: `in/<axis>` and `out/value`). So each sample of the y series is
paired with the x sample nearest in time, when that one is at most `tolerance` away: by default
the larger of the two series' typical sample intervals (medians), so a 10 Hz series against a
1 kHz one pairs every 10 Hz sample with the 1 kHz sample beside it, while two series that stopped
at different times do not pair across the gap. Exactly equal stamps always pair.

Only samples the store holds at full resolution are paired (its raw ring, app/core/store.py):
minimum and maximum of a bucket are not a pair of values. At most MAX_POINTS points are drawn,
the newest; the frame says how many there were.

Built in the consumer thread like the strip frames (`XYRequest.build`), so a wide window of
fast series costs the GUI thread only the upload of the points. No Qt here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.core.store import SeriesKey, SeriesStore

MAX_POINTS = 20_000


@dataclass(frozen=True, eq=False)
class XYRequest:
    layer: str  # "xy:<plot id>": routes the frame back to its plot
    x_key: SeriesKey
    y_key: SeriesKey
    t0: float
    t1: float

    def build(self, store: SeriesStore) -> XYFrame:
        if self.x_key not in store.series_keys() or self.y_key not in store.series_keys():
            return XYFrame(self, np.empty(0), np.empty(0), 0)
        tx, vx, _ = store.raw_samples(self.x_key, self.t0, self.t1)
        ty, vy, _ = store.raw_samples(self.y_key, self.t0, self.t1)
        x, y = pair_by_time(tx, vx, ty, vy)
        total = len(x)
        return XYFrame(self, x[-MAX_POINTS:], y[-MAX_POINTS:], total)


@dataclass
class XYFrame:
    request: XYRequest
    x: np.ndarray
    y: np.ndarray
    pairs: int  # how many pairs there were (more than drawn beyond MAX_POINTS)


def typical_interval(t: np.ndarray) -> float:
    """The median time between consecutive samples (0 with fewer than two)."""
    if len(t) < 2:
        return 0.0
    return float(np.median(np.diff(t)))


def pair_by_time(
    tx: np.ndarray,
    vx: np.ndarray,
    ty: np.ndarray,
    vy: np.ndarray,
    tolerance: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) values of the pairs, in the y series' time order: each y sample with the x
    sample nearest in time, if at most `tolerance` seconds away (see the module docstring)."""
    if not len(tx) or not len(ty):
        return np.empty(0), np.empty(0)
    ox, oy = np.argsort(tx, kind="stable"), np.argsort(ty, kind="stable")
    tx, vx, ty, vy = tx[ox], vx[ox], ty[oy], vy[oy]
    if tolerance is None:
        tolerance = max(typical_interval(tx), typical_interval(ty))
    after = np.searchsorted(tx, ty, side="left")  # first x at or after each y time
    before = np.clip(after - 1, 0, len(tx) - 1)
    after = np.clip(after, 0, len(tx) - 1)
    pick = np.where(np.abs(tx[after] - ty) <= np.abs(ty - tx[before]), after, before)
    ok = np.abs(tx[pick] - ty) <= tolerance
    return vx[pick[ok]], vy[ok]
