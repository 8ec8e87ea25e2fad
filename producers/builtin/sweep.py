"""`sweep`: call a user's function over a grid of inputs, on a pool of workers, and chart the
results as they complete.

    [[producers]]
    name = "scan"
    kind = "sweep"
    [producers.params]
    target = "model.py:simulate"          # beside the session file
    grid = { gain = [1, 2, 4], freq = { start = 1, stop = 100, num = 50 } }
    workers = 2

Each call is `function(**point, **args)`. Results arrive out of order (as completed); each is
emitted with its inputs, every sample stamped with the same completion time, so a chart or a
recording pairs result with input: series `in/<axis>` and `out/value` (a number) or
`out/<key>` (each number in a returned dict). Anything else, and any exception, is a failed
input: counted, listed in the details with its error, never fatal. The row shows progress
(`37/150 done, 1 failed, 12.3/s, ETA 0:09`); the run exits normally when the grid is done
(unless `repeat`).

Why the pool is *spawned* (fresh interpreters), not forked: the producer has threads (lifeline,
flusher, sender) whose locks a fork would copy mid-use, and a forked worker would inherit the
producer's pipe to the app. A spawned worker inherits neither; it loads the target itself from
its text (`producers.sweep_target.init_worker`), so a function in a plain .py file works. The
price, measured on the 2-core dev machine: ~50 ms of CPU and ~100 ms of wall time per worker,
once per run (a fork costs ~3 ms), small against any sweep worth a pool.

Stop, or the run's end, cancels what has not started and SIGKILLs the workers at once (a task
in a 30 s call is abandoned, not awaited; `cleanup`). Workers also die with the producer
whatever kills it: PR_SET_PDEATHSIG in their initializer, and they are in the producer's
process group, which the app SIGKILLs when the run ends (and the lifeline when the app dies).
At most 2 x workers + 2 points are in flight, so a 1,000,000-point grid costs no more memory
than a small one. A worker that dies (os._exit, a crash in C code) breaks its pool: the points
in flight then (the culprit and up to 2 x workers + 1 others) are failed inputs, a new pool
takes the rest; pools that keep breaking with no result in between end the run with an error.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import numbers
import os
import threading
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Executor, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from producers.base import Producer
from producers.daemon_threads import DaemonThreadPool
from producers.params import Param, ParamError, short_repr, table, target
from producers.sweep_grid import axes, check_grid, points, size
from producers.sweep_target import call, init_worker, load_function

POLL_S = 0.2  # how often the loop looks at ctx.running while every task is still busy
TARGET_HELP = "the function: 'file.py:function' (beside the session) or 'module:function'"
GRID_HELP = "axis = [values] or { start, stop, num } (or step); calls every combination"
EXECUTOR_HELP = "process: a pool of processes (CPU-bound code); thread: threads (I/O-bound code)"


class Sweep(Producer):
    kind = "sweep"
    help = "Calls a Python function over a grid of inputs on a pool of workers; charts each result"
    params = (
        Param("target", target, "", TARGET_HELP, required=True),
        Param("grid", table, {}, GRID_HELP, check=check_grid, required=True),
        Param("workers", int, 2, "calls at once", min=1, max=64),
        Param("executor", str, "process", EXECUTOR_HELP, choices=("process", "thread")),
        Param("args", table, {}, "fixed keyword arguments passed to every call"),
        Param("repeat", bool, False, "start the grid again when it is done"),
    )

    def __init__(self, **params):
        super().__init__(**params)
        both = sorted(set(self.p["grid"]) & set(self.p["args"]))
        if both:
            raise ParamError("args", f"{', '.join(both)} is both a grid axis and in args")
        self._axes = axes(self.p["grid"])
        self._executor: Executor | None = None
        self._workers: list = []  # the pool's processes, to kill on stop
        self._lock = threading.Lock()
        self._closed = False

    # -- the pool ------------------------------------------------------------------------------
    def _new_executor(self) -> Executor:
        with self._lock:
            if self._closed:
                raise RuntimeError("the run is over")
            if self.p["executor"] == "thread":
                self._executor = DaemonThreadPool(self.p["workers"])
            else:
                self._executor = ProcessPoolExecutor(
                    self.p["workers"],
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=init_worker,
                    initargs=(self.p["target"], os.getpid()),
                )
            return self._executor

    def _submit(self, executor: Executor, function, point: dict):
        if self.p["executor"] == "thread":
            future = executor.submit(function, **point, **self.p["args"])
        else:  # the worker calls its own copy of the function (see the module doc)
            future = executor.submit(call, point, self.p["args"])
            with self._lock:  # workers start on demand, here: note each one to kill on stop
                known = {p.pid for p in self._workers}
                self._workers += [
                    p for p in (executor._processes or {}).values() if p.pid not in known
                ]
        return future

    def cleanup(self) -> None:
        """Cancel what has not started and SIGKILL the workers: a running task is abandoned.
        Safe from another thread while `run` waits (the lifeline's, when the app is gone)."""
        with self._lock:
            self._closed = True
        self._end_pool()

    def _end_pool(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
            workers, self._workers = self._workers, []
        if executor is not None:
            with contextlib.suppress(Exception):
                executor.shutdown(wait=False, cancel_futures=True)
        for process in workers:
            with contextlib.suppress(Exception):
                process.kill()
        for process in workers:
            with contextlib.suppress(Exception):
                process.join(1.0)

    # -- the run -------------------------------------------------------------------------------
    def run(self, ctx) -> None:
        function = load_function(self.p["target"])  # a missing file or name: the row's error
        progress = _Progress(size(self._axes))
        executor = self._new_executor()
        broken_in_a_row = 0
        window = 2 * self.p["workers"] + 2
        while ctx.running:
            todo = points(self._axes)
            inflight: dict = {}  # future -> point, in submission order
            retry: list[dict] = []  # refused by a pool that had just broken: for the next one
            while ctx.running:
                broken = False
                while len(inflight) < window:
                    point = retry.pop() if retry else next(todo, None)
                    if point is None:
                        break
                    try:
                        inflight[self._submit(executor, function, point)] = point
                    except BrokenProcessPool:
                        retry.append(point)
                        broken = True
                        break
                if not inflight and not broken:
                    break
                if broken:  # what finished before the break still counts
                    done = {f for f in inflight if f.done()}
                else:
                    done, _ = wait(inflight, timeout=POLL_S, return_when=FIRST_COMPLETED)
                for future in [f for f in inflight if f in done]:  # in order: same runs read alike
                    point = inflight.pop(future)
                    exc = future.exception()
                    if isinstance(exc, BrokenProcessPool):
                        broken = True
                        self._failed(ctx, progress, point, "a worker process died")
                    elif exc is not None:
                        self._failed(ctx, progress, point, _last_line(exc))
                    else:
                        self._result(ctx, progress, point, future.result())
                        broken_in_a_row = 0
                if broken:  # a worker died (os._exit, a crash): its pool is unusable
                    broken_in_a_row += 1
                    if broken_in_a_row >= 3:
                        raise RuntimeError("the sweep's worker processes keep dying")
                    for future in list(inflight):  # they share the pool's fate
                        self._failed(ctx, progress, inflight.pop(future), "a worker process died")
                    self._end_pool()
                    executor = self._new_executor()
                ctx.set_status(progress.text())
            if not (self.p["repeat"] and ctx.running):
                break
            progress.next_pass()
        ctx.set_status(progress.text(final=True, stopped=not ctx.running))

    def _result(self, ctx, progress: _Progress, point: dict, result) -> None:
        if _is_number(result):
            outputs = {"value": float(result)}
        elif isinstance(result, dict):
            outputs = {f"{k}": float(v) for k, v in result.items() if _is_number(v)}
        else:
            outputs = {}
        if not outputs:
            what = f"returned {short_repr(result)}, expected a number or a dict of numbers"
            self._failed(ctx, progress, point, what)
            return
        stamp = progress.stamp()
        for name, value in point.items():
            ctx.emit_sample(f"in/{name}", float(value), stamp)
        for name, value in outputs.items():
            ctx.emit_sample(f"out/{name}", value, stamp)
        progress.done += 1

    def _failed(self, ctx, progress: _Progress, point: dict, why: str) -> None:
        progress.done += 1
        progress.failed += 1
        inputs = ", ".join(f"{k}={v!r}" for k, v in point.items())
        ctx.report_bad_input(1, [f"{inputs}: {why}"], what="failed inputs")


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real)


def _last_line(exc: BaseException) -> str:
    return traceback.format_exception_only(exc)[-1].strip()


class _Progress:
    """Counts and the status line: `37/150 done, 1 failed, 12.3/s, ETA 0:09`."""

    def __init__(self, total: int):
        self.total = total
        self.done = self.failed = 0
        self.passes = 1
        self._pass_done = 0  # done in earlier passes
        self._started = time.monotonic()
        self._last_stamp = 0.0

    def stamp(self) -> float:
        """The completion time for one result: now, but strictly after the previous one, so
        every result's samples share a timestamp no other result has."""
        self._last_stamp = max(time.time(), math.nextafter(self._last_stamp, math.inf))
        return self._last_stamp

    def next_pass(self) -> None:
        self.passes += 1
        self._pass_done = self.done

    def text(self, final: bool = False, stopped: bool = False) -> str:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        rate = self.done / elapsed
        here = self.done - self._pass_done
        parts = [f"{here}/{self.total} done"]
        if self.passes > 1:
            parts[0] = f"pass {self.passes}: {parts[0]}"
        parts += [f"{self.failed} failed", f"{rate:.3g}/s"]
        if stopped:
            parts.insert(0, "stopped")
        elif final:
            parts.append(f"took {_clock(elapsed)}")
        elif rate > 0:
            parts.append(f"ETA {_clock((self.total - here) / rate)}")
        return ", ".join(parts)


def _clock(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    text = f"{rest // 60}:{rest % 60:02d}"
    return f"{hours}:{text:0>5}" if hours else text
