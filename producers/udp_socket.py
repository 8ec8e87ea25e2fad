"""The socket side of the `udp` kind: listening with errors a user can act on, the receive
buffer the kernel really granted, and the kernel's count of datagrams it dropped for us.

UDP loses data silently: when the receive buffer is full the kernel drops the datagram and
tells nobody but `/proc/net/udp` (its `drops` column, per socket). A dashboard that showed
smooth lines while a fifth of the data never arrived would lie, so the kind reads that counter
and shows it (see `kernel_drops`). The buffer is what decides how long a burst, or a pause of
the reader (a busy machine, a garbage collection), it takes before the kernel drops: the
granted size is shown because Linux may silently cap a request (`net.core.rmem_max`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket

# Why a bind failed, in words a user can act on (errno -> reason).
_BIND_REASONS = {
    errno.EADDRINUSE: "address already in use",
    errno.EACCES: "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)",
    errno.EPERM: "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)",
    errno.EADDRNOTAVAIL: "no network interface of this machine has that address",
}
RMEM_MAX = "/proc/sys/net/core/rmem_max"


class ListenError(RuntimeError):
    """The socket could not be opened: one line that says where and why."""


def where(host: str, port: int) -> str:
    """`host:port` as a user writes it, `[::1]:9870` for an IPv6 address."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def listen(host: str, port: int) -> socket.socket:
    """A non-blocking UDP socket bound to host:port, or ListenError.

    No SO_REUSEADDR: on Linux it would let a second program bind the same port and take
    the datagrams meant for the first without either knowing; a port in use is an error."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ListenError(f"cannot listen on {where(host, port)}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        why = _BIND_REASONS.get(exc.errno) or (exc.strerror or str(exc)).lower()
        raise ListenError(f"cannot listen on {where(host, port)}: {why}") from None
    sock.setblocking(False)
    return sock


def set_receive_buffer(sock: socket.socket, kb: int) -> tuple[int, str]:
    """Ask for a receive buffer of `kb` KiB; returns (bytes the kernel granted, a line about it).

    Linux doubles the request (half is its bookkeeping of each datagram) and caps it at twice
    `net.core.rmem_max` unless the process may force it (CAP_NET_ADMIN: SO_RCVBUFFORCE)."""
    wanted = kb * 1024
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, wanted)
    granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    force = getattr(socket, "SO_RCVBUFFORCE", None)
    if granted < 2 * wanted and force is not None:
        with contextlib.suppress(OSError):  # EPERM without CAP_NET_ADMIN: keep what we have
            sock.setsockopt(socket.SOL_SOCKET, force, wanted)
            granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    line = f"receive buffer {granted // 1024:,} KiB granted by the kernel (asked {kb:,} KiB"
    if granted >= 2 * wanted:
        return granted, line + "; Linux doubles a request for its bookkeeping)"
    cap = ""
    with contextlib.suppress(OSError, ValueError), open(RMEM_MAX) as f:
        limit = int(f.read())
        cap = f" net.core.rmem_max is {limit:,} bytes; as root: sysctl net.core.rmem_max={wanted}"
    return granted, line + f"; capped:{cap or ' by the kernel'})"


def kernel_drops(sock: socket.socket) -> int | None:
    """How many datagrams the kernel dropped for this socket (receive buffer full), from the
    `drops` column of /proc/net/udp (udp6 for an IPv6 socket); None if it cannot be read
    (no /proc, another OS). The socket's line is the one with its inode and local port."""
    try:
        inode = str(os.fstat(sock.fileno()).st_ino)
        port = f"{sock.getsockname()[1]:04X}"
    except OSError:
        return None
    table = "/proc/net/udp6" if sock.family == socket.AF_INET6 else "/proc/net/udp"
    try:
        with open(table) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines[1:]:
        fields = line.split()
        # sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
        if len(fields) >= 13 and fields[9] == inode and fields[1].endswith(":" + port):
            try:
                return int(fields[12])
            except ValueError:
                return None
    return None
