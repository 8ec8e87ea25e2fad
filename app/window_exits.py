"""Every way out of a window ends the same way: its consumer thread stopped and joined, then its
engine closed (producers stopped or killed, the recording finished).

A QThread destroyed while running aborts the process, and a window can go in more ways than its
close(): deleted by its container (deleteLater), its last reference dropped, the application
quitting or torn down first, the interpreter exiting. Each of those is hooked here.
"""

from __future__ import annotations

import atexit
import functools
import itertools
import logging
import weakref

from PyQt5 import sip
from PyQt5.QtWidgets import QApplication

from app.consumer import ConsumerThread
from app.core.engine import Engine

log = logging.getLogger("streamscope")


def stop_core(consumer: ConsumerThread, engine: Engine) -> None:
    """Stop the consumer thread, then the engine (it kills what still runs). Idempotent."""
    if consumer.isRunning() and not consumer.stop(3000):
        log.error("consumer thread did not stop")
    engine.close()


_WINDOWS: weakref.WeakSet = weakref.WeakSet()  # MainWindows
_CORES: dict[int, tuple[ConsumerThread, Engine]] = {}  # what to stop if the window is lost
_KEYS = itertools.count()


def guard_every_exit(window, consumer: ConsumerThread, engine: Engine) -> None:
    """Make sure the consumer thread and the engine end whichever way the window goes.

    The window's `destroyed` signal fires for deleteLater() and for the garbage collector alike;
    the slot is a plain function holding the thread and the engine, not the (dying) window.
    `aboutToQuit` covers app.quit() with windows still open; atexit covers an interpreter that
    exits without either (the QApplication torn down first)."""
    key = next(_KEYS)  # not id(window): a new window may get the id of one not yet destroyed
    _CORES[key] = (consumer, engine)
    _WINDOWS.add(window)
    window.destroyed.connect(functools.partial(_on_window_destroyed, key))
    app = QApplication.instance()
    if app is not None and not getattr(app, "_streamscope_quit_hook", False):
        app._streamscope_quit_hook = True
        app.aboutToQuit.connect(_finish_every_window)


def _on_window_destroyed(key: int, *_args) -> None:
    core = _CORES.pop(key, None)
    if core is not None:
        stop_core(*core)


def _finish_every_window() -> None:
    for window in list(_WINDOWS):
        if not sip.isdeleted(window):
            window.finish_shutdown()
    for key in list(_CORES):
        _on_window_destroyed(key)


atexit.register(_finish_every_window)
