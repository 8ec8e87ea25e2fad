"""The consumer thread: drains the engine's pipes off the GUI thread, and builds chart frames
and statistics where the data lives.

A thin QThread: `run()` is a loop around `Engine.drain` (which waits with a timeout: no
busy-wait, ~0 % CPU idle) and, when the chart asked for frames, `StripRenderer.render`: one
renderer per layer (an axis of a plot), so N plots cost N frames built here and nothing more on
the GUI thread; when the statistics table asked, `statistics.compute`. All are tested without
Qt. Building frames and statistics here rather than on the GUI thread leaves the GUI thread
only the upload, the paint and a table's text; and here the store is read by the thread that
writes it, between drains.

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
from app.core.xy_pairs import XYRequest

WAIT_S = 0.2  # how long one drain may wait; stop() and request_frame() wake it at once
LIVE: set[ConsumerThread] = set()  # started and not yet finished: never garbage-collected early


class ConsumerThread(QThread):
    """Signals:
    frames_ready(object): the frames built in one pass (a list of `Frame`/`XYFrame`, one per
        layer asked for): one signal, not one per plot, since each queued signal hands the
        GIL to the GUI thread and back.
    stats_ready(object): a `StatsResult` (app.core.statistics) for the last `request_stats`.
    failed(str): the loop died (a bug): the traceback; the window must say so.
    """

    frames_ready = pyqtSignal(object)
    stats_ready = pyqtSignal(object)
    failed = pyqtSignal(str)

    def __init__(self, engine: Engine):
        super().__init__()
        self.setObjectName("consumerThread")
        self._engine = engine
        self._stop = threading.Event()
        self._requests: dict[str, FrameRequest] = {}  # the newest per layer, not built yet
        self._lock = threading.Lock()  # the GUI thread adds requests, this one takes them
        # one per layer (an axis of a plot): each keeps its last image, frames scroll
        self._renderers: dict[str, StripRenderer] = {}
        self._forget: set[str] = set()  # layers of plots removed: their renderers go
        self._stats_request: StatsRequest | None = None
        self.ident: int | None = None  # threading.get_ident() of the loop, once it runs
        self.error: str | None = None
        self.build_costs: deque[float] = deque(maxlen=600)  # seconds per frame (layer) built
        self.finished.connect(self._on_finished)

    def start(self, *args) -> None:
        LIVE.add(self)
        super().start(*args)

    def run(self) -> None:
        self.ident = threading.get_ident()
        try:
            while not self._stop.is_set():
                self._engine.drain(WAIT_S)
                with self._lock:
                    requests, self._requests = self._requests, {}
                    for layer in self._forget:
                        self._renderers.pop(layer, None)
                    self._forget.clear()
                if requests and self._engine.store is not None:
                    self._build(requests.values())
                asked, self._stats_request = self._stats_request, None
                if asked is not None and self._engine.store is not None:
                    self.stats_ready.emit(compute(self._engine.store, asked))
        except BaseException:
            self.error = traceback.format_exc()
            self.failed.emit(self.error)

    def _build(self, requests) -> None:
        """One frame per layer asked for, each by that layer's renderer."""
        store = self._engine.store
        frames = []
        for request in requests:
            started = time.perf_counter()
            if isinstance(request, XYRequest):  # an XY plot's points
                frame = request.build(store)
            else:
                renderer = self._renderers.get(request.layer)
                if renderer is None:
                    renderer = self._renderers[request.layer] = StripRenderer()
                frame = renderer.frame(store, request)
            self.build_costs.append(time.perf_counter() - started)
            frames.append(frame)
        self.frames_ready.emit(frames)

    def request_frame(self, request: FrameRequest) -> None:
        """Thread-safe: ask for a frame of `request.layer`; a newer request for the same layer
        replaces one not yet built."""
        with self._lock:
            self._requests[request.layer] = request
        self._engine.channel.wake()

    def forget_layers(self, layers) -> None:
        """Thread-safe: the plots of `layers` are gone; drop their renderers (and images)."""
        with self._lock:
            self._forget.update(layers)
            for layer in layers:
                self._requests.pop(layer, None)

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
