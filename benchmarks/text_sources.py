"""`python -m benchmarks.text_sources [--runs N] [--quick]`: lines/s of the text sources.

End to end through a headless engine (app.core.engine.Engine: producer process, pipe, drain,
store, counters): a `command` producer running a Python script that writes pre-generated lines
to stdout as fast as it can (1 MiB writes), and a `file` producer reading a pre-written file
`from_start`. Formats: number (`21.5`), kv (`temp=21.5 hum=40`) and json
(`{"t": ..., "a": {"x": 1.5, "y": 2}, "ok": true}`). The clock runs from the producer's hello
(a forked process, ~25 ms) to the last sample counted, so the script's start (~40 ms for
Python) is in the figure. Also, per format, the producer side alone in this process
(`TextFeed` in the producer's read size, its context only counting samples): what split +
parse + emit can do, to tell the parser's share from the transport's. Targets: number and kv
>= 500k lines/s, json >= 200k lines/s.
Prints medians (min, max) of --runs runs; writes benchmarks/out/text_sources.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
TARGETS = {"number": 500_000, "kv": 500_000, "json": 200_000}
VALUES_PER_LINE = {"number": 1, "kv": 2, "json": 3}  # samples each line gives
LINES = {"number": 1_000_000, "kv": 500_000, "json": 300_000}
QUICK_LINES = {"number": 400_000, "kv": 300_000, "json": 150_000}

WRITER = """
import sys, time
with open(sys.argv[1], "rb") as f:
    data = f.read()
out = sys.stdout.buffer
for i in range(0, len(data), 1 << 20):
    out.write(data[i : i + (1 << 20)])
out.flush()
time.sleep(60)  # outlive the supervisor's start-up window; the benchmark stops us
"""


def make_lines(fmt: str, n: int) -> bytes:
    t0 = time.time() - n * 1e-6
    if fmt == "number":
        text = "\n".join(f"{(i % 1000) * 0.5}" for i in range(n))
    elif fmt == "kv":
        text = "\n".join(f"temp={20 + (i % 100) * 0.1:.1f} hum={i % 60}" for i in range(n))
    else:
        text = "\n".join(
            f'{{"t": {t0 + i * 1e-6:.6f}, "a": {{"x": {(i % 100) * 0.5}, "y": {i % 7}}}, '
            f'"ok": {"true" if i % 2 else "false"}}}'
            for i in range(n)
        )
    return (text + "\n").encode()


def end_to_end(kind: str, fmt: str, data_file: Path, writer: Path, n: int) -> float:
    """Lines/s through a headless engine, first counted sample to last."""
    from app.core.engine import Engine
    from tests.helpers import producer, session_from

    if kind == "command":
        params = {"argv": [sys.executable, str(writer), str(data_file)], "format": fmt}
    else:
        params = {"path": str(data_file), "from_start": True, "format": fmt}
    engine = Engine(session_from(producer("src", kind, **params)))
    want = n * VALUES_PER_LINE[fmt]
    try:
        engine.start_autostart()
        began = None
        deadline = time.monotonic() + 120
        while True:
            engine.drain(0.005)
            if began is None and "src" in engine.view.up:
                began = time.perf_counter()  # the producer said hello: its clock starts
            samples = engine.counters.snapshot("src").samples
            if samples >= want:
                last = time.perf_counter()
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{kind}/{fmt}: only {samples} of {want} samples in 120 s")
        dropped = engine.counters.snapshot("src").dropped
        if dropped:
            print(f"  ({kind}/{fmt}: {dropped} samples dropped)", flush=True)
    finally:
        engine.shutdown()
        while not engine.view.drained:
            engine.drain(0.05)
        engine.close()
    return n / max(last - (began or last), 1e-9)


class _KeepCtx:
    """A context that counts what the producer hands on, nothing else."""

    def __init__(self) -> None:
        self.samples = 0

    def emit(self, name, values, timestamps=None) -> None:
        self.samples += len(values)

    def report_bad_input(self, *args, **kwargs) -> None:
        raise AssertionError("bad input in the benchmark's lines")


def producer_side(fmt: str, data: bytes) -> float:
    """Lines/s of TextFeed alone (split + parse + emit) in the producer's chunks, CPU time."""
    from producers.builtin.text_feed import READ_BYTES, TextFeed

    ctx = _KeepCtx()
    feed = TextFeed(ctx, fmt)
    started = time.process_time()
    for i in range(0, len(data), READ_BYTES):
        feed.feed(data[i : i + READ_BYTES])
    feed.finish()
    spent = time.process_time() - started
    return feed.lines / spent


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": len(values)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="fewer lines, one run")
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    sizes = QUICK_LINES if args.quick else LINES
    result: dict = {"runs": runs, "lines": sizes, "targets": TARGETS, "figures": {}}
    with tempfile.TemporaryDirectory() as tmp:
        writer = Path(tmp) / "writer.py"
        writer.write_text(WRITER)
        for fmt in ("number", "kv", "json"):
            data = make_lines(fmt, sizes[fmt])
            data_file = Path(tmp) / f"{fmt}.txt"
            data_file.write_bytes(data)
            figures = {"producer_side": [], "command": [], "file": []}
            for _ in range(runs):
                figures["producer_side"].append(producer_side(fmt, data))
                for kind in ("command", "file"):
                    figures[kind].append(end_to_end(kind, fmt, data_file, writer, sizes[fmt]))
            for key, values in figures.items():
                s = spread(values)
                result["figures"][f"{key}_{fmt}_lines_per_s"] = s
                target = TARGETS[fmt]
                verdict = "" if key == "producer_side" else (
                    f"  target {target:,}: {'ok' if s['median'] >= target else 'MISSED'}"
                )  # fmt: skip
                low, high = f"{s['min']:,.0f}", f"{s['max']:,.0f}"
                print(f"{key:>13} {fmt:<6} {s['median']:>12,.0f} lines/s  "
                      f"(min {low}, max {high}){verdict}", flush=True)  # fmt: skip
    OUT.mkdir(exist_ok=True)
    (OUT / "text_sources.json").write_text(json.dumps(result, indent=2))
    print(f"written to {OUT / 'text_sources.json'}")


if __name__ == "__main__":
    main()
