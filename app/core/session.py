"""Session files (TOML): which producers exist, their parameters, and chart/store settings.

Everything is validated here, in the GUI process, before any producer starts, and every error
names the file and, where it can be found, the line: `FILE:LINE: what is wrong`. tomllib does
not report where a key was, so `_Locator` finds it in the text.

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
from typing import NoReturn

from app.core.supervisor import RESTART_POLICIES
from producers.base import all_kinds, get_kind
from producers.params import ParamError, one_line, short_repr, validate_params
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


@dataclass
class Session:
    producers: list[ProducerSpec]
    path: Path | None = None
    window_s: float = 30.0
    fps: float = 40.0
    budget_mb: float = 512.0


# Limits on what a session file may be, so hostile input costs bounded time and memory.
MAX_BYTES = 1 << 20  # 1,000 producers with every key spelled out: about 180 KB
_TOO_LARGE = "session file is larger than 1 MiB"

_CHART_KEYS = {"window_s": (1.0, 86400.0), "fps": (1.0, 120.0)}
_STORE_KEYS = {"budget_mb": (16.0, 65536.0)}
_PRODUCER_KEYS = {"name", "kind", "autostart", "restart", "visible", "params"}


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
    return parse_session(text, path)


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

    Hostile text costs bounded time: before tomllib sees it, one linear pass (`_Locator`)
    refuses what would make tomllib recurse too deep or go quadratic, and finds the lines.
    """
    if len(text) > MAX_BYTES:  # characters: a text with more is larger than this in UTF-8
        raise SessionError(path, _TOO_LARGE)
    where = _Locator(text, path)
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
        if key not in ("producers", "chart", "store"):
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
            raise SessionError(path, f"duplicate producer name {spec.name!r}", where.key(i, "name"))
        names.add(spec.name)
        session.producers.append(spec)
    return session


_TOML_WHERE = re.compile(r" \((?:at line (\d+), column \d+|at end of document)\)\Z")


def _toml_problem(message: str, text: str) -> tuple[str, int | None]:
    """tomllib's message without its position suffix, and the line (the last one at EOF)."""
    match = _TOML_WHERE.search(message)
    if not match:
        return message, None
    line = int(match[1]) if match[1] else text.count("\n") + 1
    return message[: match.start()], line


def _read_settings(session: Session, data: dict, path, where: _Locator) -> None:
    for section, keys in (("chart", _CHART_KEYS), ("store", _STORE_KEYS)):
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise SessionError(path, f"[{section}] must be a table", where.top(section))
        for key, value in table.items():
            line = where.section_key(section, key)
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


def _read_producer(raw, i: int, path, where: _Locator) -> ProducerSpec:
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
    except KeyError:
        known = ", ".join(all_kinds())
        message = f"unknown producer kind {short_repr(kind)} (known: {known})"
        raise SessionError(path, message, where.key(i, "kind")) from None
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


# -- the pre-scan: limits and lines ---------------------------------------------------------------
#
# tomllib recurses once per nested array or inline table (about 500 levels exhaust Python's
# stack: RecursionError) and checks every dotted key against all of its prefixes (a 40 KB key
# `a.a.a...` took 7 s). Its cost is otherwise linear, at roughly 3 µs per key, table or value.
# The limits below are far beyond any session (one needs 3 levels and 3-part keys) and keep
# the worst admitted file under about 0.2 s; tests/test_session_fuzz.py measures it.
MAX_NESTING = 10  # arrays and inline tables inside each other
MAX_KEY_PARTS = 10  # parts of one dotted key or table header: a.b.c is 3
MAX_TOKENS = 60_000  # keys, values, '=', brackets...: 1,000 producers, every key set, use 38,000
MAX_BARE = 100  # characters of an unquoted value (a number, date or boolean)

_TRIVIA = r"(?P<trivia>(?:[ \t\r\n]++|#[^\n]*+)++)"
# Strings exactly as TOML lexes them, so a bracket, dot or '#' inside one is not structure.
# Possessive quantifiers: a string that never closes fails in linear time, not exponential.
_STRING = r"""(?P<str>"(?:[^"\\\n]++|\\[^\n])*+"|'[^'\n]*+')"""
_ML_STRING = (
    r'''(?P<ml>"""(?:[^"\\]++|\\.|"(?!""))*+"""(?:""?)?+'''
    r"""|'''(?:[^']++|'(?!''))*+'''(?:''?)?+)"""
    r"""|(?P<unterminated>\"\"\"|''')"""
)
_KEY_TOKEN = re.compile(
    rf"{_TRIVIA}|{_STRING}|(?P<bare>[A-Za-z0-9_-]++)"
    r"|(?P<punct>\[\[|\]\]|[\[\]{}=,.])|(?P<other>.)",
    re.S,
)
_VALUE_TOKEN = re.compile(
    rf"{_TRIVIA}|{_ML_STRING}|{_STRING}|(?P<bare>[A-Za-z0-9_+.:-]++)"
    r"|(?P<punct>[\[\]{}=,])|(?P<other>.)",
    re.S,
)
_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", re.S)
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}

_STATEMENT, _KEY, _HEADER, _VALUE, _AFTER = range(5)


def _key_text(kind: str, token: str) -> str:
    """The key a bare or quoted key token names (TOML escapes decoded)."""
    if kind == "bare":
        return token
    if token[0] == "'":
        return token[1:-1]
    return _ESCAPE.sub(_unescape, token[1:-1])


def _unescape(match: re.Match) -> str:
    code = match[1]
    if len(code) > 1:  # \uXXXX or \UXXXXXXXX
        number = int(code[1:], 16)
        return chr(number) if number < 0x110000 else match[0]
    return _ESCAPES.get(code, match[0])


class _Locator:
    """The line of every key, table and array element in TOML text, found in one linear pass
    that also enforces the limits above (SessionError with the line where one is exceeded).

    tomllib reports no positions, so this follows TOML's structure itself: table headers
    (`[[producers]]` counts array elements, `[producers.params]` belongs to the latest one),
    dotted keys, inline tables and arrays (`producers = [{name = "a"}]` works too). On text
    that is not TOML it carries on as best it can: tomllib then reports the syntax error.
    """

    def __init__(self, text: str, path: str | Path = "<session>"):
        self.lines: dict[tuple, int] = {}
        self._path = path
        self._arrays: dict[tuple, int] = {}  # array of tables -> index of its latest element
        self._scan(text)

    def _fail(self, message: str, line: int) -> NoReturn:
        raise SessionError(self._path, message, line)

    def _scan(self, text: str) -> None:
        """Fill self.lines: a state machine over tokens (one function: it reads best whole)."""
        record = self.lines.setdefault
        table: tuple = ()  # the table the latest header opened
        stack: list[list] = []  # open arrays and inline tables: [is_array, path, index]
        state, key, key_line, header, here = _STATEMENT, [], 1, "", ()
        pos, line, tokens, end = 0, 1, 0, len(text)
        while pos < end:
            regex = _VALUE_TOKEN if state in (_VALUE, _AFTER) else _KEY_TOKEN
            match = regex.match(text, pos)
            kind, token, pos = match.lastgroup, match[0], match.end()
            at = line
            if kind == "trivia" or kind == "ml":
                line += token.count("\n")
                if kind == "trivia":
                    if not stack and line != at:
                        state = _STATEMENT  # a newline ends a top-level statement
                    continue
            elif kind == "unterminated":
                return  # the rest is inside a string that never ends; tomllib will say so
            tokens += 1
            if tokens > MAX_TOKENS:
                self._fail(
                    f"session file has more than {MAX_TOKENS:,} TOML tokens (keys, values,"
                    " punctuation), far more than a session needs",
                    at,
                )
            if state == _STATEMENT:
                if token in ("[", "[["):
                    state, key, key_line, header = _HEADER, [], at, token
                elif kind in ("bare", "str"):
                    state, key, key_line = _KEY, [_key_text(kind, token)], at
            elif state in (_KEY, _HEADER):
                if kind in ("bare", "str"):
                    if not key:
                        key_line = at
                    key.append(_key_text(kind, token))
                    if len(key) > MAX_KEY_PARTS:
                        self._fail(f"key has more than {MAX_KEY_PARTS} dotted parts", key_line)
                elif state == _HEADER and token in ("]", "]]"):
                    table = self._header(key, header == "[[")
                    record(table, key_line)
                    state = _AFTER
                elif state == _KEY and token == "=" and key:
                    base = stack[-1][1] if stack else table
                    for j in range(len(key)):
                        record((*base, *key[: j + 1]), key_line)
                    here, state = (*base, *key), _VALUE
                elif token == "}" and stack and not stack[-1][0]:
                    stack.pop()  # `{}`, or after a trailing comma (not TOML; tomllib says so)
                    state = _AFTER
            elif state == _VALUE:
                if token == "[" or token == "{":
                    record(here, at)
                    if len(stack) >= MAX_NESTING:
                        self._fail(f"arrays and tables nested more than {MAX_NESTING} deep", at)
                    stack.append([token == "[", here, 0])
                    if token == "[":
                        here = (*here, 0)
                    else:
                        state, key = _KEY, []
                elif token == "]" and stack and stack[-1][0]:
                    stack.pop()  # an empty array, or after a trailing comma
                    state = _AFTER
                else:
                    record(here, at)
                    if kind == "bare" and len(token) > MAX_BARE:
                        self._fail(f"unquoted value longer than {MAX_BARE} characters", at)
                    state = _AFTER
            elif token == "," and stack:  # _AFTER, inside an array or inline table
                frame = stack[-1]
                if frame[0]:
                    frame[2] += 1
                    here, state = (*frame[1], frame[2]), _VALUE
                else:
                    state, key = _KEY, []
            elif token in ("]", "}") and stack and stack[-1][0] == (token == "]"):
                stack.pop()
            elif kind == "bare" and len(token) > MAX_BARE:  # the time of `1979-05-27 07:32:00`
                self._fail(f"unquoted value longer than {MAX_BARE} characters", at)

    def _header(self, key: list[str], array: bool) -> tuple:
        """The table a `[a.b]` / `[[a.b]]` header opens, array elements as indices."""
        table: tuple = ()
        for j, part in enumerate(key):
            table = (*table, part)
            if table in self._arrays and not (array and j == len(key) - 1):
                table = (*table, self._arrays[table])
        if array:
            index = self._arrays[table] = self._arrays.get(table, -1) + 1
            table = (*table, index)
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
