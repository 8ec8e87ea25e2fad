"""Declared, typed producer parameters.

A producer kind lists its parameters once; from that single declaration the session loader
validates user input, the CLI prints `streamscope producers`, and the UI can build a form.
Validation happens in the GUI process *before* any child starts, so a typo is a clear message
rather than a crashed process.
"""

from __future__ import annotations

import math
import reprlib
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


_TYPE_NAMES = {float: "float", int: "int", bool: "bool", str: "str"}


@dataclass(frozen=True)
class Param:
    name: str
    type: type
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None

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
        elif self.type is str and isinstance(value, str):
            return value
        raise ParamError(
            self.name,
            f"{self.name} must be {self.type_name}, got {type(value).__name__} {short_repr(value)}",
        )


def validate_params(declared: tuple[Param, ...], given: dict[str, Any], kind: str) -> dict:
    """Fill defaults, coerce types and check bounds; unknown names are errors, not ignored."""
    by_name = {p.name: p for p in declared}
    for key in given:
        if key not in by_name:
            known = ", ".join(by_name) or "none"
            raise ParamError(
                key, f"unknown parameter {short_repr(key)} for kind {kind!r} (known: {known})"
            )
    return {p.name: p.coerce(given[p.name]) if p.name in given else p.default for p in declared}
