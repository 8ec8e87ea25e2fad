"""app.core.series_colors: distinct colours while the palette lasts, the same on every run."""

from __future__ import annotations

import itertools
import random

from app.core.series_colors import PALETTE, SeriesColors, natural_key

SESSION = ["system", "sine", "noise", "walk"]
SYSTEM = [("system", s) for s in ("cpu", "memory", "cpu0", "cpu1", "cpu2", "cpu3")]
OTHERS = [("sine", "value"), ("noise", "value"), ("walk", "a"), ("walk", "b")]


def run(batches) -> dict:
    """One run of the session: series arriving in `batches` (a batch = one frame's news)."""
    colors = SeriesColors(SESSION)
    for batch in batches:
        colors.assign(batch)
    return {k: colors.color(k) for batch in batches for k in batch}


def test_the_palette_is_twenty_distinct_colours():
    assert len(PALETTE) == 20 and len(set(PALETTE)) == 20


def test_every_series_gets_its_own_colour_while_the_palette_lasts():
    colors = SeriesColors(SESSION)
    got = colors.assign(SYSTEM + OTHERS)
    assert len(set(got.values())) == len(SYSTEM + OTHERS)
    # and up to the palette's size, with producers outside the session too
    keys = [(f"p{i}", "value") for i in range(len(PALETTE) - 3)] + SYSTEM[:3]
    got = SeriesColors(["p0", "p1"]).assign(keys)
    assert sorted(got.values()) == sorted(PALETTE)


def test_system_per_core_series_do_not_take_the_next_producers_colours():
    """The bug: colour = producer position + series index, so system's cpu0 was sine's blue."""
    colors = SeriesColors(SESSION)
    colors.assign(SYSTEM)
    sine = colors.assign([("sine", "value")])[("sine", "value")]
    assert sine not in {colors.color(k) for k in SYSTEM}
    assert sine == PALETTE[1]  # the second producer's first colour, as if system were alone


def test_a_series_keeps_its_colour_when_others_arrive():
    colors = SeriesColors(SESSION)
    first = colors.assign(SYSTEM[:2] + OTHERS[:1])
    for key in SYSTEM[2:] + OTHERS[1:]:
        colors.assign([key])
        assert {k: colors.color(k) for k in first} == first
    colors.set_producers(["walk", *SESSION])  # even if the session's order changes
    assert {k: colors.color(k) for k in first} == first


def test_the_same_session_gets_the_same_colours_whatever_order_producers_start_in():
    by_producer = [SYSTEM, OTHERS[:1], OTHERS[1:2], OTHERS[2:]]
    reference = run(by_producer)
    for order in itertools.permutations(by_producer):
        assert run(list(order)) == reference
    # a batch's order does not matter either (it is sorted: cpu, cpu0, cpu1, ... cpu10, memory)
    shuffled = SYSTEM + OTHERS
    random.Random(1).shuffle(shuffled)
    assert run([shuffled]) == run([SYSTEM + OTHERS])
    assert run([SYSTEM + OTHERS]) == reference


def test_beyond_the_palette_colours_are_reused_evenly():
    keys = [(f"p{i:03d}", "value") for i in range(3 * len(PALETTE) + 1)]
    colors = SeriesColors([k[0] for k in keys])
    for key in keys:  # one at a time, as producers start
        colors.assign([key])
    uses = [sum(colors.color(k) == c for k in keys) for c in PALETTE]
    assert max(uses) - min(uses) <= 1
    assert len({colors.color(k) for k in keys[: len(PALETTE)]}) == len(PALETTE)


def test_a_producer_with_more_series_than_its_slots_borrows_free_ones():
    """Four producers own 5 slots each; system has 12 series: it borrows from the end of the
    palette, and the others still get their own first colour."""
    system = [("system", f"cpu{i}") for i in range(12)]
    colors = SeriesColors(SESSION)
    colors.assign(system)
    got = colors.assign(OTHERS)
    assert got[("sine", "value")] == PALETTE[1] and got[("noise", "value")] == PALETTE[2]
    assert len({colors.color(k) for k in system + OTHERS}) == len(system + OTHERS)


def test_natural_order():
    names = ["cpu10", "memory", "cpu2", "cpu", "cpu1"]
    assert sorted(names, key=natural_key) == ["cpu", "cpu1", "cpu2", "cpu10", "memory"]


def test_a_renamed_producer_keeps_its_colours_and_a_removed_ones_are_free_again():
    colors = SeriesColors(SESSION)
    before = colors.assign(SYSTEM + OTHERS)
    colors.rename_producer("walk", "ticker")
    colors.set_producers(["system", "sine", "noise", "ticker"])
    after = colors.assign([("ticker", "a"), ("ticker", "b")])
    assert after == {("ticker", "a"): before[("walk", "a")], ("ticker", "b"): before[("walk", "b")]}
    assert ("walk", "a") not in colors
    # fill the palette, remove a producer: the next series take its colours, none shared
    extra = [(f"x{i}", "value") for i in range(len(PALETTE) - len(SYSTEM + OTHERS))]
    colors.assign(extra)
    colors.forget(SYSTEM)
    new = colors.assign([("copy", f"ch{i}") for i in range(len(SYSTEM))])
    held = [colors.color(k) for k in [*OTHERS[:2], ("ticker", "a"), ("ticker", "b"), *extra]]
    assert len(set(held) | set(new.values())) == len(PALETTE)
