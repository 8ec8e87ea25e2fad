"""Counting what arrives, per producer: totals, rate, drops, last value, latency.

Updated by the consumer thread for every batch and read by the GUI's status timer a few times a
second, under one lock. Drops are summed over a producer's runs (each run reports its own
cumulative count), plus samples the store refused, so every lost sample shows somewhere.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from app.core.channel import Batch
from producers.wire import Chunk

RATE_WINDOW_S = 3.0


@dataclass
class ProducerCounts:
    samples: int = 0
    batches: int = 0
    run_drops: dict[int, int] = field(default_factory=dict)  # generation -> dropped_total
    refused: int = 0  # by the store (memory budget) or the recorder
    last_series: str = ""
    last_value: float = math.nan
    last_time: float = math.nan
    history: deque = field(default_factory=lambda: deque(maxlen=256))  # (t, cumulative samples)

    @property
    def dropped(self) -> int:
        return sum(self.run_drops.values()) + self.refused

    def rate(self, now: float) -> float:
        """Samples per second between the first and last arrival of the last few seconds;
        0 once nothing has arrived for that long."""
        h = self.history
        while len(h) > 2 and now - h[0][0] > RATE_WINDOW_S:
            h.popleft()
        if len(h) < 2 or now - h[-1][0] > RATE_WINDOW_S:
            return 0.0
        (t0, n0), (t1, n1) = h[0], h[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0


class CounterBook:
    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: dict[str, ProducerCounts] = {}
        self.total_samples = 0
        self.latest: tuple[str, str, float, float] | None = None  # producer, series, t, value
        self._latency: deque[float] = deque(maxlen=65536)  # send -> stored, seconds

    def ingest(self, batch: Batch, stored_at: float | None = None) -> None:
        """Count a batch: per chunk only a sum and the producer's newest chunk, the last value
        and time once per producer (0.13 us a chunk, was 0.5). An empty chunk counts nothing
        and has no last value (it raised, out of the consumer thread)."""
        now = self._clock()
        samples: dict[str, int] = {}
        newest: dict[str, Chunk] = {}
        last = None  # the producer of the newest non-empty chunk
        for name, chunk in batch.chunks:
            n = len(chunk.values)
            samples[name] = samples.get(name, 0) + n
            if n:
                newest[name], last = chunk, name
        with self._lock:
            for name, n in samples.items():
                c = self._get(name)
                c.samples += n
                c.batches += 1
                c.history.append((now, c.samples))
                self.total_samples += n
            for name, chunk in newest.items():
                c = self._counts[name]
                c.last_series, c.last_value = chunk.series, float(chunk.values[-1])
                c.last_time = chunk.last_time
            if last is not None:
                c = self._counts[last]
                self.latest = (last, c.last_series, c.last_time, c.last_value)
            for key, dropped in batch.drops.items():
                self._note_run_drops(key.name, key.generation, dropped)
            if stored_at is not None:
                self._latency.extend(stored_at - sent for sent in batch.sent_at.values())

    def note_run_drops(self, name: str, generation: int, dropped: int) -> None:
        """A run's cumulative drop count, from whichever path reports it (its shared tally, its
        messages): counts only grow, so the largest report wins."""
        with self._lock:
            self._note_run_drops(name, generation, dropped)

    def _note_run_drops(self, name: str, generation: int, dropped: int) -> None:
        runs = self._get(name).run_drops
        runs[generation] = max(runs.get(generation, 0), int(dropped))

    def add_refused(self, name: str, samples: int) -> None:
        with self._lock:
            self._get(name).refused += samples

    def move(self, name: str, target: str | None) -> None:
        """`name`'s counts now belong to `target` (a renamed producer: its totals go on), or,
        with None, are forgotten (a removed producer: a new one given its name starts at 0).
        What `target` already has (a drop noted under the new name a moment before) is kept."""
        with self._lock:
            counts = self._counts.pop(name, None)
            if counts is None or target is None:
                return
            have = self._counts.get(target)
            if have is not None:
                counts.samples += have.samples
                counts.batches += have.batches
                counts.refused += have.refused
                for generation, dropped in have.run_drops.items():
                    counts.run_drops[generation] = max(counts.run_drops.get(generation, 0), dropped)
                if have.last_time > counts.last_time:  # (nan compares false: kept as is)
                    counts.last_series, counts.last_value = have.last_series, have.last_value
                    counts.last_time = have.last_time
            self._counts[target] = counts

    def snapshot(self, name: str) -> ProducerCounts:
        with self._lock:
            c = self._get(name)
            return ProducerCounts(
                c.samples,
                c.batches,
                dict(c.run_drops),
                c.refused,
                c.last_series,
                c.last_value,
                c.last_time,
                deque(c.history, maxlen=256),
            )

    def rate(self, name: str) -> float:
        with self._lock:
            return self._get(name).rate(self._clock())

    def total_rate(self) -> float:
        now = self._clock()
        with self._lock:
            return sum(c.rate(now) for c in self._counts.values())

    def total_dropped(self) -> int:
        with self._lock:
            return sum(c.dropped for c in self._counts.values())

    def latencies(self, clear: bool = False) -> list[float]:
        """Send-to-stored delays (s) of recent batches; `clear` starts a new measurement."""
        with self._lock:
            values = list(self._latency)
            if clear:
                self._latency.clear()
            return values

    def _get(self, name: str) -> ProducerCounts:
        c = self._counts.get(name)
        if c is None:
            c = self._counts[name] = ProducerCounts()
        return c
