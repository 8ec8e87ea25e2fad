"""A real MQTT broker for tests: Debian's `mosquitto` on a free loopback port.

Each `Broker` writes its own config (and password file) into a temporary folder, listens on
127.0.0.1 only, and keeps nothing on disk between runs (no persistence). `stop()` and `start()`
again on the same port simulate a broker restart; `kill()` a crash. `make test` installs the
package (see the Makefile's DEB_PACKAGES); without it these tests are skipped with that reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"


def available() -> bool:
    return os.access(MOSQUITTO, os.X_OK)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, users: dict[str, str] | None = None, port: int | None = None):
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.folder = Path(tempfile.mkdtemp(prefix="mosquitto-"))
        # started as root, mosquitto drops to its own user, which must read the config
        self.folder.chmod(0o755)
        self.users = users or {}
        self.process: subprocess.Popen | None = None
        self._write_config()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def _write_config(self) -> None:
        lines = [
            f"listener {self.port} 127.0.0.1",
            "persistence false",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "max_queued_messages 100000",
        ]
        if self.users:
            passwords = self.folder / "passwords"
            passwords.touch(mode=0o644)
            for user, password in self.users.items():
                subprocess.run([PASSWD, "-b", str(passwords), user, password], check=True)
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        else:
            lines.append("allow_anonymous true")
        (self.folder / "mosquitto.conf").write_text("\n".join(lines) + "\n")

    def start(self, timeout: float = 10.0) -> Broker:
        assert self.process is None, "already running"
        log = open(self.folder / "broker.log", "ab")  # noqa: SIM115 (the broker writes it)
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.folder / "mosquitto.conf")],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while not self._listening():
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log()}")
            assert time.monotonic() < deadline, f"mosquitto did not listen: {self.log()}"
            time.sleep(0.02)  # a test thread waiting for a subprocess to listen
        return self

    def _listening(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), 0.2):
            return True
        return False

    def stop(self) -> None:
        """An orderly stop (SIGTERM); the port is free again afterwards."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
            self.process = None

    def kill(self) -> None:
        """A crash (SIGKILL): clients see their connection drop."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(5)
            self.process = None

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.folder / "broker.log").read_text(errors="replace")[-2000:]
        return ""

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
