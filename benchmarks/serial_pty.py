"""`python -m benchmarks.serial_pty [--runs N] [--quick]`: lines per second the `serial` kind
reads from a pty, end to end.

A real producer process (through the engine, as the app runs it) reads the slave side of a pty
while this process writes lines into the master as fast as the pty takes them; the figure is
samples stored per second of the engine's own clock, and the producer process's CPU per
100,000 lines. A real serial port is far slower (115200 baud carries some 11,500 bytes/s, about
1,500 lines of `1234.5678`), so this is the headroom over the wire, not what a device sends.
Medians of --runs runs; writes benchmarks/out/serial_pty.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
import tty
from pathlib import Path

import psutil

from app.core.engine import Engine
from app.core.session import parse_session
from benchmarks.common import cpu_seconds, state_text

OUT = Path(__file__).resolve().parent / "out"
LINES = {  # format -> one line as a device would print it
    "number": "1234.5678\n",
    "kv": "temp=21.5 hum=40\n",
    "json": '{"temp": 21.5, "hum": 40, "ok": true}\n',
}
PER_LINE = {"number": 1, "kv": 2, "json": 3}  # samples a line gives


def drain_until(engine: Engine, done, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError("the serial producer did not get there")
        engine.drain(0.05)


def one_run(fmt: str, seconds: float) -> dict:
    master, slave = os.openpty()
    tty.setraw(slave)
    port = os.ttyname(slave)
    session = parse_session(
        f'[[producers]]\nname = "s"\nkind = "serial"\nrestart = "never"\n'
        f'[producers.params]\nport = "{port}"\nformat = "{fmt}"\n',
        "<bench serial_pty>",
    )
    engine = Engine(session)
    stop = threading.Event()
    block = (LINES[fmt] * 2000).encode()

    def writer() -> None:
        while not stop.is_set():
            os.write(master, block)  # blocks while the pty is full: the reader sets the pace

    try:
        engine.start_autostart()
        drain_until(engine, lambda: "connected to" in state_text(engine, "s"))
        proc = psutil.Process(engine.view.entries["s"].pid)
        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        drain_until(engine, lambda: engine.counters.snapshot("s").samples > 0)
        first, cpu0, t0 = engine.counters.snapshot("s").samples, cpu_seconds(proc), time.monotonic()
        while time.monotonic() - t0 < seconds:
            engine.drain(0.05)
        got, cpu1, t1 = engine.counters.snapshot("s").samples, cpu_seconds(proc), time.monotonic()
        lines = (got - first) / PER_LINE[fmt]
        result = {"lines_s": lines / (t1 - t0), "cpu_s_per_100k": (cpu1 - cpu0) / lines * 1e5}
    finally:
        stop.set()
        os.close(slave)
        engine.shutdown()
        os.close(master)  # unblocks the writer, if it waited for room
        drain_until(engine, lambda: engine.view.drained)
        engine.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one short run")
    args = parser.parse_args()
    runs, seconds = (1, 1.0) if args.quick else (args.runs, 2.0)
    got: dict[str, list[dict]] = {fmt: [] for fmt in LINES}
    for _ in range(runs):
        for fmt in LINES:
            got[fmt].append(one_run(fmt, seconds))
    result = {"runs": runs, "seconds": seconds}
    for fmt, results in got.items():
        result[fmt] = {key: statistics.median(r[key] for r in results) for key in results[0]}
        print(
            f"  {fmt:>6}: {result[fmt]['lines_s']:>10,.0f} lines/s, producer CPU "
            f"{result[fmt]['cpu_s_per_100k']:.2f} s per 100k lines  ({LINES[fmt].strip()!r})"
        )
    OUT.mkdir(exist_ok=True)
    (OUT / "serial_pty.json").write_text(json.dumps(result, indent=2))
    print(f"written to {OUT / 'serial_pty.json'}")


if __name__ == "__main__":
    main()
