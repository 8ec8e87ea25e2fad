"""A paho-mqtt 2.x client set up from an `mqtt` producer's parameters: its user, the password
from the environment variable the session names (never the password itself), TLS with a CA.

One place for it, because two parties connect with those parameters: the producer itself
(producers.builtin.mqtt_source) and the app when it sends Start/Stop to a producer elsewhere
through the same broker (app.core.remote_control). paho is imported here, on first use, not
by the fork server that every producer is forked from.
"""

from __future__ import annotations

import os


def password_from_env(var: str) -> str:
    """The password in environment variable `var` ("" names none); RuntimeError if unset."""
    if not var:
        return ""
    value = os.environ.get(var)
    if value is None:
        raise RuntimeError(
            f"password_env names ${var}, which is not set in the app's environment "
            "(set it before starting streamscope)"
        )
    return value


def new_client(params: dict):
    """A paho client with the credentials and TLS that `params` (host, port, username,
    password_env, tls, ca_file) ask for; RuntimeError for an unset password variable,
    FileNotFoundError for a missing CA file."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    if params.get("username"):
        client.username_pw_set(params["username"], password_from_env(params.get("password_env")))
    if params.get("tls"):
        ca_file = params.get("ca_file") or ""
        if ca_file and not os.path.isfile(ca_file):
            raise FileNotFoundError(f"ca_file not found: {ca_file}")
        client.tls_set(ca_certs=ca_file or None)
    return client
