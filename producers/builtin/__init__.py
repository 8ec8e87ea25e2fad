"""The built-in producer kinds; importing this package registers them."""

from producers.builtin import clock, fail, noise, random_walk, replay, sine, system  # noqa: F401
