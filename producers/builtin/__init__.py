"""The built-in producer kinds; importing this package registers them."""

from producers.builtin import (  # noqa: F401
    clock,
    fail,
    noise,
    python_function,
    random_walk,
    sine,
    system,
)
