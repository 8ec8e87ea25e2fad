"""End to end through real processes: producer -> pipe -> channel -> consumer thread.

No sample lost or reordered within a series across batches, at a high rate; the consumer
thread stops promptly; a producer's data arrives in time order even across restarts."""

from __future__ import annotations

import time

import numpy as np
import pytest

from app.consumer import ConsumerThread
from app.core.channel import Channel
from app.core.counters import CounterBook
from app.core.launcher import SpawnLauncher
from app.core.pipeline import Pipeline
from app.core.session import ProducerSpec
from app.core.store import SeriesStore

RATE = 200_000.0


def _drain_until(channel: Channel, predicate, timeout: float = 20.0):
    chunks, events = [], []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = channel.drain(0.1)
        chunks.extend(c for _, c in batch.chunks)
        events.extend(batch.events)
        if predicate(chunks, events):
            return chunks, events
    raise AssertionError("timed out")


def test_every_sample_arrives_once_and_in_order_at_high_rate():
    channel = Channel()
    launcher = SpawnLauncher(channel)
    spec = ProducerSpec("wave", "sine", {"rate_hz": RATE, "frequency_hz": 3.0, "amplitude": 2.0,
                                          "phase_deg": 0.0, "offset": 0.0})  # fmt: skip
    handle = launcher.launch(spec, 1)
    try:
        chunks, _ = _drain_until(channel, lambda c, e: sum(len(x) for x in c) >= 3 * RATE)
    finally:
        handle.request_stop()
        _drain_until(channel, lambda c, e: any(ev.kind == "eof" for ev in e))
        handle.join(5)
        handle.close()
        channel.close()
    times = np.concatenate([c.timestamps for c in chunks])
    values = np.concatenate([c.values for c in chunks])
    assert len(chunks) > 50  # really many batches, not one big one
    # epoch times near 1.8e9 s are quantised to ~0.24 us; a lost or repeated sample is 5 us
    np.testing.assert_allclose(np.diff(times), 1 / RATE, rtol=0, atol=1e-6)
    elapsed = np.arange(len(values)) / RATE  # sample i of the run: nothing skipped or reordered
    np.testing.assert_allclose(values, 2.0 * np.sin(2 * np.pi * 3.0 * elapsed), atol=1e-6)


def test_consumer_thread_stores_batches_and_stops_within_half_a_second(qtbot):
    channel = Channel()
    store, stats = SeriesStore(budget_bytes=64 << 20), CounterBook()
    consumer = ConsumerThread(channel, Pipeline(store, stats))
    launcher = SpawnLauncher(channel)
    spec = ProducerSpec("n", "noise", {"rate_hz": 50_000.0, "mean": 0.0, "std": 1.0, "seed": 1})
    handle = launcher.launch(spec, 1)
    consumer.start()
    try:
        with qtbot.waitSignal(consumer.batch_received, timeout=15000):
            pass
        qtbot.waitUntil(lambda: stats.total_samples > 50_000, timeout=15000)
        assert store.stats(("n", "value"))[0] == stats.total_samples
    finally:
        handle.request_stop()
        handle.join(5)
        handle.close()
        started = time.monotonic()
        assert consumer.stop(timeout_ms=500)
        assert time.monotonic() - started < 0.5
        channel.close()


@pytest.mark.parametrize("wait_s", [0.2])
def test_idle_consumer_does_not_spin(qtbot, wait_s):
    """With no producer at all, the consumer thread sleeps in its wait (no busy loop)."""
    import psutil

    channel = Channel()
    consumer = ConsumerThread(channel, Pipeline(SeriesStore(budget_bytes=64 << 20), CounterBook()))
    consumer.start()
    proc = psutil.Process()
    try:
        before, t0 = proc.cpu_times(), time.monotonic()
        qtbot.wait(1000)  # the Qt event loop runs; the consumer is the only other thread
        after, elapsed = proc.cpu_times(), time.monotonic() - t0
        used = (after.user + after.system) - (before.user + before.system)
        assert used / elapsed < 0.05  # a spinning thread would use ~1.0
    finally:
        assert consumer.stop(timeout_ms=500)
        channel.close()
