"""Process-wide settings of the GUI process, each measured at full rate (benchmarks/).

- GIL switch interval 1 ms: the consumer thread holds the GIL while it unpacks and stores
  batches; when the GUI thread asks for it, it waits up to this long. Python's default 5 ms
  showed up directly as event-loop lag.
- A fixed malloc mmap threshold (glibc): by default it rises after a large block is freed, so
  later multi-megabyte blocks come from the heap and may never be returned; RSS then creeps
  over a long run. Fixed, big blocks are mapped and unmapped.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import sys

GIL_SWITCH_INTERVAL_S = 0.001
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
MMAP_THRESHOLD_BYTES = 1 << 20


def tune_gui_process() -> None:
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
