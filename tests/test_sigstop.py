"""A producer frozen mid-message (SIGSTOP, a debugger, a frozen VM) holds nobody up.

Its messages are 80 kB (header and body are written separately, and the body is larger than
what one write may carry), so a stop lands between the two or inside the body most of the time.
The others must keep >= 95 % of their rate in every second of the storm; the frozen one is shown
as stalled, and resumes when continued."""

from __future__ import annotations

import os
import random
import signal
import threading
import time

import pytest

from app.core.engine import Engine
from app.core.supervisor import Policy
from tests.helpers import producer, session_from

pytestmark = pytest.mark.slow
OTHERS = {"s1": 100_000.0, "s2": 100_000.0, "s3": 50_000.0}
STORM_S = 6.0


def drain_until(engine: Engine, done, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out"
        engine.drain(0.05)


def received(engine: Engine) -> dict[str, int]:
    return {name: engine.counters.snapshot(name).samples for name in OTHERS}


def storm(pid: int, seed: int, until: float, stops: list) -> None:
    rng = random.Random(seed)
    while time.monotonic() < until:
        os.kill(pid, signal.SIGSTOP)
        stops.append(1)
        time.sleep(rng.uniform(0.02, 0.4))  # a storm thread, not the one draining
        os.kill(pid, signal.SIGCONT)
        time.sleep(rng.uniform(0.005, 0.1))


def test_sigstop_storm_at_full_rate_does_not_slow_the_others():
    seed = random.randrange(1 << 30)
    print(f"storm seed {seed}")
    session = session_from(
        producer("victim", "noise", rate_hz=1_000_000.0)
        + "".join(producer(name, "sine", rate_hz=rate) for name, rate in OTHERS.items())
    )
    engine = Engine(session, keep_store=False, policy=Policy(stall_after=1.0))
    try:
        engine.start_autostart()
        drain_until(engine, lambda: engine.view.up == {"victim", *OTHERS})
        pid = engine.view.entries["victim"].pid
        stops: list = []
        start = time.monotonic() + 1.0  # let the others settle first
        thread = threading.Thread(target=storm, args=(pid, seed, start + STORM_S, stops))
        samples = []  # (time, received per other producer)
        while time.monotonic() < start:
            engine.drain(0.02)
        thread.start()
        while time.monotonic() < start + STORM_S:
            engine.drain(0.02)
            samples.append((time.monotonic(), received(engine)))
        thread.join()
        os.kill(pid, signal.SIGCONT)
        assert len(stops) > 15
        for t0, counts0 in samples:  # every 1-second window of the storm
            later = [(t, c) for t, c in samples if t >= t0 + 1.0]
            if not later:
                break
            t1, counts1 = later[0]
            for name, rate in OTHERS.items():
                got = (counts1[name] - counts0[name]) / (t1 - t0)
                assert got >= 0.95 * rate, (
                    f"{name}: {got:.0f}/s at {t0 - start:.1f} s (seed {seed})"
                )
        # a long stop: the row says why nothing arrives, and the producer resumes afterwards
        os.kill(pid, signal.SIGSTOP)
        try:
            drain_until(engine, lambda: "stalled" in _state(engine, "victim"), timeout=10)
        finally:
            os.kill(pid, signal.SIGCONT)
        drain_until(engine, lambda: _state(engine, "victim") == "RUNNING", timeout=10)
    finally:
        engine.shutdown()
        drain_until(engine, lambda: engine.view.drained)
        engine.close()


def _state(engine: Engine, name: str) -> str:
    return next(r.state_text for r in engine.view.rows if r.name == name)
