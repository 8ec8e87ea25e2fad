"""`python -m benchmarks.udp [--runs N] [--quick]`: datagrams per second the `udp` kind parses.

A real producer process (through the engine, as the app runs it) listens on a loopback port
while a sender process sends PlotJuggler-style JSON datagrams of about 60 bytes
(`{"timestamp":1700000000.001,"pos":{"x":1.5,"y":-2.25},"v":3}`, 3 samples each):
- blast: the sender sends as fast as it can for the measured window: datagrams parsed per
  second (samples stored / 3, per second of the engine's clock), the datagrams the sender
  sent and those the kernel dropped (the socket's `drops` in /proc/net/udp: the receive
  buffer was full), the samples the producer's outbox dropped (the app too slow: must be 0),
  and the producer process's CPU per 100,000 datagrams;
- paced: the sender keeps to `PACED_RATE` datagrams per second (in bursts of 1 ms): the
  kernel must drop none and every datagram must be stored.
On a 2-core machine the sender, the producer and the engine share two cores: the sender's
sendto carries the kernel's whole loopback delivery, so a blast measures the three together.
Medians of --runs runs; writes benchmarks/out/udp.json.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil

from app.core.engine import Engine
from app.core.session import parse_session
from benchmarks.common import cpu_seconds

OUT = Path(__file__).resolve().parent / "out"
HOST = "127.0.0.1"
PER_DATAGRAM = 3  # samples in each datagram
PACED_RATE = 100_000  # datagrams/s: the target
TARGET = 100_000


def messages(n: int = 1000) -> list[bytes]:
    """`n` different datagrams of about 60 bytes, as a PlotJuggler user's program sends."""
    return [
        (f'{{"timestamp":{1_700_000_000 + i / 1000:.3f},'
         f'"pos":{{"x":{i % 97 / 8:.3f},"y":{-i % 89 / 4:.2f}}},"v":{i % 7}}}').encode()
        for i in range(n)
    ]  # fmt: skip


def send(port: int, seconds: float, rate: float) -> None:
    """The sender process: datagrams to `port` for `seconds`, as fast as possible (rate 0) or
    at `rate` per second; prints how many it sent."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect((HOST, port))  # connected: no address lookup per send
    payloads = messages()
    sent = 0
    start = time.monotonic()
    end = start + seconds
    burst = max(1, int(rate / 1000)) if rate else 200
    while (now := time.monotonic()) < end:
        if rate and sent >= (now - start) * rate:
            time.sleep(0.0005)
            continue
        try:
            for payload in payloads[sent % 800 : sent % 800 + burst]:
                sock.send(payload)
                sent += 1
        except ConnectionRefusedError:  # the port closed (an earlier send's ICMP): not sent
            pass
    print(sent, flush=True)


def kernel_drops(port: int) -> int:
    """The drops column of the socket bound to `port` in /proc/net/udp (0 if not found)."""
    with open("/proc/net/udp") as f:
        for line in f.read().splitlines()[1:]:
            fields = line.split()
            if fields[1].endswith(f":{port:04X}"):
                return int(fields[12])
    return 0


def drain_until(engine: Engine, done, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError("the udp producer did not get there")
        engine.drain(0.05)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def one_run(seconds: float, rate: float) -> dict:
    port = free_port()
    session = parse_session(
        f'[[producers]]\nname = "u"\nkind = "udp"\nrestart = "never"\n'
        f'[producers.params]\nhost = "{HOST}"\nport = {port}\n',
        "<bench udp>",
    )
    engine = Engine(session)
    sender = None
    try:
        engine.start_autostart()
        drain_until(engine, lambda: "listening on" in _row(engine).state_text)
        proc = psutil.Process(engine.view.entries["u"].pid)
        warm = 0.5
        sender = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.udp", "--send", str(port),
             str(seconds + warm + 0.5), str(rate)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        drain_until(engine, lambda: engine.counters.snapshot("u").samples > 0)
        t_warm = time.monotonic() + warm
        while time.monotonic() < t_warm:
            engine.drain(0.05)
        first, cpu0, drops0 = _samples(engine), cpu_seconds(proc), kernel_drops(port)
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            engine.drain(0.05)
        got, cpu1, t1 = _samples(engine), cpu_seconds(proc), time.monotonic()
        drops1 = kernel_drops(port)
        sent = int(sender.communicate(timeout=30)[0].split()[-1])
        # what was sent is all in: everything received or dropped by the kernel
        drain_until(engine, lambda: _accounted(engine, port) >= sent)
        total_drops = kernel_drops(port)
        parsed = (got - first) / PER_DATAGRAM
        result = {
            "datagrams_s": parsed / (t1 - t0),
            "sent": sent,
            "received": _samples(engine) // PER_DATAGRAM,
            "kernel_drops_in_window": drops1 - drops0,
            "kernel_drops": total_drops,
            "outbox_dropped_samples": engine.counters.snapshot("u").dropped,
            "cpu_s_per_100k": (cpu1 - cpu0) / max(parsed, 1) * 1e5,
        }
    finally:
        if sender is not None and sender.poll() is None:
            sender.kill()
            sender.wait()
        engine.shutdown()
        drain_until(engine, lambda: engine.view.drained)
        engine.close()
    return result


def _row(engine: Engine):
    return next(r for r in engine.view.rows if r.name == "u")


def _samples(engine: Engine) -> int:
    return engine.counters.snapshot("u").samples


def _accounted(engine: Engine, port: int) -> int:
    """Datagrams stored, dropped by the kernel or by the producer's outbox."""
    counts = engine.counters.snapshot("u")
    return (counts.samples + counts.dropped) // PER_DATAGRAM + kernel_drops(port)


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--send":
        send(int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one short run of each")
    args = parser.parse_args()
    runs, seconds = (1, 1.0) if args.quick else (args.runs, 3.0)
    got: dict[str, list[dict]] = {"blast": [], "paced": []}
    for _ in range(runs):
        got["blast"].append(one_run(seconds, 0))
        got["paced"].append(one_run(seconds, PACED_RATE))
    result: dict = {"runs": runs, "seconds": seconds, "paced_rate": PACED_RATE, "target": TARGET}
    for mode, results in got.items():
        result[mode] = {key: statistics.median(r[key] for r in results) for key in results[0]}
        r = result[mode]
        print(
            f"  {mode:>5}: {r['datagrams_s']:>9,.0f} datagrams/s parsed "
            f"({r['datagrams_s'] * PER_DATAGRAM:,.0f} samples/s), sent {r['sent']:,.0f}, "
            f"kernel dropped {r['kernel_drops']:,.0f}, outbox dropped "
            f"{r['outbox_dropped_samples']:,.0f} samples, producer CPU "
            f"{r['cpu_s_per_100k']:.2f} s per 100k datagrams"
        )
    OUT.mkdir(exist_ok=True)
    (OUT / "udp.json").write_text(json.dumps(result, indent=2))
    print(f"written to {OUT / 'udp.json'}")


if __name__ == "__main__":
    main()
