"""Ways a window's life can end, each run in a fresh process by tests/test_exits.py:
`python -m tests.exit_scenarios NAME`. Prints the producer and fork-server pids first (one line
of JSON), so the test can check that none outlives the process."""

from __future__ import annotations

import gc
import json
import os
import sys
from multiprocessing import forkserver

from PyQt5.QtCore import QCoreApplication, QEvent, QTimer
from PyQt5.QtWidgets import QApplication

from app.core.session import parse_session

SESSION = """
[[producers]]
name = "a"
kind = "noise"
[producers.params]
rate_hz = 100000.0
[[producers]]
name = "b"
kind = "sine"
[producers.params]
rate_hz = 1000.0
"""


def running_window(app):
    from app.main_window import MainWindow

    window = MainWindow(parse_session(SESSION, "exits.toml"))
    window.resize(1280, 800)
    window.show()
    while set(window.engine.view.up) != {"a", "b"}:  # both producers up and streaming
        app.processEvents()
        window.engine.channel.wake()
        QCoreApplication.sendPostedEvents()
        gc.collect(0)
        os.sched_yield()
    pids = [e.pid for e in window.engine.view.entries.values()]
    print(json.dumps({"producers": pids, "server": forkserver._forkserver._forkserver_pid}))
    sys.stdout.flush()
    return window


def close_then_quit(app):
    window = running_window(app)
    window.close()
    app.quit()


def close_then_delete_later(app):
    window = running_window(app)
    window.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)


def last_reference_dropped(app):
    window = running_window(app)
    del window
    gc.collect()


def application_torn_down(app):
    window = running_window(app)
    window._keep = True  # the window outlives the application object
    globals()["kept_window"] = window


def quit_from_the_event_loop(app):
    window = running_window(app)
    QTimer.singleShot(100, app.quit)
    app.exec_()
    globals()["kept_window"] = window


def quit_with_unsaved_changes(app):
    """Unsaved changes are asked about only when a user closes the window: app.quit() exits
    without a question (a modal box here would hang the process and fail the test)."""
    import dataclasses

    window = running_window(app)
    spec = window.engine.view.entries["b"].spec
    window._on_config_applied(dataclasses.replace(spec, params={**spec.params, "offset": 1.0}))
    assert window.unsaved
    QTimer.singleShot(100, app.quit)
    app.exec_()
    globals()["kept_window"] = window


SCENARIOS = {
    f.__name__: f
    for f in (
        close_then_quit,
        close_then_delete_later,
        last_reference_dropped,
        application_torn_down,
        quit_from_the_event_loop,
        quit_with_unsaved_changes,
    )
}

if __name__ == "__main__":
    application = QApplication(sys.argv[:1])
    SCENARIOS[sys.argv[1]](application)
    if sys.argv[1] == "application_torn_down":
        del application
        gc.collect()
