"""Gaussian noise: the worst case for drawing (every pixel column spans the full envelope)."""

import numpy as np

from producers.builtin.sampled import SampledProducer, rate_param
from producers.params import Param


class Noise(SampledProducer):
    kind = "noise"
    help = "gaussian noise with the given mean and standard deviation"
    params = (
        Param("mean", float, 0.0, "mean value"),
        Param("std", float, 1.0, "standard deviation", min=0.0),
        Param("seed", int, -1, "random seed, -1 for a fresh one each start", min=-1),
        rate_param(200.0),
    )

    def __init__(self, **params):
        super().__init__(**params)
        seed = self.p["seed"]
        self._rng = np.random.default_rng(None if seed < 0 else seed)

    def generate(self, index, dt):
        return self._rng.normal(self.p["mean"], self.p["std"], len(index))
