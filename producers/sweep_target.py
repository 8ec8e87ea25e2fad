"""The function a sweep calls: found from its `target` text, in the producer and in each worker.

`"path/to/file.py:function"` loads the file as a module (its folder first on sys.path, as when
the file is run as a script, so it can import the modules beside it); `"module:function"`
imports a module by name. The function part may be dotted (`Class.method`).

Pool workers are spawned interpreters (see producers.builtin.sweep), so a function object
cannot be handed to them by reference to the producer's memory, and a function from a file is
not importable by name: each worker gets the target *text* and loads it in its initializer
(`init_worker`). The initializer also ties the worker's life to the producer's.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import signal
from collections.abc import Callable

from producers.params import split_target
from producers.user_code import load_module

PR_SET_PDEATHSIG = 1


class TargetError(RuntimeError):
    """The target cannot be loaded; the message says why, in the user's terms."""


def load_function(target: str) -> Callable:
    """The callable `target` names; TargetError if the file, module or name is missing. An
    exception raised by the user's module while it is imported propagates unchanged, with its
    traceback (that is the user's bug to see)."""
    where, name, is_file = split_target(target.strip())
    if is_file:
        module = _load_file(where)
    else:
        try:
            module = importlib.import_module(where)
        except ModuleNotFoundError as exc:
            if exc.name != where and not where.startswith(f"{exc.name}."):
                raise  # the module itself imports something missing: its own traceback
            raise TargetError(f"cannot load {target}: no module named {where!r}") from None
    obj = module
    for part in name.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise TargetError(f"cannot load {target}: {where} has no {name!r}") from None
    if not callable(obj):
        raise TargetError(f"cannot load {target}: {name} is a {type(obj).__name__}, not callable")
    return obj


def _load_file(file: str):
    """The file as a fresh module, loaded the way the `python` kind loads one (user_code)."""
    if not os.path.isfile(file):
        raise TargetError(f"cannot load {file}: no such file")
    return load_module(os.path.abspath(file))


# -- the worker side ------------------------------------------------------------------------------
_function: Callable | None = None


def init_worker(target: str, producer_pid: int) -> None:
    """A pool worker's initializer: die with the producer, then load the target.

    PR_SET_PDEATHSIG makes the kernel SIGKILL this worker when its parent (the producer thread
    that spawned it) ends, however it ends, SIGKILL included; the getppid check covers a
    producer that died before the prctl call."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the app decides, as for the producer
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the producer's group kill still ends us
        pass
    if os.getppid() != producer_pid:
        os._exit(1)
    global _function
    _function = load_function(target)


def call(point: dict, args: dict):
    """Run in a worker: the loaded function on one grid point plus the fixed arguments."""
    return _function(**point, **args)
