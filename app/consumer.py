"""The consumer thread: drains the engine's pipes off the GUI thread, and builds chart frames
and statistics where the data lives.

A thin QThread: `run()` is a loop around `Engine.drain` (which waits with a timeout: no
busy-wait, ~0 % CPU idle) and, when the chart asked for one, `StripRenderer.render`, and when
the statistics table asked, `statistics.compute`; all are tested without Qt. Building frames and
statistics here rather than on the GUI thread leaves the GUI thread only the upload, the paint
and a table's text; and here the store is read by the thread that writes it, between drains.

It is never a child of the window: Qt deletes children while they run, and a QThread destroyed
while running aborts the process. The window stops it on every way out (close, deleteLater,
the last reference dropped, app.quit(), the QApplication torn down, interpreter exit), and
`LIVE` keeps its wrapper alive until it has finished.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import deque

from PyQt5.QtCore import QThread, pyqtSignal

from app.core.engine import Engine
from app.core.frames import FrameRequest
from app.core.statistics import StatsRequest, compute
from app.core.strip import StripRenderer

WAIT_S = 0.2  # how long one drain may wait; stop() and request_frame() wake it at once
LIVE: set[ConsumerThread] = set()  # started and not yet finished: never garbage-collected early


class ConsumerThread(QThread):
    """Signals:
    frame_ready(object): a `Frame` built for the last `request_frame`.
    stats_ready(object): a `StatsResult` (app.core.statistics) for the last `request_stats`.
    failed(str): the loop died (a bug): the traceback; the window must say so.
    """

    frame_ready = pyqtSignal(object)
    stats_ready = pyqtSignal(object)
    failed = pyqtSignal(str)

    def __init__(self, engine: Engine):
        super().__init__()
        self.setObjectName("consumerThread")
        self._engine = engine
        self._stop = threading.Event()
        self._request: FrameRequest | None = None
        self._stats_request: StatsRequest | None = None
        self.ident: int | None = None  # threading.get_ident() of the loop, once it runs
        self._renderer = StripRenderer()  # keeps the last image: frames scroll, not redraw
        self.error: str | None = None
        self.build_costs: deque[float] = deque(maxlen=600)  # seconds spent building a frame
        self.finished.connect(self._on_finished)

    def start(self, *args) -> None:
        LIVE.add(self)
        super().start(*args)

    def run(self) -> None:
        self.ident = threading.get_ident()
        try:
            while not self._stop.is_set():
                self._engine.drain(WAIT_S)
                store = self._engine.store
                request, self._request = self._request, None  # one atomic swap under the GIL
                if request is not None and store is not None:
                    started = time.perf_counter()
                    frame = self._renderer.frame(store, request)
                    self.build_costs.append(time.perf_counter() - started)
                    self.frame_ready.emit(frame)
                asked, self._stats_request = self._stats_request, None
                if asked is not None and store is not None:
                    self.stats_ready.emit(compute(store, asked))
        except BaseException:
            self.error = traceback.format_exc()
            self.failed.emit(self.error)

    def request_frame(self, request: FrameRequest) -> None:
        """Thread-safe: ask for a frame; a newer request replaces one not yet built."""
        self._request = request
        self._engine.channel.wake()

    def request_stats(self, request: StatsRequest) -> None:
        """Thread-safe: ask for statistics; a newer request replaces one not yet computed."""
        self._stats_request = request
        self._engine.channel.wake()

    def stop(self, timeout_ms: int = 2000) -> bool:
        """Ask the loop to end and wait for it; True if the thread finished."""
        self._stop.set()
        self._engine.channel.wake()
        finished = self.wait(timeout_ms)
        if finished:
            LIVE.discard(self)
        return finished

    def _on_finished(self) -> None:
        LIVE.discard(self)
