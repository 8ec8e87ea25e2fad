"""Take the README screenshot: open the default session, let it stream, grab the window.

Run under a virtual screen: `make screenshot` (xvfb-run). Writes the PNG given as argument.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PyQt5.QtCore import QTimer
from PyQt5.QtWidgets import QApplication

from app.core.session import DEFAULT_SESSION, load_session
from app.main_window import MainWindow

STREAM_S = 32


def main(out: str, session_path: str | None = None) -> int:
    app = QApplication(sys.argv[:1])
    window = MainWindow(load_session(session_path or DEFAULT_SESSION))
    window.resize(1400, 860)
    window.show()

    def shoot():
        window.grab().save(out)
        print(f"wrote {Path(out).resolve()}")
        window.close()

    QTimer.singleShot(STREAM_S * 1000, shoot)
    window.shutdown_finished.connect(app.quit)
    return app.exec_()


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
