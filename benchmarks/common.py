"""Small helpers the part benchmarks share (one place, not one copy per benchmark)."""

from __future__ import annotations

import psutil


def cpu_seconds(proc: psutil.Process) -> float:
    """User + system CPU time of one process so far."""
    times = proc.cpu_times()
    return times.user + times.system


def state_text(engine, name: str) -> str:
    """The producer panel's state text for `name`, as the engine last published it."""
    return next((r.state_text for r in engine.view.rows if r.name == name), "")
