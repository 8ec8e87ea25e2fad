"""A sine wave: the simplest signal whose shape tells at a glance if samples were lost."""

import numpy as np

from producers.builtin.sampled import CHANNELS_PARAM, VALUE_LIMIT, SampledProducer, rate_param
from producers.params import Param


class Sine(SampledProducer):
    kind = "sine"
    help = "a sine wave: amplitude * sin(2*pi*frequency*t + phase) + offset"
    params = (
        Param("frequency_hz", float, 1.0, "cycles per second", min=0.0, max=1e7),
        Param("amplitude", float, 1.0, "peak value", min=-VALUE_LIMIT, max=VALUE_LIMIT),
        Param("phase_deg", float, 0.0, "phase at start, degrees", min=-360.0, max=360.0),
        Param("offset", float, 0.0, "added to every value", min=-VALUE_LIMIT, max=VALUE_LIMIT),
        rate_param(200.0),
        CHANNELS_PARAM,
    )

    def generate(self, index, dt, channel=0):
        p = self.p
        phase = p["phase_deg"] + 360.0 * channel / p["channels"]  # channels evenly out of phase
        angle = 2 * np.pi * p["frequency_hz"] * dt * index + np.deg2rad(phase)
        return p["amplitude"] * np.sin(angle) + p["offset"]
