"""A test aid: a producer that misbehaves on purpose, in the way its `mode` names.

raise_init raises in __init__; raise raises after `after_batches` batches; exit calls
sys.exit(exit_code) after them; hang stops sending and ignores Stop (SIGTERM still ends it);
hang_hard also ignores SIGTERM, so only SIGKILL ends it.
"""

import signal
import sys
import time

from producers.base import Producer
from producers.params import Param

MODES = ("raise", "raise_init", "exit", "hang", "hang_hard")


class ProducerFailure(RuntimeError):
    pass


class Fail(Producer):
    flushes_in_background = False  # it calls ctx.wait after every emit
    kind = "fail"
    help = "a test aid that raises, exits or hangs after N batches (see mode)"
    params = (
        Param("mode", str, "raise", "how to fail", choices=MODES),
        Param("after_batches", int, 5, "batches sent before failing", min=0),
        Param("exit_code", int, 3, "exit code for mode=exit", min=0, max=255),
        Param("rate_hz", float, 100.0, "samples per second before failing", min=1.0, max=1e6),
    )

    def __init__(self, **params):
        super().__init__(**params)
        if self.p["mode"] == "raise_init":
            raise ProducerFailure("fail producer: raised in __init__ as configured")

    def run(self, ctx) -> None:
        period = 0.02
        per_batch = max(1, round(self.p["rate_hz"] * period))
        for batch in range(self.p["after_batches"]):
            if not ctx.running:
                return
            t0 = time.time()
            ctx.emit("value", [float(batch)] * per_batch, t0=t0, dt=period / per_batch)
            ctx.wait(period)
        ctx.flush()
        self._fail(ctx)

    def _fail(self, ctx) -> None:
        mode = self.p["mode"]
        if mode == "raise":
            raise ProducerFailure(f"fail producer: raised after {self.p['after_batches']} batches")
        if mode == "exit":
            sys.exit(self.p["exit_code"])
        if mode == "hang_hard":
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:  # hang: no batches, no exit, deaf to Stop
            time.sleep(0.05)
