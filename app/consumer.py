"""The consumer thread: waits on the channel, processes each batch off the GUI thread, reports.

A thin QThread: `run()` is a loop around `Channel.drain` (which waits with a timeout: no
busy-wait, ~0 % CPU idle) and `Pipeline.process` (store, record, count), both tested without
Qt. The GUI thread only receives the already-stored batch for bookkeeping.
"""

from __future__ import annotations

import threading

from PyQt5.QtCore import QThread, pyqtSignal

from app.channel import Channel
from app.pipeline import Pipeline

WAIT_S = 0.2  # how long one drain may wait; stop() also wakes it at once


class ConsumerThread(QThread):
    """Signals:
    batch_received(object): a `Batch` after it was stored; carries the producers' events.
    """

    batch_received = pyqtSignal(object)

    def __init__(self, channel: Channel, pipeline: Pipeline, parent=None):
        super().__init__(parent)
        self.setObjectName("consumerThread")
        self._channel = channel
        self._pipeline = pipeline
        self._stop = threading.Event()

    def run(self) -> None:
        while not self._stop.is_set():
            batch = self._channel.drain(WAIT_S)
            if batch:
                self._pipeline.process(batch)
                self.batch_received.emit(batch)

    def stop(self, timeout_ms: int = 2000) -> bool:
        """Ask the loop to end and wait for it; True if the thread finished."""
        self._stop.set()
        self._channel.wake()
        return self.wait(timeout_ms)
