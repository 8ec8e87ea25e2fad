"""The producer contract and the registry of kinds.

A producer is a plain class: parameters in, `run(ctx)` loops until `ctx.running` goes false.
It never touches Qt, pipes or processes; `producers.runtime` owns those. That keeps a producer
testable by calling `run` with a fake context, and easy to write for a new data source.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from producers.params import Param, validate_params

if TYPE_CHECKING:
    from producers.runtime import ProducerContext

_KINDS: dict[str, type[Producer]] = {}


class Producer:
    kind: ClassVar[str] = ""
    help: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()

    def __init__(self, **params):
        self.p = validate_params(self.params, params, self.kind)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.kind:
            _KINDS[cls.kind] = cls

    def run(self, ctx: ProducerContext) -> None:
        raise NotImplementedError


def _load_builtins() -> None:
    import producers.builtin  # noqa: F401  (registers the built-in kinds)


def get_kind(kind: str) -> type[Producer]:
    _load_builtins()
    try:
        return _KINDS[kind]
    except KeyError:
        known = ", ".join(sorted(_KINDS))
        raise KeyError(f"unknown producer kind {kind!r} (known: {known})") from None


def all_kinds() -> dict[str, type[Producer]]:
    _load_builtins()
    return dict(sorted(_KINDS.items()))
