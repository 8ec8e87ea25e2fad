"""Per-series buffers that the chart reads: recent samples at full resolution plus a min/max
pyramid for everything else, inside a fixed memory budget.

Written and read by the consumer thread (the chart's frames are built there too), with a lock
per series for readers on other threads. Memory is
preallocated per series when the series first appears, so it stays flat whatever the rate; a
series that would exceed the budget is refused and its samples counted as dropped, never
silently lost.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

from app.core.pyramid import LEVELS, Pyramid, bucket_width, group
from app.core.sliding import SlidingArrays
from producers.wire import Chunk

SeriesKey = tuple[str, str]  # (producer, series)


@dataclass
class Envelope:
    """What to draw for one series: per column x, min and max. For raw points min is max."""

    x: np.ndarray
    ymin: np.ndarray
    ymax: np.ndarray
    width: float = 0.0  # of a column, seconds; 0 for raw samples
    last_time: float = -math.inf  # of the newest sample in the series (drawn or not)

    @property
    def is_raw(self) -> bool:
        return self.ymin is self.ymax


_ARANGE = np.arange(1 << 17, dtype=np.float64)


def _arange(n: int) -> np.ndarray:
    return _ARANGE[:n] if n <= len(_ARANGE) else np.arange(n, dtype=np.float64)


class SeriesBuffer:
    def __init__(self, raw_capacity: int, bucket_capacity: int):
        self.raw = SlidingArrays(raw_capacity, np.float64, np.float64)
        self.pyramid = Pyramid(bucket_capacity)
        self.count = 0
        self.late = 0
        self.last_value = math.nan
        self.last_time = -math.inf

    @property
    def nbytes(self) -> int:
        return self.raw.nbytes + self.pyramid.nbytes

    def append(self, chunk: Chunk) -> None:
        n = len(chunk)
        if n > self.raw.capacity:
            times, values = chunk.timestamps, chunk.values
            self.raw.append(times, values)
        else:  # write straight into the ring, then index the ring's rows: no temporaries
            times, values = self.raw.reserve(n)
            if chunk.explicit_times is None:
                np.multiply(_arange(n), chunk.dt, out=times)
                times += chunk.t0  # the same arithmetic as Chunk.timestamps, bit for bit
            else:
                times[:] = chunk.explicit_times
            values[:] = chunk.values
        self.late += self.pyramid.append(times, values, ordered=chunk.explicit_times is None)
        self.count += n
        self.last_value = float(values[-1])
        self.last_time = max(self.last_time, float(times[-1]))

    def envelope(self, t0: float, t1: float, columns: int) -> Envelope:
        width = (t1 - t0) / max(columns, 1)
        if 0 < width < bucket_width(0):
            w = math.ldexp(1.0, math.floor(math.log2(width)))  # power of two: exact columns
            lo, hi = math.floor(t0 / w) * w, (math.floor(t1 / w) + 1) * w  # whole columns
            if self.raw.covers(0, lo):
                return self._raw_envelope(lo, hi, w, columns)
        x, mn, mx = self.pyramid.envelope(t0, t1, columns)
        return Envelope(x, mn, mx, self.pyramid.last_column_width)

    def _raw_envelope(self, t0: float, t1: float, w: float, columns: int) -> Envelope:
        s = self.raw.slice_between(0, t0, t1)
        t, v = self.raw.columns[0][s], self.raw.columns[1][s]
        if len(t) <= 2 * columns:
            v = v.copy()
            return Envelope(t.copy(), v, v)
        idx, mn, mx = group((t * (1.0 / w)).astype(np.int64), v, v)
        return Envelope((idx + 0.5) * w, mn, mx, w)


class SeriesStore:
    """All series. Each series has its own lock: the consumer appending to one series never
    makes the chart wait to read another (one store-wide lock measured as event-loop lag)."""

    def __init__(
        self,
        budget_bytes: int = 512 << 20,
        raw_capacity: int = 1 << 18,
        bucket_capacity: int = 8192,
    ):
        self.budget_bytes = budget_bytes
        self._raw_capacity = raw_capacity
        self._bucket_capacity = bucket_capacity
        self._series: dict[SeriesKey, tuple[threading.Lock, SeriesBuffer]] = {}
        self._registry = threading.Lock()  # guards adding/removing series
        self.nbytes = 0
        self.refused: set[SeriesKey] = set()  # series turned away: the budget was full
        self.version = 0  # bumps on every append: the chart skips frames when nothing changed

    @property
    def series_cost(self) -> int:
        """Bytes one series takes: 2x (time, value) rows + 2x (index, min, max) per level."""
        return 2 * 16 * self._raw_capacity + LEVELS * 2 * 24 * self._bucket_capacity

    def series_keys(self) -> list[SeriesKey]:
        with self._registry:
            return list(self._series)

    def append(self, producer: str, chunk: Chunk) -> bool:
        """Store the chunk; False if its series was refused for lack of budget."""
        if not len(chunk):
            return True
        key = (producer, chunk.series)
        entry = self._series.get(key) or self._create(key)
        if entry is None:
            return False
        lock, buf = entry
        with lock:
            buf.append(chunk)
        self.version += 1  # only the consumer thread writes it
        return True

    def _create(self, key: SeriesKey) -> tuple[threading.Lock, SeriesBuffer] | None:
        with self._registry:
            if key in self._series:
                return self._series[key]
            if self.nbytes + self.series_cost > self.budget_bytes:
                self.refused.add(key)
                return None
            buf = SeriesBuffer(self._raw_capacity, self._bucket_capacity)
            self._series[key] = (threading.Lock(), buf)
            self.nbytes += buf.nbytes
            return self._series[key]

    def buffer(self, key: SeriesKey) -> SeriesBuffer:
        """The series' buffer itself, for inspection when nothing appends (tests, tools)."""
        return self._series[key][1]

    def envelope(self, key: SeriesKey, t0: float, t1: float, columns: int) -> Envelope:
        lock, buf = self._series[key]
        with lock:
            env = buf.envelope(t0, t1, columns)
            env.last_time = buf.last_time
            return env

    def latest(self, key: SeriesKey) -> tuple[float, float]:
        """(time, value) of the newest sample."""
        lock, buf = self._series[key]
        with lock:
            return buf.last_time, buf.last_value

    def stats(self, key: SeriesKey) -> tuple[int, int]:
        """(samples stored, samples that arrived out of order)."""
        lock, buf = self._series[key]
        with lock:
            return buf.count, buf.late

    def newest_time(self) -> float:
        with self._registry:
            entries = list(self._series.values())
        return max((buf.last_time for _, buf in entries), default=-math.inf)

    def clear(self) -> None:
        with self._registry:
            self._series.clear()
            self.nbytes = 0
            self.version += 1
