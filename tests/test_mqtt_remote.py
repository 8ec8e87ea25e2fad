"""What a dashboard makes of `streamscope publish`'s messages (producers.mqtt_remote): rows,
their states and the samples lost in transit. No broker here: the messages as bytes."""

from __future__ import annotations

import json

import pytest

from producers.mqtt_remote import BadMessage, RemoteRows

X = "streamscope/hostA"


def status(published: int, dropped: int = 0, state: str = "RUNNING", text: str = "") -> bytes:
    said = {"producer": "sine", "kind": "sine", "state": state, "state_text": text or state,
            "pid": 7, "rate": 50.0, "total": published, "published": published,
            "dropped": dropped, "error": "", "host": "hostA", "time": 1.0}  # fmt: skip
    return json.dumps(said).encode()


def publisher(online: bool, pid: int = 1, reason: str = "", control: bool = False) -> bytes:
    said = {"online": online, "pid": pid, "producers": ["sine"], "control": control}
    return json.dumps(said | ({"reason": reason} if reason else {})).encode()


def connected_rows(prefixes=("streamscope/+",)) -> RemoteRows:
    rows = RemoteRows(list(prefixes))
    rows.connection(True)
    return rows


def test_subscriptions_and_routes():
    rows = RemoteRows(["streamscope/+", "lab/pc1"])
    assert rows.subscriptions() == [
        "streamscope/+/+/data", "streamscope/+/+/status", "streamscope/+/_publisher",
        "lab/pc1/+/data", "lab/pc1/+/status", "lab/pc1/_publisher",
    ]  # fmt: skip
    assert RemoteRows.route(f"{X}/sine/data") == ("data", X, "sine")
    assert RemoteRows.route(f"{X}/_publisher") == ("publisher", X, "")
    assert RemoteRows.route(f"{X}/_publisher/status") == ("status", X, "_publisher")
    assert RemoteRows.name(X, "sine") == "hostA/sine"
    with pytest.raises(ValueError, match="'#' cannot be followed"):
        RemoteRows(["streamscope/#"])


def test_a_row_follows_its_status_and_counts_what_never_arrived():
    rows = connected_rows()
    rows.publisher(X, publisher(True, control=True))
    name, info = rows.status(X, "sine", status(published=100))  # before we listened: not lost
    assert (name, info["state"], info["dropped"], info["received"]) == (
        "hostA/sine",
        "RUNNING",
        0,
        0,
    )
    assert info["control"] and info["cmd_topic"] == f"{X}/sine/cmd"
    rows.received(X, "sine", 40)
    _, info = rows.status(X, "sine", status(published=150, dropped=2))
    # 10 of what came before this status have not arrived (yet): not counted until the next
    # status, when they have had time to arrive
    assert (info["dropped"], info["received"], info["total"]) == (2, 40, 150)
    rows.received(X, "sine", 5)  # 5 of them did arrive; the rest never will
    _, info = rows.status(X, "sine", status(published=160, dropped=2))
    assert info["dropped"] == 2 + 5
    rows.received(X, "sine", 30)  # more than the count said: never negative
    _, info = rows.status(X, "sine", status(published=160, state="EXITED", text="EXITED · x"))
    assert (info["dropped"], info["state"], info["state_text"]) == (0, "EXITED", "EXITED · x")


def test_another_publisher_process_starts_the_count_again():
    rows = connected_rows()
    rows.publisher(X, publisher(True, pid=1))
    rows.status(X, "sine", status(published=10))
    rows.received(X, "sine", 10)
    rows.publisher(X, publisher(True, pid=2))
    rows.received(X, "sine", 3)
    _, info = rows.status(X, "sine", status(published=5))
    assert (info["dropped"], info["received"]) == (0, 3)
    rows.received(X, "sine", 1)
    rows.status(X, "sine", status(published=9))
    _, info = rows.status(X, "sine", status(published=12))  # 9 is now settled
    assert info["dropped"] == 9 - 2 - 4


def test_an_offline_publisher_or_broker_makes_its_rows_unknown():
    rows = connected_rows()
    rows.publisher(X, publisher(True))
    info = rows.info("hostA/sine")
    assert info["state_text"] == "UNKNOWN · no status yet"
    rows.status(X, "sine", status(published=1))
    [(_, info)] = rows.publisher(X, publisher(False, reason="publisher lost"))
    assert (info["state"], info["state_text"]) == ("UNKNOWN", "UNKNOWN · publisher lost")
    assert not info["control"]
    rows.publisher(X, publisher(True))
    [(_, info)] = rows.connection(False)
    assert info["state_text"] == "UNKNOWN · not connected to the broker"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{oops", "status is not JSON"),
        (b"[1]", "status is not a JSON object"),
        (b'{"state": "DANCING"}', "unknown state 'DANCING'"),
    ],
)
def test_bad_statuses_are_named(payload, reason):
    with pytest.raises(BadMessage, match=reason):
        connected_rows().status(X, "sine", payload)


def test_a_retained_status_says_the_state_but_sets_no_baseline_for_losses():
    """The broker hands a new subscriber the last status, up to 2 s old: what was published
    since then, before we subscribed, was never ours to receive (a dashboard opened on a
    quiet 50/s publisher showed 13 samples dropped that were not)."""
    rows = connected_rows()
    rows.publisher(X, publisher(True))
    _, info = rows.status(X, "sine", status(published=100), retained=True)
    assert info["state"] == "RUNNING" and info["dropped"] == 0
    rows.received(X, "sine", 30)  # data since we subscribed; 13 more were published before
    _, info = rows.status(X, "sine", status(published=143))  # the first live status
    assert info["dropped"] == 0
    rows.received(X, "sine", 50)
    rows.status(X, "sine", status(published=200))
    _, info = rows.status(X, "sine", status(published=230))  # 7 of 143..200 never came
    assert info["dropped"] == 7
