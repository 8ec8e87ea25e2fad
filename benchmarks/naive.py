"""A faithful copy of the original example's design, to measure what we improved on.

As in the tutorial the product grew from: one producer process `put`s one sample at a time on
a multiprocessing.Queue; a QThread spins on `q.empty()` and emits one Qt signal per sample;
the window's slot shows it in the status bar and, to chart it, appends it and calls
`setData` once per sample. Nothing is batched, nothing waits.

`python -m benchmarks.naive --rate R --duration S` prints one JSON object: the rate asked,
the rate delivered to the window, event-loop lag (the same 10 ms timer the app's meter uses)
and how far behind the window fell.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import QThread, QTimer, pyqtSignal, pyqtSlot
from PyQt5.QtWidgets import QApplication, QMainWindow

from benchmarks.harness import emit, percentile
from widgets.lag_meter import EventLoopLagMeter


def producer(q, rate: float) -> None:
    """One put per sample, paced like the original's `time.sleep` loop."""
    start = time.time()
    sent = 0
    while True:
        now = time.time()
        q.put((now, float(np.sin(now))))
        sent += 1
        delay = start + sent / rate - time.time()
        if delay > 0:
            time.sleep(delay)


class Consumer(QThread):
    poped = pyqtSignal(object)  # the original's name

    def __init__(self, q):
        super().__init__()
        self.q = q
        self.running = True

    def run(self):
        while self.running:
            if not self.q.empty():  # the original's busy loop
                data = self.q.get()
                self.poped.emit(data)


class MyWindow(QMainWindow):
    def __init__(self, q):
        super().__init__()
        self.plot = pg.PlotWidget()
        self.setCentralWidget(self.plot)
        self.curve = self.plot.plot([], [])
        self.xs: list[float] = []
        self.ys: list[float] = []
        self.delivered = 0
        self.behind: list[float] = []
        self.consumer = Consumer(q)
        self.consumer.poped.connect(self.print_data)
        self.consumer.start()

    @pyqtSlot(object)
    def print_data(self, data):
        t, value = data
        self.statusBar().showMessage(str(data))
        self.xs.append(t)
        self.ys.append(value)
        self.curve.setData(self.xs, self.ys)  # one setData per sample
        self.delivered += 1
        self.behind.append(time.time() - t)


def measure(rate: float, duration: float, warmup: float = 1.0) -> dict:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    q = mp.get_context("spawn").Queue()
    proc = mp.get_context("spawn").Process(target=producer, args=(q, rate), daemon=True)
    proc.start()
    window = MyWindow(q)
    window.resize(800, 500)
    window.show()
    lag = EventLoopLagMeter()
    marks: dict = {}

    def begin():
        lag.start()
        marks["t0"], marks["n0"], marks["b0"] = (
            time.perf_counter(),
            window.delivered,
            len(window.behind),
        )

    def end():
        elapsed = time.perf_counter() - marks["t0"]
        lags = [v for when, v in lag.samples if when >= marks["t0"]]
        behind = window.behind[marks["b0"] :]
        marks["result"] = {
            "rate": rate,
            "delivered_per_s": (window.delivered - marks["n0"]) / elapsed,
            "lag_p99_ms": (percentile(lags, 99) or 0.0) * 1e3,
            "behind_p99_ms": (percentile(behind, 99) or 0.0) * 1e3,
        }
        app.quit()

    QTimer.singleShot(int(warmup * 1000), begin)
    QTimer.singleShot(int((warmup + duration) * 1000), end)
    app.exec_()
    window.consumer.running = False
    window.consumer.wait(2000)
    proc.kill()
    proc.join()
    q.cancel_join_thread()
    return marks["result"]


def keeps_up(result: dict) -> bool:
    """The criterion both designs are held to: lag p99 <= 100 ms and not falling behind."""
    return (
        result["lag_p99_ms"] <= 100
        and result["delivered_per_s"] >= 0.9 * result["rate"]
        and result["behind_p99_ms"] <= 1000
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--duration", type=float, default=5.0)
    args = parser.parse_args()
    emit(measure(args.rate, args.duration))


if __name__ == "__main__":
    main()
