"""A base for synthetic sources sampled on a regular clock (sine, noise, random walk).

Samples sit on the exact grid `start + i / rate` whatever the scheduling jitter: each wake-up
emits every sample that has come due since the last one, as one regular chunk `(t0, dt)`.

Wake-ups cost more than samples: a process that wakes and sends a message every 10 ms costs
~4-6 % of a core whatever it sends. So a producer wakes about every `MIN_BATCH` samples, no
more often than the context's batch interval (10 ms, high rates) and no less often than
`MAX_LATENCY_S` (what a chart at 20-40 fps can show anyway); a slow one wakes when a sample is due.
"""

from __future__ import annotations

import time

import numpy as np

from producers.base import Producer
from producers.params import Param

MAX_CHUNK = 1 << 17
MIN_BATCH = 16  # samples a wake-up should carry, where latency allows
MAX_LATENCY_S = 0.05


def wake_period(rate: float, min_interval: float) -> float:
    """Seconds between wake-ups for a producer of `rate` samples/s (see the module docstring)."""
    return max(min(MIN_BATCH / rate, MAX_LATENCY_S), min_interval, 1.0 / rate)


# The largest magnitude of a value-like parameter (amplitude, offset, mean, std, start). Every
# value a built-in kind then emits stays below about 1e102 (sine: amplitude + offset; noise:
# mean + std * a normal deviate, in practice never beyond 10; random_walk clamps to it), so the
# producer cannot overflow, and neither can anything downstream that adds, subtracts or
# multiplies two values (the chart's spans, padding and pixel scaling; statistics): 1e102
# squared is still far below the float limit 1.8e308.
VALUE_LIMIT = 1e100


CHANNELS_PARAM = Param(
    "channels", int, 1, "independent series: 1 is one series `value`, more are ch0, ch1, …",
    min=1, max=1024,
)  # fmt: skip


def rate_param(default: float) -> Param:
    return Param("rate_hz", float, default, "samples per second", min=0.001, max=50e6)


SEED_PARAM = Param("seed", int, -1, "random seed, -1 for a fresh one each start", min=-1)


def seeded_rng(seed: int) -> np.random.Generator:
    """A reproducible generator for seed >= 0, a fresh one for -1."""
    return np.random.default_rng(None if seed < 0 else seed)


class SampledProducer(Producer):
    series = "value"
    flushes_in_background = False  # it calls ctx.wait after every emit

    def generate(self, index: np.ndarray, dt: float, channel: int = 0) -> np.ndarray:
        """Values of `channel` for sample numbers `index` (time since start = index * dt)."""
        raise NotImplementedError

    @property
    def series_names(self) -> list[str]:
        channels = self.p.get("channels", 1)
        return [self.series] if channels == 1 else [f"ch{k}" for k in range(channels)]

    def run(self, ctx) -> None:
        rate = self.p["rate_hz"]
        dt = 1.0 / rate
        period = wake_period(rate, ctx.batch_interval)
        names = self.series_names
        start = time.time()
        sent = 0
        while ctx.running:
            due = int((time.time() - start) * rate) + 1 - sent
            while due > 0:
                n = min(due, MAX_CHUNK)
                index = np.arange(sent, sent + n)
                for channel, name in enumerate(names):
                    values = self.generate(index, dt, channel)
                    ctx.emit(name, values, t0=start + sent * dt, dt=dt)
                sent += n
                due -= n
            next_due = start + sent * dt - time.time()
            ctx.wait(max(next_due + period - dt, 0.0))
