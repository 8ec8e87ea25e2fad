"""Take the README's "Many machines" screenshot, on one machine with separate processes.

A mosquitto on a free port, two `streamscope publish` (prefixes streamscope/lab1 with
--allow-control, and streamscope/lab2) of examples/lab.toml, and the window on
examples/fleet.toml pointed at that broker; after a while lab2's publisher is SIGKILLed, so
its rows read `UNKNOWN · publisher lost`; then the window is grabbed.

Run under a virtual screen: `make fleet-screenshot`. Writes the PNG given as argument.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from PyQt5.QtCore import QTimer
from PyQt5.QtWidgets import QApplication, QSplitter

from app.core.session import load_session
from app.main_window import MainWindow
from tests.mosquitto_broker import Broker

ROOT = Path(__file__).resolve().parent.parent
STREAM_S, KILL_AT_S = 24, 16


def publish(broker: Broker, host: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "app", "publish", "--session", str(ROOT / "examples/lab.toml"),
         "--broker", broker.address, "--prefix", f"streamscope/{host}", *extra],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def main(out: str) -> int:
    broker = Broker().start()
    publishers = [publish(broker, "lab1", "--allow-control"), publish(broker, "lab2")]
    session = load_session(ROOT / "examples/fleet.toml")
    session.producers[0].params["port"] = broker.port
    app = QApplication(sys.argv[:1])
    window = MainWindow(session)
    window.resize(1400, 900)
    window.show()
    window.findChild(QSplitter).setSizes([470, 430])  # room for every row

    def shoot():
        window.grab().save(out)
        print(f"wrote {Path(out).resolve()}")
        window.close()

    QTimer.singleShot(KILL_AT_S * 1000, lambda: publishers[1].send_signal(signal.SIGKILL))
    QTimer.singleShot(STREAM_S * 1000, shoot)
    window.shutdown_finished.connect(app.quit)
    try:
        return app.exec_()
    finally:
        for p in publishers:
            p.terminate()
            p.wait(10)
        broker.close()


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
