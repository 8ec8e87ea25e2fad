"""Starts real producer processes: spawn context, daemon, one private pipe each.

`spawn`, never fork: the GUI process holds a QApplication and threads, and forking those is
undefined. The parent closes its copy of the pipe's write end right after start, so the
producer's death (however it dies) is an EOF on the reader.
"""

from __future__ import annotations

import contextlib
import fcntl
import multiprocessing as mp
import pickle

from app.core.channel import Channel, RunKey
from producers.runtime import LaunchSpec, child_main

F_SETPIPE_SZ = 1031  # Linux: a 1 MiB pipe lets a 10 ms batch at full rate go in one write
PIPE_BYTES = 1 << 20


class SpawnedProcess:
    """The supervisor's ProcessHandle around a multiprocessing.Process."""

    def __init__(self, process: mp.Process, stop_writer):
        self._process = process
        self._stop_writer = stop_writer
        self.pid = process.pid

    @property
    def exitcode(self) -> int | None:
        return self._process.exitcode  # non-blocking: waitpid(WNOHANG), reaps the zombie

    def request_stop(self) -> None:
        self._stop_writer.close()  # EOF on the child's stop pipe; never blocks

    def terminate(self) -> None:
        self._process.terminate()

    def kill(self) -> None:
        self._process.kill()

    def join(self, timeout: float) -> None:
        """Only for the final shutdown, after kill(): reaping a SIGKILLed child takes ms."""
        self._process.join(timeout)

    def close(self) -> None:
        self._stop_writer.close()
        self._process.close()


class SpawnLauncher:
    def __init__(self, channel: Channel, batch_interval: float = 0.01):
        self._channel = channel
        self._ctx = mp.get_context("spawn")
        self._batch_interval = batch_interval

    def launch(self, spec, generation: int) -> SpawnedProcess:
        launch = LaunchSpec(spec.name, spec.kind, dict(spec.params), self._batch_interval)
        pickle.dumps(launch)  # fail here, with a clear message, not in the child
        reader, writer = self._ctx.Pipe(duplex=False)
        _enlarge_pipe(writer)
        stop_reader, stop_writer = self._ctx.Pipe(duplex=False)
        process = self._ctx.Process(
            target=child_main,
            args=(launch, writer, stop_reader),
            name=f"streamscope:{spec.name}",
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
        self._channel.add(RunKey(spec.name, generation), reader)
        return SpawnedProcess(process, stop_writer)


def _enlarge_pipe(conn) -> None:
    # capped by /proc/sys/fs/pipe-max-size: the default size still works
    with contextlib.suppress(OSError):
        fcntl.fcntl(conn.fileno(), F_SETPIPE_SZ, PIPE_BYTES)
