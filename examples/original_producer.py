"""The original example's producer, as a `kind = "python"` producer (see own_data.toml).

It used to be `while True: x = random.random(); q.put(x); time.sleep(0.1)` feeding a queue;
here each `yield` is one sample of the series `value`, stamped when it arrives.
"""

import random
import time


def produce():
    while True:
        x = random.random()
        yield x
        time.sleep(0.1)
