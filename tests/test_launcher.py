"""app.core.launcher: producers forked from a fork server that ends with its last user, the
open-file limit raised, and running out of it said in a user's words."""

from __future__ import annotations

import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil

from app.core.channel import Channel
from app.core.launcher import ProcessLauncher, raise_fd_limit
from app.core.session import ProducerSpec

ROOT = Path(__file__).resolve().parent.parent
SPEC = ProducerSpec("a", "sine", {"rate_hz": 10.0, "frequency_hz": 1.0, "amplitude": 1.0,
                                  "phase_deg": 0.0, "offset": 0.0, "channels": 1})  # fmt: skip


def server_processes() -> list[psutil.Process]:
    return [
        p for p in psutil.Process().children()
        if "forkserver import main" in " ".join(p.cmdline())
    ]  # fmt: skip


def test_the_fork_server_starts_with_the_first_launch_and_ends_with_the_last_user():
    channel = Channel()
    launcher = ProcessLauncher(channel)
    assert server_processes() == []  # nothing started before it is needed
    handle = launcher.launch(SPEC, 1)
    try:
        (server,) = server_processes()
        assert psutil.Process(handle.pid).parent().pid == server.pid  # forked from it
        assert handle.tally.generated >= 0
    finally:
        handle.request_stop()
        handle.join(5)
        handle.close()
        launcher.close()
        channel.close()
    assert server_processes() == []


def test_the_open_file_limit_is_raised_to_the_hard_limit():
    soft, hard = raise_fd_limit()
    assert (soft, hard) == resource.getrlimit(resource.RLIMIT_NOFILE)
    assert soft == hard


def test_running_out_of_file_descriptors_is_a_clear_message():
    script = textwrap.dedent(
        """
        import resource, sys
        from app.core.engine import Engine
        from app.core.launcher import ProcessLauncher
        import app.core.launcher as launcher
        from tests.helpers import producer, session_from
        if __name__ == "__main__":
            launcher.raise_fd_limit = lambda: resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
            engine = Engine(session_from("".join(
                producer(f"p{i}", "sine", rate_hz=10.0) for i in range(40))))
            engine.start_autostart()
            import time
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                engine.drain(0.05)
                errors = [r.error for r in engine.view.rows if r.error]
                if errors:
                    print(errors[0])
                    break
            engine.shutdown()
            while not engine.view.drained and time.monotonic() < deadline + 10:
                engine.drain(0.05)
            engine.close()
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert "too many open files (limit 64" in done.stdout, done.stdout + done.stderr
    assert "ulimit -n" in done.stdout
