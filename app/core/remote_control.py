"""Start and Stop for producers running elsewhere, through the broker their subscriber uses.

A row `<subscriber>:<host>/<producer>` (an `mqtt` producer in remote mode reports it) can be
started or stopped from here only if its publisher runs with `--allow-control`: it then
announces `control: true`, and the subscriber passes on the producer's command topic
(`<prefix>/<producer>/cmd`). A command is one JSON message, `{"command": "start"}`, QoS 1,
published with the subscriber's own broker settings (host, port, user, the password from the
environment variable its session names, TLS). The publisher applies it and its next status
shows the result; a publisher without `--allow-control` ignores and logs it.

Network I/O happens on a thread of its own, one command at a time, never on the caller's (the
engine's control thread, which must stay responsive): a broker that does not answer costs
that thread up to `TIMEOUT_S` per command, and the outcome is told through `on_done`.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from producers.mqtt_client import new_client

TIMEOUT_S = 5.0
COMMANDS = ("start", "stop")


@dataclass
class RemoteCommand:
    params: dict  # the subscriber's parameters: host, port, username, password_env, tls, ca_file
    topic: str  # the producer's command topic
    command: str  # "start" | "stop"
    label: str  # the row's name, for messages


class RemoteControl:
    def __init__(self, on_done: Callable[[RemoteCommand, str | None], None]):
        """`on_done(command, error)` is called on this module's thread after each command:
        error None when the broker took it, else why not (one line)."""
        self._on_done = on_done
        self._queue: queue.Queue[RemoteCommand | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def send(self, command: RemoteCommand) -> None:
        if command.command not in COMMANDS:
            raise ValueError(f"unknown command {command.command!r}")
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="remote-control", daemon=True)
            self._thread.start()
        self._queue.put(command)

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(TIMEOUT_S + 1.0)
            self._thread = None

    def _loop(self) -> None:
        while (command := self._queue.get()) is not None:
            try:
                error = publish(command)
            except Exception as exc:  # whatever the network does, the thread carries on
                error = f"{type(exc).__name__}: {exc}"
            self._on_done(command, error)


def publish(command: RemoteCommand) -> str | None:
    """Publish one command and wait until the broker has it; None, or why it failed."""
    p = command.params
    try:  # the subscriber's own broker settings, as it connects with them
        client = new_client(p)
    except (RuntimeError, FileNotFoundError) as exc:
        return str(exc)
    done, outcome = threading.Event(), {}

    def on_connect(c, _userdata, _flags, reason, _props):
        if reason.is_failure:
            outcome["error"] = f"{p['host']}:{p['port']} refused: {reason}"
            done.set()
            return
        info = c.publish(command.topic, json.dumps({"command": command.command}), qos=1)
        outcome["mid"] = info.mid

    def on_publish(_c, _userdata, mid, _reason, _props):
        if mid == outcome.get("mid"):
            done.set()

    client.on_connect = on_connect
    client.on_publish = on_publish
    try:
        client.connect(p["host"], int(p["port"]), keepalive=int(TIMEOUT_S * 2))
    except OSError as exc:
        return f"cannot reach {p['host']}:{p['port']}: {exc.strerror or exc}"
    client.loop_start()
    try:
        if not done.wait(TIMEOUT_S):
            return f"{p['host']}:{p['port']} did not take the command within {TIMEOUT_S:g} s"
        return outcome.get("error")
    finally:
        client.disconnect()
        client.loop_stop()
