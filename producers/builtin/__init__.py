"""The built-in producer kinds (registered as entry points in pyproject.toml). The fork server
imports this package once, so that a producer forked from it starts with its kind loaded."""

from producers.builtin import (  # noqa: F401
    clock,
    command,
    fail,
    file_tail,
    mqtt_source,
    noise,
    python_function,
    random_walk,
    replay,
    serial_port,
    sine,
    sweep,
    system,
    udp_source,
)
