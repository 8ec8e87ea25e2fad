"""Sources' status changes and new drops become news at most once a second per source."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from app.core.counters import CounterBook
from app.core.source_watch import SourceWatch


def test_status_and_drops_are_told_once_and_coalesced():
    now = [0.0]
    watch = SourceWatch(interval=1.0, clock=lambda: now[0])
    counters = CounterBook()
    entry = SimpleNamespace(generation=1, status="connecting to broker:1883")
    entries = {"m": entry}
    assert [n.text for n in watch.look(entries, counters)] == ["m: connecting to broker:1883"]
    entry.status = "connected"
    counters.note_run_drops("m", 1, 40)
    assert watch.look(entries, counters) == []  # less than a second since the last look
    entry.status = "reconnecting: timed out"  # the latest status is told, not each one
    now[0] = 1.0
    told = watch.look(entries, counters)
    assert [(n.kind, n.level, n.text) for n in told] == [
        ("status", logging.INFO, "m: reconnecting: timed out"),
        ("drops", logging.WARNING, "m: 40 samples dropped (40 in all)"),
    ]
    now[0] = 2.0
    assert watch.look(entries, counters) == []  # nothing new
    entry.generation = 2  # a new run saying the same: told again
    counters.note_run_drops("m", 2, 5)
    now[0] = 3.0
    told = [n.text for n in watch.look(entries, counters)]
    assert told == ["m: reconnecting: timed out", "m: 5 samples dropped (45 in all)"]
