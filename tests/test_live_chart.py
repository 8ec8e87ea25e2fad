"""widgets.live_chart: the chart on its own, fed straight from a SeriesStore, as a user sees it."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PyQt5.QtCore import QEvent, QPoint, QPointF, Qt
from PyQt5.QtGui import QColor, QMouseEvent
from PyQt5.QtWidgets import QApplication

from app.core.store import SeriesStore
from app.core.strip import StripRenderer
from producers.wire import Chunk
from widgets.live_chart import PALETTE, LiveChart

WAIT_MS = 5000
NOISE, SPARSE = ("noise", "value"), ("slow", "temp")


def new_store() -> SeriesStore:
    return SeriesStore(raw_capacity=1 << 16, bucket_capacity=4096)


def feed_noise(store: SeriesStore, seconds: float, rate: float = 1000.0, spike_at=None):
    """Noise in [-1, 1] at `rate` Hz over the last `seconds` before now; optionally one sample
    of 7.5 at index `spike_at`."""
    end = time.time()
    n = int(seconds * rate)
    values = np.random.default_rng(0).uniform(-1.0, 1.0, n)
    if spike_at is not None:
        values[spike_at] = 7.5
    chunk = Chunk(NOISE[1], values, t0=end - n / rate, dt=1 / rate)
    assert store.append(NOISE[0], chunk)
    return chunk


def feed_sparse(store: SeriesStore, times, values):
    chunk = Chunk(
        SPARSE[1],
        np.asarray(values, dtype=np.float64),
        explicit_times=np.asarray(times, dtype=np.float64),
    )
    assert store.append(SPARSE[0], chunk)


@pytest.fixture
def make_chart(qtbot):
    def make(store, window_s=10.0, fps=40.0, size=(800, 400)):
        chart = LiveChart(store, window_s=window_s, fps=fps)
        # frames are built where the chart's requests go: here synchronously, on this thread,
        # by the same renderer the consumer thread uses in the app
        renderer = StripRenderer()
        chart.frame_requested.connect(
            lambda request: chart.show_frame(renderer.frame(store, request)),
            Qt.DirectConnection,
        )
        # pytest-qt closes the chart after the test; its frame timer is stopped first, or it
        # would go on drawing into the closed PlotWidget
        qtbot.addWidget(chart, before_close_func=LiveChart.stop)
        chart.resize(*size)
        chart.show()
        qtbot.waitExposed(chart)
        return chart

    return make


def view_of(chart):
    return chart.getPlotItem().getViewBox()


def x_range_epoch(chart) -> tuple[float, float]:
    (x0, x1), _ = view_of(chart).viewRange()
    return x0 + chart.origin, x1 + chart.origin


def y_range(chart) -> tuple[float, float]:
    return tuple(view_of(chart).viewRange()[1])


def pixels_of(chart, color: str) -> int:
    """Pixels of exactly `color` in the chart as it is on screen."""
    image = chart.grab().toImage()
    rgb = QColor(color).rgb() & 0xFFFFFF
    ptr = image.convertToFormat(image.Format_RGB32).constBits()
    ptr.setsize(image.width() * image.height() * 4)
    pixels = np.frombuffer(ptr, np.uint32) & 0xFFFFFF
    return int(np.count_nonzero(pixels == rgb))


def drag(qtbot, chart, dx: int) -> None:
    """Drag the plot sideways with the left button from its middle, as a user panning does.
    (QTest's mouseMove carries no buttons, so the events are sent by hand; pyqtgraph drops
    moves closer than 10 ms apart, so the move waits that long.)"""
    viewport = chart.viewport()
    start = QPoint(viewport.width() // 2, viewport.height() // 2)
    end = start + QPoint(dx, 0)

    def send(kind, pos, button, buttons):
        global_pos = QPointF(viewport.mapToGlobal(pos))
        event = QMouseEvent(kind, QPointF(pos), global_pos, button, buttons, Qt.NoModifier)
        QApplication.sendEvent(viewport, event)

    send(QEvent.MouseButtonPress, start, Qt.LeftButton, Qt.LeftButton)
    for step in (1, 2):
        qtbot.wait(15)
        send(QEvent.MouseMove, start + (end - start) * step / 2, Qt.NoButton, Qt.LeftButton)
    send(QEvent.MouseButtonRelease, end, Qt.LeftButton, Qt.NoButton)


# -- data appears ---------------------------------------------------------------------------------


def test_data_in_the_store_appears_in_the_chart(qtbot, make_chart):
    store = new_store()
    feed_noise(store, 8.0)
    chart = make_chart(store)
    assert chart.objectName() == "liveChart"
    chart.set_live(True)
    chart.redraw()
    x, lo, hi = chart.drawn(NOISE)
    assert len(x) > 100
    assert np.all(lo <= hi)
    assert lo.min() >= -1.0 and hi.max() <= 1.0
    assert chart.curve(NOISE) is not None
    assert [label.text for _, label in chart.legend.items] == ["noise"]
    # and on screen: the series' color fills many pixels (the legend's sample line is ~20)
    qtbot.waitUntil(lambda: pixels_of(chart, PALETTE[0]) > 1000, timeout=WAIT_MS)


def test_a_single_sample_spike_is_in_the_drawn_maxima(qtbot, make_chart):
    store = new_store()
    chunk = feed_noise(store, 8.0, rate=5000.0, spike_at=21_111)
    spike_t = chunk.timestamps[21_111]
    chart = make_chart(store)
    chart.set_live(True)
    chart.redraw()
    x, _, hi = chart.drawn(NOISE)
    assert len(x) < 5000  # columns, not samples: the spike survived decimation
    (at,) = np.flatnonzero(hi == 7.5)
    assert abs(x[at] - spike_t) < (x[1] - x[0])


def test_a_sparse_series_is_drawn_as_a_curve(qtbot, make_chart):
    store = new_store()
    now = time.time()
    times = now - np.array([8.0, 6.0, 4.0, 2.0, 0.5])
    values = [1.0, 3.0, 2.0, 5.0, 4.0]
    feed_sparse(store, times, values)
    feed_noise(store, 8.0)
    chart = make_chart(store)
    chart.set_live(True)
    chart.redraw()
    x, y = chart.curve(SPARSE).getData()
    assert len(x) >= 5
    for t, v in zip(times, values, strict=True):
        near = np.abs(x + chart.origin - t) < 0.1
        assert np.any(near & (y == v)), f"sample ({t}, {v}) not drawn"
    assert chart.curve(SPARSE).isVisible()
    drawn_x, _, _ = chart.drawn(SPARSE)
    assert len(drawn_x) == len(x)


# -- following, panning, the window ---------------------------------------------------------------


def test_following_keeps_the_newest_time_at_the_right_edge(qtbot, make_chart):
    store = new_store()
    feed_noise(store, 5.0)
    chart = make_chart(store, window_s=10.0)
    chart.set_live(True)
    chart.redraw()
    assert chart.following
    x0, x1 = x_range_epoch(chart)
    assert abs(x1 - time.time()) < 1.0
    assert x1 - x0 == pytest.approx(10.0, abs=0.01)
    # it keeps moving with the clock on its own (the frame timer), not only on redraw()
    first_x1 = x1
    qtbot.waitUntil(lambda: x_range_epoch(chart)[1] > first_x1 + 0.2, timeout=WAIT_MS)
    assert abs(x_range_epoch(chart)[1] - time.time()) < 1.0


def test_panning_by_hand_stops_following(qtbot, make_chart):
    store = new_store()
    feed_noise(store, 20.0)
    chart = make_chart(store, window_s=10.0)
    chart.set_live(True)
    chart.redraw()
    before = x_range_epoch(chart)
    seconds_per_pixel = 10.0 / view_of(chart).width()
    with qtbot.waitSignal(chart.follow_changed, timeout=WAIT_MS) as blocker:
        drag(qtbot, chart, 200)  # pull the plot right: look at earlier data
    assert blocker.args == [False]
    assert not chart.following
    x0, x1 = x_range_epoch(chart)
    assert x1 - x0 == pytest.approx(10.0, abs=0.01)
    assert before[1] - x1 == pytest.approx(200 * seconds_per_pixel, rel=0.2)

    # the chart draws the span the user picked ...
    def shows_the_picked_span():
        drawn_x = chart.drawn(NOISE)[0]
        assert len(drawn_x) > 100
        assert drawn_x.min() >= x0 - 0.1 and drawn_x.max() <= x1 + 0.1

    qtbot.waitUntil(shows_the_picked_span, timeout=WAIT_MS)
    # ... and stays there while time moves on
    chart.redraw()
    assert x_range_epoch(chart) == pytest.approx((x0, x1), abs=1e-6)
    with qtbot.waitSignal(chart.follow_changed, timeout=WAIT_MS) as blocker:
        chart.set_follow(True)
    assert blocker.args == [True]
    chart.redraw()
    assert abs(x_range_epoch(chart)[1] - time.time()) < 1.0


def test_a_manual_range_change_signal_turns_follow_off_once(qtbot, make_chart):
    store = new_store()
    feed_noise(store, 3.0)
    chart = make_chart(store)
    chart.redraw()
    emitted = []
    chart.follow_changed.connect(emitted.append)
    view = view_of(chart)
    x0, x1 = view.viewRange()[0]
    frames = len(chart.show_costs)
    view.setXRange(x0 - 20, x1 - 20, padding=0)  # what a pan does, then it tells:
    view.sigRangeChangedManually.emit([True, False])
    view.sigRangeChangedManually.emit([True, False])
    assert emitted == [False]
    assert not chart.following
    qtbot.waitUntil(lambda: len(chart.show_costs) > frames, timeout=WAIT_MS)  # redrawn at once
    assert view.viewRange()[0] == pytest.approx([x0 - 20, x1 - 20])  # not pulled back to now


def test_set_window_changes_the_span_shown(qtbot, make_chart):
    store = new_store()
    feed_noise(store, 30.0, rate=500.0)
    chart = make_chart(store, window_s=20.0)
    chart.set_live(True)
    chart.redraw()
    x0, x1 = x_range_epoch(chart)
    assert x1 - x0 == pytest.approx(20.0, abs=0.01)
    wide = chart.drawn(NOISE)[0]
    chart.set_window(5.0)
    chart.redraw()
    x0, x1 = x_range_epoch(chart)
    assert x1 - x0 == pytest.approx(5.0, abs=0.01)
    assert abs(x1 - time.time()) < 1.0
    narrow = chart.drawn(NOISE)[0]
    assert narrow.min() >= x0 - 1.0
    assert np.median(np.diff(narrow)) < np.median(np.diff(wide))  # finer columns


# -- legend, y range ------------------------------------------------------------------------------


def test_hiding_a_curve_removes_its_data_from_the_next_frame(qtbot, make_chart):
    store = new_store()
    feed_noise(store, 8.0)
    now = time.time()
    feed_sparse(store, now - np.array([7.0, 5.0, 3.0, 1.0]), [0.5, -0.5, 0.25, -0.25])
    chart = make_chart(store)
    chart.set_live(True)
    chart.redraw()
    assert len(chart.drawn(NOISE)[0]) and len(chart.drawn(SPARSE)[0])
    on_screen = pixels_of(chart, PALETTE[0])
    assert on_screen > 1000

    chart.curve(NOISE).setVisible(False)  # what unticking it in the legend does
    chart.curve(SPARSE).setVisible(False)
    chart.redraw()
    assert len(chart.drawn(NOISE)[0]) == 0
    assert len(chart.drawn(SPARSE)[0]) == 0
    x, _ = chart.curve(SPARSE).getData()
    assert x is None or len(x) == 0
    assert pixels_of(chart, PALETTE[0]) < 100  # at most the legend's sample line

    chart.curve(NOISE).setVisible(True)
    chart.redraw()
    assert len(chart.drawn(NOISE)[0]) > 100
    assert len(chart.drawn(SPARSE)[0]) == 0


def test_a_legend_of_many_series_shows_the_first_ones_and_counts_the_rest(qtbot, make_chart):
    from widgets.chart_legend import LEGEND_MAX

    store = new_store()
    now = time.time()
    names = [f"p{i:02d}" for i in range(LEGEND_MAX + 6)]
    chart = make_chart(store)
    chart.set_producers(names)
    for batch in (names[:10], names[10:]):  # series arrive over time, as producers start
        for name in batch:
            store.append(name, Chunk("value", np.zeros(3), t0=now - 1, dt=0.1))
        chart.redraw()  # the new series get their curves, and the legend is due soon
        assert chart.curve((batch[-1], "value")) is not None
        chart.legend.due = 0.0  # (due at once: the batching is not what this test is about)
        chart.redraw()
    labels = [label.text for _, label in chart.legend.items]
    assert labels == names[:LEGEND_MAX]  # in session order
    assert chart.legend.more.text == "… and 6 more series"


def test_the_y_range_grows_to_include_a_new_large_value(qtbot, make_chart):
    store = new_store()
    chunk = feed_noise(store, 5.0)
    chart = make_chart(store)
    chart.set_live(True)
    chart.redraw()
    qtbot.waitUntil(lambda: y_range(chart)[0] <= -1.0 and y_range(chart)[1] >= 1.0, timeout=WAIT_MS)
    assert y_range(chart)[1] < 5.0
    big = Chunk(NOISE[1], np.array([0.0, 40.0, 0.0]), t0=chunk.last_time + 0.001, dt=0.001)
    assert store.append(NOISE[0], big)
    chart.redraw()
    qtbot.waitUntil(lambda: y_range(chart)[1] >= 40.0, timeout=WAIT_MS)
    assert y_range(chart)[0] <= -1.0
    assert chart.drawn(NOISE)[2].max() == 40.0


def test_a_stop_between_two_runs_is_a_gap_in_a_sparse_series_line(qtbot, make_chart):
    """A producer stopped and started again: its slow series' line is not drawn across the
    pause (the dense strip always showed it; the line used to bridge it)."""
    store = new_store()
    now = time.time()
    feed_sparse(store, now - np.array([9.0, 8.0, 7.0]), [1.0, 2.0, 3.0])  # the first run
    store.new_run(SPARSE[0])  # Stop, then Start: what the pipeline says at the new run
    feed_sparse(store, now - np.array([3.0, 2.0, 1.0]), [4.0, 5.0, 6.0])
    chart = make_chart(store)
    chart.set_live(True)
    chart.redraw()
    x, y = chart.curve(SPARSE).getData()
    (gap,) = np.flatnonzero(np.isnan(y))
    assert y[gap - 1] == 3.0 and y[gap + 1] == 4.0  # the line stops, then starts again
    assert now - 7.0 < x[gap] + chart.origin < now - 3.0
