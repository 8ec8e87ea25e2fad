"""A price-like ticker: a geometric random walk, positive and with volatility per sqrt(second)."""

import numpy as np

from producers.builtin.sampled import (
    CHANNELS_PARAM,
    SEED_PARAM,
    VALUE_LIMIT,
    SampledProducer,
    rate_param,
    seeded_rng,
)
from producers.params import Param

_LOG_LIMIT = float(np.log(VALUE_LIMIT))


class RandomWalk(SampledProducer):
    kind = "random_walk"
    help = "a price-like ticker (geometric random walk)"
    params = (
        Param("start", float, 100.0, "first value", min=1e-9, max=VALUE_LIMIT),
        # A step's deviation is volatility * sqrt(dt) <= 100 * sqrt(1000 s): finite, and the
        # clamp below keeps the walk itself in range however long it runs.
        Param(
            "volatility",
            float,
            0.02,
            "relative standard deviation per sqrt(second)",
            min=0.0,
            max=100.0,
        ),
        SEED_PARAM,
        rate_param(20.0),
        CHANNELS_PARAM,
    )

    def __init__(self, **params):
        super().__init__(**params)
        self._rng = seeded_rng(self.p["seed"])
        self._log_price = np.full(self.p["channels"], np.log(self.p["start"]))

    def generate(self, index, dt, channel=0):
        steps = self._rng.normal(0.0, self.p["volatility"] * np.sqrt(dt), len(index))
        # A random walk drifts without bound: left alone, exp() overflows after long enough at
        # a high volatility. The log price stays within +-log(VALUE_LIMIT) instead.
        path = np.clip(self._log_price[channel] + np.cumsum(steps), -_LOG_LIMIT, _LOG_LIMIT)
        if len(path):
            self._log_price[channel] = path[-1]
        return np.exp(path)
