"""Gaussian noise: the worst case for drawing (every pixel column spans the full envelope)."""

from producers.builtin.sampled import (
    CHANNELS_PARAM,
    SEED_PARAM,
    VALUE_LIMIT,
    SampledProducer,
    rate_param,
    seeded_rng,
)
from producers.params import Param


class Noise(SampledProducer):
    kind = "noise"
    help = "gaussian noise with the given mean and standard deviation"
    params = (
        Param("mean", float, 0.0, "mean value", min=-VALUE_LIMIT, max=VALUE_LIMIT),
        Param("std", float, 1.0, "standard deviation", min=0.0, max=VALUE_LIMIT),
        SEED_PARAM,
        rate_param(200.0),
        CHANNELS_PARAM,
    )

    def __init__(self, **params):
        super().__init__(**params)
        self._rng = seeded_rng(self.p["seed"])

    def generate(self, index, dt, channel=0):
        return self._rng.normal(self.p["mean"], self.p["std"], len(index))
