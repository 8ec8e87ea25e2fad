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
        with qtbot.waitSignal(consumer.frames_ready, timeout=5000) as blocker:
            consumer.request_frame(asked)
        [frame] = blocker.args[0]
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


def test_each_plot_axis_is_its_own_layer_built_by_its_own_renderer(qtbot):
    """Two layers asked for at once: two frames, each with only its series and its y range
    (log10 for the log one); a forgotten layer's renderer goes."""
    engine = Engine(Session([]))
    engine.store.append("p", Chunk("v", np.full(5000, 100.0), t0=NOW - 10, dt=0.002))
    engine.store.append("q", Chunk("v", np.full(5000, -1.0), t0=NOW - 10, dt=0.002))
    consumer = ConsumerThread(engine)
    consumer.start()
    try:
        left = FrameRequest(NOW - 10, NOW, 400, 200, (0.0, 3.0), {("p", "v"): 0xFF112233},
                            layer="0:left", log=True)  # fmt: skip
        right = FrameRequest(NOW - 10, NOW, 400, 200, (-2.0, 2.0), {("q", "v"): 0xFF445566},
                             layer="1:right")  # fmt: skip
        frames = []
        consumer.frames_ready.connect(frames.extend)
        consumer.request_frame(left)
        consumer.request_frame(right)
        qtbot.waitUntil(lambda: len(frames) == 2, timeout=5000)
        by_layer = {f.request.layer: f.strip for f in frames}
        assert set(by_layer["0:left"].bands) == {("p", "v")}
        assert set(by_layer["1:right"].bands) == {("q", "v")}
        assert by_layer["0:left"].extent == (2.0, 2.0)  # log10(100)
        assert by_layer["1:right"].extent == (-1.0, -1.0)
        assert set(consumer._renderers) == {"0:left", "1:right"}
        consumer.forget_layers(["1:right"])
        consumer.request_frame(left)
        qtbot.waitUntil(lambda: len(frames) == 3, timeout=5000)
        assert set(consumer._renderers) == {"0:left"}
    finally:
        assert consumer.stop(2000)
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
