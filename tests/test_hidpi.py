"""Crisp on HiDPI: the strip image is rendered in device pixels (FrameRequest.pixel_ratio) and
drawn into the same rect of the view, so at 2x a one-pixel line is one pixel of the screen, not
a logical pixel stretched over two."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from app.core.frames import MAX_IMAGE_COLUMNS, MAX_IMAGE_ROWS, FrameRequest
from app.core.store import SeriesStore
from app.core.strip import StripRenderer
from producers.wire import Chunk

ROOT = Path(__file__).resolve().parent.parent
KEY = ("noise", "value")
RED = 0xFFFF0000


def noisy_store(end: float) -> SeriesStore:
    store = SeriesStore(raw_capacity=1 << 16, bucket_capacity=4096)
    values = np.random.default_rng(1).uniform(-1, 1, 40_000)
    assert store.append(KEY[0], Chunk(KEY[1], values, t0=end - 20, dt=20 / len(values)))
    return store


def request(end: float, ratio: float, size=(600, 380)) -> FrameRequest:
    return FrameRequest(
        end - 10, end, *size, (-1.0, 1.0), {KEY: RED}, frozenset(), pixel_ratio=ratio
    )


@pytest.mark.parametrize("ratio", [1.0, 1.5, 2.0])
def test_the_image_has_a_column_and_row_per_device_pixel(ratio):
    end = 1_700_000_000.0
    frame = StripRenderer().frame(noisy_store(end), request(end, ratio)).strip
    device_width, device_height = round(600 * ratio), round(380 * ratio)
    assert frame.image.shape[0] == frame.grid.height == device_height
    # a column is the store's width nearest above a device pixel's span (1 to 2 device pixels)
    per_pixel = 10 / device_width
    assert per_pixel <= frame.grid.cw < 2 * per_pixel
    assert device_width / 2 <= frame.image.shape[1] - 1 <= device_width
    assert (frame.image == RED).any()


def test_at_2x_the_image_has_twice_the_rows_and_finer_columns():
    end = 1_700_000_000.0
    store = noisy_store(end)
    at_1x = StripRenderer().frame(store, request(end, 1.0)).strip
    at_2x = StripRenderer().frame(store, request(end, 2.0)).strip
    assert at_2x.image.shape[0] == 2 * at_1x.image.shape[0]
    assert at_2x.image.shape[1] >= 2 * (at_1x.image.shape[1] - 1)
    assert at_2x.grid.cw < at_1x.grid.cw
    # the same span of time and values
    assert (at_2x.grid.y0, at_2x.grid.y1) == (at_1x.grid.y0, at_1x.grid.y1)
    assert abs(at_2x.grid.t0 - at_1x.grid.t0) < at_1x.grid.cw
    assert abs(at_2x.grid.t1 - at_1x.grid.t1) < at_1x.grid.cw


def test_the_image_size_is_capped():
    huge = FrameRequest(0.0, 10.0, 3000, 2500, (-1.0, 1.0), pixel_ratio=2.0)
    assert huge.image_size() == (MAX_IMAGE_COLUMNS, MAX_IMAGE_ROWS)
    assert FrameRequest(0.0, 10.0, 640, 400, (-1.0, 1.0), pixel_ratio=1.25).image_size() == (
        800,
        500,
    )


def test_the_strip_covers_the_same_rect_of_the_view_at_any_ratio(qtbot):
    from widgets.live_chart import LiveChart

    end = time.time()
    store = noisy_store(end)
    chart = LiveChart(store, window_s=10.0)
    qtbot.addWidget(chart, before_close_func=LiveChart.stop)
    chart.set_follow(False)  # frames shown by hand below, not asked for by the timer
    chart.stop()
    item = chart._strip
    rects, images = {}, {}
    for ratio in (1.0, 2.0):
        frame = StripRenderer().frame(store, request(end, ratio))
        chart.show_frame(frame)
        rects[ratio], images[ratio] = item.boundingRect(), item.image()
        assert images[ratio].devicePixelRatioF() == ratio
        assert (images[ratio].width(), images[ratio].height()) == frame.strip.image.shape[::-1]
    one, two = rects[1.0], rects[2.0]
    assert (two.top(), two.bottom()) == (one.top(), one.bottom())
    column = 10 / 600  # at most a 1x column apart: the columns are finer at 2x
    assert abs(two.left() - one.left()) < 2 * column
    assert abs(two.right() - one.right()) < 2 * column
    assert images[2.0].height() == 2 * images[1.0].height()


def _chart_at(scales: list[str], end: float) -> dict[str, dict]:
    """tests/hidpi_chart.py at each QT_SCALE_FACTOR, in processes of their own, all at once."""
    procs = {}
    for scale in scales:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QT_SCALE_FACTOR=scale)
        command = [sys.executable, "-m", "tests.hidpi_chart", repr(end)]
        procs[scale] = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    out = {}
    for scale, proc in procs.items():
        try:
            stdout, stderr = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
        assert proc.returncode == 0, stderr
        out[scale] = json.loads(stdout.strip().splitlines()[-1])
    for proc in procs.values():
        assert proc.poll() is not None  # nothing left running
    return out


def test_at_2x_a_one_pixel_line_is_one_device_pixel_thick():
    end = float(int(time.time()))
    shown = _chart_at(["1", "2"], end)
    one, two = shown["1"], shown["2"]
    assert one["ratio"] == 1.0 and two["ratio"] == 2.0
    assert two["grab"] == [2 * one["grab"][0], 2 * one["grab"][1]]
    # the chart asked for its logical size at its ratio, and got an image of device pixels
    assert two["request"] == [*one["request"][:2], 2.0]
    width, height = two["request"][:2]
    assert two["image"][1:] == [2 * height, 2.0] and one["image"][1:] == [height, 1.0]
    assert one["image"][0] <= width + 1 <= two["image"][0] + 1
    # the flat series is one row of the image: one pixel of the screen at either scale (it was
    # two at 2x, the logical row stretched), at the same height in the plot
    assert len(one["line_rows"]) == 1 and len(two["line_rows"]) == 1
    assert abs(two["line_rows"][0] - 2 * one["line_rows"][0]) <= 1
    # and the image sits where it did in the view: the same values, times within a 1x column
    x1, y1, w1, h1 = one["rect"]
    x2, y2, w2, h2 = two["rect"]
    assert (y2, h2) == (y1, h1)
    assert abs(x2 - x1) < one["column_s"] and abs((x2 + w2) - (x1 + w1)) < one["column_s"]
