"""Shared test helpers: sessions from TOML snippets, and opening/closing a MainWindow safely."""

from __future__ import annotations

import textwrap
import time

import psutil

from app.core.launcher import producer_processes  # noqa: F401  (re-exported for tests)
from app.core.session import Session, parse_session
from producers.params import toml_inline


def session_from(toml: str, path: str = "test-session.toml") -> Session:
    return parse_session(textwrap.dedent(toml), path)


def producer(name: str, kind: str, autostart: bool = True, restart: str = "never", **params) -> str:
    """One [[producers]] table as TOML."""
    lines = [
        "[[producers]]",
        f'name = "{name}"',
        f'kind = "{kind}"',
        f"autostart = {str(autostart).lower()}",
        f'restart = "{restart}"',
        "[producers.params]",
    ]
    for key, value in params.items():
        lines.append(f"{key} = {toml_inline(value)}")
    return "\n".join(lines) + "\n"


def drain_until(engine, done, timeout: float = 15.0) -> None:
    """Drain `engine` (an app.core.engine.Engine) until `done()`; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out"
        engine.drain(0.05)


def engine_row(engine, name: str):
    """The producer panel's row for `name`, as the engine last published it."""
    return next(r for r in engine.view.rows if r.name == name)


def assert_pids_gone(pids, timeout: float = 5.0) -> None:
    """Fail if any of `pids` still runs after `timeout` s (killing it, so others run clean).
    For processes that are no longer our descendants once orphaned (a grandchild that left its
    parent), which the suite-wide guard cannot see."""
    deadline = time.monotonic() + timeout
    alive = list(pids)
    while alive:
        alive = [p for p in alive if _running(p)]
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.05)  # a test thread waiting for the kernel to reap
    for pid in alive:
        psutil.Process(pid).kill()
    assert not alive, f"processes left running: {alive}"


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def state_of(window, name: str) -> str:
    return window.panel.state_label(name).text()


def cell(window, name: str, column: str) -> str:
    from widgets.producer_panel import COL

    row = window.panel._rows[name]
    return window.panel.item(row, COL[column]).text()


WAIT_MS = 15000


def button(window, kind: str, name: str):
    from PyQt5.QtWidgets import QPushButton

    found = window.findChild(QPushButton, f"{kind}Button:{name}")
    assert found is not None, f"no {kind}Button:{name}"
    return found


def wait_state(qtbot, window, name: str, word: str, timeout: int = WAIT_MS) -> None:
    def check():
        state = state_of(window, name)
        assert state.startswith(word), f"{name}: {state!r}, not {word}"

    qtbot.waitUntil(check, timeout=timeout)


def points_in_chart(window, producer: str, series: str = "value") -> int:
    """Points or columns the chart drew for a series in its last frame."""
    return len(window.chart.drawn((producer, series))[0])


def axis_labels(axis) -> list[str]:
    """The tick labels an axis draws, in the order it draws them (major ticks first), once it
    made room for them (an axis widens itself for longer labels after drawing them)."""
    from PyQt5.QtGui import QImage, QPainter
    from PyQt5.QtWidgets import QApplication

    def draw() -> list[str]:
        image = QImage(8, 8, QImage.Format_ARGB32)
        painter = QPainter(image)
        try:
            _axis, _ticks, texts = axis.generateDrawSpecs(painter)
        finally:
            painter.end()
        return [text for _rect, _flags, text in texts]

    draw()
    QApplication.processEvents()
    return draw()
