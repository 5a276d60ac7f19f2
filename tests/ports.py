"""Free ports on loopback, for the test folders that start their own SIP peers and servers.

A port picked here is free when it is picked; a server started on it later may still
lose it to someone else (the OS hands it out again), which these tests accept.
The reference platform needs many ports at once: :func:`reserve_block` locks them.
"""

from __future__ import annotations

import fcntl
import os
import random
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

HOST = "127.0.0.1"


def _picked(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that nothing holds right now (the OS's pick)."""
    return _picked(socket.SOCK_DGRAM)


def free_tcp_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the OS's pick)."""
    return _picked(socket.SOCK_STREAM)


def _free(port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def free_udp_tcp_port() -> int:
    """A port number free for both UDP and TCP on 127.0.0.1 (a SIP server listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((HOST, 0))
            port = int(udp.getsockname()[1])
            if _free(port, socket.SOCK_STREAM):
                return port
    raise RuntimeError("no free UDP+TCP port on loopback")


# -- blocks for the reference platform ------------------------------------------------------
# A block: SIP (udp+tcp), media workers, API, then 100 RTP ports per worker.
_PORT_HIGH = 32700  # under Linux's ephemeral range


def _port_low() -> int:
    """Above every phone's RTP band: 2,000 ports from 20000 for the process that is no xdist
    worker, and one band more per worker (``harness.sip.controller._rtp_base``). A phone taking
    an RTP port here first made a carrier fail to listen on its trunk port (CI, session 12)."""
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0")
    return 20000 + ((int(workers) if workers.isdigit() else 0) + 1) * 2000
RTP_OFFSET = 100
TRUNK_OFFSET = 60  # the outbound trunk's carrier, past the workers and the API
_LOCKS = Path(tempfile.gettempdir()) / "ccharness-reference-ports"


@dataclass
class PortBlock:
    """Ports for one platform, held by exclusive locks on its 100-port slots until ``release``."""

    base: int
    workers: int
    locks: list[IO[str]] = field(repr=False)

    @property
    def overrides(self) -> dict[str, Any]:
        """The platform's settings (``up --overrides``) that put it on this block."""
        return {
            "sip_port": self.base,
            "workers.count": self.workers,
            "workers.first_port": self.base + 1,
            "api.port": self.base + 1 + self.workers,
            "workers.rtp_base": self.base + RTP_OFFSET,
            "outbound.trunk.port": self.trunk_port,
        }

    @property
    def trunk_port(self) -> int:
        """Where the platform's outbound trunk points: the harness's carrier listens there."""
        return self.base + TRUNK_OFFSET

    def release(self) -> None:
        _unlock(self.locks)
        self.locks = []


def _unlock(locks: list[IO[str]]) -> None:
    for lock in locks:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


def _lock_slots(first: int, count: int) -> list[IO[str]] | None:
    """Exclusive locks on 100-port slots ``first .. first+count-1``, or None if one is taken."""
    locks: list[IO[str]] = []
    for slot in range(first, first + count):
        lock = open(_LOCKS / f"{slot * 100}.lock", "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            _unlock(locks)
            return None
        locks.append(lock)
    return locks


def reserve_block(workers: int) -> PortBlock:
    """A block of free ports for a reference platform with ``workers`` media workers.

    The block's 100-port slots are locked (so runs in parallel, pytest-xdist workers
    included, never share one), then every port the platform will bind is probed.
    """
    size = RTP_OFFSET + 100 * workers
    _LOCKS.mkdir(exist_ok=True)
    low = _port_low()
    slots = list(range(low // 100, (_PORT_HIGH - size) // 100))
    random.shuffle(slots)
    for slot in slots:
        locks = _lock_slots(slot, size // 100)
        if locks is None:
            continue
        base = slot * 100
        udp = [base, *range(base + 1, base + 1 + workers), base + TRUNK_OFFSET,
               *range(base + RTP_OFFSET, base + size)]
        tcp = [base, base + 1 + workers]
        block = PortBlock(base, workers, locks)
        if all(_free(p, socket.SOCK_DGRAM) for p in udp) and all(
            _free(p, socket.SOCK_STREAM) for p in tcp
        ):
            return block
        block.release()
    raise RuntimeError(f"no free block of {size} ports between {low} and {_PORT_HIGH} (the phones' "
                       f"RTP bands take 2,000 ports a pytest-xdist worker below {low})")
