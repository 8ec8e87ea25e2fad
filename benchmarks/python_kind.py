"""`python -m benchmarks.python_kind [--runs N] [--quick]`: `kind = "python"` end to end.

A user's generator, run as a real producer process through a real engine (the window's, with
its store), drained in this process as fast as it comes, for ~3 s per run (1 s with --quick):
- chunks: `yield block` of a 100,000-sample numpy array with rate_hz set, paced at 20 M
  samples/s as a device would deliver them (target: >= 10 M samples/s delivered, no drops;
  the producer's CPU says how much room is left). The array is made once and yielded again
  and again: what a user computes for it is the user's cost, not the kind's. (Not paced, a
  generator outruns any reader and the excess is dropped, counted.)
- floats: `yield x` of one float at a time, not paced: the most it delivers (target: >= 300 k
  samples/s).
Also the producer's CPU per sample against the built-in `noise` kind at the same rate (noise
generates its samples, so the ratio flatters noise a little for chunks). Figures are medians
of --runs runs; writes benchmarks/out/python_kind.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psutil

from app.core.engine import Engine
from app.core.session import parse_session
from producers.params import toml_inline

OUT = Path(__file__).resolve().parent / "out"
CHUNK = 100_000
CHUNK_RATE = 20e6  # the chunks generator's pace: twice the target, to show the room left
NOISE_MAX_HZ = 50e6  # the noise kind's highest rate
TARGETS = {"chunks": 10e6, "floats": 300e3}
SCRIPT = """
import numpy as np

import time

def chunks(rate):
    # a source delivering blocks at `rate` samples/s, as a DAQ card's driver would
    block = np.random.default_rng(1).normal(size={chunk})
    start, sent = time.monotonic(), 0
    while True:
        ahead = start + sent / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
        yield block
        sent += len(block)

def floats():
    x = 0.0
    while True:
        x += 1.0
        yield x
"""


def session(kind: str, **params):
    lines = ["[[producers]]", 'name = "p"', f'kind = "{kind}"', "[producers.params]"]
    lines += [f"{key} = {toml_inline(value)}" for key, value in params.items()]
    return parse_session("\n".join(lines) + "\n", "benchmark.toml")


def measure(spec, seconds: float, warmup: float = 0.7) -> dict:
    """Delivered samples/s, drops and producer CPU of producer "p" over `seconds`."""
    engine = Engine(spec)
    try:
        engine.start_autostart()
        deadline = time.monotonic() + 15
        while not engine.view.entries.get("p") or not engine.view.entries["p"].pid:
            engine.drain(0.05)
            if time.monotonic() > deadline:
                raise RuntimeError("producer did not start")
        proc = psutil.Process(engine.view.entries["p"].pid)
        end = time.monotonic() + warmup
        while time.monotonic() < end:
            engine.drain(0.05)
        before, cpu0, t0 = engine.counters.snapshot("p"), proc.cpu_times(), time.monotonic()
        end = t0 + seconds
        while time.monotonic() < end:
            engine.drain(0.05)
        after, cpu1, t1 = engine.counters.snapshot("p"), proc.cpu_times(), time.monotonic()
        error = engine.view.entries["p"].last_error
    finally:
        engine.shutdown()
        while not engine.view.drained:
            engine.drain(0.05)
        engine.close()
    if error:
        raise RuntimeError(f"producer failed: {error}")
    rate = (after.samples - before.samples) / (t1 - t0)
    cpu = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / (t1 - t0)
    return {
        "samples_per_s": rate,
        "dropped": after.dropped - before.dropped,
        "producer_cpu_pct": 100 * cpu,
        "cpu_ns_per_sample": 1e9 * cpu / rate if rate else None,
    }


def one_run(script: Path, seconds: float) -> dict:
    figures = {}
    chunks = {"rate_hz": CHUNK_RATE, "args": {"rate": CHUNK_RATE}}
    for mode, params in (("chunks", chunks), ("floats", {})):
        ours = measure(session("python", path=str(script), function=mode, **params), seconds)
        noise = measure(session("noise", rate_hz=min(ours["samples_per_s"], NOISE_MAX_HZ)), seconds)
        ratio = None
        if ours["cpu_ns_per_sample"] and noise["cpu_ns_per_sample"]:
            ratio = ours["cpu_ns_per_sample"] / noise["cpu_ns_per_sample"]
        figures[mode] = {**ours, "noise": noise, "cpu_per_sample_vs_noise": ratio}
    return figures


def median(runs: list[dict], mode: str, key: str):
    values = [r[mode][key] for r in runs if r[mode][key] is not None]
    return statistics.median(values) if values else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs (default 3)")
    parser.add_argument("--quick", action="store_true", help="1 s per measurement, not 3")
    args = parser.parse_args()
    seconds = 1.0 if args.quick else 3.0
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "bench_source.py"
        script.write_text(textwrap.dedent(SCRIPT.format(chunk=CHUNK)))
        runs = [one_run(script, seconds) for _ in range(args.runs)]
    summary = {}
    for mode in ("chunks", "floats"):
        rate = median(runs, mode, "samples_per_s")
        summary[mode] = {
            "samples_per_s": rate,
            "target": TARGETS[mode],
            "meets_target": rate is not None and rate >= TARGETS[mode],
            "dropped": median(runs, mode, "dropped"),
            "producer_cpu_pct": median(runs, mode, "producer_cpu_pct"),
            "cpu_ns_per_sample": median(runs, mode, "cpu_ns_per_sample"),
            "cpu_per_sample_vs_noise": median(runs, mode, "cpu_per_sample_vs_noise"),
        }
        s = summary[mode]
        ratio = s["cpu_per_sample_vs_noise"]
        print(
            f"{mode:<7} {rate:>14,.0f} samples/s  (target >= {TARGETS[mode]:,.0f}: "
            f"{'ok' if s['meets_target'] else 'MISSED'}), dropped {s['dropped']:,.0f}, "
            f"producer {s['producer_cpu_pct']:.0f} % CPU, {s['cpu_ns_per_sample']:.1f} ns/sample"
            + (f" = {ratio:.1f}x noise's" if ratio else "")
        )
    OUT.mkdir(parents=True, exist_ok=True)
    out = {"summary": summary, "runs": runs, "seconds": seconds}
    (OUT / "python_kind.json").write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
