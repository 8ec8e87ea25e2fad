"""`python -m benchmarks.drain [--runs N] [--quick] [--baseline REV]`: the drain's cost per chunk.

Many slow producers send a few samples per series per message; the consumer thread reads every
pipe, decodes, stores and counts (app.core.channel -> pipeline -> store, counters), and what
matters is the fixed cost per chunk and per message, not samples per second. Figures:
- store: microseconds per `SeriesStore.append` of 1, 5 and 20 samples (regular chunks, 1,000
  series in turn, one chunk each per 50 ms of simulated time), and of 5 samples with explicit
  timestamps; also one bulk append of 10 and 40 samples, the best a design that pooled a
  series' small chunks until a read could hope for;
- end to end: microseconds per message through a real Channel (real pipes, this process
  writing them), Pipeline and CounterBook: 100 producers x 1 series and 100 producers x 10
  series, 5 samples per series per message, CPU time of the draining thread only;
- big chunks: samples per second into 8 series at 1.25M samples/s in 10 ms chunks.
"Before" is the code at --baseline, loaded from git history as a package of its own; both run
in the same process, alternating who goes first. Timings are CPU time, medians (and min, max)
of --runs runs. Prints a summary, writes benchmarks/out/drain.json.
"""

from __future__ import annotations

import argparse
import importlib
import json
import multiprocessing as mp
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

BASELINE = "afca0eb"  # main before the small-chunk fast paths
T0 = 1_700_000_000.0
OUT = Path(__file__).resolve().parent / "out"
MODULES = {"store": "app/core", "pyramid": "app/core", "sliding": "app/core",
           "framing": "app/core", "channel": "app/core", "pipeline": "app/core",
           "counters": "app/core", "wire": "producers"}  # fmt: skip


def load(rev: str | None, workdir: Path) -> SimpleNamespace:
    """The drain's modules as of git `rev` (None: as they are now), as one namespace."""
    if rev is None:
        names = {n: f"{d.replace('/', '.')}.{n}" for n, d in MODULES.items()}
        return SimpleNamespace(**{n: importlib.import_module(m) for n, m in names.items()})
    root, package = Path(__file__).resolve().parent.parent, workdir / "drain_before"
    package.mkdir()
    for name, folder in MODULES.items():
        text = subprocess.run(
            ["git", "-C", str(root), "show", f"{rev}:{folder}/{name}.py"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        text = text.replace("from producers import wire", "from drain_before import wire")
        text = text.replace("producers.wire", "drain_before.wire")
        text = text.replace("app.core.", "drain_before.")
        (package / f"{name}.py").write_text(text)
    (package / "__init__.py").write_text("")
    sys.path.insert(0, str(workdir))
    return SimpleNamespace(**{n: importlib.import_module(f"drain_before.{n}") for n in MODULES})


HISTORY_S = 30  # each series' past, fed in 1 s chunks first: a steady state, not a start


def history(mods, store, names: list[tuple[str, str]], rate: float, until: float) -> None:
    """HISTORY_S seconds of `rate` samples/s before `until` for each (producer, series)."""
    values = np.random.default_rng(2).normal(size=round(rate))
    for k in range(HISTORY_S, 0, -1):
        for producer, series in names:
            store.append(producer, mods.wire.Chunk(series, values, t0=until - k, dt=1 / rate))


def chunk_us(mods, n: int, explicit: bool = False, series: int = 1000, rounds: int = 40) -> float:
    """Microseconds per append of an n-sample chunk, series taking turns (20 chunks/s each)."""
    store, wire = mods.store.SeriesStore(), mods.wire
    values = np.random.default_rng(n).normal(size=n)
    dt = 0.05 / n
    history(mods, store, [("p", f"s{s}") for s in range(series)], n / 0.05, T0)

    def chunk(s: int, r: int):
        t0 = T0 + r * 0.05 + s * 1e-5
        if explicit:
            return wire.Chunk(f"s{s}", values, explicit_times=t0 + dt * np.arange(n))
        return wire.Chunk(f"s{s}", values, t0=t0, dt=dt)

    chunks = [chunk(s, r) for r in range(rounds) for s in range(series)]
    started = time.process_time()
    for c in chunks:
        store.append("p", c)
    return (time.process_time() - started) / len(chunks) * 1e6


def message_us(mods, producers: int, per: int, n: int = 5, rounds: int = 100) -> float:
    """Microseconds of the draining thread per message: producers x `per` series of n samples,
    each message written whole to its producer's pipe, then drained and processed."""
    channel = mods.channel.Channel()
    pipeline = mods.pipeline.Pipeline(mods.store.SeriesStore(), mods.counters.CounterBook())
    names = [(f"p{i}", f"s{j}") for i in range(producers) for j in range(per)]
    history(mods, pipeline.store, names, n / 0.05, T0)
    wire, writers = mods.wire, []
    for i in range(producers):
        r, w = mp.Pipe(duplex=False)
        channel.add(mods.channel.RunKey(f"p{i}", 1), r)
        writers.append(w)
    values = np.random.default_rng(0).normal(size=n)
    spent, messages = 0.0, 0
    try:
        for k in range(rounds):
            t0 = T0 + k * 0.05
            for w in writers:
                chunks = [wire.Chunk(f"s{j}", values, t0=t0, dt=0.05 / n) for j in range(per)]
                w.send_bytes(wire.encode_data(chunks, time.time(), 0))
            got = 0
            started = time.thread_time()
            while got < producers * per:  # a drain may find part of a round still in transit
                batch = channel.drain(1.0)
                pipeline.process(batch)
                got += len(batch.chunks)
            if k >= 3:  # the first rounds register the pipes
                spent += time.thread_time() - started
                messages += producers
    finally:
        for w in writers:
            w.close()
        channel.close()
    return spent / messages * 1e6


def big_rate(mods, series: int = 8, rate: float = 1.25e6, seconds: float = 1.0) -> float:
    """Samples per second into a fresh store of `series` at `rate` in 10 ms chunks."""
    store, n = mods.store.SeriesStore(), round(rate * 0.01)
    values = np.random.default_rng(1).normal(size=n)
    steps = round((0.2 + seconds) / 0.01)
    chunks = [[mods.wire.Chunk(f"s{s}", values, t0=T0 + i * 0.01, dt=1 / rate)
               for s in range(series)] for i in range(steps)]  # fmt: skip
    warm = round(0.2 / 0.01)
    for batch in chunks[:warm]:
        for c in batch:
            store.append("p", c)
    started = time.process_time()
    for batch in chunks[warm:]:
        for c in batch:
            store.append("p", c)
    return series * n * (steps - warm) / (time.process_time() - started)


def figures(mods, quick: bool) -> dict[str, float]:
    scale = 3 if quick else 1
    out = {f"chunk_{n}_us": chunk_us(mods, n, rounds=40 // scale) for n in (1, 5, 20)}
    out["chunk_5_explicit_us"] = chunk_us(mods, 5, explicit=True, rounds=40 // scale)
    out |= {f"bulk_{n}_us": chunk_us(mods, n, rounds=40 // scale) for n in (10, 40)}
    out["message_100x1_us"] = message_us(mods, 100, 1, rounds=150 // scale)
    out["message_100x10_us"] = message_us(mods, 100, 10, rounds=60 // scale)
    out["big_msamples_s"] = big_rate(mods) / 1e6
    return out


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def measure(runs: int, quick: bool, baseline: str) -> dict:
    with tempfile.TemporaryDirectory() as workdir:
        sides = {"before": load(baseline, Path(workdir)), "after": load(None, Path(workdir))}
        got: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
        for run in range(runs):
            for side in ("after", "before") if run % 2 else ("before", "after"):
                for key, value in figures(sides[side], quick).items():
                    got[side].setdefault(key, []).append(value)
    result = {"baseline": baseline, "runs": runs}
    for side, values in got.items():
        result[side] = {key: spread(v) for key, v in values.items()}
    return result


def report(result: dict) -> None:
    b, a = result["before"], result["after"]
    print(f"before = git {result['baseline']}; medians of {result['runs']} runs (CPU time)")
    for key in b:
        unit = "M samples/s" if key.endswith("_s") else "us"
        x, y = b[key]["median"], a[key]["median"]
        print(f"  {key:>22}: {x:8.2f} -> {y:8.2f} {unit}  ({y / x:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="fewer rounds, one run")
    parser.add_argument("--baseline", default=BASELINE, help="git revision to compare with")
    args = parser.parse_args()
    result = measure(1 if args.quick else args.runs, args.quick, args.baseline)
    OUT.mkdir(exist_ok=True)
    (OUT / "drain.json").write_text(json.dumps(result, indent=2))
    report(result)
    print(f"written to {OUT / 'drain.json'}")


if __name__ == "__main__":
    main()
