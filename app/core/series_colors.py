"""Which colour each series is drawn in: distinct while the palette lasts, the same on every run.

The palette is Tableau 20 (the 2016 set by Maureen Stone, the default of Tableau and of many
plotting tools): made for telling many lines apart, with hues picked to stay distinguishable
for the common red-green colour blindness (no palette of 20 is fully colour-blind safe; the
first ten, one per hue, are the ones that stay apart best). Reordered for this chart: the ten
hues first at full strength, then their light tints (both read well on the chart's black), the
two greys last (closest to the grid and to each other). Tableau's blue is the darkest of them
on black and is lifted to #4e9af1, the blue this chart has always drawn.

Colours were once "producer position + series index": a producer with several series (`system`:
cpu, memory, one per core) ran into the next producers' colours. Now each producer owns the
palette slots p, p + n, p + 2n... (p its position in the session, n the session's producers),
and its series take them in the order they appear (a batch that arrives together in natural
name order: cpu, cpu0, cpu1, ..., cpu10, memory). So a producer's colours do not depend on when
the other producers start, which is what varies between runs. A producer with more series than
slots borrows free slots from the end of the palette (the ones their owners would use last);
with more series than colours, reuse is unavoidable: a new series takes one of the least used.
A colour once given is never changed: the curve already drawn keeps it. A producer renamed
keeps its series' colours (`rename_producer`); a removed one's slots are free again (`forget`),
so a producer added later (a duplicate, say) takes colours no series is drawn in.

On a light background (the light theme) the same slots take LIGHT_PALETTE: a series keeps its
slot, so it keeps its hue when the theme changes. The full-strength hues stay (orange and olive
a little darker, to read on white); the light tints, too pale on white (contrast < 2), become
dark shades of the same hues; the greys darken too. Every colour there has a contrast of at
least 2.9 with white, and no two are closer (CIE76 ΔE 17) than the closest pair of PALETTE.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from app.core.store import SeriesKey

PALETTE = (
    # full strength: blue, orange, green, red, purple, olive, teal, pink, brown
    "#4e9af1", "#f28e2b", "#59a14f", "#e15759", "#b07aa1",
    "#b6992d", "#499894", "#d37295", "#9d7660",
    # their light tints
    "#a0cbe8", "#ffbe7d", "#8cd17d", "#ff9d9a", "#d4a6c8",
    "#f1ce63", "#86bcb6", "#fabfd2", "#d7b5a6",
    # greys
    "#bab0ac", "#79706e",
)  # fmt: skip

LIGHT_PALETTE = (
    # full strength, as on black (orange and olive a little darker)
    "#4e9af1", "#dd7a12", "#59a14f", "#e15759", "#b07aa1",
    "#a88b26", "#499894", "#d37295", "#9d7660",
    # dark shades in place of the light tints
    "#1f4e8c", "#a34a00", "#2a6e2a", "#8e1b1b", "#6a3d9a",
    "#665000", "#1b5e5a", "#a0306a", "#5c3d2e",
    # greys
    "#8a817c", "#3d3837",
)  # fmt: skip


def argb(color: str) -> int:
    """'#rrggbb' as an opaque ARGB32 pixel."""
    return 0xFF000000 | int(color.lstrip("#"), 16)


def natural_key(name: str) -> tuple:
    """cpu2 before cpu10."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


class SeriesColors:
    """Colours of series keys (producer, series), assigned as series appear."""

    def __init__(self, producers: Sequence[str] = (), palette: Sequence[str] = PALETTE):
        self.palette = tuple(palette)
        self._position: dict[str, int] = {}
        self._slot: dict[SeriesKey, int] = {}
        self._uses = [0] * len(self.palette)  # series per slot
        self.set_producers(producers)

    def set_producers(self, names: Sequence[str]) -> None:
        """The session's producers, in order: who owns which slots from now on (colours
        already given stay)."""
        self._position = {name: i for i, name in enumerate(names)}

    def assign(self, keys: Iterable[SeriesKey]) -> dict[SeriesKey, str]:
        """Give the new ones of `keys` a colour; returns the colour of each of `keys`."""
        new = sorted(
            {k for k in keys if k not in self._slot},
            key=lambda k: (self._position.get(k[0], len(self._position)), k[0], natural_key(k[1])),
        )
        for key in new:
            slot = self._choose(key[0])
            self._slot[key] = slot
            self._uses[slot] += 1
        return {k: self.palette[self._slot[k]] for k in keys}

    def color(self, key: SeriesKey) -> str:
        return self.palette[self._slot[key]]

    def slot(self, key: SeriesKey) -> int:
        """The palette position of a series: it stays when the palette is swapped."""
        return self._slot[key]

    def set_palette(self, palette: Sequence[str]) -> None:
        """Another palette with the same slots (a theme's): every series keeps its slot."""
        if len(palette) != len(self.palette):
            raise ValueError(f"a palette of {len(self.palette)} colours, not {len(palette)}")
        self.palette = tuple(palette)

    def forget(self, keys: Iterable[SeriesKey]) -> None:
        """Series no longer drawn (their producer was removed): their slots are free again."""
        for key in keys:
            slot = self._slot.pop(key, None)
            if slot is not None:
                self._uses[slot] -= 1

    def rename_producer(self, old: str, new: str) -> None:
        """A renamed producer's series keep their colours under its new name."""
        for key in [k for k in self._slot if k[0] == old]:
            self._slot[(new, key[1])] = self._slot.pop(key)

    def __contains__(self, key: SeriesKey) -> bool:
        return key in self._slot

    def _preference(self, producer: str) -> list[int]:
        """The slots `producer` would take, best first: its own, then the rest from the end.
        Producers outside the session own nothing and take the palette from its start."""
        size, n = len(self.palette), len(self._position)
        position = self._position.get(producer)
        if position is None:
            return list(range(size))
        own = list(range(position, size, n)) if position < size else []
        owned = set(own)
        return own + [s for s in reversed(range(size)) if s not in owned]

    def _choose(self, producer: str) -> int:
        preference = self._preference(producer)
        fewest = min(self._uses)  # 0 while a slot is free
        return next(s for s in preference if self._uses[s] == fewest)
