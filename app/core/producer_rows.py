"""What the producer panel shows, computed without Qt: one `RowStatus` per producer.

Kept apart from the widget so the words and numbers a user reads (state text, rates, drops,
uptime) are unit-tested without a QApplication; the widget only copies strings into cells.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.core.counters import CounterBook
from app.core.supervisor import ALIVE, Entry, State, Supervisor


@dataclass
class RowStatus:
    name: str
    kind: str
    state: State
    state_text: str
    pid: str
    rate: str
    total: str
    dropped: str
    last_value: str
    uptime: str
    error: str
    traceback: str
    can_start: bool
    can_stop: bool
    stalled: bool
    has_drops: bool
    remote: bool = False  # a producer elsewhere, reported by this app's subscriber


def format_rate(per_s: float) -> str:
    if per_s >= 1e6:
        return f"{per_s / 1e6:.2f} M/s"
    if per_s >= 1e4:
        return f"{per_s / 1e3:.1f} k/s"
    return f"{per_s:.1f}/s" if per_s < 100 else f"{per_s:.0f}/s"


def format_count(n: int) -> str:
    return f"{n:,}"


def format_duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def format_value(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.6g}"


def format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def state_text(sup: Supervisor, entry: Entry, now: float) -> str:
    state = entry.state
    if state is State.RUNNING and sup.is_stalled(entry):
        quiet = now - (entry.last_data_at or entry.started_at or entry.since)
        if entry.frozen:
            return f"RUNNING · stalled: process stopped (SIGSTOP?), no data for {quiet:.0f} s"
        if entry.mid_message_since is not None:
            held = now - entry.mid_message_since
            return f"RUNNING · stalled mid-message for {held:.0f} s"
        return f"RUNNING · stalled, no data for {quiet:.0f} s"
    if state is State.BACKOFF:
        wait = max((entry.due_at or now) - now, 0)
        return (
            f"BACKOFF · {entry.exit_description}; retry {entry.retries}/"
            f"{sup.policy.startretries} in {wait:.0f} s"
        )
    if state is State.EXITED:
        restart = f"; restart in {max(entry.due_at - now, 0):.0f} s" if entry.due_at else ""
        return f"EXITED · {entry.exit_description}{restart}"
    if state is State.FATAL and entry.exit_description:
        tries = sup.policy.startretries + 1
        return f"FATAL · {entry.exit_description}; gave up after {tries} tries"
    if state is State.STOPPED and entry.exit_description:
        return f"{state.value} · {entry.exit_description}"
    said = f" · {entry.status}" if entry.status and state in (State.STARTING, State.RUNNING) else ""
    if said and state is State.RUNNING:  # quiet by its own account: how long, without alarm
        quiet = sup.quiet_for(entry)
        if quiet > sup.policy.stall_after:
            said += f" · no data for {quiet:.0f} s"
    if entry.restarts and state in (State.STARTING, State.RUNNING):
        return f"{state.value}{said} · restarted {entry.restarts} times"
    return state.value + said


def build_rows(
    sup: Supervisor, stats: CounterBook, now: float, notes: dict[str, str] | None = None
) -> list[RowStatus]:
    """One row per producer; `notes` adds a problem that is not the process's own (e.g. a
    series the store refused) where the producer has no error of its own."""
    notes = notes or {}
    rows = []
    for entry in sup.entries.values():
        counts = stats.snapshot(entry.name)
        alive = entry.state in ALIVE
        uptime = now - entry.started_at if alive and entry.started_at is not None else None
        last = format_value(counts.last_value)
        if last and counts.last_series not in ("", "value"):
            last = f"{counts.last_series} = {last}"
        rows.append(
            RowStatus(
                name=entry.name,
                kind=entry.spec.kind,
                state=entry.state,
                state_text=state_text(sup, entry, now),
                pid=str(entry.pid) if alive and entry.pid else "",
                rate=format_rate(stats.rate(entry.name)) if alive else "",
                total=format_count(counts.samples),
                dropped=format_count(counts.dropped),
                last_value=last,
                uptime=format_duration(uptime) if uptime is not None else "",
                error=entry.last_error or entry.problem or notes.get(entry.name, ""),
                traceback=entry.traceback or entry.details,
                can_start=entry.state not in ALIVE,
                # also while a restart is pending (after a crash, or a reconfigure that stops
                # the producer to start it again): Stop then means "and do not start again"
                can_stop=entry.state in (State.STARTING, State.RUNNING, State.BACKOFF)
                or (entry.state is State.EXITED and entry.due_at is not None)
                or (entry.state is State.STOPPING and entry.start_after_stop),
                stalled=sup.is_stalled(entry),
                has_drops=counts.dropped > 0,
            )
        )
        rows.extend(remote_rows(entry))
    return rows


REMOTE_KIND = "remote"
REMOTE_SEP = ":"  # `<subscriber>:<remote>`: no session producer's name holds one


def remote_rows(entry: Entry) -> list[RowStatus]:
    """The rows `entry` reports of producers running elsewhere (`ctx.report_remote`), named
    `<entry>:<remote>` (a name no session producer can have). While `entry` itself is not
    running, nobody here is listening: they read UNKNOWN, whatever they said last."""
    listening = entry.state is State.RUNNING
    rows = []
    for name, info in sorted(entry.remotes.items()):
        try:
            state = State(info.get("state", "UNKNOWN"))
        except ValueError:
            state = State.UNKNOWN
        text = info.get("state_text") or state.value
        if not listening:
            state, text = State.UNKNOWN, f"UNKNOWN · not watched ({entry.name} is not running)"
        dropped = int(info.get("dropped", 0))
        pid = info.get("pid")
        control = bool(info.get("control")) and bool(info.get("cmd_topic")) and listening
        rows.append(
            RowStatus(
                name=f"{entry.name}{REMOTE_SEP}{name}",
                kind=info.get("kind") or REMOTE_KIND,
                state=state,
                state_text=text,
                pid=str(pid) if pid and state in ALIVE else "",
                rate=format_rate(float(info.get("rate", 0.0))) if state in ALIVE else "",
                total=format_count(int(info.get("total", 0))),
                dropped=format_count(dropped),
                last_value="",
                uptime="",
                error=info.get("error", ""),
                traceback="",
                # from here only if its publisher allows it (`publish --allow-control`)
                can_start=control and state not in ALIVE,
                can_stop=control and state in (State.STARTING, State.RUNNING, State.BACKOFF),
                stalled=False,
                has_drops=dropped > 0,
                remote=True,
            )
        )
    return rows
