"""`python -m benchmarks.mqtt_source [--runs N] [--quick]`: messages and samples per second the
`mqtt` kind takes from a real mosquitto, end to end.

A mosquitto on a free loopback port (tests/mosquitto_broker.py; skipped without it), a real
`mqtt` producer through the engine as the app runs it, and a publisher process of its own
(plain paho, QoS 0) publishing as fast as the broker takes it: binary batches of 500 samples
(`streamscope publish`'s data, ~20 ms of a 25 kHz producer) and one JSON number per message (a
sensor). The figures are what the engine stored per second of its own clock, and the
producer's CPU per 100,000 messages. Everything shares the machine's cores (broker, publisher,
producer, engine), so they are lower bounds. Medians of --runs runs; writes
benchmarks/out/mqtt_source.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil

from app.core.engine import Engine
from app.core.session import parse_session
from benchmarks.common import cpu_seconds, state_text
from tests import mosquitto_broker

OUT = Path(__file__).resolve().parent / "out"
BATCH = 500  # samples per binary message
CASES = {  # name -> (format, samples per message)
    "binary": ("binary", BATCH),
    "json_number": ("json", 1),
}

PUBLISHER = textwrap.dedent("""
    import sys, time
    import numpy as np
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    from producers import wire
    port, case, batch = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    c = mqtt.Client(CallbackAPIVersion.VERSION2)
    c.connect("127.0.0.1", port)
    c.loop_start()
    if case == "binary":
        values = np.random.default_rng(1).normal(size=batch)
        def payload(i):
            return wire.encode_data([wire.Chunk("v", values, time.time(), 4e-5)], time.time(), 0)
    else:
        def payload(i):
            return str(i * 0.5).encode()
    i = 0
    while True:  # until killed; waits now and then so paho's queue stays bounded
        info = c.publish("bench/x", payload(i), qos=0)
        i += 1
        if i % 200 == 0:
            info.wait_for_publish(5)
""")


def drain_until(engine: Engine, done, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError("the mqtt producer did not get there")
        engine.drain(0.05)


def one_run(case: str, seconds: float) -> dict:
    fmt, per_message = CASES[case]
    broker = mosquitto_broker.Broker().start()
    session = parse_session(
        f'[[producers]]\nname = "m"\nkind = "mqtt"\nrestart = "never"\n[producers.params]\n'
        f'port = {broker.port}\ntopics = ["bench/#"]\nformat = "{fmt}"\n',
        "<bench mqtt_source>",
    )
    engine = Engine(session)
    publisher = None
    try:
        engine.start_autostart()
        drain_until(engine, lambda: "connected to" in state_text(engine, "m"))
        proc = psutil.Process(engine.view.entries["m"].pid)
        publisher = subprocess.Popen(
            [sys.executable, "-c", PUBLISHER, str(broker.port), case, str(BATCH)]
        )
        drain_until(engine, lambda: engine.counters.snapshot("m").samples > 0)
        first, cpu0, t0 = engine.counters.snapshot("m").samples, cpu_seconds(proc), time.monotonic()
        while time.monotonic() - t0 < seconds:
            engine.drain(0.05)
        got, cpu1, t1 = engine.counters.snapshot("m").samples, cpu_seconds(proc), time.monotonic()
        samples = got - first
        messages = samples / per_message
        result = {
            "messages_s": messages / (t1 - t0),
            "samples_s": samples / (t1 - t0),
            "cpu_s_per_100k_messages": (cpu1 - cpu0) / messages * 1e5,
        }
    finally:
        if publisher is not None:
            publisher.kill()
            publisher.wait(5)
        engine.shutdown()
        drain_until(engine, lambda: engine.view.drained)
        engine.close()
        broker.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one short run")
    args = parser.parse_args()
    if not mosquitto_broker.available():
        print("mosquitto is not installed: nothing to measure")
        return
    runs, seconds = (1, 1.0) if args.quick else (args.runs, 2.0)
    got: dict[str, list[dict]] = {case: [] for case in CASES}
    for _ in range(runs):
        for case in CASES:
            got[case].append(one_run(case, seconds))
    result = {"runs": runs, "seconds": seconds, "batch_samples": BATCH}
    for case, results in got.items():
        result[case] = {key: statistics.median(r[key] for r in results) for key in results[0]}
        r = result[case]
        print(
            f"  {case:>11}: {r['messages_s']:>9,.0f} messages/s, {r['samples_s']:>12,.0f} "
            f"samples/s, producer CPU {r['cpu_s_per_100k_messages']:.2f} s per 100k messages"
        )
    OUT.mkdir(exist_ok=True)
    (OUT / "mqtt_source.json").write_text(json.dumps(result, indent=2))
    print(f"written to {OUT / 'mqtt_source.json'}")


if __name__ == "__main__":
    main()
