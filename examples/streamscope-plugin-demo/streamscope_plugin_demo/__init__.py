"""A square wave, as a third-party streamscope producer kind (see README.md beside it).

Everything a kind needs is here: a name, a help line, declared parameters (streamscope checks a
session's values against them before any process starts, and lists them in `streamscope
producers`), and `run(ctx)`, which streamscope calls in a process of its own and which loops
until `ctx.running` goes false.
"""

from __future__ import annotations

import time

import numpy as np

from producers import Param, Producer

MAX_EMIT = 1 << 16  # samples per emit: after a long stall, catch up in pieces, not one huge array


class SquareWave(Producer):
    kind = "square_wave"  # must match the entry point's name
    help = "a square wave: +amplitude for the first half of each cycle, -amplitude for the second"
    params = (
        Param("rate_hz", float, 100.0, "samples per second", min=0.1, max=100_000.0),
        Param("frequency_hz", float, 1.0, "cycles per second", min=0.0, max=50_000.0),
        # bounded like the built-ins' values, so nothing downstream can overflow
        Param("amplitude", float, 1.0, "peak value", min=-1e100, max=1e100),
    )
    # run() calls ctx.wait after every emit, which sends the batch: no flusher thread needed
    flushes_in_background = False

    def run(self, ctx) -> None:
        rate, frequency, amplitude = (self.p[k] for k in ("rate_hz", "frequency_hz", "amplitude"))
        ctx.set_status(f"{frequency:g} Hz")  # the row reads `RUNNING · 1 Hz`
        start = time.time()
        sent = 0  # samples emitted; sample i belongs at start + i / rate
        while ctx.running:
            due = int((time.time() - start) * rate) + 1  # samples whose time has come
            while sent < due:
                n = min(due - sent, MAX_EMIT)
                index = np.arange(sent, sent + n)
                # which half-cycle each sample falls in: even halves high, odd halves low
                half = np.floor(2.0 * frequency * index / rate)
                values = np.where(half % 2 == 0, amplitude, -amplitude)
                # a regular grid: t0 and dt instead of one timestamp per sample
                ctx.emit("value", values, t0=start + sent / rate, dt=1.0 / rate)
                sent += n
            # sleep until the next sample is due, but wake at most ~50 times a second;
            # ctx.wait sends what was emitted and returns at once when the run is stopped
            ctx.wait(max(start + sent / rate - time.time(), 0.02))
