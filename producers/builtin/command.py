"""Run a program and plot what it prints: each stdout line is parsed as numbers, key=value
pairs, CSV or JSON (`producers.lineformat`).

Why it is built this way:
- The program leads a process group of its own (`process_group=0`), handed to
  `ctx.own_process_group`: however the run ends (Stop, an exit, SIGKILL of this producer, the
  app's death) the app or the lifeline SIGKILLs that group, so nothing the program started is
  left behind, even a grandchild that ignores SIGTERM or no longer has the program as parent.
- Stop asks politely first: SIGTERM to the group, up to `TERM_GRACE_S` for it to go, then
  SIGKILL. The grace is shorter than the app's own stop grace (1 s before it SIGTERMs us) so
  that a stopped command reads "STOPPED · exited normally", not "killed by SIGTERM".
- One thread reads both pipes with a selector, in reads of up to 64 KiB: a program printing
  millions of lines a second costs one read, split and parse per chunk, not per line. The
  selector wakes at least every `CHECK_S` to notice Stop and the program's exit.
- stdout may stay open after the program exited (a grandchild inherited it): the program's
  exit ends the run, after what is already in the pipes has been read (`DRAIN_S` at most).
- The row: status `pid N: <command>`; the last stderr lines (and the latest unparsable lines)
  in the details, not in the status, where a chatty program's log would flicker. A non-zero
  exit or a signal is an error (`command exited with code 3: <last stderr line>`), so the
  restart policy applies; exit code 0 is a normal end (EXITED · exited normally).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import shlex
import signal
import subprocess
import threading
import time
from collections import deque

from producers.base import Producer
from producers.builtin.text_feed import READ_BYTES, TextFeed
from producers.lineformat import FORMATS
from producers.linesplit import LineSplitter
from producers.params import Param, ParamError, path, short_repr, strings, table

STDERR_LINES = 20  # kept for the details text
STDERR_LINE_CHARS = 300  # each shortened to this
TERM_GRACE_S = 0.8  # SIGTERM -> SIGKILL
CHECK_S = 0.1  # the longest the reader sleeps without looking at Stop and the exit
DRAIN_S = 1.0  # after the exit, read what is left in the pipes for at most this long


class CommandError(RuntimeError):
    """The program could not start, or ended with an error; the message is one line."""


class Command(Producer):
    kind = "command"
    help = "run a program; its stdout lines become samples (numbers, key=value, CSV or JSON)"
    params = (
        Param("argv", strings, [], 'the program and its arguments, e.g. ["python3", "sensor.py"]'),
        Param("cwd", path, ".", "working directory; relative: to the session file's folder"),
        Param("env", table, {}, "extra environment variables, over the app's own"),
        Param("format", str, "auto", "how stdout lines are read", choices=FORMATS),
        Param("prefix", str, "", "put before every series name, e.g. 'dev1/'"),
    )

    def __init__(self, **params):
        super().__init__(**params)
        argv = self.p["argv"]
        if not argv or not argv[0]:
            raise ParamError("argv", 'argv must name a program to run, e.g. ["python3", "x.py"]')
        self.env = _environment(self.p["env"])
        self._proc: subprocess.Popen | None = None
        self._ending = threading.Lock()
        self._ended = False
        self._group_ended = threading.Event()
        self._stderr: deque[str] = deque(maxlen=STDERR_LINES)

    # -- the run ---------------------------------------------------------------------------
    def run(self, ctx) -> None:
        proc = self._start()
        try:
            self._follow(proc, ctx)
        finally:
            for pipe in (proc.stdout, proc.stderr):
                with contextlib.suppress(OSError):
                    pipe.close()

    def _follow(self, proc: subprocess.Popen, ctx) -> None:
        ctx.own_process_group(proc.pid)
        ctx.set_status(f"pid {proc.pid}: {_short(self.p['argv'])}")
        feed = TextFeed(ctx, self.p["format"], self.p["prefix"])
        err = LineSplitter()
        out = proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            for fd in (out, proc.stderr.fileno()):
                sel.register(fd, selectors.EVENT_READ)
            while ctx.running:
                if sel.get_map():
                    self._read(sel, CHECK_S, out, feed, err, ctx)
                else:  # both pipes closed, the program still runs
                    ctx.wait(CHECK_S)
                if proc.poll() is not None:
                    deadline = time.monotonic() + DRAIN_S
                    while sel.get_map() and time.monotonic() < deadline:
                        if not self._read(sel, 0.05, out, feed, err, ctx):
                            break  # nothing more for 50 ms (a grandchild holds the pipe)
                    break
        if not ctx.running:  # Stop, or the app went away (the program may be ending already)
            self._end_group()
            return
        feed.finish()
        self._stderr_lines(err.flush(), feed, ctx)
        code = proc.returncode
        if code == 0:
            return
        raise self._failure(code)

    def _read(self, sel, timeout: float, out: int, feed: TextFeed, err, ctx) -> bool:
        """One select and a read of each ready pipe; False if none was ready in `timeout`."""
        ready = sel.select(timeout)
        for key, _ in ready:
            fd = key.fd
            data = os.read(fd, READ_BYTES)
            if not data:  # EOF
                sel.unregister(fd)
                continue
            if fd == out:
                bad = feed.bad
                feed.feed(data)
                if feed.bad != bad:
                    self._show_details(feed, ctx)
            else:
                self._stderr_lines(err.feed(data), feed, ctx)
        return bool(ready)

    def _stderr_lines(self, lines: list[str], feed: TextFeed, ctx) -> None:
        lines = [line[:STDERR_LINE_CHARS] for line in lines if line.strip()]
        if lines:
            self._stderr.extend(lines)
            self._show_details(feed, ctx)

    def _show_details(self, feed: TextFeed, ctx) -> None:
        parts = []
        if self._stderr:
            parts.append("last stderr lines:\n" + "\n".join(self._stderr))
        if feed.bad_examples:
            parts.append("latest unparsable lines:\n" + "\n".join(feed.bad_examples))
        ctx.set_details("\n\n".join(parts))

    def _failure(self, code: int) -> CommandError:
        if code < 0:
            try:
                how = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
        else:
            how = f"exited with code {code}"
        last = f": {self._stderr[-1]}" if self._stderr else ""
        exc = CommandError(f"command {how}{last}")
        if self._stderr:
            exc.add_note("last stderr lines:\n" + "\n".join(self._stderr))
        return exc

    # -- starting and ending the program -------------------------------------------------
    def _start(self) -> subprocess.Popen:
        argv, cwd = self.p["argv"], self.p["cwd"] or None
        if cwd is not None and not os.path.isdir(cwd):
            raise CommandError(f"working directory not found: {cwd}")
        try:
            self._proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                process_group=0, cwd=cwd, env=self.env, close_fds=True,
            )  # fmt: skip
        except FileNotFoundError:
            raise CommandError(f"command not found: {argv[0]}") from None
        except PermissionError:
            raise CommandError(f"permission denied: {argv[0]}") from None
        except OSError as exc:
            raise CommandError(f"could not start {argv[0]}: {exc.strerror or exc}") from None
        return self._proc

    def cleanup(self) -> None:
        """End the program's process group (SIGTERM, then SIGKILL), however the run ends."""
        self._end_group()

    def _end_group(self) -> None:
        proc = self._proc
        with self._ending:
            if proc is None:
                return
            first, self._ended = not self._ended, True
        if not first:  # another thread is at it (the lifeline, the app being gone): wait for
            self._group_ended.wait(TERM_GRACE_S + 2.0)  # it, or the process could end first
            return
        try:
            self._end(proc)
        finally:
            self._group_ended.set()

    @staticmethod
    def _end(proc: subprocess.Popen) -> None:
        pgid = proc.pid  # it leads its group; an unreaped leader keeps the id from reuse
        if _signal_group(pgid, signal.SIGTERM):
            deadline = time.monotonic() + TERM_GRACE_S
            while time.monotonic() < deadline:
                proc.poll()  # reap the leader: a zombie still counts as a member of its group
                if not _signal_group(pgid, 0):
                    break
                time.sleep(0.02)  # not the producer's loop: Stop already came, or the end
            _signal_group(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(1.0)


def _signal_group(pgid: int, sig: int) -> bool:
    """Send `sig` to the group; False if nobody is left in it."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member became someone else's (setuid): not ours to end
        return False
    return True


def _environment(extra: dict) -> dict[str, str]:
    """The app's environment with `extra` over it; values as text (booleans as TOML writes
    them). Refuses what the OS cannot hold, here rather than as a failed start."""
    env = dict(os.environ)
    for key, value in extra.items():
        if not key or "=" in key or "\0" in key:
            raise ParamError("env", f"env: {short_repr(key)} is not a valid variable name")
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, str | int | float):
            text = str(value)
        else:
            raise ParamError(
                "env", f"env: {key} must be a string or a number, got {short_repr(value)}"
            )
        if "\0" in text:
            raise ParamError("env", f"env: {key} holds a NUL character")
        env[key] = text
    return env


def _short(argv: list[str], limit: int = 60) -> str:
    """The command line for a status: the program's base name and its arguments, shortened."""
    text = shlex.join([os.path.basename(argv[0]), *argv[1:]])
    return text if len(text) <= limit else text[: limit - 1] + "…"
