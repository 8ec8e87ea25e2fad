"""News of what sources say and lose: a status that changed ("connected to …", "reconnecting:
timed out") and samples newly dropped, for the window's event log.

The supervisor keeps only a source's latest status and the counters only totals: a reconnect
that came and went between two looks would leave no trace. Looking once a second (not per tick)
coalesces what changes faster (a replay's progress, a steady loss) into at most one line per
source per second, so the log stays readable and the front end's work stays a few lines a
second, while the latest status is always told in the end.
"""

from __future__ import annotations

import logging
import time

from app.core.engine_view import News

INTERVAL_S = 1.0


class SourceWatch:
    def __init__(self, interval: float = INTERVAL_S, clock=time.monotonic):
        self._interval = interval
        self._clock = clock
        self._last_look = -float("inf")
        self._told_status: dict[str, tuple[int, str]] = {}  # name -> (generation, text)
        self._told_dropped: dict[str, int] = {}

    def look(self, entries, counters) -> list[News]:
        """What changed since the last look (`entries`: the supervisor's, by name); [] when
        the last look was less than the interval ago."""
        now = self._clock()
        if now - self._last_look < self._interval:
            return []
        self._last_look = now
        for told in (self._told_status, self._told_dropped):  # producers removed or renamed
            for name in [n for n in told if n not in entries]:
                del told[name]
        out = []
        for name, entry in entries.items():
            status = (entry.generation, entry.status)
            if entry.status and self._told_status.get(name) != status:
                self._told_status[name] = status
                out.append(News(logging.INFO, f"{name}: {entry.status}", name, kind="status"))
            dropped = counters.snapshot(name).dropped
            before = self._told_dropped.get(name, 0)
            if dropped > before:
                self._told_dropped[name] = dropped
                text = f"{name}: {dropped - before:,} samples dropped ({dropped:,} in all)"
                out.append(News(logging.WARNING, text, name, kind="drops"))
        return out
