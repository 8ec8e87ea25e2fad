"""`python -m benchmarks.store_scale [--runs N] [--quick]`: what sizing series by rate buys.

All in simulated time: synthetic regular chunks with explicit timestamps go straight into the
store (no processes, no sleeping), so ten minutes of data take seconds. Figures:
- bytes per series at 1, 100, 10k and 1.25M samples/s after 60 s and 10 min (levels brought up
  to date, as a view would), against the fixed size before;
- how many series of 100 (and 2) samples/s 512 MB and 16 MB hold: admitted (their minimum fits)
  and served in full (10 minutes later none refused or kept short by the budget), both found
  by simulation;
- append throughput at 8 x 1.25M samples/s in 10 ms chunks, and microseconds per append of slow
  series, before and after in the same run: "before" is the store at BASELINE, loaded from git
  history (or, without git, this store with growth disabled, which is close but not the same);
- envelope time per frame: 8 series at 1.25M samples/s, a 30 s window of 1280 columns.
Timings are CPU time (the store is single-threaded; other processes share the machine), medians
(and min, max) of --runs runs. Prints a summary, writes
benchmarks/out/store_scale.json.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from app.core.store import RESERVE, SeriesStore
from producers.wire import Chunk

BASELINE = "977d0cf"  # the last commit with one fixed size for every series
T0 = 1_700_000_000.0
OUT = Path(__file__).resolve().parent / "out"
MIB = 1 << 20


def load_before(workdir: Path):
    """SeriesStore as of BASELINE, from git history, as a package of its own; None without git."""
    root, package = Path(__file__).resolve().parent.parent, workdir / "store_before"
    package.mkdir()
    try:
        for name in ("store", "pyramid", "sliding"):
            text = subprocess.run(
                ["git", "-C", str(root), "show", f"{BASELINE}:app/core/{name}.py"],
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            (package / f"{name}.py").write_text(text.replace("app.core.", "store_before."))
    except (OSError, subprocess.CalledProcessError):
        return None
    (package / "__init__.py").write_text("")
    sys.path.insert(0, str(workdir))
    return importlib.import_module("store_before.store").SeriesStore


def feed(store, name: str, rate: float, seconds: float, chunk_s: float, start: float = T0):
    n = max(round(rate * chunk_s), 1)
    values = np.random.default_rng(0).normal(size=n)
    for i in range(int(seconds * rate) // n):
        store.append("p", Chunk(name, values, t0=start + i * n / rate, dt=1 / rate))


def chunk_for(rate: float) -> float:
    return 0.01 if rate > 1000 else 1.0 if rate > 1 else 10.0


def bytes_per_series(rates, spans) -> dict:
    """What one series holds after each span, with its levels up to date (as when viewed)."""
    out = {}
    for rate in rates:
        for span in spans:
            store = SeriesStore()
            feed(store, "v", rate, span, chunk_for(rate))
            buf = store.buffer(("p", "v"))
            buf.pyramid.sync()
            out[f"{rate:g}/s after {span:g} s"] = {"bytes": buf.nbytes, "arrays": buf.array_bytes}
    return out


def admitted(budget: int) -> int:
    """New series, one sample each, until the store refuses one."""
    store, n = SeriesStore(budget_bytes=budget), 0
    while store.append("p", Chunk(f"s{n}", np.ones(1), t0=T0, dt=1.0)):
        n += 1
    return n


def served_in_full(budget: int, rate: float, count: int, minutes: int = 10) -> int | None:
    """`count` series at `rate` for `minutes`, in 10 s chunks (a first chunk of minutes would
    grow levels while the store is still nearly empty): bytes per series if none was refused
    or kept short by the budget, else None."""
    store = SeriesStore(budget_bytes=budget)
    for step in range(minutes * 6):
        for s in range(count):
            feed(store, f"s{s}", rate, 10, 10, start=T0 + 10 * step)
    keys = store.series_keys()
    if store.refused or any(store.buffer(k).denied for k in keys):
        return None
    return store.nbytes // count


def most_served(budget: int, rate: float, guess: int, precision: float) -> tuple[int, int]:
    """The most series served in full, to within `precision`, and the bytes each then takes:
    up by a quarter from `guess` while they are, then halving the interval."""
    served, each, failed, count = 0, 0, None, max(guess, 1)
    while failed is None or failed - served > max(served * precision, 1):
        took = served_in_full(budget, rate, count)
        if took:
            served, each = count, took
        else:
            failed = count
        count = count * 5 // 4 + 1 if failed is None else (served + failed) // 2
    return served, each


def append_rate(make, series: int = 8, rate: float = 1.25e6, seconds: float = 1.0) -> float:
    """Samples per second into a fresh store, after 0.2 s of warm-up (the store grows)."""
    store, n = make(), round(rate * 0.01)
    values = np.random.default_rng(1).normal(size=n)
    chunks = [[Chunk(f"s{s}", values, t0=T0 + i * 0.01, dt=1 / rate) for s in range(series)]
              for i in range(round((0.2 + seconds) / 0.01))]  # fmt: skip
    warm = round(0.2 / 0.01)
    for batch in chunks[:warm]:
        for chunk in batch:
            store.append("p", chunk)
    started = time.process_time()  # CPU, not wall time: other processes share the machine
    for batch in chunks[warm:]:
        for chunk in batch:
            store.append("p", chunk)
    return series * n * (len(chunks) - warm) / (time.process_time() - started)


def append_us(make, rate: float, chunk_s: float, seconds: float = 300.0) -> float:
    """Microseconds per append of one slow series (Python overhead dominates)."""
    store, n = make(), round(rate * chunk_s)
    values = np.zeros(n)
    chunks = [Chunk("v", values, t0=T0 + i * chunk_s, dt=1 / rate)
              for i in range(round(seconds / chunk_s))]  # fmt: skip
    started = time.process_time()
    for chunk in chunks:
        store.append("p", chunk)
    return (time.process_time() - started) / len(chunks) * 1e6


def filled(make, seconds: float = 32.0):
    """8 series at 1.25M samples/s for `seconds` (in 1 s chunks): what frames are read from."""
    store = make()
    for s in range(8):
        feed(store, f"s{s}", 1.25e6, seconds, 1.0)
    return store, T0 + seconds


def frame_ms(store, now: float, frames: int = 30) -> float:
    keys = store.series_keys()
    started = time.process_time()
    for _ in range(frames):
        for key in keys:
            store.envelope(key, now - 30, now, 1280)
    return (time.process_time() - started) / frames * 1e3


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": len(values)}  # fmt: skip


def measure(runs: int, quick: bool) -> dict:
    with tempfile.TemporaryDirectory() as workdir:
        before_cls = load_before(Path(workdir))
        before_is = f"git {BASELINE}" if before_cls else "growth disabled (no git)"
        before = before_cls or (lambda: SeriesStore(grow=False))
        after = SeriesStore
        fixed = (before_cls or (lambda: SeriesStore(grow=False)))().series_cost
        spans = (60, 600)
        result: dict = {"before": before_is, "fixed_bytes_before": fixed}
        result["bytes_per_series"] = bytes_per_series((1, 100, 10_000, 1.25e6), spans)
        alone = result["bytes_per_series"]["100/s after 600 s"]["bytes"]  # a crowd takes less
        precision = 0.1 if quick else 0.02
        fits = {}
        for mb in (512, 16):
            budget = mb * MIB
            guess = int(budget * (1 - RESERVE) / alone)
            fits[f"{mb} MB"] = fit = {"before": budget // fixed, "admitted": admitted(budget)}
            fit["served_100_per_s"], fit["bytes_each_100_per_s"] = most_served(
                budget, 100.0, guess, precision
            )
            if mb == 16:
                fit["served_2_per_s"], fit["bytes_each_2_per_s"] = most_served(
                    budget, 2.0, 8 * guess, precision
                )
        result["series_that_fit"] = fits
        timing: dict[str, list] = {k: [] for k in ("append_before", "append_after", "ratio",
                                                     "slow100_before", "slow100_after",
                                                     "mid10k_before", "mid10k_after",
                                                     "frame_before", "frame_after")}  # fmt: skip
        stores = {"before": filled(before, 8 if quick else 32),
                  "after": filled(after, 8 if quick else 32)}  # fmt: skip
        for run in range(runs):
            pair = (after, before) if run % 2 else (before, after)  # alternate who goes first
            rates = {make: append_rate(make) for make in pair}
            timing["append_after"].append(rates[after])
            timing["append_before"].append(rates[before])
            timing["ratio"].append(rates[after] / rates[before])
            for label, make in (("before", before), ("after", after)):
                timing[f"slow100_{label}"].append(append_us(make, 100.0, 0.1))
                timing[f"mid10k_{label}"].append(append_us(make, 1e4, 0.01, 60.0))
                timing[f"frame_{label}"].append(frame_ms(*stores[label]))
        result["timing"] = {k: spread(v) for k, v in timing.items()}
    return result


def report(result: dict) -> None:
    mb = lambda n: f"{n / MIB:.2f} MiB" if n >= MIB else f"{n / 1024:.0f} KiB"  # noqa: E731
    print(f"before = {result['before']}: every series {mb(result['fixed_bytes_before'])}")
    print("  one series alone in 512 MB (so growth to the full span), levels up to date:")
    for what, size in result["bytes_per_series"].items():
        print(f"  {what:>22}: {mb(size['bytes']):>10}  (arrays {mb(size['arrays'])})")
    for budget, fit in result["series_that_fit"].items():
        each = f"{fit['served_100_per_s']:,} at 100/s ({mb(fit['bytes_each_100_per_s'])} each)"
        if "served_2_per_s" in fit:
            each += f", {fit['served_2_per_s']:,} at 2/s ({mb(fit['bytes_each_2_per_s'])} each)"
        print(f"  {budget}: before {fit['before']} series; admitted {fit['admitted']:,}; "
              f"served in full for 10 min: {each}")  # fmt: skip
    t = {k: v["median"] for k, v in result["timing"].items()}
    print(
        f"  append 8 x 1.25M/s: before {t['append_before'] / 1e6:.0f}M, after "
        f"{t['append_after'] / 1e6:.0f}M samples/s (after/before {t['ratio']:.2f})"
    )
    print(
        f"  per append, 100/s in 0.1 s chunks: {t['slow100_before']:.1f} -> "
        f"{t['slow100_after']:.1f} us; 10k/s in 10 ms: {t['mid10k_before']:.1f} -> "
        f"{t['mid10k_after']:.1f} us"
    )
    print(
        f"  frame (8 series, 30 s, 1280 columns): {t['frame_before']:.2f} -> "
        f"{t['frame_after']:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="fewer figures checked, shorter")
    args = parser.parse_args()
    result = measure(1 if args.quick else args.runs, args.quick)
    OUT.mkdir(exist_ok=True)
    (OUT / "store_scale.json").write_text(json.dumps(result, indent=2))
    report(result)
    print(f"written to {OUT / 'store_scale.json'}")


if __name__ == "__main__":
    main()
