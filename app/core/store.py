"""Per-series buffers that the chart reads: recent samples at full resolution plus a min/max
pyramid for everything else, each sized by its series' rate inside one memory budget.

Written and read by the consumer thread (the chart's frames are built there too), with a lock
per series for readers on other threads.

Sizing: a fixed 12.9 MiB per series let 512 MB hold 39 series, most of them slow. A series
starts at ~23 KiB; a part of it grows (doubling, up to that old size) only before it would forget
what a view may still ask for. A level: its last CORE_SPAN buckets (FULL_SPAN while memory is
plenty; app.core.pyramid). The raw ring: the last RAW_SAMPLES samples (what 2048 columns show
one per column) or 0.125 s (columns narrower than a level-0 bucket). Levels with buckets no
wider than the sample spacing are not fed: the raw ring holds the same and serves their views.
After 10 min among many: 2/s 121 KiB, 100/s 660 KiB; alone: 100/s 1.9 MiB, 1.25M/s 12.8 MiB
(a bucket keeps count, sum and M2 for statistics beside min/max: 48 bytes).

Budget: a new series is admitted while its minimum fits, else refused with a reason the UI can
show (`refusal`), its samples counted as dropped. So that later series still get that minimum,
growth a view needs stops at 7/8 of the budget (the rest: 2,900 minimums in 512 MB, 90 in 16
MB); growth to FULL_SPAN (4/3 narrower columns for some views) at 1/4, where it costs nobody
anything (8 series at 1.25 MHz take 91 MB after a minute). A level the full budget refuses
takes from finer parts of its own series: recent detail gives way to history, never the
reverse. Memory stays
resident, `nbytes` counts arrays and objects; views of a series kept short by the budget fall
back to coarser levels, still exact.

A new run of a producer (a restart, a second replay) may send a series samples older than
those it holds, e.g. a recording replayed again ends at "now" once more, or a restarted command
whose data carries its own timestamps. Mixed in, they would be late (filed in the newest
level-0 bucket, not theirs) and the chart would draw them wrongly. So when a run starts
(`new_run`, from the pipeline, which knows runs), each of the producer's series is looked at
once, at that run's first chunk for it: if that chunk starts before the series' newest sample,
the series starts afresh, a new buffer (the previous run's history of it leaves the chart and
the budget); if not, its history is kept and the new samples follow it, as always. Chunks cost
one check of an empty dict while no run is new.

Appending: slow producers send a few samples per series per message, so a chunk's fixed cost
matters, not its samples: chunks of up to SMALL samples are stored without numpy calls
(SeriesBuffer.append), the same rows bit for bit.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.core.pyramid import CORE_SPAN, FULL_SPAN, Pyramid, bucket_width, group, sample_columns
from app.core.range_moments import RangeMoments, moments_between
from app.core.sample_ring import SampleRing
from app.core.sliding import free_by_halving, pow2, slack_for
from producers.wire import Chunk

SeriesKey = tuple[str, str]  # (producer, series)
Budget = Callable[[int, bool], bool]  # (bytes, needed by a view) -> granted (and taken)

_F8 = np.dtype(np.float64)
GAPS_KEPT = 256  # stops between runs a series remembers (its history holds fewer, in view)
SMALL = 32  # samples a chunk may have to be stored the scalar way (see SeriesBuffer.append)
RAW_MIN, LEVEL_MIN = 64, 8  # rows a new series starts with: raw ring, each level
RAW_SAMPLES = 2048  # raw rows worth keeping however slow the series
RAW_SPAN_S = 2048 * bucket_width(0)  # views with columns narrower than a bucket: 0.125 s
RESERVE, COMFORT = 1 / 8, 1 / 4  # of the budget: see the module docstring
STEAL_FLOOR = 2048  # buckets a level keeps for others: live frames of one bucket per column
OBJECT_BYTES = 14 << 10  # a series' Python objects: 80 small arrays' headers, 14 ring objects


@dataclass
class Envelope:
    """What to draw for one series: per column x, min and max. For raw points min is max."""

    x: np.ndarray
    ymin: np.ndarray
    ymax: np.ndarray
    width: float = 0.0  # of a column, seconds; 0 for raw samples
    last_time: float = -math.inf  # of the newest sample in the series (drawn or not)
    gaps: tuple = ()  # times in range where the producer stopped between two runs

    @property
    def is_raw(self) -> bool:
        return self.ymin is self.ymax


@dataclass(frozen=True)
class Bucket:
    """What `SeriesBuffer.nearest` finds where the raw ring has forgotten a time: one pyramid
    bucket [t0, t1), the min and max of the samples in it. Not a sample: the exact value is
    gone, what is exact is that every sample of the bucket lay within low..high."""

    t0: float
    t1: float
    low: float
    high: float


class SeriesBuffer:
    """One series. `budget(bytes, needed)` is asked before any growth (None: always yes);
    `grow=False` preallocates the maxima, as before sizing by rate (for comparison); chunks of
    up to `small` samples are stored the scalar way (0: never, for comparison)."""

    def __init__(
        self,
        raw_capacity: int = 1 << 18,
        bucket_capacity: int = 8192,
        budget: Budget | None = None,
        grow: bool = True,
        small: int = SMALL,
    ):
        self.raw_max, self._grows, self._small = raw_capacity, grow, small
        self._budget = budget or (lambda extra, needed: True)
        if grow:
            self.raw = SampleRing(min(RAW_MIN, raw_capacity), slack_for(RAW_MIN))
            self.pyramid = Pyramid(bucket_capacity, initial=LEVEL_MIN, grow=self._grow_level)
        else:  # one copy per row at any rate, as before (app.core.sliding)
            self.raw = SampleRing(raw_capacity)
            self.pyramid = Pyramid(bucket_capacity)
        self._raw_retry = self._rebase_at = 0  # raw rows: ask to grow, look at the rate, from
        self.count = self.late = self.denied = 0  # denied: growths the budget refused
        self.gaps: deque[float] = deque(maxlen=GAPS_KEPT)  # stops between runs (see Envelope)
        self.last_value, self.last_time = math.nan, -math.inf
        self.first_time = math.inf  # of the first sample stored

    @property
    def nbytes(self) -> int:
        """What the series takes: its arrays, and the objects around them (measured with
        tracemalloc; twice the arrays of a new series, so the budget must count them)."""
        return self.array_bytes + OBJECT_BYTES

    @property
    def array_bytes(self) -> int:
        return self.raw.nbytes + self.pyramid.nbytes

    def append(self, chunk: Chunk) -> None:
        """Store a chunk. Up to SMALL float64 samples go the scalar way (`add_small`,
        `append_small`): among 1,000 series, 5 samples took 24 us as numpy calls on tiny
        arrays, 10 us so (benchmarks/drain.py); 1,000 series at 20 chunks/s took half a core
        for that alone, now a fifth. Past some 30 samples numpy is the faster way."""
        values, times, raw = chunk.values, chunk.explicit_times, self.raw
        n = len(values)
        if raw.end - raw.start + n > raw.capacity < self.raw_max and raw.total >= self._raw_retry:
            self._grow_raw(chunk)
        small = n <= self._small and n <= raw.capacity and values.dtype is _F8
        add = raw.add_small if small else raw.add
        ts, vs, in_order = add(values, chunk.t0, chunk.dt, times, self.last_time)
        if not self.count:
            self.first_time = float(ts[0]) if in_order else float(np.min(ts))
        self.last_value = float(vs[-1])
        self.last_time = max(self.last_time, float(ts[-1]))
        self.count += n
        if raw.total >= self._rebase_at and self._grows:
            self.pyramid.fit_base(chunk.dt if times is None else raw.spacing())
            self._rebase_at = raw.total + max(raw.capacity // 2, 16)
        late = self.pyramid.append_small(ts, vs, in_order) if small else None
        if late is None:  # big, or left to numpy by append_small: then the rows as stored
            if small:
                stored = slice(raw.end - n, raw.end)
                ts, vs = raw.columns[0][stored], raw.columns[1][stored]
            late = self.pyramid.append(ts, vs, ordered=in_order)
        self.late += late

    def _grow_raw(self, chunk: Chunk) -> None:
        """Grow the raw ring if it would forget one of the samples it should keep."""
        raw, n = self.raw, len(chunk)
        first = chunk.t0 if chunk.explicit_times is None else float(chunk.explicit_times[0])
        recent = raw.recent(n, first, max(self.last_time, chunk.last_time), RAW_SPAN_S)
        want = min(pow2(max(RAW_SAMPLES, recent)), pow2(len(raw) + n), self.raw_max)
        free = raw.capacity - recent  # rows that can come before a needed one is pushed out
        if want > raw.capacity:
            if self._budget(raw.resize_cost(want), True):
                raw.resize(want)
                return
            self.denied += 1
            free = raw.capacity  # refused: ask again once it turned over
        self._raw_retry = raw.total + max(free, 1)

    def _grow_level(self, k: int, idx: np.ndarray) -> None:
        """Pyramid's grow hook: level k would forget; grow it as views need, budget allowing."""
        p = self.pyramid
        level, cap = p.levels[k], p.levels[k].rows.capacity
        free = cap  # rows that can come before a bucket in the span is pushed out
        for span, needed in ((FULL_SPAN, False), (CORE_SPAN, True)):
            rows = level.rows_within(idx, span)
            want = min(pow2(rows), p.capacity)
            if want <= cap:
                free = cap - rows if cap < span else cap  # never more rows than buckets
                break
            extra = level.rows.resize_cost(want)
            if self._budget(extra, needed) or (needed and self._take_from_finer(k, extra)):
                p.resize(k, want)
                return
            self.denied += needed
        level.retry_at = level.rows.total + max(free, 1)

    def _take_from_finer(self, k: int, extra: int) -> bool:
        """The budget is full: shrink this series' finer parts for level k, the raw ring first,
        then finer levels, but none below STEAL_FLOOR buckets (live views keep their columns)."""
        p = self.pyramid
        parts = [(self.raw, RAW_MIN)]
        parts += [(p.levels[j].rows, max(STEAL_FLOOR, p.shrink_floor(j))) for j in range(p.base, k)]
        return free_by_halving(parts, extra, lambda net: self._budget(net, True))

    def history(self) -> tuple[float, float]:
        """(the oldest time it holds anything of, the time from which the raw ring holds every
        sample): a look at a few parts' first rows, no search. While the ring has forgotten
        nothing its first row is the oldest; else the finest level that has forgotten nothing
        tells, within one of its buckets (its first bucket's start); else the coarsest."""
        raw = self.raw
        first_raw = float(raw.columns[0][raw.start]) if len(raw) else math.inf
        if not raw.wrapped:
            return first_raw, first_raw
        oldest = first_raw
        for k, level in enumerate(self.pyramid.levels):
            rows = level.rows
            if len(rows):
                oldest = min(oldest, int(rows.columns[0][rows.start]) * bucket_width(k))
                if not rows.wrapped:
                    break
        return oldest, first_raw

    def envelope(self, t0: float, t1: float, columns: int) -> Envelope:
        width = (t1 - t0) / max(columns, 1)
        in_order = self.raw.in_order  # else raw reads cannot search the ring by time
        if in_order and 0 < width < bucket_width(0):
            w = math.ldexp(1.0, math.floor(math.log2(width)))  # power of two: exact columns
            lo, hi = math.floor(t0 / w) * w, (math.floor(t1 / w) + 1) * w  # whole columns
            if self.raw.covers(0, lo):
                return self._raw_envelope(lo, hi, w, columns)
        x, mn, mx = self.pyramid.envelope(t0, t1, columns, self._raw_columns if in_order else None)
        return Envelope(x, mn, mx, self.pyramid.last_column_width)

    def nearest(self, t: float) -> tuple[float, float | Bucket] | None:
        """The stored sample nearest to time `t`, (time, value), exactly as stored (the earlier
        one at a tie), where the raw ring covers t: it has forgotten no sample before t, so
        the samples either side of t are both held. Elsewhere the finest pyramid level that
        covers t gives its bucket holding t (else the nearest one): (bucket centre, Bucket).
        None for a series with no samples. Costs a binary search: a few us."""
        raw = self.raw
        if not len(raw):
            return None
        times = raw.held(0)
        if not raw.wrapped and not raw.in_order:  # every sample held, out of order: scan
            i = int(np.argmin(np.abs(times - t)))
            return float(times[i]), float(raw.held(1)[i])
        if raw.in_order and (not raw.wrapped or times[0] <= t):
            i = int(np.searchsorted(times, t))  # the first at or after t
            if i == len(times) or (i > 0 and t - times[i - 1] <= times[i] - t):
                i -= 1
            return float(times[i]), float(raw.held(1)[i])
        p = self.pyramid
        for k in range(p.base, len(p.levels)):
            b = bucket_width(k)
            index = math.floor(t / b)
            p.sync(k)
            level = p.levels[k]
            if not len(level.rows) or not (level.covers(index) or k == len(p.levels) - 1):
                continue
            idx = level.rows.held(0)
            i = int(np.searchsorted(idx, index))  # the first bucket at or after t's
            if i == len(idx) or (
                i > 0 and idx[i] != index and t - (idx[i - 1] + 1) * b <= idx[i] * b - t
            ):
                i -= 1
            row = level.rows.start + i
            lo, hi = (float(c[row]) for c in level.rows.columns[1:3])
            t0 = int(idx[i]) * b
            return t0 + b / 2, Bucket(t0, t0 + b, lo, hi)
        return None

    def _raw_envelope(self, t0: float, t1: float, w: float, columns: int) -> Envelope:
        s = self.raw.slice_between(0, t0, t1)
        t, v = self.raw.columns[0][s], self.raw.columns[1][s]
        if len(t) <= 2 * columns:
            v = v.copy()
            return Envelope(t.copy(), v, v)
        idx, mn, mx = group((t * (1.0 / w)).astype(np.int64), v, v)
        return Envelope((idx + 0.5) * w, mn, mx, w)

    def _raw_columns(self, k: int, m: int, first: int, last: int):
        """Level k's columns of m buckets, `first`..`last`, from the raw samples (None if the
        ring has forgotten the start too): what the level would give had it kept them."""
        b = bucket_width(k)
        if not self.raw.covers(0, first * b):
            return None
        # bucket boundaries: a sample's bucket is decided by its time alone, so the search is
        # exact; one neighbour sample each side at most (the one past `last` lies beyond it)
        s = self.raw.slice_between(0, first * b, np.nextafter((last + 1) * b, -math.inf))
        return sample_columns(self.raw.columns[0][s], self.raw.columns[1][s], k, m)


def _mb(n: float) -> str:
    mb = n / (1 << 20)
    return f"{mb:,.0f} MB" if mb >= 10 else f"{mb:.2g} MB"


class SeriesStore:
    """All series. Each series has its own lock: the consumer appending to one series never
    makes the chart wait to read another (one store-wide lock measured as event-loop lag).
    Capacities are each series' maxima; `grow=False` allocates them up front (as before)."""

    def __init__(
        self,
        budget_bytes: int = 512 << 20,
        raw_capacity: int = 1 << 18,
        bucket_capacity: int = 8192,
        grow: bool = True,
    ):
        self.budget_bytes = budget_bytes
        self._sizes = (raw_capacity, bucket_capacity)
        self._grow = grow
        self.series_cost = SeriesBuffer(*self._sizes, grow=grow).nbytes  # a new series' bytes
        self._series: dict[SeriesKey, tuple[threading.Lock, SeriesBuffer]] = {}
        self._registry = threading.Lock()  # guards adding/removing series, and nbytes
        self.nbytes = 0  # what every series' arrays take, as allocated
        self.refused: dict[SeriesKey, str] = {}  # series turned away, and why
        self._new_run: dict[str, set[str]] = {}  # producer -> series its new run has not sent
        self.restarted = 0  # series started afresh by a new run (see the module docstring)
        self.version = 0  # bumps on every append: the chart skips frames when nothing changed
        self.keys_version = 0  # bumps when a series is added, removed or renamed

    def series_keys(self) -> list[SeriesKey]:
        with self._registry:
            return list(self._series)

    def append(self, producer: str, chunk: Chunk) -> bool:
        """Store the chunk; False if its series was refused for lack of budget."""
        if not len(chunk.values):
            return True
        key = (producer, chunk.series)
        if self._new_run and producer in self._new_run:  # empty unless a run just started
            self._first_of_run(key, chunk)
        entry = self._series.get(key) or self._create(key)
        if entry is None:
            return False
        lock, buf = entry
        with lock:
            buf.append(chunk)
        self.version += 1  # only the consumer thread writes it
        return True

    def new_run(self, producer: str) -> None:
        """`producer` starts a new run: each series it has gets looked at by its next chunk
        (`_first_of_run`). Called by the draining thread, before that run's first chunk."""
        with self._registry:
            series = {s for p, s in self._series if p == producer}
        if series:
            self._new_run[producer] = series
        else:
            self._new_run.pop(producer, None)

    def _first_of_run(self, key: SeriesKey, chunk: Chunk) -> None:
        """The new run's first chunk for `key`: start the series afresh if the chunk is older
        than what it holds (its samples would all be late); if it is newer, note the stop
        between the runs as a gap, which a series' line breaks at (`Envelope.gaps`): a line
        drawn straight across a stopped producer's pause suggested data that never was."""
        producer, series = key
        waiting = self._new_run[producer]
        if series not in waiting:
            return
        waiting.discard(series)
        if not waiting:
            del self._new_run[producer]
        entry = self._series.get(key)
        if entry is None:
            return
        lock, old = entry
        first = chunk.t0 if chunk.explicit_times is None else float(chunk.explicit_times[0])
        if first > old.last_time:  # a later run: the history stays, the pause is a gap
            with lock:
                old.gaps.append((old.last_time + first) / 2)
            return
        if not first < old.last_time:
            return
        with self._registry:
            buf = SeriesBuffer(*self._sizes, budget=self._take, grow=self._grow)
            with lock:
                self._series[key] = (lock, buf)
            self.nbytes += buf.nbytes - old.nbytes  # old was counted whole, growth included
            self.restarted += 1
            self.version += 1

    def _create(self, key: SeriesKey) -> tuple[threading.Lock, SeriesBuffer] | None:
        with self._registry:
            if key in self._series:
                return self._series[key]
            if self.nbytes + self.series_cost > self.budget_bytes:
                n, budget = len(self._series), _mb(self.budget_bytes)
                self.refused.setdefault(key, f"memory budget full: {budget} in {n:,} series")
                return None
            self.refused.pop(key, None)
            buf = SeriesBuffer(*self._sizes, budget=self._take, grow=self._grow)
            self._series[key] = (threading.Lock(), buf)
            self.nbytes += buf.nbytes
            self.keys_version += 1
            return self._series[key]

    def _take(self, extra: int, needed: bool) -> bool:
        """A series grows by `extra` bytes (< 0: shrinks): granted, and counted, or not."""
        limit = self.budget_bytes * ((1 - RESERVE) if needed else COMFORT)
        with self._registry:
            if extra > 0 and self.nbytes + extra > limit:
                return False
            self.nbytes += extra
            return True

    def refusal(self, key: SeriesKey) -> str | None:
        """Why the series was refused, e.g. "memory budget full: 16 MB in 3,406 series"."""
        return self.refused.get(key)

    def usage_text(self) -> str:
        """For the UI, e.g. "212 MB of 512 MB in 1,000 series; 3 refused (memory budget
        full)"; "kept short": series that could not grow as far as their views could use."""
        with self._registry:
            buffers, refused = [buf for _, buf in self._series.values()], len(self.refused)
        text = f"{_mb(self.nbytes)} of {_mb(self.budget_bytes)} in {len(buffers):,} series"
        if short := sum(1 for buf in buffers if buf.denied):
            text += f"; {short:,} kept short by the budget"
        return text + (f"; {refused:,} refused (memory budget full)" if refused else "")

    def buffer(self, key: SeriesKey) -> SeriesBuffer:
        """The series' buffer itself, for inspection when nothing appends (tests, tools)."""
        return self._series[key][1]

    def envelope(self, key: SeriesKey, t0: float, t1: float, columns: int) -> Envelope:
        lock, buf = self._series[key]
        with lock:
            env = buf.envelope(t0, t1, columns)
            env.last_time = buf.last_time
            if buf.gaps:
                env.gaps = tuple(g for g in buf.gaps if t0 <= g <= t1)
            return env

    def raw_samples(self, key: SeriesKey, t0: float, t1: float):
        """The samples of `key` with t0 <= time <= t1 that the raw ring still holds, at full
        resolution: (times, values, full_from), copies in arrival order. `full_from` is the
        time from which the ring holds every sample (-inf: it never forgot one); older times
        live only as pyramid buckets (min/max), which are not samples."""
        lock, buf = self._series[key]
        with lock:
            raw = buf.raw
            t, v = raw.held(0), raw.held(1)
            keep = (t >= t0) & (t <= t1)
            full_from = -math.inf
            if raw.wrapped:
                full_from = float(t.min()) if len(t) else math.inf
            return t[keep], v[keep], full_from  # boolean indexing copies

    def nearest(self, key: SeriesKey, t: float) -> tuple[float, float | Bucket] | None:
        """The sample of `key` nearest to time `t` as stored, (time, value), or where only the
        pyramid remembers t, (bucket centre, Bucket with the bucket's min and max): see
        SeriesBuffer.nearest. None if the series has no samples (or is not in the store)."""
        entry = self._series.get(key)
        if entry is None:
            return None
        lock, buf = entry
        with lock:
            return buf.nearest(t)

    def moments(self, key: SeriesKey, t0: float, t1: float) -> RangeMoments | None:
        """Count, sum, M2, min, max and newest value of `key`'s samples with t0 <= time <= t1,
        from the raw ring and whole pyramid buckets (app.core.range_moments: exact where the
        ring holds the range's edges); None if the series is not in the store. Costs what a
        frame of the series costs, whatever the samples in range."""
        entry = self._series.get(key)
        if entry is None:
            return None
        lock, buf = entry
        with lock:
            return moments_between(buf.raw, buf.pyramid, t0, t1, buf.first_time)

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

    def history(self, key: SeriesKey) -> tuple[float, float, float, int]:
        """How much of `key` is held: (oldest time, time from which every sample is held at
        full resolution, newest time, bytes). For a hover, not a frame: cheap all the same."""
        lock, buf = self._series[key]
        with lock:
            oldest, full_from = buf.history()
            return oldest, full_from, buf.last_time, buf.nbytes

    def oldest_time(self, keys: list[SeriesKey]) -> float:
        """The oldest time any of `keys` holds (inf: none holds anything)."""
        oldest = math.inf
        for key in keys:
            entry = self._series.get(key)
            if entry is not None:
                with entry[0]:
                    oldest = min(oldest, entry[1].history()[0])
        return oldest

    def newest_time(self) -> float:
        with self._registry:
            entries = list(self._series.values())
        return max((buf.last_time for _, buf in entries), default=-math.inf)

    def move_producer(self, producer: str, target: str | None) -> None:
        """Every series of `producer` now belongs to `target` (a renamed producer: its history
        and memory stay), or, with None, is forgotten (a removed producer: its memory goes back
        to the budget). Call from the thread that appends (or while nothing does): a chunk of
        `producer` appended afterwards would start a new series."""
        with self._registry:
            keys = [k for k in self._series if k[0] == producer]
            for key in keys:
                entry = self._series.pop(key)
                if target is None:
                    self.nbytes -= entry[1].nbytes
                else:
                    replaced = self._series.pop((target, key[1]), None)
                    if replaced is not None:  # (a target is a fresh name: defensive only)
                        self.nbytes -= replaced[1].nbytes
                    self._series[(target, key[1])] = entry
            for key in [k for k in self.refused if k[0] == producer]:
                reason = self.refused.pop(key)
                if target is not None:
                    self.refused[(target, key[1])] = reason
            waiting = self._new_run.pop(producer, None)
            if waiting is not None and target is not None:
                self._new_run[target] = waiting
            if keys:
                self.keys_version += 1
                self.version += 1

    def clear(self) -> None:
        with self._registry:
            self._series.clear()
            self.refused.clear()
            self._new_run.clear()
            self.nbytes = 0
            self.version += 1
            self.keys_version += 1
