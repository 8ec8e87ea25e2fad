"""Shared test helpers: sessions from TOML snippets, and opening/closing a MainWindow safely."""

from __future__ import annotations

import textwrap

from app.core.launcher import producer_processes  # noqa: F401  (re-exported for tests)
from app.core.session import Session, parse_session


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
        lines.append(f'{key} = "{value}"' if isinstance(value, str) else f"{key} = {value!r}")
    return "\n".join(lines) + "\n"


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
        assert state_of(window, name).startswith(word)

    qtbot.waitUntil(check, timeout=timeout)


def points_in_chart(window, producer: str, series: str = "value") -> int:
    """Points or columns the chart drew for a series in its last frame."""
    return len(window.chart.drawn((producer, series))[0])
