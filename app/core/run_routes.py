"""Where the data of a removed or renamed producer's past runs goes.

Everything a producer sends is keyed by its name: its series (producer, series), its counts,
its runs RunKey(name, generation). A remove or a rename is applied on the engine's control
thread, but the run's last data may still be in its pipe (a process ends before its pipe is
read to the end; a removed producer takes up to a second and a half to stop) and reaches the
draining thread afterwards. Without a route, that tail would bring a removed producer's series
back into the chart, or put a renamed producer's last samples under its old name.

A route says: the runs of `name` up to generation `upto` belong to `target` from now on (None:
to nobody, they are dropped from the chart and the counts; a recording keeps them, under the
name they were sent with). Generations go on across every producer that ever had a name (the
supervisor numbers them), so a new producer given a freed name has later generations only and
is not routed. Routes are kept in the order they were made, and a run follows each route made
after the last it followed: a rename a -> b, then b -> a, sends a's old runs back to a, not
round in circles.

Each route is also a change the draining thread makes to what it keeps (`changes_since`): the
series and counts of `name` move to `target`, or are forgotten. Making them on that thread, at
the start of a cycle, before that cycle's data, keeps them in order with the data.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from app.core.channel import Batch, RunKey


@dataclass(frozen=True)
class Route:
    name: str
    upto: int  # runs of `name` with generation <= upto
    target: str | None  # their new owner; None: nobody


class RunRoutes:
    def __init__(self):
        self._lock = threading.Lock()
        self._routes: tuple[Route, ...] = ()  # replaced whole: readers need no lock
        self._names: frozenset[str] = frozenset()

    def __len__(self) -> int:
        return len(self._routes)

    def add(self, name: str, upto: int, target: str | None) -> None:
        """From now on, the runs of `name` up to generation `upto` belong to `target`."""
        with self._lock:
            self._routes = (*self._routes, Route(name, upto, target))
            self._names = self._names | {name}

    def changes_since(self, count: int) -> tuple[Route, ...]:
        """The routes made after the first `count` (what a reader has not applied yet)."""
        return self._routes[count:]

    def resolve(self, name: str, generation: int) -> str | None:
        """The name the data of run (name, generation) goes under now; None: nobody's."""
        routes = self._routes
        if name not in self._names:
            return name
        i = 0
        while i < len(routes):
            route = routes[i]
            i += 1
            if route.name == name and generation <= route.upto:
                if route.target is None:
                    return None
                name = route.target
        return name

    def route(self, batch: Batch) -> Batch:
        """`batch` with each routed run's chunks, counts and drops under its new owner's name
        (or left out); the batch itself when nothing in it is routed (the usual case: one
        look at a set per run)."""
        names = self._names
        if not names or not any(k.name in names for k in (*batch.received, *batch.drops)):
            return batch
        keys = {*batch.received, *batch.drops}
        owner = {k: self.resolve(k.name, k.generation) for k in keys}
        if all(owner[k] == k.name for k in keys):
            return batch
        out = Batch(events=batch.events, sent_at=batch.sent_at, received_at=batch.received_at)
        if batch.runs:
            ends = [start for start, _ in batch.runs[1:]] + [len(batch.chunks)]
            for (start, key), end in zip(batch.runs, ends, strict=True):
                to = owner.get(key, key.name)
                if to is None:
                    continue
                out.runs.append(
                    (len(out.chunks), key if to == key.name else RunKey(to, key.generation))
                )
                out.chunks.extend((to, chunk) for _, chunk in batch.chunks[start:end])
        else:  # a batch made without the channel: a name's chunks belong to its newest run here
            newest: dict[str, RunKey] = {}
            for key in batch.received:
                if key.name not in newest or newest[key.name].generation < key.generation:
                    newest[key.name] = key
            for name, chunk in batch.chunks:
                to = owner[newest[name]] if name in newest else name
                if to is not None:
                    out.chunks.append((to, chunk))
        for key, n in batch.received.items():
            if (to := owner[key]) is not None:
                moved = RunKey(to, key.generation)
                out.received[moved] = out.received.get(moved, 0) + n
        for key, dropped in batch.drops.items():
            if (to := owner[key]) is not None:
                moved = RunKey(to, key.generation)
                out.drops[moved] = max(out.drops.get(moved, 0), dropped)
        return out
