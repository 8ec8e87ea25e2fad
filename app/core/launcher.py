"""Starts real producer processes: one private pipe each, forked from a clean fork server.

Never fork the app itself: it holds a QApplication and threads, and forking those is undefined.
Producers are forked from multiprocessing's *fork server*, a small process started once (by
spawn: a fresh interpreter, no Qt, no threads) that has already imported numpy and the producer
kinds. Measured on 2 cores: a spawned producer costs ~205 ms of CPU to start (a new interpreter
importing numpy, and the app's main module again); a forked one ~25 ms, so 100 producers start in
about a second instead of ~20 s of CPU.

The parent closes its copy of the pipe's write end right after start, so the producer's death
(however it dies) is an EOF on the reader. Each run gets a `Tally` in shared memory: its counters
reach the app even when the pipe is backed up or the process was killed.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import multiprocessing as mp
import os
import pickle
import resource
import signal
import threading
import time
from multiprocessing import forkserver, spawn, util

from app.core.channel import Channel, RunKey
from app.core.session import resolved_params
from producers.registry import target_of
from producers.runtime import LaunchSpec, child_main
from producers.tally import SLOTS, Tally

F_SETPIPE_SZ = 1031  # Linux: a 1 MiB pipe lets a 10 ms batch at full rate go in one write
PIPE_BYTES = 1 << 20
FDS_PER_PRODUCER = 4  # data reader, stop writer, exit-status pipe, parent sentinel
PRELOAD = ["producers.forkserver_init"]  # its own process group, the kinds preloaded
# the fork server's environment: producers never need a pool of BLAS threads each
SERVER_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


PROCESS_PREFIX = "streamscope:"


def _preparation_without_main(name: str, _original=spawn.get_preparation_data) -> dict:
    """multiprocessing makes every child import the parent's main module again (so objects
    defined there unpickle). A producer needs nothing from it, and it can be heavy: a script that
    imports Qt made each of 100 producers import Qt, seconds of CPU that starved the window while
    they started. So our producers (named PROCESS_PREFIX...) skip it; other processes do not."""
    data = _original(name)
    if name.startswith(PROCESS_PREFIX):
        data.pop("init_main_from_name", None)
        data.pop("init_main_from_path", None)
    return data


spawn.get_preparation_data = _preparation_without_main


class LaunchError(RuntimeError):
    """A producer could not be started; the message says why in the user's terms."""


class ProducerProcess:
    """The supervisor's ProcessHandle around a multiprocessing.Process."""

    def __init__(self, process: mp.Process, stop_writer, key: RunKey, tally: Tally):
        self._process = process
        self._stop_writer = stop_writer
        self.pid = process.pid
        self.key = key
        self.tally = tally
        self.groups: list[int] = []  # process groups the producer started (a command's)

    def adopt_groups(self, pgids: list[int]) -> None:
        """Process groups the producer says it started: ended with the run. Only groups led by
        a child of the producer are taken, so a confused producer cannot name ours."""
        for pgid in pgids:
            if pgid not in self.groups and _parent_of(pgid) == self.pid:
                self.groups.append(pgid)

    def end_groups(self) -> None:
        """SIGKILL what the run left behind: its own process group (every producer leads one:
        pool workers, a grandchild that ignored SIGTERM) and the groups it adopted. A reaped
        producer's pid is not reused while its group has members, so this hits only them."""
        for pgid in (self.pid, *self.groups):
            if pgid and pgid != os.getpgrp():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pgid, signal.SIGKILL)

    @property
    def exitcode(self) -> int | None:
        return self._process.exitcode  # non-blocking

    def request_stop(self) -> None:
        self._stop_writer.close()  # EOF on the child's stop pipe; never blocks

    def terminate(self) -> None:
        with contextlib.suppress(ProcessLookupError, ValueError):
            self._process.terminate()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, ValueError):
            self._process.kill()

    def join(self, timeout: float) -> None:
        """Only for a final shutdown, after kill(): reaping a SIGKILLed child takes ms."""
        with contextlib.suppress(ValueError):
            self._process.join(timeout)

    def close(self) -> None:
        """After the process was reaped: end what it left behind and free the handle."""
        self.end_groups()
        self._stop_writer.close()
        with contextlib.suppress(ValueError):
            self._process.close()


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        return int(stat[stat.rindex(b")") + 2 :].split()[1])  # after "pid (comm) state"
    except (OSError, ValueError, IndexError):
        return None


class ProcessLauncher:
    def __init__(self, channel: Channel, batch_interval: float = 0.01):
        self._channel = channel
        self._ctx = mp.get_context("forkserver")
        self._batch_interval = batch_interval
        self._server = False  # the fork server is started by the first launch, not before

    def launch(self, spec, generation: int) -> ProducerProcess:
        if not self._server:
            self._server = _FORK_SERVER.acquire(self._ctx)
        key = RunKey(spec.name, generation)
        launch = LaunchSpec(
            spec.name,
            spec.kind,
            resolved_params(spec),
            self._batch_interval,
            target=target_of(spec.kind),
        )
        pickle.dumps(launch)  # fail here, with a clear message, not in the child
        try:
            return self._start(launch, key)
        except OSError as exc:
            raise LaunchError(_describe_os_error(exc)) from exc

    def _start(self, launch: LaunchSpec, key: RunKey) -> ProducerProcess:
        reader, writer = self._ctx.Pipe(duplex=False)
        _enlarge_pipe(writer)
        stop_reader, stop_writer = self._ctx.Pipe(duplex=False)
        cells = self._ctx.RawArray("q", SLOTS)
        process = self._ctx.Process(
            target=child_main,
            args=(launch, writer, stop_reader, cells),
            name=f"{PROCESS_PREFIX}{launch.name}",
            daemon=True,
        )
        try:
            process.start()
        except BaseException:
            reader.close()
            stop_writer.close()
            raise
        finally:  # the child has its own copies now; ours would hide its EOFs
            writer.close()
            stop_reader.close()
        self._channel.add(key, reader)
        return ProducerProcess(process, stop_writer, key, Tally(cells))

    def close(self) -> None:
        """No more launches from this launcher: the fork server ends with its last user (call
        once every producer has been reaped)."""
        if self._server:
            self._server = False
            _FORK_SERVER.release()


class _ForkServer:
    """Starts multiprocessing's fork server with our preload and environment, and stops it once
    no engine uses it (so a closed window leaves no process behind, not even the server)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._users = 0

    def acquire(self, ctx) -> bool:
        with self._lock:
            self._users += 1
            if self._users == 1:
                raise_fd_limit()
                ctx.set_forkserver_preload(PRELOAD)
                with _environment(SERVER_ENV):
                    forkserver.ensure_running()
        return True

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                _stop_fork_server()


def _stop_fork_server(timeout: float = 2.0) -> None:
    """Close our end of the server's "alive" pipe (it exits once every process holding that
    end is gone: ours, and producers, which are all reaped by now) and reap it, or kill it after
    `timeout`. multiprocessing's own `_stop` waits without a limit."""
    server = forkserver._forkserver
    with server._lock:
        pid = server._forkserver_pid
        if pid is None:
            return
        os.close(server._forkserver_alive_fd)
        server._forkserver_alive_fd = server._forkserver_pid = None
        deadline = time.monotonic() + timeout
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(pid, os.WNOHANG) == (0, 0):
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    break
                time.sleep(0.005)  # at shutdown, for the few ms the server takes to exit
        address, server._forkserver_address = server._forkserver_address, None
        if address and not util.is_abstract_socket_namespace(address):
            with contextlib.suppress(OSError):
                os.unlink(address)


_FORK_SERVER = _ForkServer()


@contextlib.contextmanager
def _environment(values: dict[str, str]):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update({k: v for k, v in values.items() if saved[k] is None})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)


def raise_fd_limit() -> tuple[int, int]:
    """Raise the open-file soft limit to the hard limit (each producer holds ~4 descriptors here;
    a desktop's default soft limit of 1024 would cap a session at ~250). Returns (soft, hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    return soft, hard


def _describe_os_error(exc: OSError) -> str:
    if exc.errno in (errno.EMFILE, errno.ENFILE):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        return (
            f"too many open files (limit {soft}, about {FDS_PER_PRODUCER} per producer): "
            f"stop some producers, or raise the limit (ulimit -n; hard limit {hard})"
        )
    if exc.errno == errno.EAGAIN:
        return "the system refused a new process (too many processes: see ulimit -u)"
    return f"{exc.strerror or exc}"


def _enlarge_pipe(conn) -> None:
    # capped by /proc/sys/fs/pipe-max-size: the default size still works
    with contextlib.suppress(OSError):
        fcntl.fcntl(conn.fileno(), F_SETPIPE_SZ, PIPE_BYTES)


def producer_processes(root) -> list:
    """The producer processes under `root` (a psutil.Process, e.g. the app's): the children of
    the fork server it started, so its grandchildren. For tools that watch an app from outside
    (tests, benchmarks)."""
    import psutil  # only such tools need it here

    found = []
    for child in root.children(recursive=True):
        try:
            parent = child.parent()
            if parent is not None and "forkserver import main" in " ".join(parent.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found
