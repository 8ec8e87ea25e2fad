"""The MQTT contract between `streamscope publish` and the dashboards that read it: topics,
payloads, and the checks on what arrives from the broker.

Kept apart from the connection (app.core.mqtt_publisher) so the words a subscriber reads are
plain functions of the engine's view, testable without a broker.

    <prefix>/<producer>/data   QoS 0, not retained: producers.wire.encode_data bytes
    <prefix>/<producer>/status QoS 1, retained: JSON (status_payload)
    <prefix>/_publisher        QoS 1, retained: JSON online message; the Will says "lost"
    <prefix>/<producer>/cmd    QoS 1, not retained: {"command": "start" | "stop"}
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass

from app.core.supervisor import ALIVE

DATA_QOS, STATUS_QOS, PUBLISHER_QOS, CMD_QOS = 0, 1, 1, 1
COMMANDS = ("start", "stop")
MAX_COMMAND_BYTES = 1024  # a command is a few bytes: a larger one is not parsed at all
LOST = {"online": False, "reason": "publisher lost"}  # the Will
STOPPED = {"online": False, "reason": "publisher stopped"}


class ContractError(ValueError):
    """A value that breaks the contract (a prefix with wildcards, a malformed command)."""


def default_prefix() -> str:
    return f"streamscope/{socket.gethostname()}"


def check_prefix(prefix: str) -> str:
    """A topic prefix we can publish under and subscribe below: no wildcards, no empty end."""
    prefix = prefix.rstrip("/")
    if not prefix:
        raise ContractError("the prefix is empty")
    if "+" in prefix or "#" in prefix or "\0" in prefix:
        raise ContractError(f"the prefix may not contain '+', '#' or NUL: {prefix!r}")
    return prefix


@dataclass(frozen=True)
class Topics:
    prefix: str

    def data(self, producer: str) -> str:
        return f"{self.prefix}/{producer}/data"

    def status(self, producer: str) -> str:
        return f"{self.prefix}/{producer}/status"

    def cmd(self, producer: str) -> str:
        return f"{self.prefix}/{producer}/cmd"

    @property
    def publisher(self) -> str:
        return f"{self.prefix}/_publisher"

    @property
    def all_cmds(self) -> str:
        return f"{self.prefix}/+/cmd"

    def producer_of_cmd(self, topic: str) -> str | None:
        """`<prefix>/<name>/cmd` -> name (None for any other topic)."""
        head, tail = f"{self.prefix}/", "/cmd"
        if not (topic.startswith(head) and topic.endswith(tail)):
            return None
        name = topic[len(head) : -len(tail)]
        return name if name and "/" not in name else None


def parse_command(payload: bytes) -> str:
    """The command a cmd message asks for; ContractError (one line) for anything else."""
    if len(payload) > MAX_COMMAND_BYTES:
        raise ContractError(f"a {len(payload):,}-byte message is not a command")
    try:
        message = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ContractError(f"not JSON: {payload[:60]!r}") from None
    if not isinstance(message, dict) or message.get("command") not in COMMANDS:
        raise ContractError(f"not a start/stop command: {json.dumps(message)[:80]}")
    return message["command"]


def online_payload(host: str, pid: int, producers: list[str], control: bool) -> bytes:
    message = {"online": True, "host": host, "pid": pid, "producers": producers,
               "control": control, "time": time.time()}  # fmt: skip
    return json.dumps(message).encode()


def status_payload(row, info, counts, rate: float, published: int, dropped: int, host: str) -> dict:
    """One producer's status: `row` (app.core.producer_rows.RowStatus) for the words, `info`
    (engine_view.EntryInfo) for state and pid, `counts` (counters.ProducerCounts) for what the
    engine received; `published`/`dropped` are the publisher's (dropped includes the samples the
    producer itself could not send to the engine)."""
    alive = info.state in ALIVE
    return {
        "producer": row.name,
        "kind": row.kind,
        "state": info.state.value,
        "state_text": row.state_text,
        "pid": info.pid if alive and info.pid else None,
        "rate": float(rate) if alive else 0.0,
        "total": int(counts.samples),
        "published": int(published),
        "dropped": int(dropped),
        "error": row.error,
        "host": host,
        "time": time.time(),
    }


def encode_json(message: dict) -> bytes:
    return json.dumps(message).encode()
