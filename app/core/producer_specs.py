"""The rules a producer's spec must follow, in one place: the session loader checks a file's
producers with them, and the window's Add / Rename / Duplicate check what the user typed with
them, so the same mistake reads the same in both (`duplicate producer name 'wave'`).

Qt-free and cheap (no file is touched): the window checks on every keystroke.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection

from app.core.supervisor import RESTART_POLICIES
from producers.params import ParamError, validate_params
from producers.registry import KindError, get_kind

# fullmatch, not `$`: `$` also matches before a trailing newline, so "abc\n" would pass.
NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
NAME_RULE = "producer name must be 1-64 letters, digits, '_', '-' or '.'"
RESTART_RULE = f"restart must be one of {', '.join(RESTART_POLICIES)}"
_NUMBERED = re.compile(r"-(\d+)\Z")


class SpecError(ValueError):
    """A spec that breaks a rule. `field`: what is wrong ("name", "kind", "restart"... or, with
    `param` true, the parameter's name), so a form can point at it; str(): the session
    loader's words."""

    def __init__(self, field: str | None, message: str, param: bool = False):
        super().__init__(message)
        self.field = field
        self.param = param


def duplicate_name(name: str) -> str:
    return f"duplicate producer name {name!r}"


def check_name(name, taken: Collection[str] = ()) -> str:
    """`name` if it is a valid producer name not among `taken`; SpecError("name") if not."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise SpecError("name", NAME_RULE)
    if name in taken:
        raise SpecError("name", duplicate_name(name))
    return name


def check_kind(kind):
    """The Producer class of `kind`; SpecError("kind") for an unknown or broken kind."""
    try:
        return get_kind(kind)
    except KindError as exc:
        raise SpecError("kind", str(exc)) from None


def check_restart(restart) -> str:
    if restart not in RESTART_POLICIES:
        raise SpecError("restart", RESTART_RULE)
    return restart


def checked_params(name: str, kind: str, given: dict) -> dict:
    """`given` validated against the kind's declared parameters (defaults filled in);
    SpecError naming the parameter, worded as the loader words it."""
    cls = check_kind(kind)
    try:
        return validate_params(cls.params, given, kind)
    except ParamError as exc:
        raise SpecError(exc.key, f"producer {name!r}: {exc}", param=True) from None


def checked_spec(spec, taken: Collection[str] = ()):
    """`spec` (a ProducerSpec) as the session loader would accept it: a valid name not among
    `taken`, a usable kind, a restart policy, parameters validated (a copy with defaults
    filled in). SpecError for the first rule broken, in the loader's words."""
    check_name(spec.name, taken)
    check_kind(spec.kind)
    for key in ("autostart", "visible"):
        if not isinstance(getattr(spec, key), bool):
            raise SpecError(key, f"{key} must be true or false")
    check_restart(spec.restart)
    params = checked_params(spec.name, spec.kind, spec.params)
    return dataclasses.replace(spec, params=params)


def unique_name(wanted: str, taken: Collection[str]) -> str:
    """`wanted` if it is free and valid, else the first free `<stem>-2`, `<stem>-3`... where the
    stem is `wanted` without a `-N` ending ("noise-2" is followed by "noise-3", not
    "noise-2-2") and with characters a name cannot hold replaced by "_"."""
    clean = re.sub(r"[^A-Za-z0-9_.-]", "_", wanted)[:64] or "producer"
    if clean not in taken:
        return clean
    stem = _NUMBERED.sub("", clean) or "producer"
    n = 2
    while True:
        suffix = f"-{n}"
        candidate = stem[: 64 - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        n += 1
