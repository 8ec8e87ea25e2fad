"""`python -m benchmarks.replay [--runs N] [--quick]`: the `replay` kind as fast as it goes.

A recording (2 producers x 2 series, written by the recorder's own writers: CSV, Parquet) is
replayed at speed 0 through a real engine (fork server, producer process, pipe, channel, store,
counters), as the window or `record` would. Figures, per format: samples per second from the
start command until every sample is in the store (so the producer's start and, for CSV, its
first pass for the last timestamp count too), and drops (target 0: at speed 0 the replay waits
for the app rather than lose samples). Medians of --runs runs; prints a summary and writes
benchmarks/out/replay.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from app.core.engine import Engine
from app.core.recording import open_writer
from app.core.session import parse_session
from producers.wire import Chunk

OUT = Path(__file__).resolve().parent / "out"
T0 = 1_700_000_000.0
TARGET = 2e6  # samples/s from a CSV recording
RATE = 100_000.0  # per series, as recorded


def make_recording(path: Path, samples: int, flush_rows: int = 200_000) -> int:
    """`samples` rows over 4 series, in flushes of `flush_rows` as the recorder writes them."""
    writer = open_writer(path)
    rng = np.random.default_rng(1)
    per = flush_rows // 4
    written = 0
    for i in range(samples // flush_rows):
        t0 = T0 + i * per / RATE
        values = rng.normal(size=per)
        writer.write(
            [(p, Chunk(s, values, t0=t0, dt=1 / RATE)) for p in ("a", "b") for s in ("x", "y")]
        )
        writer.flush()
        written += 4 * per
    writer.close()
    return written


def replay_once(path: Path, samples: int, timeout: float = 120.0) -> dict:
    text = (
        f'[[producers]]\nname = "r"\nkind = "replay"\nrestart = "never"\n'
        f'[producers.params]\npath = "{path}"\nspeed = 0.0\n'
    )
    engine = Engine(parse_session(text, str(path.parent / "session.toml")))
    try:
        started = time.monotonic()
        engine.start_autostart()
        first = None
        deadline = started + timeout
        while engine.counters.snapshot("r").samples < samples:
            if time.monotonic() > deadline:
                raise RuntimeError(f"replay of {path.name} timed out")
            if engine.drain(0.05) and first is None:
                first = time.monotonic()
        done = time.monotonic()
        counts = engine.counters.snapshot("r")
        return {
            "samples_per_s": samples / (done - started),
            "streaming_samples_per_s": samples / (done - first) if first else None,
            "seconds": done - started,
            "dropped": counts.dropped,
            "late": sum(engine.store.stats(k)[1] for k in engine.store.series_keys()),
        }
    finally:
        engine.shutdown()
        end = time.monotonic() + 10
        while not engine.view.drained and time.monotonic() < end:
            engine.drain(0.05)
        engine.close()


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a smaller recording")
    args = parser.parse_args()
    samples = 2_000_000 if args.quick else 8_000_000
    result: dict = {"runs": args.runs, "target_csv_samples_per_s": TARGET}
    with tempfile.TemporaryDirectory(dir=OUT if OUT.exists() else None) as folder:
        for suffix in (".csv", ".parquet"):
            path = Path(folder) / f"recording{suffix}"
            n = make_recording(path, samples)
            runs = [replay_once(path, n) for _ in range(args.runs)]
            fmt = suffix[1:]
            result[fmt] = {key: spread([r[key] for r in runs if r[key] is not None])
                           for key in runs[0]}  # fmt: skip
            result[fmt]["samples"] = n
            result[fmt]["file_mb"] = path.stat().st_size / 1e6
    OUT.mkdir(exist_ok=True)
    (OUT / "replay.json").write_text(json.dumps(result, indent=2))
    print(f"replay at speed 0 through a real engine; medians of {args.runs} runs")
    for fmt in ("csv", "parquet"):
        r = result[fmt]
        ok = "ok" if fmt != "csv" or r["samples_per_s"]["median"] >= TARGET else "BELOW TARGET"
        print(
            f"  {fmt:>8}: {r['samples_per_s']['median']:>12,.0f} samples/s end to end "
            f"({r['streaming_samples_per_s']['median']:,.0f} once streaming), "
            f"{r['samples']:,} samples, {r['file_mb']:.0f} MB, dropped "
            f"{r['dropped']['median']:.0f}, late {r['late']['median']:.0f}"
            + (f"  target >= {TARGET:,.0f}: {ok}" if fmt == "csv" else "")
        )
    print(f"written to {OUT / 'replay.json'}")


if __name__ == "__main__":
    main()
