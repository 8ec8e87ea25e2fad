"""Session files (TOML): which producers exist, their parameters, and chart/store settings.

Everything is validated here, in the GUI process, before any producer starts, and every error
names the file and, where it can be found, the line: `FILE:LINE: what is wrong`. tomllib does
not report where a key was, so `locate` finds it in the text.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from app.core.supervisor import RESTART_POLICIES
from producers.base import get_kind
from producers.params import ParamError, validate_params
from resources import DEFAULT_SESSION

__all__ = [
    "DEFAULT_SESSION",
    "ProducerSpec",
    "Session",
    "SessionError",
    "load_session",
    "parse_session",
]

# fullmatch, not `$`: `$` also matches before a trailing newline, so "abc\n" would pass.
NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class SessionError(ValueError):
    def __init__(self, path: str | Path, message: str, line: int | None = None):
        self.path, self.message, self.line = str(path), message, line
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")


@dataclass
class ProducerSpec:
    name: str
    kind: str
    params: dict = field(default_factory=dict)
    autostart: bool = True
    restart: str = "on-failure"
    visible: bool = True  # drawn in the chart at start (the legend toggles it)


@dataclass
class Session:
    producers: list[ProducerSpec]
    path: Path | None = None
    window_s: float = 30.0
    fps: float = 40.0
    budget_mb: float = 512.0


_CHART_KEYS = {"window_s": (1.0, 86400.0), "fps": (1.0, 120.0)}
_STORE_KEYS = {"budget_mb": (16.0, 65536.0)}
_PRODUCER_KEYS = {"name", "kind", "autostart", "restart", "visible", "params"}


def load_session(path: str | Path) -> Session:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SessionError(path, f"cannot read session file: {exc}") from None
    return parse_session(text, path)


def parse_session(text: str, path: str | Path = "<session>") -> Session:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+)", str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise SessionError(path, f"invalid TOML: {message}", match and int(match[1])) from None
    where = _Locator(text)
    for key in data:
        if key not in ("producers", "chart", "store"):
            raise SessionError(path, f"unknown section {key!r}", where.top(key))
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
            raise SessionError(path, f"duplicate producer name {spec.name!r}", where.key(i, "name"))
        names.add(spec.name)
        session.producers.append(spec)
    return session


def _read_settings(session: Session, data: dict, path, where: _Locator) -> None:
    for section, keys in (("chart", _CHART_KEYS), ("store", _STORE_KEYS)):
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise SessionError(path, f"[{section}] must be a table", where.top(section))
        for key, value in table.items():
            line = where.section_key(section, key)
            if key not in keys:
                raise SessionError(path, f"unknown key {key!r} in [{section}]", line)
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


def _read_producer(raw, i: int, path, where: _Locator) -> ProducerSpec:
    head = where.producer(i)
    if not isinstance(raw, dict):
        raise SessionError(
            path, f"producer #{i + 1} must be a table", head or where.top("producers")
        )
    for key in raw:
        if key not in _PRODUCER_KEYS:
            known = ", ".join(sorted(_PRODUCER_KEYS))
            raise SessionError(path, f"unknown key {key!r} (known: {known})", where.key(i, key))
    name, kind = raw.get("name"), raw.get("kind")
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise SessionError(
            path,
            "producer name must be 1-64 letters, digits, '_', '-' or '.'",
            where.key(i, "name") or head,
        )
    if not isinstance(kind, str):
        raise SessionError(path, f"producer {name!r} needs a kind", where.key(i, "kind") or head)
    try:
        cls = get_kind(kind)
    except KeyError as exc:
        raise SessionError(path, str(exc.args[0]), where.key(i, "kind")) from None
    autostart, visible = raw.get("autostart", True), raw.get("visible", True)
    for key, value in (("autostart", autostart), ("visible", visible)):
        if not isinstance(value, bool):
            raise SessionError(path, f"{key} must be true or false", where.key(i, key))
    restart = raw.get("restart", "on-failure")
    if restart not in RESTART_POLICIES:
        raise SessionError(
            path, f"restart must be one of {', '.join(RESTART_POLICIES)}", where.key(i, "restart")
        )
    given = raw.get("params", {})
    if not isinstance(given, dict):
        raise SessionError(path, "params must be a table", where.key(i, "params"))
    try:
        params = validate_params(cls.params, given, kind)
    except ParamError as exc:
        line = where.param(i, exc.key) if exc.key else None
        raise SessionError(path, f"producer {name!r}: {exc}", line or head) from None
    return ProducerSpec(name, kind, params, autostart, restart, visible)


class _Locator:
    """Finds the line of a key in TOML text: enough for tables, arrays of tables and inline
    `params = {...}` (which maps every param to that line)."""

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\"' -]+?)\s*\]\]?\s*(#.*)?$")
    _KEY = re.compile(r"^\s*([A-Za-z0-9_-]+|\"[^\"]*\")\s*=")

    def __init__(self, text: str):
        self.lines: dict[tuple, int] = {}
        table: tuple = ()
        producer = -1
        for number, line in enumerate(text.splitlines(), start=1):
            header = self._HEADER.match(line)
            if header:
                table = self._enter(header[1], header[2].replace(" ", ""), producer, number)
                producer = table[1] if table[:1] == ("producers",) else producer
                continue
            key = self._KEY.match(line)
            if key:
                name = key[1].strip('"')
                self.lines.setdefault((*table, name), number)
                if table[:1] == ("producers",) and name == "params" and "{" in line:
                    for inner in re.findall(r"([A-Za-z0-9_-]+)\s*=", line.split("{", 1)[1]):
                        self.lines.setdefault((*table, "params", inner), number)

    def _enter(self, bracket: str, name: str, producer: int, number: int) -> tuple:
        if bracket == "[[" and name == "producers":
            table = ("producers", producer + 1)
        elif name.startswith("producers.") and producer >= 0:
            table = ("producers", producer, *name.split(".")[1:])
        else:
            table = tuple(name.split("."))
        self.lines.setdefault(table, number)
        return table

    def top(self, key: str) -> int | None:
        return self.lines.get((key,))

    def section_key(self, section: str, key: str) -> int | None:
        return self.lines.get((section, key))

    def producer(self, i: int) -> int | None:
        return self.lines.get(("producers", i))

    def key(self, i: int, key: str) -> int | None:
        return self.lines.get(("producers", i, key))

    def param(self, i: int, key: str) -> int | None:
        return self.lines.get(("producers", i, "params", key)) or self.lines.get(
            ("producers", i, "params")
        )
