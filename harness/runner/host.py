"""How busy this machine is: Linux's CPU pressure stall information (PSI, ``/proc/pressure/cpu``).

``some total`` counts the microseconds during which at least one runnable task waited
for a CPU. Over a call, its growth divided by the time elapsed is the share of the call
during which something on this host -- the harness's phones, or a platform running on
the same machine -- was ready to run and could not. Audio judged by its timing (a PESQ
score, jitter) cannot be blamed on the platform when that share is high: the judge
itself may have been starved. A kernel without PSI gives no reading (None).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

PSI_CPU = Path("/proc/pressure/cpu")


@dataclass(frozen=True)
class Pressure:
    t: float  # time.monotonic() of the reading
    stalled_us: int  # PSI's cumulative 'some' stall time


def pressure_now(source: Path = PSI_CPU) -> Pressure | None:
    """The host's cumulative CPU stall time now, or None where the kernel does not keep it."""
    try:
        text = source.read_text(encoding="ascii")
    except OSError:
        return None
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0] == "some":
            for part in fields[1:]:
                if part.startswith("total="):
                    try:
                        return Pressure(time.monotonic(), int(part.removeprefix("total=")))
                    except ValueError:
                        return None
    return None


def busy_share(since: Pressure | None, now: Pressure | None) -> float | None:
    """The share of ``since .. now`` during which some task on this host waited for a CPU."""
    if since is None or now is None or now.t - since.t < 0.1:
        return None
    return max(0.0, min(1.0, (now.stalled_us - since.stalled_us) / 1e6 / (now.t - since.t)))
