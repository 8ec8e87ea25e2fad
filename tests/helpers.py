"""Shared test helpers: sessions from TOML snippets, and opening/closing a MainWindow safely."""

from __future__ import annotations

import textwrap

from app.session import Session, parse_session


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
