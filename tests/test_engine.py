"""app.core.engine with real producer processes, headless: what every front end relies on."""

from __future__ import annotations

import dataclasses

import pytest

from tests.helpers import drain_until, engine_row, producer, session_from

pytestmark = pytest.mark.slow


def test_a_series_the_memory_budget_cannot_hold_is_said_and_counted(engines):
    session = session_from("".join(producer(f"p{i}", "sine", rate_hz=200.0) for i in range(6)))
    series_cost = 20_000  # bytes: a tiny budget holds a few series only
    engine = engines(dataclasses.replace(session, budget_mb=4 * series_cost / 2**20))
    engine.start_autostart()
    drain_until(engine, lambda: len(engine.store.refused) > 0)
    news = []
    drain_until(
        engine, lambda: any("not kept" in n.text for n in news) or news.extend(engine.news())
    )
    refused = {producer for producer, _ in engine.store.refused}
    name = sorted(refused)[0]
    drain_until(engine, lambda: "not kept" in engine_row(engine, name).error)
    assert "memory budget full" in engine_row(engine, name).error
    drain_until(engine, lambda: engine.counters.snapshot(name).dropped > 0)  # not silently lost
    assert "refused" in engine.store.usage_text()


def test_commands_are_numbered_and_the_view_says_when_they_took_effect(engines):
    engine = engines(session_from(producer("a", "sine", autostart=False, rate_hz=100.0)))
    number = engine.start("a")
    drain_until(engine, lambda: engine.view.applied >= number)
    assert engine_row(engine, "a").state_text.startswith(("STARTING", "RUNNING"))
    number = engine.stop("a")
    drain_until(engine, lambda: engine.view.applied >= number)
    assert engine_row(engine, "a").state_text.startswith(("STOPPING", "STOPPED"))


def test_a_producer_killed_mid_stream_has_its_loss_counted_exactly(engines):
    """What a killed run generated and never delivered is known from its shared tally: once
    the run is over, received + dropped == generated, to the sample."""
    import os
    import signal

    engine = engines(session_from(producer("v", "noise", rate_hz=500_000.0)))
    engine.start_autostart()
    drain_until(
        engine, lambda: engine_row(engine, "v").state_text == "RUNNING"
    )  # not a failed start
    tally = engine.supervisor.entries["v"].handle.tally
    os.kill(engine.view.entries["v"].pid, signal.SIGKILL)
    drain_until(engine, lambda: engine_row(engine, "v").state_text.startswith("EXITED"))
    drain_until(engine, lambda: not engine._runs)  # the run's account is closed
    counts = engine.counters.snapshot("v")
    assert counts.samples + counts.run_drops[1] == tally.generated
    assert engine_row(engine, "v").dropped == f"{counts.run_drops[1]:,}"
