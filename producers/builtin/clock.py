"""The original example's producer: the current time once per period (value = second of minute)."""

import datetime

from producers.base import Producer
from producers.params import Param


class Clock(Producer):
    flushes_in_background = False  # it calls ctx.wait after every emit
    kind = "clock"
    units = {"second": "s"}
    help = "the current time once per period; value = seconds within the minute"
    params = (Param("period_s", float, 1.0, "seconds between samples", min=0.001, max=3600.0),)

    def run(self, ctx) -> None:
        while ctx.running:
            now = datetime.datetime.now()
            ctx.emit_sample("second", now.second + now.microsecond / 1e6, now.timestamp())
            ctx.wait(self.p["period_s"])
