"""Measuring the real app from inside its own process (offscreen Qt).

A scenario opens `MainWindow` on a session, lets it warm up, then measures for a while using
only timers (nothing here blocks the GUI thread it measures): samples into the store, drops,
painted frames, event-loop lag, click latency, send->store and sample->painted latency, RSS
and CPU. It prints one JSON object on stdout. `benchmarks.__main__` runs each scenario in a
fresh process, several times, and aggregates.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time

import numpy as np
import psutil
from PyQt5.QtCore import QEvent, QPoint, Qt, QTimer
from PyQt5.QtGui import QMouseEvent
from PyQt5.QtWidgets import QApplication, QToolButton

from app.core.launcher import producer_processes
from app.core.session import Session
from app.core.supervisor import State
from app.main_window import MainWindow


def percentile(values, q: float) -> float | None:
    return float(np.percentile(values, q)) if len(values) else None


class Samples:
    """A preallocated, already-resident buffer of the last `capacity` values: collecting
    figures for ten minutes must not grow the very RSS the soak measures (a Python list of
    half a million latencies did: +15 MB)."""

    def __init__(self, capacity: int):
        self._values = np.full(capacity, np.nan)
        self._n = 0

    def extend(self, values) -> None:
        for value in values:
            self._values[self._n % len(self._values)] = value
            self._n += 1

    def values(self) -> np.ndarray:
        return self._values[: min(self._n, len(self._values))]


class ClickProbe:
    """Posts real mouse clicks to a toolbar button through the event queue and measures how
    long each waits before the button handles it (what a user feels when clicking)."""

    def __init__(self, button: QToolButton, action):
        self._button = button
        self._posted: float | None = None
        self.latencies: list[float] = []
        action.toggled.connect(self._on_toggled)

    def click(self) -> None:
        if self._posted is not None:
            return  # the last click was not handled yet: its latency is still growing
        centre = QPoint(self._button.width() // 2, self._button.height() // 2)
        self._posted = time.perf_counter()
        for kind in (QEvent.MouseButtonPress, QEvent.MouseButtonRelease):
            event = QMouseEvent(kind, centre, Qt.LeftButton, Qt.LeftButton, Qt.NoModifier)
            QApplication.postEvent(self._button, event)

    def _on_toggled(self, _checked: bool) -> None:
        if self._posted is not None:
            self.latencies.append(time.perf_counter() - self._posted)
            self._posted = None


class Measurement:
    """Runs one scenario on a window; `result` is filled when the window has closed."""

    def __init__(
        self,
        window: MainWindow,
        warmup_s: float,
        measure_s: float,
        prepare=None,
        probes=True,
        clicks=True,
    ):
        self.w = window
        self.probes = probes  # probes: the idle scenario must not be woken by our instruments
        # clicks toggle Follow, and each toggle redraws the chart from scratch: where that costs
        # much (1,000 series) four clicks a second would measure clicking, not streaming
        self.clicks = clicks
        self.warmup_s, self.measure_s = warmup_s, measure_s
        self.prepare = prepare  # (callable, settle seconds) run after warm-up, before measuring
        self.proc = psutil.Process()
        self.result: dict = {}
        self.rss: list[float] = []
        self.buffers: list[float] = []  # the store's bytes at each RSS sample
        self.store_lat = Samples(1 << 20)
        self.frame_lat = Samples(1 << 16)
        toolbar = window.toolbar
        self.click = ClickProbe(toolbar.widgetForAction(toolbar.follow), toolbar.follow)
        self._timers: list[QTimer] = []

    def start(self) -> None:
        self.opened = time.perf_counter()
        self.running_s: float | None = None
        # lag measured from the first moment, so start-up stalls show too
        self.w.lag_interval_ms = 10
        self.w.lag_meter.set_interval(10)
        QTimer.singleShot(50, self._wait_running)

    def _wait_running(self) -> None:
        view = self.w.engine.view
        alive = [n for n, e in view.entries.items() if e.spec.autostart]
        if all(view.entries[n].state is State.RUNNING for n in alive):
            self.running_s = time.perf_counter() - self.opened
            QTimer.singleShot(int(self.warmup_s * 1000), self._prepare)
        else:
            QTimer.singleShot(50, self._wait_running)

    def _prepare(self) -> None:
        if self.prepare is None:
            self._begin()
            return
        action, settle_s = self.prepare
        action(self.w)
        QTimer.singleShot(int(settle_s * 1000), self._begin)

    def _every(self, ms: int, slot) -> None:
        timer = QTimer()
        timer.timeout.connect(slot)
        timer.start(ms)
        self._timers.append(timer)

    def _begin(self) -> None:
        self.t0 = time.perf_counter()
        self.samples0 = self.w.engine.counters.total_samples
        self.frames0 = self._frames()
        self.cpu0 = self._cpu()
        self.gui_cpu0 = self._cpu(children=False)
        self.producer_cpu0 = self._producer_cpu()
        self.w.engine.counters.latencies(clear=True)
        for chart in self.w.plots.charts:
            chart.frame_latencies.clear()
        if self.probes and self.clicks:
            self._every(250, self.click.click)
        if not self.probes:  # the idle scenario: our instruments must not wake it
            self.w.lag_interval_ms = None
            self.w.lag_meter.set_interval(250)
        self._every(1000, self._sample)
        QTimer.singleShot(int(self.measure_s * 1000), self._end)

    def _producers(self) -> list[psutil.Process]:
        return producer_processes(self.proc)

    def _producer_cpu(self) -> dict[int, float]:
        out = {}
        for p in self._producers():
            try:
                t = p.cpu_times()
                out[p.pid] = t.user + t.system
            except psutil.NoSuchProcess:
                pass
        return out

    def _cpu(self, children: bool = True) -> float:
        total = 0.0
        for p in [self.proc, *(self.proc.children(recursive=True) if children else [])]:
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
        return total

    def _sample(self) -> None:
        self.rss.append(self.proc.memory_info().rss)
        self.buffers.append(self.w.engine.store.nbytes)
        self.store_lat.extend(self.w.engine.counters.latencies(clear=True))
        for chart in self.w.plots.charts:
            self.frame_lat.extend(chart.frame_latencies)
            chart.frame_latencies.clear()

    def _frames(self) -> int:
        """Frames painted by the plot that painted fewest (every plot must keep the rate)."""
        return min(chart.frames_painted for chart in self.w.plots.charts)

    def _drift(self) -> float:
        """The largest RSS change not explained by the chart's buffers, which grow by design as
        history accumulates (each series up to its cap, all within the budget): what a leak
        would look like."""
        rss0, buf0 = self.rss[0], self.buffers[0]
        pairs = zip(self.rss, self.buffers, strict=True)
        return max(abs((rss - rss0) - (buf - buf0)) for rss, buf in pairs)

    def _end(self) -> None:
        self._sample()
        for timer in self._timers:
            timer.stop()
        elapsed = time.perf_counter() - self.t0
        w = self.w
        lags = [lag for when, lag in w.lag_meter.samples if when >= self.t0]
        start_lags = [lag for when, lag in w.lag_meter.samples if when < self.t0]
        rss0 = self.rss[0]
        frames = self._frames() - self.frames0
        gui_cpu = self._cpu(children=False) - self.gui_cpu0
        per_producer = [
            cpu - self.producer_cpu0[pid]
            for pid, cpu in self._producer_cpu().items()
            if pid in self.producer_cpu0
        ]
        uss = []
        for p in self._producers()[:8]:
            with contextlib.suppress(psutil.Error):
                uss.append(p.memory_full_info().uss)
        self.result = {
            "running_s": self.running_s,
            "startup_stall_ms": max(start_lags) * 1e3 if start_lags else None,
            "gui_cpu_pct": 100 * gui_cpu / elapsed,
            "producers_cpu_pct": 100 * sum(per_producer) / elapsed,
            "producer_cpu_pct": 100 * float(np.median(per_producer)) / elapsed
            if per_producer
            else None,
            "producer_uss_mb": float(np.median(uss)) / 2**20 if uss else None,
            "gui_cpu_ms_per_frame": 1e3 * gui_cpu / frames if frames else None,
            "series": len(w.engine.store.series_keys()),
            "series_refused": len(w.engine.store.refused),
            "duration_s": elapsed,
            "throughput_samples_per_s": (w.engine.counters.total_samples - self.samples0) / elapsed,
            "drops": w.engine.counters.total_dropped(),
            # producers elsewhere (publish -> broker -> an mqtt subscriber here): what their
            # publishers dropped plus what was lost in transit, as their rows say
            "remote_drops": sum(
                int(r.dropped.replace(",", "")) for r in w.engine.view.rows if r.remote
            ),
            "remote_rows": sum(1 for r in w.engine.view.rows if r.remote),
            "fps": frames / elapsed,
            "plots": len(w.plots.charts),
            "lag_p99_ms": percentile(lags, 99) * 1e3,
            "lag_max_ms": max(lags) * 1e3,
            "click_latency_ms": percentile(self.click.latencies, 99) * 1e3
            if self.click.latencies
            else None,
            "clicks": len(self.click.latencies),
            "latency_store_p99_ms": _ms(percentile(self.store_lat.values(), 99)),
            "latency_frame_p99_ms": _ms(percentile(self.frame_lat.values(), 99)),
            "rss_mb": rss0 / 2**20,
            "rss_drift_pct": 100 * self._drift() / rss0,
            "buffer_growth_mb": (self.buffers[-1] - self.buffers[0]) / 2**20,
            "cpu_pct": 100 * (self._cpu() - self.cpu0) / elapsed,
            "buffer_mb": w.engine.store.nbytes / 2**20,
            "frame_build_p99_ms": _ms(percentile(list(w.consumer.build_costs), 99)),
            "frame_show_p99_ms": _ms(percentile(list(w.chart.show_costs), 99)),
            "frame_paint_p99_ms": _ms(percentile(list(w.chart.paint_costs), 99)),
        }
        w.close()


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1e3


def run_window(
    session: Session, warmup_s: float, measure_s: float, prepare=None, probes=True, clicks=True
) -> dict:
    """Open the app on `session`, measure, close it; returns the figures."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow(session)
    window.resize(1280, 800)
    window.show()
    measurement = Measurement(window, warmup_s, measure_s, prepare, probes, clicks)
    window.shutdown_finished.connect(app.quit)
    measurement.start()
    app.exec_()
    return measurement.result


def emit(result: dict) -> None:
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
