"""The app scenarios, one per process: `python -m benchmarks.scenarios NAME [--quick]`.

load:  8 producers x 1.25 M samples/s (10 M/s) into the live chart: throughput, drops, fps,
       lag, click latency, send->store and sample->painted latency, RSS.
dense: 8 series x >= 1 M points inside the visible window, 1 M samples/s arriving: fps and lag
       while every frame covers 8 M samples (the cost must follow pixels, not samples).
idle:  producers started, then all stopped: CPU of the whole app (GUI + children).
soak:  the load scenario held for minutes: RSS drift after warm-up.
"""

from __future__ import annotations

import argparse

from app.core.session import Session, parse_session
from benchmarks.harness import emit, run_window

LOAD_RATE = 1_250_000  # per producer; 8 of them = 10 M samples/s
DENSE_RATE = 125_000  # per producer; 8 of them = 1 M samples/s
DENSE_WINDOW_S = 10.0  # 1.25 M points per series in view once full


def session_of(rate: float, count: int, window_s: float = 30.0) -> Session:
    parts = [f"[chart]\nwindow_s = {window_s}\n"]
    for i in range(count):
        kind = "sine" if i % 2 == 0 else "noise"
        parts.append(
            f'[[producers]]\nname = "{kind}{i}"\nkind = "{kind}"\n'
            f"[producers.params]\nrate_hz = {float(rate)}\n"
        )
    return parse_session("".join(parts), f"<bench {count}x{rate:g}/s>")


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


SCENARIOS = {"load": load, "dense": dense, "idle": idle, "soak": soak}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("name", choices=SCENARIOS)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    emit(SCENARIOS[args.name](args.quick))


if __name__ == "__main__":
    main()
