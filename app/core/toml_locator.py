"""Where each key of a session file is, found before tomllib parses it, within limits.

tomllib reports no positions, so the session loader's messages (`FILE:LINE: what is wrong`)
need this pass to find lines; and tomllib has two weaknesses a hostile file can use (below), so
the same linear pass refuses such files before tomllib sees them.
"""

from __future__ import annotations

import re
from typing import NoReturn


class LimitError(ValueError):
    """The text exceeds one of the limits below; `line` says where."""

    def __init__(self, message: str, line: int):
        super().__init__(message)
        self.line = line


# # tomllib recurses once per nested array or inline table (about 500 levels exhaust Python's
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


class Locator:
    """The line of every key, table and array element in TOML text, found in one linear pass
    that also enforces the limits above (LimitError with the line where one is exceeded).

    tomllib reports no positions, so this follows TOML's structure itself: table headers
    (`[[producers]]` counts array elements, `[producers.params]` belongs to the latest one),
    dotted keys, inline tables and arrays (`producers = [{name = "a"}]` works too). On text
    that is not TOML it carries on as best it can: tomllib then reports the syntax error.
    """

    def __init__(self, text: str):
        self.lines: dict[tuple, int] = {}
        self._arrays: dict[tuple, int] = {}  # array of tables -> index of its latest element
        self._scan(text)

    def _fail(self, message: str, line: int) -> NoReturn:
        raise LimitError(message, line)

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
                    for j in range(len(table)):  # `[[plot]]` also says where "plot" is
                        record(table[: j + 1], key_line)
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

    def at(self, *path) -> int | None:
        """The line of a key or table by its full path: ("plots", 0, "kind"), ("series",
        "wave/ch0") (array elements by index); None if the text does not spell it out."""
        return self.lines.get(path)

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
