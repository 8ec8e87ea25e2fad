"""A sweep's grid: the TOML table of axes, checked, and its points (the cartesian product).

    grid = { gain = [1, 2, 4], freq = { start = 1, stop = 100, num = 50 } }

Each key is an axis named after a keyword argument of the swept function: a list of numbers,
or a range `{ start, stop, num }` (num evenly spaced values, both ends included, like
numpy.linspace) or `{ start, stop, step }` (start, start + step, ... up to stop included).
`check_grid` is the parameter's own check, so a bad grid is a session error (file and line)
before any process starts. The points are produced lazily: a million of them are never held.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np

from producers.params import short_repr

MAX_POINTS = 1_000_000  # a typo (num = 1e9) must be a message, not hours or gigabytes
_RANGE_KEYS = ("start", "stop", "num", "step")


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_grid(grid: dict) -> None:
    """ValueError (one clear sentence) unless `grid` is a usable grid; see the module doc."""
    axes(grid)


def axes(grid: dict) -> list[tuple[str, list]]:
    """The grid's axes in order, each `(name, values)`; ValueError if the grid is not usable."""
    if not grid:
        raise ValueError("the grid is empty: give at least one axis, e.g. { x = [1, 2, 3] }")
    out = []
    points = 1
    for name, spec in grid.items():
        if not name.isidentifier():
            raise ValueError(f"axis {short_repr(name)} is not a keyword argument name")
        values = _axis_values(name, spec)
        points *= len(values)
        if points > MAX_POINTS:
            raise ValueError(f"the grid has more than {MAX_POINTS:,} points")
        out.append((name, values))
    return out


def _axis_values(name: str, spec) -> list:
    if isinstance(spec, list):
        if not spec:
            raise ValueError(f"axis {name} is an empty list")
        bad = next((v for v in spec if not _is_number(v)), None)
        if bad is not None:
            raise ValueError(f"axis {name} must hold numbers only, got {short_repr(bad)}")
        if len(spec) > MAX_POINTS:
            raise ValueError(f"axis {name} has more than {MAX_POINTS:,} values")
        return list(spec)
    if isinstance(spec, dict):
        return _range_values(name, spec)
    raise ValueError(
        f"axis {name} must be a list of numbers or {{ start, stop, num }}, got {short_repr(spec)}"
    )


def _range_values(name: str, spec: dict) -> list:
    unknown = [k for k in spec if k not in _RANGE_KEYS]
    if unknown:
        raise ValueError(
            f"axis {name}: unknown key {short_repr(unknown[0])} (known: {', '.join(_RANGE_KEYS)})"
        )
    for key in ("start", "stop"):
        if key not in spec:
            raise ValueError(f"axis {name} needs {key}")
    if ("num" in spec) == ("step" in spec):
        raise ValueError(f"axis {name} needs either num or step")
    for key, value in spec.items():
        if not _is_number(value):
            raise ValueError(f"axis {name}: {key} must be a number, got {short_repr(value)}")
    start, stop = spec["start"], spec["stop"]
    if "num" in spec:
        num = spec["num"]
        if not isinstance(num, int) or num < 1:
            raise ValueError(f"axis {name}: num must be a whole number >= 1, got {num!r}")
        if num > MAX_POINTS:
            raise ValueError(f"axis {name}: num is more than {MAX_POINTS:,}")
        return np.linspace(start, stop, num).tolist()
    step = spec["step"]
    if step == 0 or (stop - start) * step < 0:
        raise ValueError(f"axis {name}: step {step!r} never gets from {start!r} to {stop!r}")
    count = math.floor((stop - start) / step * (1 + 1e-12) + 1e-9) + 1  # stop itself, if hit
    if count > MAX_POINTS:
        raise ValueError(f"axis {name}: {start!r} to {stop!r} by {step!r} is more than "
                         f"{MAX_POINTS:,} values")  # fmt: skip
    if all(isinstance(v, int) for v in (start, step)):
        return list(range(start, start + count * step, step))
    return (start + step * np.arange(count)).tolist()


def size(grid_axes: list[tuple[str, list]]) -> int:
    return math.prod(len(values) for _, values in grid_axes)


def points(grid_axes: list[tuple[str, list]]) -> Iterator[dict]:
    """Every point of the grid, as keyword arguments; the last axis varies fastest."""
    names = [name for name, _ in grid_axes]
    for combo in itertools.product(*(values for _, values in grid_axes)):
        yield dict(zip(names, combo, strict=True))
