"""The words of the MQTT contract (app.core.mqtt_contract) and the broker address, without a
broker: what a subscriber parses and what a user types."""

from __future__ import annotations

import json

import pytest

from app.core import mqtt_contract as contract
from app.core.mqtt_publisher import BrokerAddress, parse_broker


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("localhost:1883", BrokerAddress("localhost", 1883)),
        ("10.0.0.7:8883", BrokerAddress("10.0.0.7", 8883)),
        ("[::1]:1883", BrokerAddress("::1", 1883)),
        ("broker.lab-1.example:1", BrokerAddress("broker.lab-1.example", 1)),
    ],
)
def test_broker_addresses(text, address):
    assert parse_broker(text) == address
    assert str(address) == text


@pytest.mark.parametrize(
    "text", ["localhost", ":1883", "host:", "host:0", "host:65536", "a b:1", "::1:1883", "h:1x"]
)
def test_bad_broker_addresses_say_what_is_expected(text):
    with pytest.raises(ValueError, match=r"HOST:PORT|port must be"):
        parse_broker(text)


def test_topics_and_the_producer_a_command_is_for():
    topics = contract.Topics(contract.check_prefix("streamscope/lab-pc/"))
    assert topics.data("a") == "streamscope/lab-pc/a/data"
    assert topics.status("a.b") == "streamscope/lab-pc/a.b/status"
    assert topics.publisher == "streamscope/lab-pc/_publisher"
    assert topics.all_cmds == "streamscope/lab-pc/+/cmd"
    assert topics.producer_of_cmd("streamscope/lab-pc/a_1/cmd") == "a_1"
    for other in ("streamscope/lab-pc/a/status", "streamscope/lab-pc//cmd", "x/a/cmd",
                  "streamscope/lab-pc/a/b/cmd"):  # fmt: skip
        assert topics.producer_of_cmd(other) is None


@pytest.mark.parametrize("prefix", ["", "/", "a/+/b", "a/#", "x\0y"])
def test_a_prefix_we_could_not_subscribe_below_is_refused(prefix):
    with pytest.raises(contract.ContractError):
        contract.check_prefix(prefix)


@pytest.mark.parametrize("command", ["start", "stop"])
def test_commands(command):
    assert contract.parse_command(json.dumps({"command": command}).encode()) == command


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"stop",
        b"\xff\xfe",
        b'"stop"',
        b'{"command": "kill"}',
        b"[1]",
        b"[" * 1000,
        b" " * 10_000,
    ],
)
def test_anything_else_is_a_contract_error_never_another_exception(payload):
    with pytest.raises(contract.ContractError):
        contract.parse_command(payload)


def test_the_will_and_the_clean_goodbye():
    assert json.loads(contract.encode_json(contract.LOST)) == {
        "online": False,
        "reason": "publisher lost",
    }
    assert contract.STOPPED["reason"] == "publisher stopped"
    online = json.loads(contract.online_payload("pc", 42, ["a"], control=False))
    assert online["online"] is True and online["producers"] == ["a"] and not online["control"]
