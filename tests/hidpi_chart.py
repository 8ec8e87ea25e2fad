"""The live chart at the screen scale this process was started with (QT_SCALE_FACTOR), for
tests/test_hidpi.py: `python -m tests.hidpi_chart END` prints one JSON object.

The scale factor is read once, when the QApplication starts, so each scale needs a process of
its own. The chart shows a flat dense series (one image row per column) over a fixed span of
epoch time ending at END, not following, so two processes at different scales show the same
thing; what the output holds is what a user at that scale would see (the widget grabbed at its
device pixel ratio) and where the strip image sits in the view.
"""

from __future__ import annotations

import json
import sys

import numpy as np
from PyQt5.QtCore import Qt
from PyQt5.QtGui import QImage
from PyQt5.QtWidgets import QApplication

from app.core.store import SeriesStore
from app.core.strip import StripRenderer
from producers.wire import Chunk
from widgets.live_chart import LiveChart

RATE = 2000.0
VALUE = 0.25  # in a y range of (-1, 1)
KEY = ("flat", "value")


def main(end: float) -> dict:
    app = QApplication(sys.argv[:1])
    store = SeriesStore(raw_capacity=1 << 16, bucket_capacity=4096)
    n = int(20 * RATE)
    store.append(KEY[0], Chunk(KEY[1], np.full(n, VALUE), t0=end - n / RATE, dt=1 / RATE))
    chart = LiveChart(store, window_s=10.0)
    renderer, requests = StripRenderer(), []

    def build(request) -> None:
        requests.append(request)
        chart.show_frame(renderer.frame(store, request))

    chart.frame_requested.connect(build, Qt.DirectConnection)
    chart.resize(640, 400)
    chart.show()
    chart.set_follow(False)
    view = chart.getPlotItem().getViewBox()
    x_range = (end - 10 - chart.origin, end - 0.5 - chart.origin)
    view.setRange(xRange=x_range, yRange=(-1, 1), padding=0)
    for _ in range(5):
        app.processEvents()
    chart.redraw()
    app.processEvents()
    grabbed = chart.grab().toImage().convertToFormat(QImage.Format_RGB32)
    pixels = np.frombuffer(grabbed.constBits().asstring(grabbed.sizeInBytes()), np.uint32)
    pixels = pixels.reshape(grabbed.height(), grabbed.width()) & 0xFFFFFF
    hit = pixels == int(chart.colors.color(KEY).lstrip("#"), 16)
    plot_px = view.width() * chart.devicePixelRatioF()
    line_rows = np.flatnonzero(hit.sum(axis=1) >= 0.5 * plot_px)  # rows the line runs along
    rect = chart._strip.boundingRect()
    image = chart._strip.image()
    request = requests[-1]
    chart.stop()
    chart.close()
    app.processEvents()
    return {
        "ratio": chart.devicePixelRatioF(),
        "request": [request.width, request.height, request.pixel_ratio],
        "image": [image.width(), image.height(), image.devicePixelRatioF()],
        "grab": [grabbed.width(), grabbed.height()],
        "line_rows": line_rows.tolist(),
        "rect": [rect.x() + chart.origin, rect.y(), rect.width(), rect.height()],
        "column_s": renderer._grid.cw,
    }


if __name__ == "__main__":
    print(json.dumps(main(float(sys.argv[1]))))
