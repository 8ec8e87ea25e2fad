"""The consumer thread: waits on the channel, processes each batch off the GUI thread, reports;
and builds chart frames where the data lives.

A thin QThread: `run()` is a loop around `Channel.drain` (which waits with a timeout: no
busy-wait, ~0 % CPU idle), `Pipeline.process` (store, record, count) and, when the chart asked
for one, `build_frame`; all three are tested without Qt. Building frames here rather than on
the GUI thread keeps the store single-threaded in the hot path and leaves the GUI thread only
the upload and the paint.
"""

from __future__ import annotations

import threading

from PyQt5.QtCore import QThread, pyqtSignal

from app.core.channel import Channel
from app.core.frames import FrameRequest, build_frame
from app.core.pipeline import Pipeline
from app.core.strip import StripRenderer

WAIT_S = 0.2  # how long one drain may wait; stop() and request_frame() wake it at once


class ConsumerThread(QThread):
    """Signals:
    batch_received(object): a `Batch` after it was stored; carries the producers' events.
    frame_ready(object): a `Frame` built for the last `request_frame`.
    """

    batch_received = pyqtSignal(object)
    frame_ready = pyqtSignal(object)

    def __init__(self, channel: Channel, pipeline: Pipeline, parent=None):
        super().__init__(parent)
        self.setObjectName("consumerThread")
        self._channel = channel
        self._pipeline = pipeline
        self._stop = threading.Event()
        self._request: FrameRequest | None = None
        self._renderer = StripRenderer()  # keeps the last image: frames scroll, not redraw

    def run(self) -> None:
        while not self._stop.is_set():
            batch = self._channel.drain(WAIT_S)
            if batch:
                self._pipeline.process(batch)
                self.batch_received.emit(batch)
            request, self._request = self._request, None  # one atomic swap under the GIL
            if request is not None and self._pipeline.store is not None:
                frame = build_frame(self._pipeline.store, request, self._renderer)
                self.frame_ready.emit(frame)

    def request_frame(self, request: FrameRequest) -> None:
        """Thread-safe: ask for a frame; a newer request replaces one not yet built."""
        self._request = request
        self._channel.wake()

    def stop(self, timeout_ms: int = 2000) -> bool:
        """Ask the loop to end and wait for it; True if the thread finished."""
        self._stop.set()
        self._channel.wake()
        return self.wait(timeout_ms)
