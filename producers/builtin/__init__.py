"""The built-in producer kinds; importing this package registers them."""

from producers.builtin import clock, fail, noise, random_walk, sine, system  # noqa: F401
