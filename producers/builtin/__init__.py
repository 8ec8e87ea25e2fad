"""The built-in producer kinds; importing this package registers them."""

from producers.builtin import (  # noqa: F401
    clock,
    command,
    fail,
    file_tail,
    noise,
    random_walk,
    sine,
    system,
)
