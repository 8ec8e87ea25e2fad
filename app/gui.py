"""Running the window: QApplication, logging, and SIGINT/SIGTERM as a normal close."""

from __future__ import annotations

import logging
import signal
import socket
import sys

from PyQt5.QtCore import QSocketNotifier
from PyQt5.QtWidgets import QApplication

from app.core.session import Session
from app.main_window import MainWindow


def run(session: Session, error: str | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    app = QApplication(sys.argv[:1])
    app.setApplicationName("streamscope")
    window = MainWindow(session)
    window.resize(1280, 800)
    window.show()
    if error:
        window.show_error(error)
    notifier = _close_on_signals(window)
    code = app.exec_()
    notifier.setEnabled(False)
    window.finish_shutdown()  # no-op after a normal close
    return code


def _close_on_signals(window: MainWindow) -> QSocketNotifier:
    """Python runs signal handlers only between bytecodes; while Qt's loop sleeps in C, none
    would run. A wakeup socket makes the loop wake, and the window closes the normal way."""
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    signal.set_wakeup_fd(writer.fileno())
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Read, window)

    def on_signal():
        reader.recv(64)
        window.close()

    notifier.activated.connect(on_signal)
    notifier._sockets = (reader, writer)  # keep them alive as long as the notifier
    return notifier
