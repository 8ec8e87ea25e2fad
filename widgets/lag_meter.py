"""Event-loop lag: a 10 ms timer measuring how late it fires.

The honest measure of "the GUI never freezes": any work that blocks the GUI thread (a slow
slot, a long redraw, the GIL held by another thread) makes this timer late by that much.
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np
from PyQt5.QtCore import QObject, Qt, QTimer


class EventLoopLagMeter(QObject):
    def __init__(self, interval_ms: int = 10, history: int = 6000, parent=None):
        super().__init__(parent)
        self._interval = interval_ms / 1000.0
        self.samples: deque[tuple[float, float]] = deque(maxlen=history)  # (when, lag s)
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._on_timeout)
        self._expected = 0.0

    def set_interval(self, interval_ms: int) -> None:
        """A slower pace when idle costs fewer wake-ups; lateness is measured the same way."""
        self._interval = interval_ms / 1000.0
        self._timer.setInterval(interval_ms)

    def start(self) -> None:
        self._expected = time.perf_counter() + self._interval
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _on_timeout(self) -> None:
        now = time.perf_counter()
        self.samples.append((now, max(now - self._expected, 0.0)))
        self._expected = now + self._interval

    def recent(self, seconds: float) -> np.ndarray:
        """Lags (s) measured in the last `seconds`."""
        cutoff = time.perf_counter() - seconds
        return np.array([lag for when, lag in self.samples if when >= cutoff])

    def percentile(self, q: float, seconds: float = 5.0) -> float:
        lags = self.recent(seconds)
        return float(np.percentile(lags, q)) if len(lags) else 0.0
