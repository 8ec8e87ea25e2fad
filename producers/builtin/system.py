"""Machine load from psutil: total CPU %, memory %, and one series per core."""

import psutil

from producers.base import Producer
from producers.params import Param


class System(Producer):
    flushes_in_background = False  # it calls ctx.wait after every emit
    kind = "system"
    units = {"*": "%"}  # CPU and memory, each as a percentage
    help = "CPU % (total and per core) and memory % of this machine, via psutil"
    params = (
        Param("interval_s", float, 0.5, "seconds between readings", min=0.05, max=3600.0),
        Param("per_core", bool, True, "one series per CPU core as well as the total"),
    )

    def run(self, ctx) -> None:
        psutil.cpu_percent(percpu=True)  # the first reading is meaningless: it primes the counters
        while ctx.wait(self.p["interval_s"]):
            cores = psutil.cpu_percent(percpu=True)
            ctx.emit_sample("cpu", sum(cores) / len(cores))
            ctx.emit_sample("memory", psutil.virtual_memory().percent)
            if self.p["per_core"]:
                for i, value in enumerate(cores):
                    ctx.emit_sample(f"cpu{i}", value)
