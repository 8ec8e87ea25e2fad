"""`python -m benchmarks.publish [--runs N] [--quick]`: `streamscope publish` end to end.

4 sine producers x 500 k samples/s (2 M/s) published by a real `streamscope publish` process
through a real mosquitto on loopback to a plain paho subscriber that decodes every batch with
`producers.wire.decode`. Figures, medians of --runs runs: samples/s delivered to the subscriber
over a ~5 s window once every producer runs (2 s with --quick), samples the publisher counted
as dropped (its summary), samples published vs received (a local broker should lose none),
messages/s, and the age of a batch's newest sample when the subscriber decoded it (p50/p99:
publish interval + broker + decode). Prints a summary and writes benchmarks/out/publish.json.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from producers.wire import decode
from tests.mosquitto_broker import Broker, available

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "out"
PRODUCERS, RATE = 4, 500_000.0
PREFIX = "bench"


class Subscriber:
    """Counts decoded samples per producer, and batch ages, from paho's network thread."""

    def __init__(self, broker: Broker):
        self.lock = threading.Lock()
        self.samples: dict[str, int] = {}
        self.messages = 0
        self.ages: list[float] = []
        self.running: set[str] = set()
        self.counting = False
        ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, *_: c.subscribe(f"{PREFIX}/#", qos=0)
        self.client.on_subscribe = lambda *_: ready.set()
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        if not ready.wait(5):
            raise RuntimeError("the subscriber could not subscribe")

    def _on_message(self, _client, _userdata, msg) -> None:
        parts = msg.topic.split("/")
        if len(parts) != 3:  # bench/_publisher
            return
        _, name, what = parts
        if what == "status":
            if json.loads(msg.payload)["state"] == "RUNNING":
                self.running.add(name)
            return
        if what != "data":
            return
        batch = decode(msg.payload)
        n = sum(len(c) for c in batch.chunks)
        age = time.time() - max(c.last_time for c in batch.chunks)
        with self.lock:
            self.samples[name] = self.samples.get(name, 0) + n
            if self.counting:
                self.messages += 1
                self.ages.append(age)

    def total(self) -> int:
        with self.lock:
            return sum(self.samples.values())

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def session(folder: Path) -> Path:
    path = folder / "session.toml"
    path.write_text("".join(
        f'[[producers]]\nname = "s{i}"\nkind = "sine"\nrestart = "never"\n'
        f"[producers.params]\nrate_hz = {RATE}\n"
        for i in range(PRODUCERS)
    ))  # fmt: skip
    return path


def summary_totals(stdout: str) -> tuple[int, int]:
    line = next(x for x in stdout.splitlines() if x.startswith("total"))
    _, published, dropped = line.split()
    return int(published), int(dropped)


def run_once(duration: float) -> dict:
    broker = Broker().start()
    sub = Subscriber(broker)
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "app", "publish", "--session", str(session(Path(folder))),
                   "--broker", broker.address, "--prefix", PREFIX]  # fmt: skip
        proc = subprocess.Popen(command, cwd=ROOT, text=True, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while len(sub.running) < PRODUCERS:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the producers did not start")
                time.sleep(0.05)  # the benchmark's main thread, waiting
            time.sleep(0.5)  # past the start
            with sub.lock:
                sub.counting = True
            before, started = sub.total(), time.monotonic()
            time.sleep(duration)
            window = sub.total() - before
            elapsed = time.monotonic() - started
            with sub.lock:
                sub.counting = False
                ages, messages = list(sub.ages), sub.messages
            proc.send_signal(signal.SIGTERM)
            stdout, stderr = proc.communicate(timeout=15)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
            time.sleep(0.3)  # the last messages reach the subscriber
            received = sub.total()
            sub.close()
            broker.close()
    if proc.returncode != 0:
        raise RuntimeError(f"publish failed: {stderr[-2000:]}")
    published, dropped = summary_totals(stdout)
    return {
        "delivered_samples_per_s": window / elapsed,
        "dropped": dropped,
        "published": published,
        "received": received,
        "lost_after_publish": published - received,
        "messages_per_s": messages / elapsed,
        "age_p50_ms": 1e3 * float(np.percentile(ages, 50)),
        "age_p99_ms": 1e3 * float(np.percentile(ages, 99)),
    }


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a 2 s window, one run")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    if not available():  # say so, without failing the whole benchmark suite
        reason = "mosquitto is not installed (make test installs it)"
        (OUT / "publish.json").write_text(json.dumps({"skipped": reason}))
        print(f"publish: skipped: {reason}")
        return
    runs_n = 1 if args.quick else args.runs
    duration = 2.0 if args.quick else 5.0
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    runs = [run_once(duration) for _ in range(runs_n)]
    result: dict = {"runs": runs_n, "window_s": duration, "offered_samples_per_s": PRODUCERS * RATE}
    result.update({key: spread([r[key] for r in runs]) for key in runs[0]})
    (OUT / "publish.json").write_text(json.dumps(result, indent=2))
    m = {key: value["median"] for key, value in result.items() if isinstance(value, dict)}
    print(f"publish: {PRODUCERS} x {RATE:,.0f} samples/s through mosquitto to a paho subscriber; "
          f"medians of {runs_n} runs")  # fmt: skip
    print(f"  delivered {m['delivered_samples_per_s']:>12,.0f} samples/s "
          f"({m['messages_per_s']:.0f} messages/s)")  # fmt: skip
    print(f"  dropped   {m['dropped']:>12,.0f} samples (publisher's count, whole run)")
    print(f"  published {m['published']:>12,.0f}, received {m['received']:,.0f} "
          f"(lost after publishing: {m['lost_after_publish']:,.0f})")  # fmt: skip
    print(f"  batch age at the subscriber: p50 {m['age_p50_ms']:.0f} ms, "
          f"p99 {m['age_p99_ms']:.0f} ms")  # fmt: skip
    print(f"written to {OUT / 'publish.json'}")


if __name__ == "__main__":
    main()
