"""The chart's legend and colours as a user meets them: names that toggle, a box that shows
what it covers and gets out of the way, and one colour per series in a real window."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PyQt5.QtCore import Qt

from app.core.store import SeriesStore
from app.core.strip import StripRenderer
from producers.wire import Chunk
from tests.helpers import WAIT_MS, points_in_chart, producer, session_from, wait_state
from widgets import chart_legend
from widgets.live_chart import LiveChart

pytestmark = pytest.mark.slow  # the last test starts producers in a real window

HIGH, LOW = ("high", "value"), ("low", "value")


@pytest.fixture
def make_chart(qtbot):
    """A chart fed straight from a store, frames built on this thread (as in test_live_chart)."""

    def make(store, size=(800, 400)):
        chart = LiveChart(store, window_s=10.0)
        renderer = StripRenderer()
        chart.frame_requested.connect(
            lambda request: chart.show_frame(renderer.frame(store, request)), Qt.DirectConnection
        )
        qtbot.addWidget(chart, before_close_func=LiveChart.stop)
        chart.resize(*size)
        chart.show()
        qtbot.waitExposed(chart)
        return chart

    return make


def store_with_high_data() -> SeriesStore:
    """`high`: dense noise in [0.8, 1] over the whole window; `low`: one sample at -1, so the
    top of the view is full and its bottom empty."""
    store = SeriesStore(raw_capacity=1 << 16, bucket_capacity=4096)
    end, rate = time.time(), 2000.0
    values = np.random.default_rng(0).uniform(0.8, 1.0, int(9 * rate))
    store.append(HIGH[0], Chunk(HIGH[1], values, t0=end - len(values) / rate, dt=1 / rate))
    store.append(LOW[0], Chunk(LOW[1], np.array([-1.0]), explicit_times=np.array([end - 5])))
    return store


def click_name(qtbot, chart, curve) -> None:
    """A real left click on the middle of the entry's name."""
    _, label = chart.legend.entry(curve)
    point = chart.mapFromScene(label.mapToScene(label.boundingRect().center()))
    qtbot.mouseClick(chart.viewport(), Qt.LeftButton, pos=point)


def legend_ready(qtbot, chart, keys) -> None:
    chart.legend.due = 0.0  # (the batching is not what these tests are about)
    chart.redraw()
    qtbot.waitUntil(
        lambda: all(chart.legend.entry(chart.curve(k)) is not None for k in keys), timeout=WAIT_MS
    )


def test_clicking_a_name_hides_the_series_and_clicking_again_shows_it(qtbot, make_chart):
    store = store_with_high_data()
    chart = make_chart(store)
    chart.set_live(True)
    legend_ready(qtbot, chart, [HIGH, LOW])
    curve = chart.curve(HIGH)
    _, label = chart.legend.entry(curve)
    assert len(chart.drawn(HIGH)[0]) > 100 and not label.hidden

    click_name(qtbot, chart, curve)
    assert not curve.isVisible() and label.hidden
    assert "<s>" in label.text  # read as hidden: struck through and dimmed
    chart.redraw()
    assert len(chart.drawn(HIGH)[0]) == 0  # not drawn any more
    assert len(chart.drawn(LOW)[0]) > 0  # the other one is

    click_name(qtbot, chart, curve)
    assert curve.isVisible() and not label.hidden
    chart.redraw()
    assert len(chart.drawn(HIGH)[0]) > 100


def test_the_legend_is_translucent_and_moves_to_the_emptiest_corner(qtbot, make_chart):
    store = store_with_high_data()
    chart = make_chart(store)
    chart.set_live(True)
    legend_ready(qtbot, chart, [HIGH, LOW])
    assert chart.legend.item.opts["brush"].color().alpha() < 255
    # it starts top right and moves away from the data as soon as it has entries
    assert chart.legend.corner.startswith("bottom")
    chart.legend.place("top-right")  # (put back over the data)
    chart.legend.place_due = 0.0
    chart.redraw()
    assert chart.legend.corner.startswith("bottom")
    view = chart.getPlotItem().getViewBox()
    legend_box = chart.legend.item.mapRectToScene(chart.legend.item.boundingRect())
    view_box = view.mapRectToScene(view.boundingRect())
    assert legend_box.bottom() > view_box.center().y()  # on screen too: in the lower half
    # and it does not look again on every frame
    placed = chart.legend.place_due
    assert placed > time.monotonic() + chart_legend.PLACE_EVERY_S / 2
    chart.redraw()
    assert chart.legend.place_due == placed


def test_the_legend_stays_put_when_the_y_labels_change_width(qtbot, make_chart):
    store = store_with_high_data()
    chart = make_chart(store)
    chart.legend.place_due = float("inf")  # where it starts: top right
    legend_ready(qtbot, chart, [HIGH, LOW])
    sample, _ = chart.legend.entry(chart.curve(HIGH))
    before = sample.mapToScene(sample.boundingRect().center())
    view = chart.getPlotItem().getViewBox()
    left = view.mapRectToScene(view.boundingRect()).left()
    chart.getPlotItem().getAxis("left").setWidth(140)  # wider tick labels
    qtbot.waitUntil(
        lambda: view.mapRectToScene(view.boundingRect()).left() > left + 50, timeout=WAIT_MS
    )
    after = sample.mapToScene(sample.boundingRect().center())
    assert after == before  # the line to click is where the mouse was


def test_system_cores_and_the_next_producer_get_distinct_colours(qtbot, open_window):
    session = session_from(
        producer("system", "system", interval_s=0.1)
        + producer("sine", "sine", rate_hz=200.0)
        + producer("noise", "noise", rate_hz=200.0)
    )
    window = open_window(session)
    for name in ("system", "sine", "noise"):
        wait_state(qtbot, window, name, "RUNNING")
    chart = window.chart
    qtbot.waitUntil(lambda: len(chart.store.series_keys()) >= 6, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(chart._curves) == len(chart.store.series_keys()), timeout=WAIT_MS)
    keys = chart.store.series_keys()
    assert ("system", "cpu0") in keys  # one series per core, then the other producers
    pens = {k: chart.curve(k).opts["pen"].color().name() for k in keys}
    assert len(set(pens.values())) == len(keys), pens
    # the strip image is painted in the same colours the curves and the legend show
    assert {k: c & 0xFFFFFF for k, c in chart._colors.items()} == {
        k: int(v[1:], 16) for k, v in pens.items()
    }

    sine = chart.curve(("sine", "value"))
    qtbot.waitUntil(lambda: chart.legend.entry(sine) is not None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: points_in_chart(window, "sine") > 5, timeout=WAIT_MS)
    click_name(qtbot, chart, sine)
    assert not sine.isVisible()
    qtbot.waitUntil(lambda: points_in_chart(window, "sine") == 0, timeout=WAIT_MS)
    assert points_in_chart(window, "noise") > 5
    click_name(qtbot, chart, sine)
    assert sine.isVisible()
    qtbot.waitUntil(lambda: points_in_chart(window, "sine") > 5, timeout=WAIT_MS)
