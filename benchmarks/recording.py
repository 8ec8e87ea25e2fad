"""`python -m benchmarks.recording [--quick] [--dir DIR]`: how fast recordings are written.

1. Writer throughput (rows/s, median of several runs) for CSV, Parquet and the Arrow stream,
   writing to a real file, flushing every 1M rows; and, in the same run on the same rows, the
   first recorder's per-row f-string CSV formatting, the baseline the CSV figure is compared to.
2. The Recorder fed 10M samples/s (8 producers x 1.25M/s, chunks of 12,500 samples every
   10 ms, as a producer's regular chunks) for 30 s (5 s with --quick), writing Parquet: samples
   dropped (must be 0), and how far behind the writer got (`behind_s`, sampled every cycle;
   target <= 0.5 s, the crash-safety bound). The chunks are generated before the clock starts
   (one second's worth of distinct arrays, reused with fresh timestamps), so generating data is
   not measured.

Files go to DIR (default: benchmarks/out/recording-tmp, on the same disk as the checkout) and
are deleted after each run. Figures are printed and written to benchmarks/out/recording.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pyarrow as pa

from app.core.recording import Recorder, open_writer
from app.core.recording.csv_file import quote
from producers.wire import Chunk

OUT = Path(__file__).resolve().parent / "out"
T0 = 1_700_000_000.0
PRODUCERS = 8
CHUNK = 12_500
CYCLE_S = 0.01
FLUSH_ROWS = 1_000_000


def make_chunks(rows: int, seed: int = 0) -> list[tuple[str, Chunk]]:
    """Regular chunks, round-robin over the producers, values a random walk (like sensors)."""
    rng = np.random.default_rng(seed)
    out, t = [], T0
    for i in range(rows // CHUNK):
        values = np.cumsum(rng.normal(size=CHUNK))
        producer = f"producer-{i % PRODUCERS}"
        out.append((producer, Chunk("value", values, t0=t, dt=1 / 1.25e6)))
        if i % PRODUCERS == PRODUCERS - 1:
            t += CYCLE_S
    return out


def fstring_csv(path: Path, chunks: list[tuple[str, Chunk]]) -> None:
    """The first recorder's formatting: one f-string per row (Python repr for the value)."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("timestamp,producer,series,value\n")
        prefixes: dict = {}
        for start in range(0, len(chunks), FLUSH_ROWS // CHUNK):
            out = []
            for producer, chunk in chunks[start : start + FLUSH_ROWS // CHUNK]:
                middle = prefixes.get((producer, chunk.series))
                if middle is None:
                    middle = f",{quote(producer)},{quote(chunk.series)},"
                    prefixes[(producer, chunk.series)] = middle
                out.extend(
                    f"{t:.6f}{middle}{v!r}\n"
                    for t, v in zip(chunk.timestamps.tolist(), chunk.values.tolist(), strict=True)
                )
            f.write("".join(out))
            f.flush()


def our_writer(path: Path, chunks: list[tuple[str, Chunk]]) -> None:
    writer = open_writer(path)
    per_flush = FLUSH_ROWS // CHUNK
    for start in range(0, len(chunks), per_flush):
        writer.write(chunks[start : start + per_flush])
        writer.flush()
    writer.close()


def throughput(write, path: Path, chunks, runs: int) -> dict:
    rows = sum(len(c) for _, c in chunks)
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        write(path, chunks)
        rates.append(rows / (time.perf_counter() - start))
        size = path.stat().st_size
        path.unlink()
    return {
        "rows": rows,
        "rows_per_s": statistics.median(rates),
        "runs": sorted(rates),
        "bytes_per_row": size / rows,
    }


def recorder_at_10m(path: Path, seconds: float) -> dict:
    """Feed a Recorder 10M samples/s on the clock, as the draining thread would."""
    pool = make_chunks(PRODUCERS * CHUNK * int(1 / CYCLE_S), seed=1)  # one second's arrays
    cycles = int(seconds / CYCLE_S)
    rec = Recorder(path)
    assert rec.wait_ready(10.0) is None, rec.error
    behind: list[float] = []
    late_cycles = 0
    proc = psutil.Process()
    cpu0, start = proc.cpu_times(), time.monotonic()
    for cycle in range(cycles):
        base = (cycle * PRODUCERS) % len(pool)
        t = T0 + cycle * CYCLE_S
        rec.submit([(p, Chunk(c.series, c.values, t, c.dt)) for p, c in pool[base : base + 8]])
        behind.append(rec.behind_s)
        wait = start + (cycle + 1) * CYCLE_S - time.monotonic()
        if wait > 0:
            time.sleep(wait)  # the schedule of a real producer, not a wait for a result
        else:
            late_cycles += 1
    fed_s = time.monotonic() - start
    close_start = time.monotonic()
    summary = rec.close(timeout=60.0)
    close_s = time.monotonic() - close_start
    cpu1 = proc.cpu_times()
    submitted = cycles * PRODUCERS * CHUNK
    size = path.stat().st_size
    rows = pa.parquet.read_metadata(path).num_rows
    path.unlink()
    return {
        "seconds": seconds,
        "samples_submitted": submitted,
        "submitted_per_s": submitted / fed_s,
        "samples_written": summary.written_total,
        "rows_in_file": rows,
        "dropped": summary.dropped_total,
        "error": summary.error,
        "max_behind_s": max(behind),
        "max_behind_s_after_first_s": max(behind[int(1 / CYCLE_S) :]),  # without warm-up
        "p99_behind_s": float(np.percentile(behind, 99)),
        "late_cycles": late_cycles,
        "close_s": close_s,
        "cpu_cores_used": (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / (fed_s + close_s),
        "file_bytes_per_sample": size / max(rows, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rows, a 5 s Recorder run")
    parser.add_argument("--dir", type=Path, default=OUT / "recording-tmp", help="where to write")
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    import pyarrow.parquet  # noqa: F401  (pa.parquet in recorder_at_10m)

    runs = 3 if args.quick else 5
    rows = 2_000_000 if args.quick else 5_000_000
    print(f"writing to {args.dir.resolve()} (device {os.stat(args.dir).st_dev:#x})")
    load_before = os.getloadavg()
    print(f"load average {load_before[0]:.2f} on {os.cpu_count()} CPUs (other work skews figures)")
    chunks = make_chunks(rows)
    results: dict = {"dir": str(args.dir.resolve()), "quick": args.quick, "writers": {}}
    for name, suffix in (("csv", ".csv"), ("parquet", ".parquet"), ("arrow", ".arrows")):
        figures = throughput(our_writer, args.dir / f"bench{suffix}", chunks, runs)
        results["writers"][name] = figures
        print(f"  {name:8} {figures['rows_per_s'] / 1e6:6.2f} M rows/s "
              f"({figures['bytes_per_row']:.1f} B/row)")  # fmt: skip
    baseline_chunks = chunks[: len(chunks) // 4]
    figures = throughput(fstring_csv, args.dir / "baseline.csv", baseline_chunks, runs)
    results["writers"]["csv_fstring_baseline"] = figures
    print(f"  f-string CSV baseline {figures['rows_per_s'] / 1e6:.2f} M rows/s")
    w = results["writers"]
    results["ratios"] = {
        "csv_vs_fstring": w["csv"]["rows_per_s"] / figures["rows_per_s"],
        "parquet_vs_csv": w["parquet"]["rows_per_s"] / w["csv"]["rows_per_s"],
        "arrow_vs_csv": w["arrow"]["rows_per_s"] / w["csv"]["rows_per_s"],
    }
    print("  ratios: " + ", ".join(f"{k} {v:.1f}x" for k, v in results["ratios"].items()))
    seconds = 5.0 if args.quick else 30.0
    print(f"Recorder, Parquet, 10M samples/s for {seconds:g} s ...", flush=True)
    rec = recorder_at_10m(args.dir / "recorder.parquet", seconds)
    results["recorder_10M_parquet"] = rec
    print(
        f"  submitted {rec['submitted_per_s'] / 1e6:.2f} M/s, dropped {rec['dropped']}, "
        f"max behind {rec['max_behind_s']:.3f} s (after the first second "
        f"{rec['max_behind_s_after_first_s']:.3f} s, p99 {rec['p99_behind_s']:.3f} s), "
        f"close {rec['close_s']:.2f} s, {rec['cpu_cores_used']:.2f} cores, "
        f"{rec['file_bytes_per_sample']:.1f} B/sample"
    )
    results["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "pyarrow": pa.__version__,
        "numpy": np.__version__,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "recording.json").write_text(json.dumps(results, indent=2))
    shutil.rmtree(args.dir, ignore_errors=True)
    print(f"wrote {OUT / 'recording.json'}")
    ok = rec["dropped"] == 0 and rec["max_behind_s"] <= 0.5 and rec["error"] is None
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
