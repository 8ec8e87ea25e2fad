"""`mqtt`: samples from an MQTT broker: numbers, JSON, streamscope's binary batches, or the
producers of other machines published by `streamscope publish` (remote mode).

Why it is built this way:
- Our own connect loop, not paho's: paho retries a failed connection without saying why, and
  the row must say it (`RUNNING · reconnecting: connection refused (try 4)`). `run` connects,
  then drives paho's network loop itself (`client.loop(0.1)`): callbacks run on this thread,
  Stop is seen within 0.1 s, and there is no thread of paho's to end. Tries back off 1, 2, 4,
  8, 16, then every 30 s; a lost connection waits 1 s before its first try.
- A wrong password is not retried here: the broker said no, and asking again every second
  only fills its log. The run ends with `not authorized by host:port (check username 'u'
  and the password in $VAR)` as its error. A run that fails that early is a failed start to
  the supervisor, which tries 3 more times, 1, 2 and 3 s apart, then marks the row FATAL:
  4 tries in about 7 s, then none until the user starts it again.
- The password is never a parameter: `password_env` names an environment variable of the
  app's that holds it, so a saved session can be shared without it. A variable that is not
  set is the run's error, before any connection.
- A malformed message is counted and shown in the row (`3 malformed messages; last: lab/x:
  not a number: b'abc'`), never an error: one bad publisher must not stop the others.
- Subscriptions are renewed on every connection (a clean session each time): a restarted
  broker forgets them. What was published while we were away is lost.
- Empty payloads are skipped, not counted: an empty retained message is how MQTT deletes one.

paho is imported inside `run`: the fork server preloads the built-in kinds, and every other
producer would pay for an import only this kind needs.
"""

from __future__ import annotations

import contextlib
import socket
from collections import deque

from producers.base import Producer
from producers.mqtt_client import new_client
from producers.mqtt_payload import FORMATS, Malformed, PayloadReader
from producers.mqtt_remote import BadMessage, RemoteRows, check_prefix
from producers.params import Param, ParamError, one_line, path, strings

LOOP_S = 0.1  # the longest paho's network loop blocks: how late Stop may be seen
BACKOFF_S = (1, 2, 4, 8, 16, 30)  # waits before the next try, the last repeated
QOS = 1  # subscriptions: a message arrives at the QoS it was published with, up to this
_AUTH_FAILURES = (0x86, 0x87)  # CONNACK: bad user name or password, not authorized


class NotAuthorized(PermissionError):
    """The broker refused our credentials: asking again will not help."""


def check_topics(topics: list[str]) -> None:
    """ValueError unless every entry is a valid MQTT topic filter."""
    if not topics:
        raise ValueError("give at least one topic, e.g. ['#'] for all")
    for topic in topics:
        levels = topic.split("/")
        if not topic or "\0" in topic or len(topic.encode()) > 65535:
            raise ValueError(f"{topic!r} is not a topic filter")
        for i, level in enumerate(levels):
            if "#" in level and (level != "#" or i != len(levels) - 1):
                raise ValueError(f"{topic!r}: '#' must be a whole level, the last one")
            if "+" in level and level != "+":
                raise ValueError(f"{topic!r}: '+' must be a whole level")


def connect_failure(exc: BaseException, host: str) -> str:
    """Why a connection could not be made, in a few words."""
    import ssl  # here: 7 ms that every producer the fork server makes would pay

    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve {host} ({one_line(str(exc.strerror or exc)).lower()})"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or exc})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return one_line(str(exc))[:200] or type(exc).__name__


class MqttSource(Producer):
    kind = "mqtt"
    help = (
        "messages of an MQTT broker (numbers, JSON, streamscope batches), or the producers "
        "other machines publish with `streamscope publish` (remote = true)"
    )
    params = (
        Param("host", str, "127.0.0.1", "the broker's host name or address"),
        Param("port", int, 1883, "the broker's port (8883 is usual with TLS)", min=1, max=65535),
        Param("topics", strings, ["#"], "topic filters (+ and # wildcards); remote: publisher "
              "prefixes such as streamscope/+", check=check_topics),
        Param("username", str, "", "user name; empty: connect anonymously"),
        Param("password_env", str, "", "the NAME of an environment variable holding the "
              "password (never the password itself)"),
        Param("tls", bool, False, "connect with TLS"),
        Param("ca_file", path, "", "CA certificate for TLS; empty: the system's"),
        Param("format", str, "auto", "how payloads are read", choices=FORMATS),
        Param("remote", bool, False, "topics are `streamscope publish` prefixes: show the "
              "remote producers' rows and data"),
        Param("keepalive_s", int, 10, "seconds between pings while idle", min=2, max=3600),
    )  # fmt: skip

    def __init__(self, **params):
        super().__init__(**params)
        p = self.p
        if not p["host"].strip():
            raise ParamError("host", "host must name the broker")
        if p["remote"]:
            if p["topics"] == ["#"]:  # the default: every publisher with the default prefix
                p["topics"] = ["streamscope/+"]
            for topic in p["topics"]:
                try:
                    check_prefix(topic)
                except ValueError as exc:
                    raise ParamError("topics", f"topics: {exc}") from None

    # -- the run ---------------------------------------------------------------------------
    def run(self, ctx) -> None:
        import paho.mqtt.client as mqtt

        p = self.p
        self._ctx = ctx
        self._where = f"{p['host']}:{p['port']}"
        self._reader = PayloadReader(ctx, p["format"])
        self._remote = RemoteRows(p["topics"]) if p["remote"] else None
        self._report = getattr(ctx, "report_remote", None)
        self._subscriptions = self._remote.subscriptions() if self._remote else p["topics"]
        self._connections = self._losses = 0
        self._last_loss = ""
        self._examples: deque[str] = deque(maxlen=5)  # the latest malformed messages
        self._up = False  # the current connection was accepted
        self._refused = None  # the CONNACK's failure, if the broker said no
        self._lost = ""  # why the connection ended (on_disconnect)

        client = new_client(p)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_disconnect = self._on_disconnect
        self._tell_details()
        ctx.set_status(f"connecting to {self._where}")
        tries = 0
        try:
            while ctx.running:
                try:
                    client.connect(p["host"], p["port"], p["keepalive_s"])
                except (OSError, ValueError) as exc:
                    why = connect_failure(exc, p["host"])
                else:
                    why = self._serve(client, mqtt.MQTT_ERR_SUCCESS)
                    if why is None:
                        return  # stopped
                    if self._up:  # it was connected: a loss, not a failed try
                        tries = 0
                        self._losses += 1
                        self._last_loss = why
                        self._tell_details()
                        ctx.set_status(f"reconnecting: {why}")
                        ctx.wait(BACKOFF_S[0])
                        continue
                tries += 1
                ctx.set_status(f"reconnecting: {why} (try {tries})")
                ctx.wait(BACKOFF_S[min(tries, len(BACKOFF_S)) - 1])
        finally:
            with contextlib.suppress(Exception):
                client.disconnect()

    def _serve(self, client, ok) -> str | None:
        """Run paho's loop until stopped (None) or the connection ends (why, as text)."""
        self._refused, self._lost = None, ""
        self._up = False
        while self._ctx.running:
            rc = client.loop(LOOP_S)
            if self._refused is not None:
                code = self._refused
                if code.value in _AUTH_FAILURES:
                    raise NotAuthorized(self._not_authorized())
                return f"refused by the broker: {str(code).lower()}"
            if rc != ok:
                return self._lost or "connection lost"
        return None

    def _not_authorized(self) -> str:
        user, var = self.p["username"], self.p["password_env"]
        if not user:
            hint = "it wants a username: set username and password_env"
        elif not var:
            hint = f"check username {user!r}; no password given: set password_env"
        else:
            hint = f"check username {user!r} and the password in ${var}"
        return f"not authorized by {self._where} ({hint})"

    # -- paho's callbacks (on run's thread, inside client.loop) -------------------------------
    def _on_connect(self, client, _userdata, _flags, reason, _props) -> None:
        if reason.is_failure:
            self._refused = reason
            return
        self._up = True
        self._connections += 1
        if self._remote is not None:
            self._tell_rows(self._remote.connection(True))
        client.subscribe([(topic, QOS) for topic in self._subscriptions])

    def _on_subscribe(self, _client, _userdata, _mid, reasons, _props) -> None:
        refused = [t for t, r in zip(self._subscriptions, reasons, strict=False) if r.is_failure]
        status = f"connected to {self._where}"
        if refused:
            status += f" · not allowed to subscribe to {', '.join(refused)}"
        self._ctx.set_status(status)
        self._tell_details()

    def _on_disconnect(self, _client, _userdata, _flags, reason, _props) -> None:
        if reason.is_failure and not self._lost:
            text = str(reason).lower()
            self._lost = "connection lost" if text in ("unspecified error", "") else text
        if self._remote is not None and self._up:
            self._tell_rows(self._remote.connection(False))

    def _on_message(self, _client, _userdata, msg) -> None:
        topic, payload = msg.topic, msg.payload
        if not payload:
            return  # an empty retained message deletes the retained one: nothing to show
        try:
            if self._remote is None:
                self._reader.read(topic, payload)
            else:
                self._remote_message(topic, payload, bool(msg.retain))
        except (Malformed, BadMessage) as exc:
            self._bad(f"{topic}: {exc}")
        except Exception as exc:  # a bug here must not end the connection: count it
            self._bad(f"{topic}: {exc!r}")

    def _bad(self, example: str) -> None:
        self._examples.append(example)
        self._ctx.report_bad_input(1, [example], what="malformed messages")
        self._tell_details()  # report_bad_input wrote the details: put the broker's back

    def _remote_message(self, topic: str, payload: bytes, retained: bool = False) -> None:
        remote = self._remote
        what, prefix, producer = remote.route(topic)
        if what == "data":
            samples = self._reader.binary(f"{remote.name(prefix, producer)}/", payload)
            remote.received(prefix, producer, samples)
        elif what == "status":
            self._tell_rows([remote.status(prefix, producer, payload, retained)])
        elif what == "publisher":
            self._tell_rows(remote.publisher(prefix, payload))

    def _tell_rows(self, rows) -> None:
        if self._report is not None:
            for name, info in rows:
                self._report(name, info)

    def _tell_details(self) -> None:
        p = self.p
        text = [
            f"broker {self._where}{' with TLS' if p['tls'] else ''}, "
            + (f"user {p['username']!r}" if p["username"] else "anonymous"),
            ("remote producers under " if p["remote"] else f"{p['format']} payloads from ")
            + ", ".join(p["topics"]),
            f"connected {self._connections} times",
        ]
        if self._losses:
            text.append(
                f"lost the broker {self._losses} times (last: {self._last_loss}): what was "
                "published meanwhile is lost"
            )
        if self._examples:
            text += ["latest malformed messages:", *self._examples]
        self._ctx.set_details("\n".join(text))
