"""The app scenarios, one per process: `python -m benchmarks.scenarios NAME [--quick]`.

All of them run the real MainWindow at 1280x800 (offscreen), the size users have.

load:       8 producers x 1.25 M samples/s (10 M/s) into the live chart: throughput, drops,
            fps, lag, click latency, send->store and sample->painted latency, RSS.
load20:     the same at 8 x 2.5 M samples/s (20 M/s).
dense:      8 series x >= 1 M points inside the visible window, 1 M samples/s arriving: fps
            and lag while every frame covers 8 M samples (cost must follow pixels, not samples).
idle:       producers started, then all stopped: CPU of the whole app (GUI + children).
soak:       the load scenario held for minutes: RSS drift after warm-up.
default:    the default session (4 slow producers): what the window costs, per frame too.
scale100:   100 producers x 100 samples/s: time until all RUNNING, start-up stall, lag, CPU,
            each producer's CPU and memory.
series1000: 100 producers x 10 channels x 100 samples/s = 1,000 series: fps, lag, memory.
slow1hz:    20 producers x 1 sample/s: what one slow producer costs.
plots8:     8 plots x 4 series, 10 M samples/s in all (8 producers x 4 channels x 312.5 k/s):
            fps of the slowest plot, lag, GUI CPU per frame.
plots1:     the same 32 series on one plot: what the 8 plots cost in comparison.
fleet:      `streamscope publish` (4 x 500 k samples/s) -> a real mosquitto on loopback -> the
            window's `mqtt` producer in remote mode: throughput, drops on every side, fps, lag.
"""

from __future__ import annotations

import argparse

from app.core.session import DEFAULT_SESSION, Session, load_session, parse_session
from app.core.view_layout import ViewLayout
from benchmarks.harness import emit, run_window

LOAD_RATE = 1_250_000  # per producer; 8 of them = 10 M samples/s
DENSE_RATE = 125_000  # per producer; 8 of them = 1 M samples/s
DENSE_WINDOW_S = 10.0  # 1.25 M points per series in view once full


def session_of(
    rate: float, count: int, window_s: float = 30.0, kinds=("sine", "noise"), channels: int = 1
) -> Session:
    parts = [f"[chart]\nwindow_s = {window_s}\n"]
    for i in range(count):
        kind = kinds[i % len(kinds)]
        parts.append(
            f'[[producers]]\nname = "{kind}{i}"\nkind = "{kind}"\n'
            f"[producers.params]\nrate_hz = {float(rate)}\nchannels = {channels}\n"
        )
    return parse_session("".join(parts), f"<bench {count}x{channels}x{rate:g}/s>")


def load(quick: bool) -> dict:
    return run_window(session_of(LOAD_RATE, 8), warmup_s=3, measure_s=6 if quick else 30)


def soak(quick: bool) -> dict:
    return run_window(session_of(LOAD_RATE, 8), warmup_s=10, measure_s=60 if quick else 600)


def dense(quick: bool) -> dict:
    session = session_of(DENSE_RATE, 8, DENSE_WINDOW_S)
    # the window fills in 10 s: after 9 s of warm-up each series has >= 1.1 M points in view
    return run_window(session, warmup_s=9, measure_s=5 if quick else 20)


def idle(quick: bool) -> dict:
    def stop_all(window):
        window.engine.supervisor.stop_all()

    session = session_of(10_000, 3)
    return run_window(
        session, warmup_s=2, measure_s=8 if quick else 20, prepare=(stop_all, 3), probes=False
    )


def load20(quick: bool) -> dict:
    return run_window(session_of(2 * LOAD_RATE, 8), warmup_s=3, measure_s=6 if quick else 20)


def default(quick: bool) -> dict:
    return run_window(load_session(DEFAULT_SESSION), warmup_s=3, measure_s=8 if quick else 20)


def scale100(quick: bool) -> dict:
    session = session_of(100, 100, kinds=("sine",))
    return run_window(session, warmup_s=3, measure_s=8 if quick else 20)


def series1000(quick: bool) -> dict:
    session = session_of(100, 100, kinds=("sine", "noise"), channels=10)
    # (1,000 series arrive over the first seconds; Follow is not clicked: each click redraws
    # all of them from scratch, which is what clicking costs, not what streaming costs)
    return run_window(session, warmup_s=10, measure_s=8 if quick else 20, clicks=False)


def slow1hz(quick: bool) -> dict:
    session = session_of(1, 20, kinds=("sine",))
    return run_window(session, warmup_s=2, measure_s=10 if quick else 30, probes=False)


PLOTS_RATE = LOAD_RATE / 4  # per channel: 8 producers x 4 channels = 10 M samples/s


def _plots_session(separate: bool) -> Session:
    session = session_of(PLOTS_RATE, 8, channels=4)
    layout = ViewLayout()
    if separate:  # producer i's four channels on plot i
        for i, spec in enumerate(session.producers):
            if i:
                layout, plot_id = layout.adding_plot()
                for ch in range(4):
                    layout = layout.with_series((spec.name, f"ch{ch}"), plot=plot_id)
    session.view = layout
    return session


def plots8(quick: bool) -> dict:
    return run_window(_plots_session(True), warmup_s=3, measure_s=6 if quick else 20)


def plots1(quick: bool) -> dict:
    return run_window(_plots_session(False), warmup_s=3, measure_s=6 if quick else 20)


FLEET_RATE, FLEET_PRODUCERS = 550_000, 4  # 2.2 M/s offered: the target is >= 2 M/s


def fleet(quick: bool) -> dict:
    import os
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    from tests.mosquitto_broker import Broker, available

    if not available():
        return {"skipped": "mosquitto is not installed (make test installs it)"}
    broker = Broker().start()
    folder = Path(tempfile.mkdtemp(prefix="fleet-"))
    remote = folder / "publisher.toml"
    remote.write_text("".join(
        f'[[producers]]\nname = "sine{i}"\nkind = "sine"\n'
        f"[producers.params]\nrate_hz = {float(FLEET_RATE)}\n"
        for i in range(FLEET_PRODUCERS)
    ))  # fmt: skip
    publish = subprocess.Popen(
        [sys.executable, "-m", "app", "publish", "--session", str(remote),
         "--broker", broker.address, "--prefix", "streamscope/bench"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ),
    )  # fmt: skip
    session = parse_session(
        '[[producers]]\nname = "fleet"\nkind = "mqtt"\n[producers.params]\n'
        f'port = {broker.port}\ntopics = ["streamscope/+"]\nremote = true\n',
        "<bench fleet>",
    )
    try:
        result = run_window(session, warmup_s=4, measure_s=6 if quick else 20)
    finally:
        publish.terminate()
        publish.wait(10)
        broker.close()
    return {**result, "offered_samples_per_s": float(FLEET_RATE * FLEET_PRODUCERS)}


SCENARIOS = {
    "plots8": plots8,
    "plots1": plots1,
    "fleet": fleet,
    "load": load,
    "load20": load20,
    "dense": dense,
    "idle": idle,
    "soak": soak,
    "default": default,
    "scale100": scale100,
    "series1000": series1000,
    "slow1hz": slow1hz,
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("name", choices=SCENARIOS)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    emit(SCENARIOS[args.name](args.quick))


if __name__ == "__main__":
    main()
