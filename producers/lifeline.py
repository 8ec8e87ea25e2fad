"""How a producer process learns that it must stop, without waking up to ask.

One thread sleeps in `wait()` on two things at once: the stop pipe (the app closes its end:
EOF, also when the app dies) and the parent's sentinel. A stop sets an Event that the producer's
`ctx.wait`/`ctx.running` read for free; the parent's death ends the process at once
(`os._exit`), even if the producer's own code is stuck in a call. Nothing polls: an idle
producer costs no CPU (a 1 sample/s producer used to wake 10 times a second to check).

Why not multiprocessing.Event for stop: its lock is shared with the child; a child killed while
holding it would leave the app's set() blocked forever. Closing a pipe never blocks.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from multiprocessing import parent_process
from multiprocessing.connection import Connection, wait

EXIT_ORPHANED = 70  # the app vanished; nobody reads this code, it marks the cause in logs


def _exit_orphaned() -> None:
    os._exit(EXIT_ORPHANED)


class StopListener:
    """An Event-like view of the stop pipe (`is_set`, `wait`), plus the parent watchdog."""

    def __init__(
        self,
        conn: Connection,
        watch_parent: bool = False,
        on_orphaned: Callable[[], None] = _exit_orphaned,
    ):
        self._event = threading.Event()
        parent = parent_process() if watch_parent else None
        self._sentinel = parent.sentinel if parent is not None else None
        self._on_orphaned = on_orphaned
        self._thread = threading.Thread(
            target=self._watch, args=(conn,), name="lifeline", daemon=True
        )
        self._thread.start()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None) -> bool:
        return self._event.wait(timeout)

    def _watch(self, conn: Connection) -> None:
        waiting = [conn] if self._sentinel is None else [conn, self._sentinel]
        while waiting:
            ready = wait(waiting)
            if self._sentinel is not None and self._sentinel in ready:
                self._event.set()
                self._on_orphaned()
                return
            if conn in ready:
                self._event.set()
                waiting.remove(conn)
