"""What the engine publishes for its front ends: immutable snapshots they read without a lock,
and the news (state changes, errors, reports) they show and log."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from app.core.counters import CounterBook
from app.core.producer_rows import RowStatus, build_rows
from app.core.supervisor import ALIVE, State, StateChange, Supervisor


@dataclass(frozen=True)
class EntryInfo:
    """A producer's details as of the last publish (for dialogs and summaries)."""

    name: str
    spec: object
    state: State
    pid: int | None
    last_error: str
    traceback: str
    exit_description: str


@dataclass(frozen=True)
class EngineView:
    """What front ends show; replaced whole on every publish, so reading it needs no lock."""

    rows: tuple[RowStatus, ...] = ()
    entries: dict[str, EntryInfo] = field(default_factory=dict)
    active: bool = False  # something runs or will restart: keep timers fast
    all_stopped: bool = True
    drained: bool = True  # all stopped and every pipe read to its end
    up: frozenset[str] = frozenset()  # producers whose current run has said hello
    applied: int = 0  # commands applied so far (compare with the number a command returned)


@dataclass(frozen=True)
class News:
    """Something a front end should tell the user (and log)."""

    level: int  # logging level
    text: str
    name: str = ""  # the producer it is about, if any
    change: StateChange | None = None
    details: str = ""  # more than a line: the traceback of a producer that raised
    kind: str = ""  # "status" (what a source says it does), "drops"; "" for the rest
    at: float = field(default_factory=time.time)  # when it happened (wall clock)


def make_view(
    sup: Supervisor,
    counters: CounterBook,
    *,
    up: frozenset[str],
    settled: bool,
    applied: int,
    notes: dict[str, str],
) -> EngineView:
    """`settled`: no run's account is open and no pipe is still being read."""
    entries = {
        name: EntryInfo(
            name,
            e.spec,
            e.state,
            e.pid,
            e.last_error or e.problem,
            e.traceback or e.details,
            e.exit_description,
        )
        for name, e in sup.entries.items()
    }
    all_stopped = sup.all_stopped
    return EngineView(
        rows=tuple(build_rows(sup, counters, sup.clock(), notes)),
        entries=entries,
        active=bool(sup.leaving) or any(e.state in ALIVE or e.due_at for e in sup.entries.values()),
        all_stopped=all_stopped,
        drained=all_stopped and settled,
        up=up,
        applied=applied,
    )
