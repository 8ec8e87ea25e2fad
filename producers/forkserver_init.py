"""Imported once, by the fork server that producers are forked from (never by the app).

It moves the server, and so every producer forked from it, into a process group of its own: a
signal meant for the app's group (Ctrl-C, the terminal closing, `timeout`, `kill -- -PGID`)
then reaches the app only, which stops its producers the orderly way (they flush and say how
much they sent). Before, SIGHUP or SIGTERM to the group killed producers mid-batch and the fork
server with them, and every stopped producer read "exit code 255". Producers still end when
the app dies: each one watches its parent (producers.lifeline).
"""

from __future__ import annotations

import contextlib
import os

import producers.builtin
import producers.runtime  # noqa: F401

with contextlib.suppress(OSError):
    os.setpgid(0, 0)
