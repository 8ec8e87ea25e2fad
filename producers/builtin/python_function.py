"""`kind = "python"`: a function in the user's own `.py` file is the producer, no packaging.

Two forms, told apart by the function itself:
- a generator (or any function returning an iterable) yields values; `producers.yield_shapes`
  says which shapes are samples. `while True: x = read(); q.put(x)` becomes `yield x`.
- `def produce(ctx, **args)` (its first parameter is named `ctx`, or is a positional one that
  `args` does not fill) gets the producer context for full control: `ctx.emit`,
  `ctx.emit_sample`, `ctx.wait`, `ctx.running`, `ctx.set_status`. A generator whose first
  parameter is named `ctx` gets it too.

Why the generator runs on a worker thread: user code sleeps between yields (`time.sleep(1)`,
a blocking read), and a generator cannot be interrupted in the middle of that. The worker stops
at the next yield once `ctx.running` goes false (closing the generator, so its `finally:`
blocks run); `run`, on the main thread, waits for the worker or for Stop, and after Stop gives
the worker `FINISH_S` to reach its next yield before returning. The process then exits with
the worker still inside the user's sleep: it is a daemon thread, which nothing waits for. So a
generator that sleeps 10 s between yields stops in about 0.4 s, well inside the
supervisor's grace before SIGTERM. (The one thing a generator cannot do on that thread is
install a signal handler; module-level code and the `ctx` form run on the main thread.)
The `ctx` form runs on the main thread: it has `ctx.wait` to sleep in, and if it blocks
anyway the supervisor's SIGTERM (then SIGKILL) ends the process.

The user's file is loaded in `run`, in the producer's own process (`producers.user_code`): the
app never imports it, so each Start runs the file as it is then.
"""

from __future__ import annotations

import inspect
import threading
import time

from producers.base import Producer
from producers.params import Param, path, table
from producers.user_code import (
    UserCodeError,
    check_call,
    check_source,
    describe,
    find_function,
    from_user_code,
    load_module,
    wants_ctx,
)
from producers.yield_shapes import SERIES, YieldShapes

POLL_S = 0.05  # how often `run` looks at ctx.running while the worker runs (Stop's latency)
FINISH_S = 0.3  # after Stop: time for the worker to reach its next yield (SIGTERM at 1 s)


class PythonFunction(Producer):
    kind = "python"
    help = "a function in your own .py file: a generator yielding values, or produce(ctx, **args)"
    params = (
        Param("path", path, "", "the .py file (relative: to the session file's folder)"),
        Param("function", str, "produce", "the function in it to run"),
        Param("args", table, {}, "keyword arguments for the function"),
        Param(
            "rate_hz", float, 0.0,
            "sample rate of yielded arrays, for their timestamps (0: unknown, spread each over "
            "the time since the previous one)",
            min=0.0, max=1e9,
        ),
    )  # fmt: skip

    def __init__(self, **params):
        super().__init__(**params)
        self.file = check_source(self.p["path"])

    def run(self, ctx) -> None:
        name, args = self.p["function"], self.p["args"]
        fn = find_function(load_module(self.file), name, self.file)
        with_ctx = wants_ctx(fn, args)
        check_call(fn, name, self.file, args, with_ctx)
        if with_ctx and not inspect.isgeneratorfunction(fn):
            try:
                fn(ctx, **args)
            except Exception as exc:
                raise self._raised(exc) from from_user_code(exc, self.file)
            return
        worker = _Worker(ctx, fn, (ctx,) if with_ctx else (), args, self.p["rate_hz"])
        threading.Thread(target=worker.pump, name="generator", daemon=True).start()
        while not worker.done.wait(POLL_S):
            if not ctx.running:
                worker.done.wait(FINISH_S)
                break
        error = worker.error
        if isinstance(error, SystemExit):
            raise error
        if isinstance(error, UserCodeError):
            raise error
        if error is not None:
            raise self._raised(error) from from_user_code(error, self.file)

    def _raised(self, exc: BaseException) -> UserCodeError:
        return UserCodeError(f"{self.p['function']}() raised {describe(exc, self.file)}")


class _Worker:
    """Calls the user's function on its own thread and feeds what it yields to the context."""

    def __init__(self, ctx, fn, head: tuple, args: dict, rate_hz: float):
        self.ctx, self.fn, self.head, self.args = ctx, fn, head, args
        self.shapes = YieldShapes(ctx, rate_hz, start=time.time())
        self.done = threading.Event()
        self.error: BaseException | None = None

    def pump(self) -> None:
        ctx = self.ctx
        items = None
        try:
            items = self._items()
            if items is not None:
                sample, take, bad = ctx.emit_sample, self.shapes.take, ctx.report_bad_input
                for item in items:
                    if type(item) is float:  # the hot path: no call into yield_shapes
                        sample(SERIES, item)
                    elif (why := take(item)) is not None:
                        bad(1, [why], what="bad yields")
                    if not ctx.running:
                        break
        except BaseException as exc:  # the user's, SystemExit included: `run` re-raises it
            self.error = exc
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                try:
                    close()  # the generator's `finally:` blocks run now, not never
                except BaseException as exc:
                    self.error = self.error or exc
            self.done.set()

    def _items(self):
        result = self.fn(*self.head, **self.args)
        if inspect.isgenerator(result):
            return result
        if (
            result is None
            or isinstance(result, str | bytes | dict)
            or not hasattr(result, "__iter__")
        ):
            name = getattr(self.fn, "__name__", "the function")
            raise UserCodeError(
                f"{name}() returned {type(result).__name__}: it should yield values (a "
                "generator), or take ctx as its first parameter and emit with it"
            )
        return iter(result)
