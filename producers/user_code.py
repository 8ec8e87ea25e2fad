"""The user's own `.py` file, for `kind = "python"`: loaded fresh as a module, its function found
and called, and every failure said in one line that names the file and line.

Why not importlib's usual loader: it writes a `.pyc` beside the file and trusts it while the
source's mtime (whole seconds) and size match, so an edit made within the same second that kept
the size would run the old code on the next Start. Here the source text is compiled every time,
in the producer's own process, which is forked from a fork server that never imports user
files: an edit is always what the next run executes.

The file runs as a module (its `__name__` is not "__main__", so an `if __name__ == "__main__":`
block does not run) with its folder first on `sys.path`, so it imports the files beside it.
Errors come out as `UserCodeError`, chained to the user's exception with the traceback cut to
start at the user's own code (our frames above it say nothing to the user).
"""

from __future__ import annotations

import importlib.util
import inspect
import linecache
import os
import sys
import types

from producers.params import short_repr


class UserCodeError(Exception):
    """The user's code cannot run, or raised. Its repr is its message: the runtime reports a
    raise as `repr(exc)`, and the row should read `sensor.py, line 3: invalid syntax`, not the
    class name around a quoted string."""

    def __repr__(self) -> str:
        return str(self)


def check_source(path: str) -> str:
    """`path` if it names an existing `.py` file; UserCodeError saying what is wrong if not."""
    if not path:
        raise UserCodeError("no path given: set path to the .py file to run")
    if not path.endswith(".py"):
        raise UserCodeError(f"{path} is not a .py file")
    if not os.path.exists(path):
        raise UserCodeError(f"{path} does not exist")
    if not os.path.isfile(path):
        raise UserCodeError(f"{path} is not a file")
    return path


def load_module(path: str) -> types.ModuleType:
    """Compile and execute the file at `path` as a new module (see the module docstring)."""
    try:
        with open(path, "rb") as f:
            source = f.read()
    except OSError as exc:
        raise UserCodeError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        code = compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        # Without our compile() frame: the SyntaxError itself shows the file, line and caret.
        cause = exc.with_traceback(None)
        raise UserCodeError(f"syntax error: {where(exc, path)}: {exc.msg}") from cause
    except ValueError as exc:  # null bytes in the source
        raise UserCodeError(f"{path} cannot be compiled: {exc}") from None
    name = _module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    folder = os.path.dirname(path)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    # Tracebacks show the lines that were compiled, even if the file changes during the run.
    text = source.decode("utf-8", "replace")
    linecache.cache[path] = (len(text), None, text.splitlines(True), path)
    sys.modules[name] = module  # as an import would: dataclasses and pickle look it up there
    try:
        exec(code, module.__dict__)
    except SystemExit:
        raise
    except BaseException as exc:
        sys.modules.pop(name, None)
        raise UserCodeError(
            f"importing {os.path.basename(path)} raised {describe(exc, path)}"
        ) from from_user_code(exc, path)
    return module


def _module_name(path: str) -> str:
    """The file's stem, as an import of it would name it, unless that name is taken (numpy.py,
    a standard library module's name): then a private one, so nothing else is shadowed."""
    stem = os.path.splitext(os.path.basename(path))[0]
    if stem.isidentifier() and stem not in sys.modules and stem not in sys.stdlib_module_names:
        return stem
    safe = "".join(c if c.isalnum() else "_" for c in stem)
    return f"streamscope_user_{safe}"


def find_function(module: types.ModuleType, name: str, path: str):
    """`module`'s attribute `name`, if callable; UserCodeError listing what exists if not."""
    file = os.path.basename(path)
    found = vars(module).get(name, _MISSING)
    if found is _MISSING:
        defined = sorted(
            key
            for key, value in vars(module).items()
            if callable(value)
            and not key.startswith("_")
            and getattr(value, "__module__", None) == module.__name__
        )
        has = f"its functions: {', '.join(defined)}" if defined else "it defines no functions"
        raise UserCodeError(f"{file} has no function {short_repr(name)}; {has}")
    if not callable(found):
        raise UserCodeError(
            f"{name} in {file} is {type(found).__name__} {short_repr(found)}, not a function"
        )
    if inspect.iscoroutinefunction(found) or inspect.isasyncgenfunction(found):
        raise UserCodeError(f"{name} in {file} is async; write a plain function or generator")
    return found


_MISSING = object()


def wants_ctx(fn, args: dict) -> bool:
    """Whether `fn` takes the producer context as its first argument: its first parameter is
    named `ctx`, or (not a generator function) it is a positional parameter without a default
    that `args` does not fill, such as `def produce(context, gain=1)`."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # a builtin without a signature
        return False
    if not params:
        return False
    first = params[0]
    if first.kind not in (first.POSITIONAL_ONLY, first.POSITIONAL_OR_KEYWORD):
        return False
    if first.name == "ctx":
        return True
    if inspect.isgeneratorfunction(fn):
        return False
    return first.default is first.empty and first.name not in args


def check_call(fn, name: str, path: str, args: dict, with_ctx: bool) -> None:
    """UserCodeError if `fn` cannot be called with `args` (as keywords, after the context when
    `with_ctx`): said before the run starts, not as a TypeError from inside."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return
    try:
        signature.bind(*((None,) if with_ctx else ()), **args)
    except TypeError as exc:
        given = ", ".join(args) or "none"
        raise UserCodeError(
            f"{name}{signature} in {os.path.basename(path)} does not fit args (given: {given}): "
            f"{exc}"
        ) from None


def where(exc: BaseException, path: str) -> str:
    """`file, line N` for where `exc` happened in the user's code (the deepest frame in `path`,
    or a SyntaxError's own place); the file alone when no frame is there."""
    if isinstance(exc, SyntaxError) and exc.filename:
        name = os.path.basename(exc.filename)
        return f"{name}, line {exc.lineno}" if exc.lineno else name
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    name = os.path.basename(path)
    return f"{name}, line {line}" if line else name


def describe(exc: BaseException, path: str) -> str:
    """One line: the exception's type and message, and where in the user's code."""
    message = str(exc)
    if isinstance(exc, SyntaxError):
        message = exc.msg or message
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return f"{text} ({where(exc, path)})"


def from_user_code(exc: BaseException, path: str) -> BaseException:
    """`exc` with its traceback starting at the first frame in the user's file (if any)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != path:
        tb = tb.tb_next
    return exc.with_traceback(tb) if tb is not None else exc
