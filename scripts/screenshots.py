"""Take the README's screenshots of the main views (`make screenshot`, under Xvfb).

The workbench session (examples/workbench.toml: several plots, a right axis, an XY plot)
streams for a while; then the window is grabbed with two cursors dropped and the statistics
showing, in the light theme (resources/screenshot.png) and the dark one
(resources/screenshot-dark.png). Writes into the folder given as argument.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PyQt5.QtCore import Qt, QTimer
from PyQt5.QtWidgets import QApplication

from app.core.session import load_session
from app.main_window import MainWindow
from widgets.theme import DARK, LIGHT

ROOT = Path(__file__).resolve().parent.parent
STREAM_S = 20


def main(out_dir: str = "resources") -> int:
    app = QApplication(sys.argv[:1])
    app.setOrganizationName("streamscope-screenshots")  # not the user's settings
    out = Path(out_dir)
    window = MainWindow(load_session(ROOT / "examples" / "workbench.toml"))
    window.resize(1600, 1060)
    window.show()
    statistics = getattr(window, "statsAction", None)

    def cursors() -> None:
        t0, t1 = window.plots.visible_range()
        window.plots.set_paused(True)
        window.crosshair.drop_cursor(t0 + 0.55 * (t1 - t0))
        window.crosshair.drop_cursor(t0 + 0.8 * (t1 - t0))
        if statistics is not None and not statistics.isChecked():
            statistics.trigger()
            window.resizeDocks([window.statsDock], [190], Qt.Vertical)

    def shoot(theme, name: str, then) -> None:
        window.apply_theme(theme)

        def grab() -> None:
            path = out / name
            window.grab().save(str(path))
            print(f"wrote {path.resolve()}")
            then()

        QTimer.singleShot(1500, grab)  # frames in the new colours, statistics filled in

    def dark() -> None:
        shoot(DARK, "screenshot-dark.png", window.close)

    QTimer.singleShot(STREAM_S * 1000, cursors)
    QTimer.singleShot(STREAM_S * 1000 + 500, lambda: shoot(LIGHT, "screenshot.png", dark))
    window.shutdown_finished.connect(app.quit)
    return app.exec_()


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
