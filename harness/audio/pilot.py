"""The load agents' pilot tone: how a caller hears that an agent is on the line.

In a load run the agents are the run's phones, spread over Locust workers, and
a caller's controller cannot see the agent leg that answered it when another
worker holds that agent. So every load agent plays a steady 2,200 Hz tone once
it answers, and the caller hears the agent arrive: the first 300 ms in which
that one frequency carries most of the call's sound (13 of its 15 frames: a lost
packet does not hide an agent). 2,200 Hz is no DTMF
frequency, passes G.711, and hold music never holds one pure tone that long.
"""

from __future__ import annotations

import numpy as np

from harness.audio.pcm import RATE
from harness.audio.tone import sine

PILOT_HZ = 2200.0
FRAME = 160  # 20 ms
NEEDED = 15  # frames: 300 ms
SPARED = 2  # of which this many may miss (a lost packet, a concealed one)
SHARE = 0.6  # of a frame's power in the pilot's bin
FLOOR = 1e-6  # a frame quieter than about -60 dBFS is silence, not a tone


def pilot(duration: float, level_dbfs: float = -16.0) -> np.ndarray:
    """The tone an agent plays: ``duration`` seconds at ``level_dbfs``."""
    return sine(PILOT_HZ, duration, level_dbfs)


def pilot_onset(samples: np.ndarray, rate: int = RATE) -> int | None:
    """The sample at which the pilot tone starts (NEEDED frames in a row), or None."""
    frames = len(samples) // FRAME
    if frames < NEEDED:
        return None
    x = np.asarray(samples[: frames * FRAME], dtype=np.float64).reshape(frames, FRAME)
    t = np.arange(FRAME) / rate
    probe = np.exp(-2j * np.pi * PILOT_HZ * t)
    tone = np.abs(x @ probe) ** 2 * 2 / FRAME  # the pilot's power, by a single DFT bin per frame
    total = np.sum(x * x, axis=1)
    hits = ((total > FLOOR * FRAME) & (tone >= SHARE * total)).astype(np.int32)
    counts = np.convolve(hits, np.ones(NEEDED, dtype=np.int32), mode="valid")  # hits in each window
    found = np.flatnonzero((counts >= NEEDED - SPARED) & (hits[: len(counts)] == 1))
    return int(found[0]) * FRAME if len(found) else None
