"""The producer contract (which kinds exist is `producers.registry`'s business).

A producer is a plain class: parameters in, `run(ctx)` loops until `ctx.running` goes false.
It never touches Qt, pipes or processes; `producers.runtime` owns those. That keeps a producer
testable by calling `run` with a fake context, and easy to write for a new data source.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from producers.params import Param, validate_params

if TYPE_CHECKING:
    from producers.runtime import ProducerContext


class Producer:
    kind: ClassVar[str] = ""
    help: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    # True: a thread sends pending samples within the batch interval whatever `run` is doing.
    # A kind that calls `ctx.wait` after each emit may say False and save that thread's wakes.
    flushes_in_background: ClassVar[bool] = True
    # The unit of each series the kind emits (series name -> "%", "Hz", "s"; the key "*" for
    # every series), declared here rather than sent with the data so the window knows it from
    # the kind alone, without asking the producer's process. The chart's value axis shows the
    # unit when every visible series shares one. Undeclared: no unit.
    units: ClassVar[dict[str, str]] = {}

    @classmethod
    def unit_of(cls, series: str) -> str:
        """The declared unit of `series`, "" when none is declared."""
        return cls.units.get(series, cls.units.get("*", ""))

    def __init__(self, **params):
        self.p = validate_params(self.params, params, self.kind)

    def run(self, ctx: ProducerContext) -> None:
        raise NotImplementedError

    def cleanup(self) -> None:
        """Release what `run` started outside this process (a program, a pool of workers),
        however the run ends: returned, raised, or its app vanished. Called once, possibly from
        another thread than `run`'s (the lifeline's, when the app is gone), so keep it short
        and safe to call while `run` is still inside a call. Process groups given to
        `ctx.own_process_group` are ended without it."""
