"""The chart's value axis: one number format per axis, SI prefixes, and the series' unit.

pyqtgraph formats each label on its own (`%g` beyond [1e-3, 1e4)), so one axis could read
`1.5e+06` beside `500000`. Here the format is chosen once per axis (`value_labels`): plain
decimals while the largest |value| on the axis is in [0.01, 1e4) (`0.25`, `12.5`, `500`), beyond
that an SI prefix chosen for the largest |value| and shared by every label (`0.5 M`, `1 M`,
`1.5 M`; `1 m` … `4 m`), with only as many decimals as the tick spacing needs. Below 0.01 plain
decimals would lead with zeros a reader has to count (`0.0012`), so `1.2 m` it is.

The unit (`%`, `Hz`, declared by producer kinds, see `Producer.units`) goes after the number,
where the prefix is: `50 %`, `1.5 kHz`, `250 ms`.

On a logarithmic axis (a plot's log scale) pyqtgraph places ticks at decades and the steps
between; each label then carries its own prefix (`log_label`: `1 m`, `10 m`, `100 m`, `1`).

The y range is held steady by the chart, so the axis is repainted rarely; labels are remembered
anyway (per value and spacing) so a repaint formats nothing it formatted before.
"""

from __future__ import annotations

import math

import pyqtgraph as pg

LABELS_REMEMBERED = 512
PLAIN = (1e-2, 1e4)  # the largest |value| for which labels are plain decimals
PREFIXES = {-9: "n", -6: "µ", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T"}
MAX_DECIMALS = 9


def prefix_exponent(largest: float) -> int:
    """The power of ten (a multiple of 3, or 0) every label of an axis is divided by, chosen
    for the largest |value| on it."""
    if largest == 0 or not math.isfinite(largest) or PLAIN[0] <= largest < PLAIN[1]:
        return 0
    exponent = 3 * math.floor(math.log10(largest) / 3)
    return min(max(exponent, min(PREFIXES)), max(PREFIXES))


def decimals_for(spacing: float) -> int:
    """How many decimals tell ticks `spacing` apart: 5 -> 0, 0.5 -> 1, 0.25 -> 2."""
    if not (spacing > 0 and math.isfinite(spacing)):
        return 0
    for decimals in range(MAX_DECIMALS + 1):
        scaled = spacing * 10**decimals
        if abs(scaled - round(scaled)) < 1e-3 * scaled:
            return decimals
    return MAX_DECIMALS


def value_label(value: float, spacing: float, exponent: int, unit: str = "") -> str:
    """`value` as a label among ticks `spacing` apart on an axis divided by 10**exponent."""
    scale = 10.0**exponent
    text = f"{value / scale:.{decimals_for(spacing / scale)}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    suffix = ("" if text == "0" else PREFIXES[exponent]) + unit  # zero reads `0`, not `0 M`
    return f"{text} {suffix}" if suffix else text


def value_labels(values: list[float], spacing: float, lo: float, hi: float, unit: str = ""):
    """The labels of ticks `spacing` apart on an axis showing [lo, hi]."""
    exponent = prefix_exponent(max(abs(lo), abs(hi)))
    return [value_label(v, spacing, exponent, unit) for v in values]


def log_label(value: float, unit: str = "") -> str:
    """A label on a logarithmic axis, each with its own SI prefix: `1 m`, `20`, `500 k`."""
    if not (math.isfinite(value) and value > 0):
        return ""
    exponent = prefix_exponent(value)
    text = f"{value / 10.0**exponent:.4g}"
    suffix = PREFIXES[exponent] + unit
    return f"{text} {suffix}" if suffix else text


class ValueAxis(pg.AxisItem):
    def __init__(self, orientation: str = "left", **kwargs):
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)  # the prefix is in the labels, chosen per axis
        self.unit = ""
        self._labels: dict[tuple[float, float, int], str] = {}

    def set_unit(self, unit: str) -> None:
        """The unit every label carries ("" for none); repaints only when it changed."""
        if unit != self.unit:
            self.unit = unit
            self._labels.clear()
            self.picture = None  # AxisItem's cached drawing
            self.update()

    def setRange(self, mn, mx):
        """pyqtgraph redraws the axis (ticks, labels and its grid lines) whenever its view's
        range is set, and every frame sets the time range: skip it when this axis' range is
        the same (the y range is held steady), which spared a Python redraw per plot a frame."""
        if self.picture is not None and self.range == [mn, mx]:
            return
        super().setRange(mn, mx)

    def tickStrings(self, values, scale, spacing):
        if self.logMode:  # values are decades: each label is the number it stands for
            return [log_label(10.0 ** (v * scale), self.unit) for v in values]
        lo, hi = self.range
        exponent = prefix_exponent(max(abs(lo * scale), abs(hi * scale)))
        labels = self._labels
        if len(labels) > LABELS_REMEMBERED:
            labels.clear()
        out = []
        for v in values:
            key = (v, spacing, exponent)
            text = labels.get(key)
            if text is None:
                text = labels[key] = value_label(v * scale, spacing * scale, exponent, self.unit)
            out.append(text)
        return out
