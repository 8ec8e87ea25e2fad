"""The publishing side of `streamscope publish`: the engine's batches out through an MQTT broker.

Why a queue and a thread of its own: the engine's draining thread hands every batch to
`submit`, like the recorder's, and must never wait on the network (a slow or absent broker
would back up the producers' pipes). `submit` only queues (bounded in bytes); a thread takes
what queued every INTERVAL_S, encodes each producer's samples with `producers.wire.encode_data`
(one message per producer per interval) and hands them to paho's own network thread.

Every sample submitted ends up in exactly one count per producer: *published* (paho wrote its
message to the broker's connection) or *dropped*: the queue was full, the broker was not
connected (while it is down nothing can be sent, and the samples are counted, never silently
lost), too much was already waiting for the socket, or the connection broke before the message
was written. Dropped samples show in the producer's status and in the summary.

The connection is paho's: `connect_async` + `loop_start`, reconnecting by itself every
0.5-2 s, so a broker that is down at start or restarts is waited for. Each (re)connect
republishes the retained `_publisher` online message and every producer's status. The Last
Will (`publisher lost`) fires when the broker stops hearing from us for 1.5 x KEEPALIVE_S (at
once if our process dies: its socket closes). A broker that refuses our credentials is fatal
(`fatal` says why): retrying a wrong password helps no one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import ssl
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from app.core import mqtt_contract as contract
from producers.params import one_line
from producers.wire import Chunk, encode_data

log = logging.getLogger("streamscope")

MiB = 1 << 20
INTERVAL_S = 0.025  # samples of this long go out as one message per producer
STATUS_EVERY_S = 1.9  # every status again this often, changed or not (contract: <= 2 s)
KEEPALIVE_S = 5  # the broker publishes the Will after 1.5 x this without hearing from us
RECONNECT_DELAY_S = (0.5, 2.0)  # paho retries after 0.5 s, doubling up to 2 s
CONNECT_TIMEOUT_S = 3.0
QUEUE_BYTES = 64 * MiB  # samples waiting for the publishing thread
PENDING_BYTES = 32 * MiB  # messages handed to paho, not yet written to the socket
MESSAGE_BYTES = 8 * MiB  # a backlog larger than this goes out as several messages
_CHUNK_OVERHEAD = 200  # bytes of Python objects around a chunk's arrays, for the queue bound
_REFUSED_CREDENTIALS = (4, 5, 134, 135)  # MQTT 3.1.1 and 5 codes: bad user/password, not auth.
_OK = MQTTErrorCode.MQTT_ERR_SUCCESS


class PublishSetupError(ValueError):
    """Options that cannot work (a CA file that cannot be read): one line for the user."""


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_broker(text: str) -> BrokerAddress:
    """`HOST:PORT` (`[::1]:1883` for IPv6) -> BrokerAddress; ValueError says what is wrong."""
    match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d{1,5})|([^\s:\[\]/]+):(\d{1,5})", text)
    if not match:
        raise ValueError(f"expected HOST:PORT (e.g. localhost:1883), got {text!r}")
    host = match.group(1) or match.group(3)
    port = int(match.group(2) or match.group(4))
    if not 0 < port < 65536:
        raise ValueError(f"port must be 1-65535, got {port}")
    return BrokerAddress(host, port)


@dataclass(frozen=True)
class PublishSummary:
    """Per producer: samples published, and samples the publisher could not publish (not the
    producer's own drops, which the engine's counters hold)."""

    published: dict[str, int]
    not_published: dict[str, int]
    connected_at_end: bool


class _Client(mqtt.Client):
    """paho's client, remembering why the last connection attempt failed: its network thread
    retries without telling, and `waiting for broker X: connection refused` needs the why."""

    last_error: OSError | None = None

    def reconnect(self) -> MQTTErrorCode:
        try:
            return super().reconnect()
        except OSError as exc:
            self.last_error = exc
            raise


def _describe(exc: OSError | None) -> str:
    """`connection refused`, `TLS: certificate verify failed: ...`: one line for the user."""
    if exc is None:
        return "cannot connect"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return one_line(f"TLS: certificate verify failed: {exc.verify_message}")
    if isinstance(exc, ssl.SSLError):
        return one_line(f"TLS: {exc.reason or exc}")
    text = exc.strerror or str(exc) or type(exc).__name__
    return one_line(text[:1].lower() + text[1:])


def _nbytes(chunk: Chunk) -> int:
    size = _CHUNK_OVERHEAD + chunk.values.nbytes
    return size + (chunk.explicit_times.nbytes if chunk.explicit_times is not None else 0)


class MqttPublisher:
    """A sink for the engine's pipeline (`engine.attach_recorder(publisher)`) that publishes
    to `broker` under `prefix`; call `start()`, and `close()` at the end."""

    def __init__(
        self,
        engine,
        broker: BrokerAddress,
        *,
        prefix: str,
        username: str | None = None,
        password: str | None = None,
        ca_file: str | None = None,
        allow_control: bool = False,
        keepalive: int = KEEPALIVE_S,
        queue_bytes: int = QUEUE_BYTES,
        interval: float = INTERVAL_S,
    ):
        self._engine = engine
        self.broker = broker
        self.topics = contract.Topics(contract.check_prefix(prefix))
        self.allow_control = allow_control
        self._names = list(engine.names)
        self._host = socket.gethostname()
        self._keepalive = keepalive
        self._queue_bytes = queue_bytes
        self._interval = interval
        self._lock = threading.Lock()  # the queue and the counts
        self._queue: list[list[tuple[str, Chunk]]] = []
        self._queued_bytes = 0
        self._published: Counter = Counter()
        self._dropped: Counter = Counter()
        self._cycle_lock = threading.Lock()  # the publishing thread's state (pending, statuses)
        self._pending: deque = deque()  # (MQTTMessageInfo, producer, samples, bytes)
        self._pending_bytes = 0
        self._said: dict[str, tuple] = {}  # producer -> what its last status said
        self._status_generation = 0
        self._next_beat = 0.0
        self._connected = False
        self._generation = 0  # successful connections so far
        self._waiting_said = False
        self._closing = False
        self._fatal: str | None = None
        self._outcome = threading.Event()  # the first connection attempt has an outcome
        self._stop = threading.Event()
        self._client = self._make_client(username, password, ca_file)
        self._thread = threading.Thread(target=self._run, name="mqtt-publisher", daemon=True)

    def _make_client(self, username, password, ca_file) -> _Client:
        client_id = f"streamscope-publish-{self._host}-{os.getpid()}"[:64]
        client = _Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        if username is not None:
            client.username_pw_set(username, password)
        if ca_file is not None:
            try:
                client.tls_set(ca_certs=ca_file)
            except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
                raise PublishSetupError(f"--tls {ca_file}: {_describe(exc)}") from None
        client.will_set(
            self.topics.publisher, contract.encode_json(contract.LOST),
            qos=contract.PUBLISHER_QOS, retain=True,
        )  # fmt: skip
        client.reconnect_delay_set(*RECONNECT_DELAY_S)
        client.connect_timeout = CONNECT_TIMEOUT_S
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    # -- the caller's side --------------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background (and keep reconnecting), start the publishing thread."""
        self._client.connect_async(self.broker.host, self.broker.port, keepalive=self._keepalive)
        self._client.loop_start()
        self._thread.start()

    def wait_first_outcome(self, timeout: float) -> bool:
        """Wait until the first connection attempt succeeded or failed; False on timeout."""
        return self._outcome.wait(timeout)

    @property
    def fatal(self) -> str | None:
        """Why publishing cannot go on (the broker refused our credentials), or None."""
        return self._fatal

    @property
    def connected(self) -> bool:
        return self._connected

    def counts(self, name: str) -> tuple[int, int]:
        """(published, not published) samples of producer `name` so far."""
        with self._lock:
            return self._published[name], self._dropped[name]

    # -- the draining thread's side -----------------------------------------------------------
    def submit(self, chunks) -> bool:
        """Queue one drain cycle's `(producer, chunk)` pairs. Never blocks on the network;
        returns False if they were dropped (queue full, closing), counted per producer."""
        chunks = [(p, c) for p, c in chunks if len(c)]
        if not chunks:
            return True
        nbytes = sum(_nbytes(c) for _, c in chunks)
        with self._lock:
            if not self._closing and self._queued_bytes + nbytes <= self._queue_bytes:
                self._queue.append(chunks)
                self._queued_bytes += nbytes
                return True
            for name, chunk in chunks:
                self._dropped[name] += len(chunk)
        return False

    # -- the publishing thread ----------------------------------------------------------------
    def _run(self) -> None:
        while True:
            stopping = self._stop.wait(self._interval)
            try:
                with self._cycle_lock:
                    self._send_queued()
                    self._settle()
                    self._send_statuses()
            except Exception:  # publishing must outlive a bug in one cycle
                log.exception("publishing failed")
            if stopping:
                return

    def _send_queued(self) -> None:
        with self._lock:
            items, self._queue, self._queued_bytes = self._queue, [], 0
        by_producer: dict[str, list[Chunk]] = {}
        for chunks in items:
            for name, chunk in chunks:
                by_producer.setdefault(name, []).append(chunk)
        for name, chunks in by_producer.items():
            for part in _split(chunks, MESSAGE_BYTES):
                self._send(name, part)

    def _send(self, name: str, chunks: list[Chunk]) -> None:
        samples = sum(len(c) for c in chunks)
        if not self._connected or self._pending_bytes > PENDING_BYTES:
            self._drop(name, samples)
            return
        producer_drops = self._engine.counters.snapshot(name).dropped
        with self._lock:
            dropped_total = producer_drops + self._dropped[name]
        payload = encode_data(chunks, time.time(), dropped_total)
        info = self._client.publish(self.topics.data(name), payload, qos=contract.DATA_QOS)
        if info.rc != _OK:
            self._drop(name, samples)
            return
        self._pending.append((info, name, samples, len(payload)))
        self._pending_bytes += len(payload)

    def _drop(self, name: str, samples: int) -> None:
        with self._lock:
            self._dropped[name] += samples

    def _settle(self, give_up: bool = False) -> None:
        """Count the messages paho has written (published) or lost (dropped); with `give_up`,
        those still waiting count as dropped."""
        waiting: deque = deque()
        for item in self._pending:
            info, name, samples, size = item
            outcome = _outcome(info)
            if outcome is None and not give_up:
                waiting.append(item)
                continue
            self._pending_bytes -= size
            with self._lock:
                (self._published if outcome else self._dropped)[name] += samples
        self._pending = waiting

    def _send_statuses(self, everything: bool = False) -> None:
        """Each producer's status when what it says changed, and all every STATUS_EVERY_S and
        after each (re)connect."""
        if not self._connected:
            return
        now = time.monotonic()
        generation = self._generation
        if generation != self._status_generation or now >= self._next_beat:
            everything = True
            self._status_generation, self._next_beat = generation, now + STATUS_EVERY_S
        view = self._engine.view
        for row in view.rows:
            info = view.entries.get(row.name)
            if info is None:
                continue
            said = (info.state, row.state_text, info.pid, row.error)
            if everything or self._said.get(row.name) != said:
                self._said[row.name] = said
                self._client.publish(
                    self.topics.status(row.name), contract.encode_json(self._status(row, info)),
                    qos=contract.STATUS_QOS, retain=True,
                )  # fmt: skip

    def _status(self, row, info) -> dict:
        counters = self._engine.counters
        counts = counters.snapshot(row.name)
        published, not_published = self.counts(row.name)
        return contract.status_payload(
            row, info, counts, counters.rate(row.name), published,
            counts.dropped + not_published, self._host,
        )  # fmt: skip

    # -- paho's network thread ----------------------------------------------------------------
    def _on_connect(self, client, _userdata, _flags, reason, _properties) -> None:
        if reason.is_failure:
            if reason.value in _REFUSED_CREDENTIALS:
                self._fatal = f"broker {self.broker} refused the connection: {reason}"
                client.disconnect()  # no retries: the same credentials would fail again
            elif not self._waiting_said:
                self._waiting_said = True
                log.warning("waiting for broker %s: it refused the connection: %s",
                            self.broker, reason)  # fmt: skip
            self._outcome.set()
            return
        again = " again" if self._generation else ""
        client.subscribe(self.topics.all_cmds, qos=contract.CMD_QOS)
        client.publish(
            self.topics.publisher,
            contract.online_payload(self._host, os.getpid(), self._names, self.allow_control),
            qos=contract.PUBLISHER_QOS, retain=True,
        )  # fmt: skip
        self._generation += 1  # the publishing thread republishes every status
        self._connected = True
        self._waiting_said = False
        log.info("connected to broker %s%s, publishing under %s/", self.broker, again,
                 self.topics.prefix)  # fmt: skip
        self._outcome.set()

    def _on_connect_fail(self, client, _userdata) -> None:
        self._outcome.set()
        if not self._waiting_said and not self._closing:
            self._waiting_said = True
            log.warning("waiting for broker %s: %s", self.broker, _describe(client.last_error))

    def _on_disconnect(self, _client, _userdata, _flags, reason, _properties) -> None:
        was, self._connected = self._connected, False
        if was and not self._closing:
            log.warning("lost the connection to broker %s (%s): reconnecting; samples are "
                        "counted as dropped until then", self.broker, reason)  # fmt: skip

    def _on_message(self, _client, _userdata, message) -> None:
        name = self.topics.producer_of_cmd(message.topic)
        if name is None:
            return
        if name not in self._names:
            log.warning("ignored command for unknown producer %r", one_line(name)[:80])
            return
        if message.retain:  # a command left on the broker: stale, whoever left it
            log.warning("ignored a retained command for %s (commands must not be retained)", name)
            return
        try:
            command = contract.parse_command(message.payload)
        except contract.ContractError as exc:
            log.warning("ignored command for %s: %s", name, one_line(str(exc)))
            return
        if not self.allow_control:
            log.warning("ignored command %s for %s (publish runs without --allow-control)",
                        command, name)  # fmt: skip
            return
        log.info("command from the broker: %s %s", command, name)
        if command == "start":
            self._engine.start(name)
        else:
            self._engine.stop(name)

    # -- the end ------------------------------------------------------------------------------
    def close(self, timeout: float = 1.0) -> PublishSummary:
        """Publish what is queued, every producer's final status and `publisher stopped`, then
        disconnect, all within about `timeout` s. Call after the engine stopped feeding us."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._closing = True
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(max(deadline - time.monotonic() - 0.3, 0.05))
        with self._cycle_lock:
            if self._thread.ident is None:  # never started
                self._send_queued()
            while self._pending and self._connected and time.monotonic() < deadline - 0.3:
                self._settle()
                time.sleep(0.005)  # paho's thread is writing them out
            self._settle(give_up=True)
            with self._lock:
                for chunks in self._queue:  # the thread did not get to them in time
                    for name, chunk in chunks:
                        self._dropped[name] += len(chunk)
                self._queue, self._queued_bytes = [], 0
            connected = self._connected
            if connected:
                self._send_statuses(everything=True)
                info = self._client.publish(
                    self.topics.publisher, contract.encode_json(contract.STOPPED),
                    qos=contract.PUBLISHER_QOS, retain=True,
                )  # fmt: skip
                with contextlib.suppress(RuntimeError, ValueError):
                    info.wait_for_publish(max(deadline - time.monotonic() - 0.1, 0.1))
        self._client.disconnect()
        # loop_stop joins paho's thread, which may sit in a connect attempt: not past deadline
        stopper = threading.Thread(target=self._client.loop_stop, daemon=True)
        stopper.start()
        stopper.join(max(deadline - time.monotonic(), 0.1))
        with self._lock:
            return PublishSummary(dict(self._published), dict(self._dropped), connected)


def _outcome(info) -> bool | None:
    """True: written to the broker's connection; False: lost; None: not yet known."""
    if info.rc != _OK:
        return False
    try:
        if not info.is_published():
            return None
    except (RuntimeError, ValueError):  # the connection broke: paho marked it lost
        return False
    return info.rc == _OK  # read after: paho sets the error before the published flag


def _split(chunks: list[Chunk], limit: int) -> list[list[Chunk]]:
    """Chunks in runs of at most `limit` bytes (one message each); a single larger chunk is a
    run of its own."""
    parts, part, size = [], [], 0
    for chunk in chunks:
        n = _nbytes(chunk)
        if part and size + n > limit:
            parts.append(part)
            part, size = [], 0
        part.append(chunk)
        size += n
    if part:
        parts.append(part)
    return parts
