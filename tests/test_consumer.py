"""app.consumer: the thin QThread around the engine: frames on request, and a death the
window can show."""

from __future__ import annotations

import numpy as np

from app.consumer import LIVE, ConsumerThread
from app.core.engine import Engine
from app.core.frames import FrameRequest
from app.core.session import Session
from producers.wire import Chunk

NOW = 1_700_000_000.0


def request(t1: float, **changes) -> FrameRequest:
    colors = {("p", "v"): 0xFF4E9AF1}
    return FrameRequest(t1 - 10, t1, 400, 200, (-2.0, 2.0), colors, frozenset(), **changes)


def test_a_frame_request_is_answered_from_the_store(qtbot):
    engine = Engine(Session([]))
    engine.store.append("p", Chunk("v", np.sin(np.arange(5000) / 100), t0=NOW - 10, dt=0.002))
    consumer = ConsumerThread(engine)
    consumer.start()
    try:
        asked = request(NOW)
        with qtbot.waitSignal(consumer.frame_ready, timeout=5000) as blocker:
            consumer.request_frame(asked)
        frame = blocker.args[0]
        assert frame.request is asked
        _x, lo, hi = frame.strip.bands[("p", "v")]
        assert lo.min() < -0.99 and hi.max() > 0.99  # the whole sine, as drawn
        assert (frame.strip.image != 0).sum() > 1000  # and painted into the image
        assert len(consumer.build_costs) == 1
    finally:
        assert consumer.stop(2000)
        engine.close()
    assert consumer not in LIVE


def test_a_dying_loop_says_so_with_its_traceback(qtbot):
    engine = Engine(Session([]))
    consumer = ConsumerThread(engine)

    def broken(_timeout):  # a bug in the data path, injected
        raise RuntimeError("a bug in the data path")

    engine.drain = broken
    with qtbot.waitSignal(consumer.failed, timeout=5000) as blocker:
        consumer.start()
    assert "RuntimeError: a bug in the data path" in blocker.args[0]
    qtbot.waitUntil(lambda: not consumer.isRunning(), timeout=5000)
    assert consumer.error == blocker.args[0]
    engine.close()


def test_statistics_are_computed_on_the_consumer_thread_latest_request_first(qtbot):
    import threading

    from app.core.statistics import StatsRequest

    engine = Engine(Session([]))
    values = np.arange(5000, dtype=float)
    engine.store.append("p", Chunk("v", values, t0=NOW - 10, dt=0.002))
    consumer = ConsumerThread(engine)
    results = []
    consumer.stats_ready.connect(results.append)
    consumer.start()
    try:
        stale = StatsRequest(NOW - 10, NOW, (("p", "v"),))
        asked = StatsRequest(NOW - 10, NOW - 10 + 0.999, (("p", "v"),))
        consumer.request_stats(stale)
        consumer.request_stats(asked)  # replaces the first, unless it was computed already
        qtbot.waitUntil(lambda: bool(results) and results[-1].request is asked, timeout=5000)
        assert len(results) <= 2
        result = results[-1]
        stats = result.stats[("p", "v")]
        assert stats.count == 500 and stats.mean == np.mean(values[:500])
        assert result.thread == consumer.ident != threading.get_ident()
    finally:
        assert consumer.stop(2000)
        engine.close()
