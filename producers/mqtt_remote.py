"""The dashboard's side of `streamscope publish`: remote producers' rows from their MQTT topics.

The contract (what `streamscope publish` sends): under a publisher's prefix X (default
`streamscope/<hostname>`), each producer P publishes `X/P/data` (binary batches, QoS 0),
`X/P/status` (JSON, retained) and the publisher `X/_publisher` (JSON, retained; its Last Will
says `{"online": false, "reason": "publisher lost"}`). The `mqtt` kind in remote mode
subscribes to those three under each prefix it is given (wildcards allowed:
`streamscope/+` is every host), and this module turns what arrives into:
- series `<host>/<P>/<series>` (host: the last level of X), and
- one row per remote producer, `<host>/<P>`, for `ctx.report_remote(name, info)`, with its
  command topic `X/P/cmd` and `control` true when its publisher takes commands
  (`publish --allow-control`): the app's Start/Stop for that row publish there.

A row's state is the publisher's word for it (`state`, `state_text`), unless its publisher is
offline: then `UNKNOWN · <reason>` ("publisher lost" when its connection died, "publisher
stopped" after a clean exit). While this dashboard has no connection to the broker, every row
reads `UNKNOWN · not connected to the broker` until the retained statuses arrive again.

Samples lost in transit (QoS 0 data dropped by the broker or the network) are knowable from
the status's `published` count: the first status a run of this dashboard sees sets a baseline
(what was published before we listened), and after that `published - baseline - received` is
what never arrived, with `published` taken from the status before the latest one: data
published until then has had a status interval to arrive (the latest count may include a
batch still on its way). The row's `dropped` is the publisher's own `dropped` plus that (never
negative). A restarted publisher (another pid in `_publisher`, or `published` going down)
sets a new baseline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

STATES = ("STOPPED", "STARTING", "RUNNING", "STOPPING", "BACKOFF", "EXITED", "FATAL", "UNKNOWN")
PUBLISHER = "_publisher"
NO_BROKER = "not connected to the broker"


class BadMessage(ValueError):
    """A status or publisher message that is not what the contract says (counted, shown)."""


@dataclass
class _Remote:
    prefix: str  # its publisher's prefix X
    producer: str  # its name there, P
    status: dict = field(default_factory=dict)
    received: int = 0  # samples of it this run received
    baseline: int | None = None  # `published` minus `received` at its first status
    last_live: int | None = None  # `published` of the newest live (not retained) status
    settled: int | None = None  # `published` of the live status before it (see `info`)


@dataclass
class _Publisher:
    online: bool | None = None  # None: not heard of yet
    reason: str = ""
    pid: object = None  # the publisher's process: another one counts `published` from 0
    control: bool = False  # it takes start/stop commands (`publish --allow-control`)
    producers: list[str] = field(default_factory=list)


def check_prefix(prefix: str) -> None:
    """ValueError unless `prefix` can have levels after it (no `#`, no empty level at its end)."""
    if "#" in prefix:
        raise ValueError(
            f"{prefix!r}: in remote mode a topic is a publisher prefix such as "
            "'streamscope/+' or 'streamscope/lab1'; '#' cannot be followed by more levels"
        )
    if not prefix or prefix.endswith("/"):
        raise ValueError(f"{prefix!r} is not a publisher prefix (e.g. 'streamscope/+')")


class RemoteRows:
    """What the publishers under some prefixes said, as rows and series names."""

    def __init__(self, prefixes: list[str]):
        for prefix in prefixes:
            check_prefix(prefix)
        self.prefixes = list(dict.fromkeys(prefixes))
        self._remotes: dict[str, _Remote] = {}  # "<host>/<P>" -> its account
        self._publishers: dict[str, _Publisher] = {}  # prefix X (as published) -> its word
        self._connected = False

    def subscriptions(self) -> list[str]:
        return [f"{p}/{end}" for p in self.prefixes for end in ("+/data", "+/status", PUBLISHER)]

    @staticmethod
    def route(topic: str) -> tuple[str, str, str]:
        """("data" | "status" | "publisher", prefix X, producer P or "") of a received topic.
        Levels are read from the end: a subscription's `+` stands for exactly one level."""
        head, _, last = topic.rpartition("/")
        if last == PUBLISHER:
            return "publisher", head, ""
        prefix, _, producer = head.rpartition("/")
        return last, prefix, producer

    @staticmethod
    def name(prefix: str, producer: str) -> str:
        return f"{prefix.rpartition('/')[2]}/{producer}"

    def _remote(self, prefix: str, producer: str) -> _Remote:
        name = self.name(prefix, producer)
        remote = self._remotes.get(name)
        if remote is None:
            remote = self._remotes[name] = _Remote(prefix, producer)
        return remote

    def received(self, prefix: str, producer: str, samples: int) -> None:
        self._remote(prefix, producer).received += samples

    def status(
        self, prefix: str, producer: str, payload: bytes, retained: bool = False
    ) -> tuple[str, dict]:
        """A status message: the row's (name, info). Raises BadMessage. A `retained` one is
        the broker's copy of an older status (up to 2 s old when we subscribe): it says the
        state, but its `published` count predates data we never could receive, so it sets
        no baseline for the samples lost in transit (counting them as lost was wrong)."""
        status = _json_object(payload, "status")
        state = status.get("state")
        if state not in STATES:
            raise BadMessage(f"status with an unknown state {str(state)[:40]!r}")
        name = self.name(prefix, producer)
        remote = self._remote(prefix, producer)
        published = _count(status.get("published"))
        if not retained:
            if remote.last_live is not None and published < remote.last_live:
                remote.baseline, remote.received = None, 0  # its count started again
            if remote.baseline is None:  # what was published before we listened
                remote.baseline, remote.settled = published - remote.received, None
            else:
                remote.settled = remote.last_live
            remote.last_live = published
        remote.status = status
        return name, self.info(name)

    def publisher(self, prefix: str, payload: bytes) -> list[tuple[str, dict]]:
        """A `_publisher` message: the rows it changes (all of that publisher's)."""
        said = _json_object(payload, "publisher message")
        online = said.get("online")
        if not isinstance(online, bool):
            raise BadMessage("publisher message without online true/false")
        pub = self._publishers.setdefault(prefix, _Publisher())
        pub.online, pub.reason = online, str(said.get("reason") or "")
        pub.control = online and said.get("control") is True
        if online and said.get("pid") != pub.pid:
            if pub.pid is not None:  # another publisher process: its counts start from 0
                for remote in self._remotes.values():
                    if remote.prefix == prefix:
                        remote.baseline, remote.received = None, 0
                        remote.last_live = remote.settled = None
            pub.pid = said.get("pid")
        if isinstance(said.get("producers"), list):
            pub.producers = [str(p) for p in said["producers"]]
        for producer in pub.producers:  # listed, no status yet: a row all the same
            self._remote(prefix, producer)
        return self.rows(prefix)

    def connection(self, connected: bool) -> list[tuple[str, dict]]:
        """Our own connection to the broker came or went: the rows that changed."""
        self._connected = connected
        return [] if connected else self.rows()

    def rows(self, prefix: str | None = None) -> list[tuple[str, dict]]:
        """(name, info) of every row, or of one publisher's."""
        names = sorted(n for n, r in self._remotes.items() if prefix in (None, r.prefix))
        return [(n, self.info(n)) for n in names]

    def info(self, name: str) -> dict:
        """The row as `ctx.report_remote` takes it (see the module docstring)."""
        remote = self._remotes[name]
        s = remote.status
        lost = 0
        if remote.baseline is not None and remote.settled is not None:
            # data published up to the status BEFORE the latest one has had a status interval
            # (~2 s) to arrive: what of it is missing was lost. The latest status's count may
            # include a batch still on its way; comparing with it counted one as lost.
            lost = max(0, remote.settled - remote.baseline - remote.received)
        state = s.get("state", "UNKNOWN")
        info = {
            "state": state,
            "state_text": str(s.get("state_text") or state),
            "pid": s.get("pid") if _is_int(s.get("pid")) else None,
            "rate": _number(s.get("rate")),
            "total": _count(s.get("total")),
            "dropped": _count(s.get("dropped")) + lost,
            "error": str(s.get("error") or ""),
            "kind": str(s.get("kind") or ""),
            "received": remote.received,
            "control": False,
            "cmd_topic": f"{remote.prefix}/{remote.producer}/cmd",
        }
        pub = self._publishers.get(remote.prefix)
        if not self._connected:
            info["state"], info["state_text"] = "UNKNOWN", f"UNKNOWN · {NO_BROKER}"
        elif pub is not None and pub.online is False:
            info["state"] = "UNKNOWN"
            info["state_text"] = f"UNKNOWN · {pub.reason or 'publisher offline'}"
        elif not s:
            info["state_text"] = "UNKNOWN · no status yet"
        else:
            info["control"] = pub is not None and pub.control
        return info


def _json_object(payload: bytes, what: str) -> dict:
    try:
        value = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        raise BadMessage(f"{what} is not JSON: {payload[:60]!r}") from None
    if not isinstance(value, dict):
        raise BadMessage(f"{what} is not a JSON object: {payload[:60]!r}")
    return value


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _count(value) -> int:
    return value if _is_int(value) and value > 0 else 0


def _number(value) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0
