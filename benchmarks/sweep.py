"""`python -m benchmarks.sweep [--runs N] [--quick]`: what the `sweep` kind's pool delivers.

A real engine runs a real sweep producer (its spawned process pool, results through the pipe
into the store), headless, as `streamscope record` would. Figures, medians of --runs runs:
- throughput of a ~10 ms CPU task (a fixed count of interpreter steps, calibrated here to ~10 ms
  of CPU, not a sleep: two workers sharing one core must show it) over a grid of 200 points,
  with 1 and with 2 workers, and their ratio (2 cores: ideally 2x);
- dispatch overhead: a no-op task over 2,000 points, tasks/s and microseconds per task (the
  pool's round trip, the producer's bookkeeping, emit and drain), 1 and 2 workers;
- start-up: from Start to the first result (forking the producer from the running fork
  server, spawning the workers, loading the target in each, the first task).
Throughput counts results between the first and the last completion (their shared
timestamps), so the pool's start-up is its own figure. Prints a summary, writes
benchmarks/out/sweep.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
TASK_MS = 10.0


def busy(x, steps: int) -> float:
    """The ~10 ms task: `steps` iterations of plain interpreter work."""
    total = 0
    for i in range(steps):
        total += i ^ x
    return float(total & 0xFFFF)


def noop(x) -> float:
    return x


def calibrate(ms: float = TASK_MS) -> int:
    """Iterations of `busy` that take `ms` here: the fastest of 7 tries after a warm-up (the
    fastest is the machine's own speed; a slower try only met someone else's work, and a task
    calibrated then would be shorter than `ms` and flatter the dispatch overhead's share)."""
    probe = 200_000
    busy(1, probe)
    best = min(_timed(probe) for _ in range(7))
    return int(probe / best * ms / 1000)


def _timed(steps: int) -> float:
    start = time.perf_counter()
    busy(1, steps)
    return max(time.perf_counter() - start, 1e-6)


def sweep_once(function: str, points: int, workers: int, args: dict) -> dict:
    """One sweep through a headless engine; its figures."""
    from app.core.engine import Engine
    from app.core.session import parse_session
    from app.core.supervisor import State
    from producers.params import toml_inline

    text = (
        '[[producers]]\nname = "sweep"\nkind = "sweep"\nrestart = "never"\n[producers.params]\n'
        f'target = "benchmarks.sweep:{function}"\nworkers = {workers}\n'
        f"grid = {{ x = {{ start = 0, stop = {points - 1}, step = 1 }} }}\n"
        f"args = {toml_inline(args)}\n"
    )
    engine = Engine(parse_session(text, "bench.toml"))
    started = time.monotonic()
    engine.start_autostart()
    first = None
    key = ("sweep", "in/x")
    try:
        while True:
            engine.drain(0.02)
            if first is None and key in engine.store.series_keys():
                first = time.monotonic() - started
            row = next(r for r in engine.view.rows if r.name == "sweep")
            if row.state in (State.EXITED, State.FATAL, State.BACKOFF):
                break
            if time.monotonic() - started > 120:
                raise RuntimeError("the sweep did not finish in 120 s")
        if row.error or row.state is not State.EXITED:
            raise RuntimeError(f"the sweep failed: {row.state_text} {row.error}")
        while not engine.view.drained:
            engine.drain(0.02)
        times = engine.store.buffer(key).raw.held(0)
    finally:
        engine.shutdown()
        while not engine.view.drained:
            engine.drain(0.02)
        engine.close()
    if len(times) != points:
        raise RuntimeError(f"{len(times)} results of {points}")
    span = float(times.max() - times.min())
    return {"tasks_per_s": (points - 1) / span, "first_result_s": first}


def spread(values: list[float]) -> dict:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def measure(runs: int, quick: bool) -> dict:
    import multiprocessing as mp

    from app.core import launcher

    # keep one fork server for every run, as a long-lived app does: start-up is the sweep's
    launcher._FORK_SERVER.acquire(mp.get_context("forkserver"))
    try:
        return _measure(runs, quick)
    finally:
        launcher._FORK_SERVER.release()


def _measure(runs: int, quick: bool) -> dict:
    steps = calibrate()
    points, noops = (100, 500) if quick else (200, 2000)
    got: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        got.setdefault(key, []).append(value)

    for _ in range(runs):
        for workers in (1, 2):
            busy_run = sweep_once("busy", points, workers, {"steps": steps})
            add(f"busy_tasks_per_s_{workers}w", busy_run["tasks_per_s"])
            add(f"first_result_s_{workers}w", busy_run["first_result_s"])
            noop_run = sweep_once("noop", noops, workers, {})
            add(f"noop_tasks_per_s_{workers}w", noop_run["tasks_per_s"])
            add(f"noop_us_per_task_{workers}w", 1e6 / noop_run["tasks_per_s"])
        add("speedup_2w_over_1w", got["busy_tasks_per_s_2w"][-1] / got["busy_tasks_per_s_1w"][-1])
    return {
        "runs": runs,
        "cores": os.cpu_count(),
        "busy_points": points,
        "noop_points": noops,
        "task_ms": TASK_MS,
        "busy_steps": steps,
        "load_before": os.getloadavg()[0],
        "figures": {key: spread(values) for key, values in got.items()},
    }


def report(result: dict) -> None:
    f = {k: v["median"] for k, v in result["figures"].items()}
    print(f"sweep: medians of {result['runs']} runs, {result['cores']} cores, "
          f"load {result['load_before']:.2f} before")  # fmt: skip
    print(f"  {TASK_MS:.0f} ms CPU task x {result['busy_points']}: "
          f"1 worker {f['busy_tasks_per_s_1w']:.1f}/s, 2 workers {f['busy_tasks_per_s_2w']:.1f}/s"
          f" -> {f['speedup_2w_over_1w']:.2f}x (target >= 1.8x)")  # fmt: skip
    print(f"  no-op x {result['noop_points']}: 1 worker {f['noop_tasks_per_s_1w']:.0f}/s "
          f"({f['noop_us_per_task_1w']:.0f} us/task), 2 workers {f['noop_tasks_per_s_2w']:.0f}/s "
          f"({f['noop_us_per_task_2w']:.0f} us/task)")  # fmt: skip
    print(f"  Start to first result: 1 worker {f['first_result_s_1w'] * 1000:.0f} ms, "
          f"2 workers {f['first_result_s_2w'] * 1000:.0f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="smaller grids, one run")
    args = parser.parse_args()
    result = measure(1 if args.quick else args.runs, args.quick)
    OUT.mkdir(exist_ok=True)
    (OUT / "sweep.json").write_text(json.dumps(result, indent=2))
    report(result)
    print(f"written to {OUT / 'sweep.json'}")


if __name__ == "__main__":
    main()
