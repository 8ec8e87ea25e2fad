"""Declared, typed producer parameters.

A producer kind lists its parameters once; from that single declaration the session loader
validates user input, the CLI prints `streamscope producers`, and the UI can build a form.
Validation happens in the GUI process *before* any child starts, so a typo is a clear message
rather than a crashed process.
"""

from __future__ import annotations

import copy
import math
import os
import re
import reprlib
import shlex
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Values in messages come from user files: a 1 MB string or a list nested 500 deep must still
# give a short, one-line message (and repr of deep nesting would itself hit the recursion limit).
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 80
_REPR.maxlevel = 3


def short_repr(value: Any) -> str:
    """repr(value), shortened with '...' if long or deeply nested, on one line."""
    return one_line(_REPR.repr(value))


def one_line(text: str) -> str:
    """`text` with non-printable characters (newlines, controls, separators) escaped."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


class ParamError(ValueError):
    """A parameter value that does not fit its declaration; `key` names the offending parameter."""

    def __init__(self, key: str | None, message: str):
        super().__init__(message)
        self.key = key


class path(str):
    """A parameter type: a file system path. A relative one is relative to the session file's
    folder (`resolve_paths`), so a session and the scripts beside it move together."""


class target(str):
    """A parameter type: a function to call, `"file.py:function"` or `"module:function"` (the
    function part may be dotted, `Class.method`). A file part (ending in .py or naming a
    folder) is a path like `path`'s, relative to the session file's folder (`resolve_paths`);
    a module part is imported by name. The form is checked at session load (`check_target`),
    whether the file exists when the producer starts."""


class strings(list):
    """A parameter type: a list of strings (a command's argv, topics). In a form: shell words."""


class table(dict):
    """A parameter type: a TOML table (keyword arguments, an environment, a sweep's grid). In a
    form: a TOML inline table, `{ gain = [1, 2], name = "x" }`."""


_TYPE_NAMES = {
    float: "float",
    int: "int",
    bool: "bool",
    str: "str",
    path: "path",
    target: "file.py:function or module:function",
    strings: "list of strings",
    table: "table",
}
MAX_ITEMS = 10_000  # a list or table from a session: bounded, so a typo cannot cost minutes


@dataclass(frozen=True)
class Param:
    name: str
    type: type
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None
    # A further check of the coerced value (a grid's shape, say): raises ValueError with a
    # message; runs wherever the value is validated, so at session load, before any child.
    check: Callable[[Any], None] | None = None
    # no usable default (a sweep's function): a session must give it; `default` is a blank
    required: bool = False

    @property
    def type_name(self) -> str:
        return _TYPE_NAMES[self.type]

    def describe_range(self) -> str:
        if self.choices:
            return "one of " + ", ".join(self.choices)
        lo = "-inf" if self.min is None else f"{self.min:g}"
        hi = "inf" if self.max is None else f"{self.max:g}"
        return "" if self.min is None and self.max is None else f"[{lo}, {hi}]"

    def coerce(self, value: Any) -> Any:
        """Return `value` converted to this parameter's type, or raise ParamError."""
        value = self._coerce_type(value)
        if self.choices is not None and value not in self.choices:
            raise ParamError(
                self.name,
                f"{self.name} must be one of {', '.join(self.choices)}, got {short_repr(value)}",
            )
        if self.type in (int, float):
            if isinstance(value, float) and not math.isfinite(value):
                raise ParamError(self.name, f"{self.name} must be finite, got {short_repr(value)}")
            if (self.min is not None and value < self.min) or (
                self.max is not None and value > self.max
            ):
                raise ParamError(
                    self.name,
                    f"{self.name} must be in {self.describe_range()}, got {short_repr(value)}",
                )
        if self.check is not None:
            try:
                self.check(value)
            except ValueError as exc:
                raise ParamError(self.name, f"{self.name}: {exc}") from None
        return value

    def _coerce_type(self, value: Any) -> Any:
        # bool is an int subclass in Python; TOML keeps them apart, and so do we.
        if self.type is bool:
            if isinstance(value, bool):
                return value
        elif self.type is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        elif self.type is float:
            if isinstance(value, int | float) and not isinstance(value, bool):
                try:
                    return float(value)
                except OverflowError:  # an int beyond the float range, 1e309 written out
                    raise ParamError(
                        self.name, f"{self.name} must be finite, got {short_repr(value)}"
                    ) from None
        elif self.type in (str, path) and isinstance(value, str):
            return value
        elif self.type is target and isinstance(value, str):
            try:
                check_target(value)
            except ValueError as exc:
                raise ParamError(self.name, f"{self.name}: {exc}") from None
            return value
        elif self.type is strings and isinstance(value, list | tuple):
            if len(value) > MAX_ITEMS:
                raise ParamError(self.name, f"{self.name} has more than {MAX_ITEMS} items")
            bad = next((v for v in value if not isinstance(v, str)), None)
            if bad is None:
                return list(value)
            raise ParamError(
                self.name,
                f"{self.name} must be a list of strings, got {type(bad).__name__} "
                f"{short_repr(bad)} in it",
            )
        elif self.type is table and isinstance(value, dict):
            if len(value) > MAX_ITEMS:
                raise ParamError(self.name, f"{self.name} has more than {MAX_ITEMS} keys")
            return dict(value)
        raise ParamError(
            self.name,
            f"{self.name} must be {self.type_name}, got {type(value).__name__} {short_repr(value)}",
        )

    def to_text(self, value: Any) -> str:
        """The text for a value in a one-line editor; `from_text` of it gives the same value.

        Floats as repr, not `:g`: `:g` keeps 6 digits, so 1234567.0 came back as 1234570.0 and
        OK without an edit changed the parameter (and restarted the producer)."""
        if self.type is float and isinstance(value, float):
            return repr(value)
        if self.type is strings and isinstance(value, list):
            return shlex.join(value)
        if self.type is table and isinstance(value, dict):
            return toml_inline(value)
        return str(value)

    def from_text(self, text: str) -> Any:
        """The value a one-line editor's text means, in this type; ParamError if none."""
        stripped = text.strip()
        try:
            if self.type is strings:
                return shlex.split(stripped)
            if self.type is table:
                return tomllib.loads(f"v = {stripped or '{}'}")["v"]
            if self.type is bool:
                return {"true": True, "false": False}[stripped.lower()]
            if self.type in (str, path, target):
                return stripped
            return self.type(stripped)
        except (ValueError, KeyError, tomllib.TOMLDecodeError) as exc:
            detail = f" ({exc})" if self.type in (strings, table) else ""
            raise ParamError(
                self.name,
                f"{self.name} must be {self.type_name}, got {short_repr(stripped)}{detail}",
            ) from None


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def toml_inline(value: Any) -> str:
    """`value` (what tomllib returns) as TOML inline text, e.g. `{ a = 1, b = [1, 2] }`."""
    if isinstance(value, dict):
        items = ", ".join(
            f"{k if _BARE_KEY.fullmatch(k) else _toml_string(k)} = {toml_inline(v)}"
            for k, v in value.items()
        )
        return f"{{ {items} }}" if items else "{}"
    if isinstance(value, list):
        return "[" + ", ".join(toml_inline(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return (
            repr(value)
            if math.isfinite(value)
            else ("nan" if value != value else ("inf" if value > 0 else "-inf"))
        )
    if isinstance(value, str):
        return _toml_string(value)
    return str(value)  # int; datetimes print as TOML reads them


def _toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    escaped = (c if c not in '"\\' and " " <= c != "\x7f" else f"\\u{ord(c):04x}" for c in text)
    return '"' + "".join(escaped) + '"'


_IDENTIFIERS = re.compile(r"[^\W\d]\w*(?:\.[^\W\d]\w*)*")


def split_target(text: str) -> tuple[str, str, bool]:
    """`"where:function"` as (where, function, where_is_a_file). The split is at the last
    colon, so a file name may hold colons. A file part ends in .py or names a folder."""
    where, _, function = text.rpartition(":")
    is_file = where.endswith(".py") or "/" in where or where.startswith("~")
    return where, function, is_file


def check_target(text: str) -> None:
    """ValueError unless `text` reads `file.py:function` or `module:function`."""
    where, function, is_file = split_target(text.strip())
    form = "expected 'file.py:function' or 'module:function'"
    if not where or not function:
        raise ValueError(f"{form}, got {short_repr(text)}")
    if not _IDENTIFIERS.fullmatch(function):
        raise ValueError(f"{short_repr(function)} is not a function name ({form})")
    if not is_file and not _IDENTIFIERS.fullmatch(where):
        raise ValueError(f"{short_repr(where)} is neither a .py file nor a module name ({form})")


def _absolute(value: str, base_dir: str | None) -> str:
    value = os.path.expanduser(value)
    if not os.path.isabs(value):
        value = os.path.join(base_dir or os.getcwd(), value)
    return os.path.normpath(value)


def resolve_paths(declared: tuple[Param, ...], params: dict, base_dir: str | None) -> dict:
    """`params` with each relative `path` parameter, and the file part of each `target`
    parameter, made absolute against `base_dir` (the session file's folder; None: the current
    directory). `~` is the user's home. A target's module part stays as it is."""
    out = dict(params)
    for p in declared:
        value = out.get(p.name)
        if not isinstance(value, str) or not value:
            continue
        if p.type is path:
            out[p.name] = _absolute(value, base_dir)
        elif p.type is target:
            where, function, is_file = split_target(value.strip())
            if is_file and where:
                out[p.name] = f"{_absolute(where, base_dir)}:{function}"
    return out


def validate_params(declared: tuple[Param, ...], given: dict[str, Any], kind: str) -> dict:
    """Fill defaults, coerce types and check bounds; unknown names are errors, not ignored."""
    by_name = {p.name: p for p in declared}
    for key in given:
        if key not in by_name:
            known = ", ".join(by_name) or "none"
            raise ParamError(
                key, f"unknown parameter {short_repr(key)} for kind {kind!r} (known: {known})"
            )
    missing = next((p for p in declared if p.required and p.name not in given), None)
    if missing is not None:
        raise ParamError(
            missing.name, f"{missing.name} is required for kind {kind!r}: {missing.help}"
        )
    return {
        p.name: p.coerce(given[p.name]) if p.name in given else copy.deepcopy(p.default)
        for p in declared
    }
