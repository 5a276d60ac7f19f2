"""The load agents' pilot tone: how a caller hears that an agent is on the line.

In a load run the agents are the run's phones, spread over Locust workers, and
a caller's controller cannot see the agent leg that answered it when another
worker holds that agent. So every load agent plays a steady pair of tones,
1,100 and 1,400 Hz, once it answers, and the caller hears the agent arrive: the
first 300 ms in which the pair carries most of the call's sound, each tone a
good part of it (13 of its 15 frames: a lost packet does not hide an agent).
The pair is no DTMF pair (1,100 Hz is in neither DTMF group), passes G.711, lies
below the audio markers' alphabet (1,700-3,300 Hz, so a caller's marker is found
in a recording that holds the pilot too), and neither speech, hold music nor a
1 kHz beep holds two pure tones that long.
"""

from __future__ import annotations

import numpy as np

from harness.audio.pcm import RATE
from harness.audio.tone import dual_tone

PILOT_HZ = (1100.0, 1400.0)
FRAME = 160  # 20 ms
NEEDED = 15  # frames: 300 ms
SPARED = 2  # of which this many may miss (a lost packet, a concealed one)
SHARE = 0.6  # of a frame's power in the pilot's two bins
EACH = 0.2  # and in each of them
FLOOR = 1e-6  # a frame quieter than about -60 dBFS is silence, not a tone


def pilot(duration: float, level_dbfs: float = -19.0) -> np.ndarray:
    """The tones an agent plays: ``duration`` seconds, each tone at ``level_dbfs``."""
    return dual_tone(PILOT_HZ[0], PILOT_HZ[1], duration, level_dbfs)


def pilot_onset(samples: np.ndarray, rate: int = RATE) -> int | None:
    """The sample at which the pilot tone starts (NEEDED frames in a row), or None."""
    frames = len(samples) // FRAME
    if frames < NEEDED:
        return None
    x = np.asarray(samples[: frames * FRAME], dtype=np.float64).reshape(frames, FRAME)
    t = np.arange(FRAME) / rate
    low, high = (np.abs(x @ np.exp(-2j * np.pi * hz * t)) ** 2 * 2 / FRAME for hz in PILOT_HZ)  # DFT bins
    total = np.sum(x * x, axis=1)
    hits = ((total > FLOOR * FRAME) & (low + high >= SHARE * total)
            & (low >= EACH * total) & (high >= EACH * total)).astype(np.int32)
    counts = np.convolve(hits, np.ones(NEEDED, dtype=np.int32), mode="valid")  # hits in each window
    found = np.flatnonzero((counts >= NEEDED - SPARED) & (hits[: len(counts)] == 1))
    return int(found[0]) * FRAME if len(found) else None
