"""The test broker itself: a real mosquitto that paho talks to, restartable, with passwords."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

pytestmark = pytest.mark.slow


def roundtrip(broker, username=None, password=None) -> str:
    """Subscribe, publish one message to ourselves; what arrived, or the connect failure."""
    got, connected = [], threading.Event()
    outcome = {}
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    if username:
        client.username_pw_set(username, password)

    def on_connect(c, _userdata, _flags, reason, _props):
        outcome["reason"] = str(reason)
        if not reason.is_failure:
            c.subscribe("t/#")
        connected.set()

    client.on_connect = on_connect
    client.on_subscribe = lambda c, *_: c.publish("t/x", b"42")
    client.on_message = lambda _c, _u, msg: got.append(msg.payload)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        assert connected.wait(5)
        if "Success" not in outcome["reason"]:
            return outcome["reason"]
        for _ in range(100):
            if got:
                break
            threading.Event().wait(0.02)
        return got[0].decode() if got else "nothing"
    finally:
        client.disconnect()
        client.loop_stop()


def test_a_message_goes_round_and_the_broker_restarts_on_its_port(broker):
    assert roundtrip(broker) == "42"
    port = broker.port
    broker.stop()
    broker.start()
    assert broker.port == port and roundtrip(broker) == "42"


def test_passwords_are_checked(make_broker):
    broker = make_broker(users={"lab": "s3cret"}).start()
    assert roundtrip(broker, "lab", "s3cret") == "42"
    assert "Not authorized" in roundtrip(broker, "lab", "wrong")
