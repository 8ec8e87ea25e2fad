"""Session files (TOML): which producers exist, their parameters, chart/store settings, and the
view (plots, axes, series placement and colours, theme: app.core.session_view).

Everything is validated here, in the GUI process, before any producer starts, and every error
names the file and, where it can be found, the line: `FILE:LINE: what is wrong`. tomllib does
not report where a key was, so `Locator` finds it in the text.

Session files come from anywhere (a download, a typo'd path, a FIFO), so reading and parsing
are bounded: only regular files up to 1 MiB, and a linear pre-scan refuses what would make
tomllib recurse without limit or take quadratic time. Whatever the input, the result is a
Session or one SessionError, never another exception.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from app.core.producer_specs import (
    NAME_RE,
    SpecError,
    check_kind,
    check_name,
    check_restart,
    checked_params,
    duplicate_name,
)
from app.core.session_view import ViewFileError, read_theme, read_view
from app.core.toml_locator import LimitError, Locator
from app.core.view_layout import ViewLayout
from producers.params import one_line, resolve_paths, short_repr
from producers.registry import get_kind
from resources import DEFAULT_SESSION

__all__ = [
    "DEFAULT_SESSION",
    "NAME_RE",
    "ProducerSpec",
    "Session",
    "SessionError",
    "load_session",
    "parse_session",
]


class SessionError(ValueError):
    """A session that cannot be used; str() is the one line `FILE:LINE: what is wrong`.

    Control characters (a newline in a file name, say) are escaped, so the error is exactly one
    line in a terminal, a log or a dialog whatever the file contains.
    """

    def __init__(self, path: str | Path, message: str, line: int | None = None):
        self.path, self.message, self.line = one_line(str(path)), one_line(message), line
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {self.message}")


@dataclass
class ProducerSpec:
    name: str
    kind: str
    params: dict = field(default_factory=dict)
    autostart: bool = True
    restart: str = "on-failure"
    visible: bool = True  # drawn in the chart at start (the legend toggles it)
    # relative `path` parameters are relative to this folder (the session file's); None: the
    # current directory. Kept apart from params, so a saved session keeps what the user wrote.
    base_dir: str | None = field(default=None, compare=False)


def resolved_params(spec) -> dict:
    """`spec`'s parameters as a process is given them: relative paths made absolute against
    its session's folder (`base_dir`; a spec without one: the current directory)."""
    return resolve_paths(get_kind(spec.kind).params, spec.params, getattr(spec, "base_dir", None))


@dataclass
class Session:
    producers: list[ProducerSpec]
    path: Path | None = None
    window_s: float = 30.0
    fps: float = 40.0
    budget_mb: float = 512.0
    # for saving over the file it came from: each producer's name -> the name of its table in
    # that file (a renamed producer keeps its table, comments included; one added has none).
    # None: tables are matched by name.
    origins: dict[str, str] | None = field(default=None, compare=False)
    # what the window shows: plots, axes, where each series goes (app.core.view_layout)
    view: ViewLayout = field(default_factory=ViewLayout)
    theme: str = ""  # "light" or "dark"; "": the theme the user chose last


# Limits on what a session file may be, so hostile input costs bounded time and memory.
MAX_BYTES = 1 << 20  # 1,000 producers with every key spelled out: about 180 KB
_TOO_LARGE = "session file is larger than 1 MiB"

_CHART_KEYS = {"window_s": (1.0, 86400.0), "fps": (1.0, 120.0)}
_STORE_KEYS = {"budget_mb": (16.0, 65536.0)}
_PRODUCER_KEYS = {"name", "kind", "autostart", "restart", "visible", "params"}
_SECTIONS = ("producers", "chart", "store", "plots", "series")


def load_session(path: str | Path) -> Session:
    """Read and validate a session file.

    Only a regular file of at most 1 MiB is read: a FIFO would block the caller forever and
    /dev/zero would be read until memory runs out, so both are refused before any read.
    """
    path = Path(path)
    data = _read_capped(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SessionError(
            path, f"cannot read session file: not UTF-8 text (byte 0x{data[exc.start]:02x})", line
        ) from None
    session = parse_session(text, path)
    folder = str(path.absolute().parent)
    for spec in session.producers:
        spec.base_dir = folder
    return session


_FILE_TYPES = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _read_capped(path: Path) -> bytes:
    """The bytes of a regular file of at most MAX_BYTES; SessionError for anything else.

    O_NONBLOCK makes opening a FIFO return at once (a plain open waits for a writer); fstat on
    the descriptor then tells what was opened, without a race against a rename in between.
    The read itself stops after MAX_BYTES + 1 bytes whatever the file claims its size is
    (files in /proc report 0, a file may grow while we read).
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise SessionError(path, f"cannot read session file: {exc.strerror or exc}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        what = next((name for test, name in _FILE_TYPES if test(mode)), "a special file")
        raise SessionError(path, f"cannot read session file: it is {what}, not a regular file")
    with os.fdopen(fd, "rb") as file:
        try:
            data = file.read(MAX_BYTES + 1)
        except OSError as exc:
            raise SessionError(path, f"cannot read session file: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise SessionError(path, _TOO_LARGE)
    return data


def parse_session(text: str, path: str | Path = "<session>") -> Session:
    """Validate session text; SessionError (`FILE:LINE: what is wrong`) for any problem.

    Hostile text costs bounded time: before tomllib sees it, one linear pass (`Locator`)
    refuses what would make tomllib recurse too deep or go quadratic, and finds the lines.
    """
    if len(text) > MAX_BYTES:  # characters: a text with more is larger than this in UTF-8
        raise SessionError(path, _TOO_LARGE)
    try:
        where = Locator(text)
    except LimitError as exc:
        raise SessionError(path, str(exc), exc.line) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message, line = _toml_problem(str(exc), text)
        raise SessionError(path, f"invalid TOML: {message}", line) from None
    except (ValueError, RecursionError) as exc:
        # tomllib's other escapes (e.g. an integer over Python's 4300-digit limit): the limits
        # above should keep them from happening; if one does, it is still a session error.
        raise SessionError(path, f"invalid TOML: {exc}") from None
    for key in data:
        if key not in _SECTIONS:
            raise SessionError(path, f"unknown section {short_repr(key)}", where.top(key))
    session = Session([], Path(path))
    _read_settings(session, data, path, where)
    producers = data.get("producers", [])
    if not isinstance(producers, list):
        raise SessionError(
            path, "producers must be an array of tables ([[producers]])", where.top("producers")
        )
    names: set[str] = set()
    for i, raw in enumerate(producers):
        spec = _read_producer(raw, i, path, where)
        if spec.name in names:
            raise SessionError(path, duplicate_name(spec.name), where.key(i, "name"))
        names.add(spec.name)
        session.producers.append(spec)
    try:
        session.view = read_view(data, where, names)
    except ViewFileError as exc:
        raise SessionError(path, str(exc), exc.line) from None
    return session


_TOML_WHERE = re.compile(r" \((?:at line (\d+), column \d+|at end of document)\)\Z")


def _toml_problem(message: str, text: str) -> tuple[str, int | None]:
    """tomllib's message without its position suffix, and the line (the last one at EOF)."""
    match = _TOML_WHERE.search(message)
    if not match:
        return message, None
    line = int(match[1]) if match[1] else text.count("\n") + 1
    return message[: match.start()], line


def _read_settings(session: Session, data: dict, path, where: Locator) -> None:
    for section, keys in (("chart", _CHART_KEYS), ("store", _STORE_KEYS)):
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise SessionError(path, f"[{section}] must be a table", where.top(section))
        for key, value in table.items():
            line = where.section_key(section, key)
            if section == "chart" and key == "theme":
                try:
                    session.theme = read_theme(value, line)
                except ViewFileError as exc:
                    raise SessionError(path, str(exc), line) from None
                continue
            if key not in keys:
                raise SessionError(path, f"unknown key {short_repr(key)} in [{section}]", line)
            lo, hi = keys[key]
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not lo <= value <= hi
            ):
                raise SessionError(
                    path, f"{section}.{key} must be a number in [{lo:g}, {hi:g}]", line
                )
            setattr(session, key, float(value))


def _read_producer(raw, i: int, path, where: Locator) -> ProducerSpec:
    head = where.producer(i)
    if not isinstance(raw, dict):
        raise SessionError(
            path, f"producer #{i + 1} must be a table", head or where.top("producers")
        )
    for key in raw:
        if key not in _PRODUCER_KEYS:
            known = ", ".join(sorted(_PRODUCER_KEYS))
            raise SessionError(
                path, f"unknown key {short_repr(key)} (known: {known})", where.key(i, key)
            )
    name, kind = raw.get("name"), raw.get("kind")
    try:  # the rules the window's Add and Rename follow too (app.core.producer_specs)
        check_name(name)
        if not isinstance(kind, str):
            raise SpecError("kind", f"producer {name!r} needs a kind")
        check_kind(kind)
        autostart, visible = raw.get("autostart", True), raw.get("visible", True)
        for key, value in (("autostart", autostart), ("visible", visible)):
            if not isinstance(value, bool):
                raise SpecError(key, f"{key} must be true or false")
        restart = check_restart(raw.get("restart", "on-failure"))
        given = raw.get("params", {})
        if not isinstance(given, dict):
            raise SpecError("params", "params must be a table")
        params = checked_params(name, kind, given)
    except SpecError as exc:
        raise SessionError(path, str(exc), _line_of(exc, i, where) or head) from None
    return ProducerSpec(name, kind, params, autostart, restart, visible)


def _line_of(error: SpecError, i: int, where: Locator) -> int | None:
    """The line of what a SpecError is about in producer #i's table."""
    if error.field is None:
        return None
    return where.param(i, error.field) if error.param else where.key(i, error.field)
