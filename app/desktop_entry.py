"""`streamscope install-desktop`: put the desktop entry and the icon where desktops look.

A wheel cannot portably install into /usr/share/applications, so both files ship inside the
package (resources/) and this copies them into the XDG data folder: $XDG_DATA_HOME, else
~/.local/share (`--user`, the default), or any other data folder (`--data-dir`, e.g.
/usr/local/share as root). Qt-free: it runs where no display is.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from resources import DESKTOP_FILE, ICON

COMMAND = "streamscope"


def user_data_dir() -> Path:
    """$XDG_DATA_HOME if set to an absolute path (the spec ignores a relative one), else
    ~/.local/share."""
    env = os.environ.get("XDG_DATA_HOME", "")
    return Path(env) if env and os.path.isabs(env) else Path.home() / ".local" / "share"


def command_line() -> str:
    """What the launcher runs: `streamscope` when it is on PATH; else the script installed next
    to this Python (a virtual environment that is not activated), by its absolute path."""
    if shutil.which(COMMAND):
        return COMMAND
    beside = Path(sys.executable).parent / COMMAND
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else COMMAND


def install(data_dir: Path | None = None) -> list[Path]:
    """Write <data>/applications/streamscope.desktop and
    <data>/icons/hicolor/scalable/apps/streamscope.svg; returns the paths written."""
    data = Path(data_dir) if data_dir is not None else user_data_dir()
    desktop = data / "applications" / DESKTOP_FILE.name
    icon = data / "icons" / "hicolor" / "scalable" / "apps" / ICON.name
    text = DESKTOP_FILE.read_text(encoding="utf-8")
    exec_line = command_line()
    if exec_line != COMMAND:
        text = text.replace(f"\nExec={COMMAND}\n", f"\nExec={_quoted(exec_line)}\n")
    desktop.parent.mkdir(parents=True, exist_ok=True)
    icon.parent.mkdir(parents=True, exist_ok=True)
    desktop.write_text(text, encoding="utf-8")
    shutil.copyfile(ICON, icon)
    return [desktop, icon]


def _quoted(path: str) -> str:
    """An Exec argument as the Desktop Entry spec wants it: quoted if it holds a reserved
    character (a space, a quote...), with ", `, $ and \\ escaped inside the quotes; % is
    doubled (field codes)."""
    path = path.replace("%", "%%")
    if not any(c in path for c in " \t\n\"'\\><~|&;$*?#()`"):
        return path
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in path)
    return f'"{escaped}"'
