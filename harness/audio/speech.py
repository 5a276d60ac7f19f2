"""Speech and silence: where in a capture there is audio, by short-term energy.

Audio is cut into 20 ms frames (one RTP packet); a frame is *active* when its
RMS level reaches the threshold (dBFS, AES17 as in :mod:`harness.audio.pcm`).
Pauses shorter than ``min_silence`` inside speech are bridged (the hangover),
so a sentence is one segment while the gap between two prompts is not.
Times are exact to one frame (20 ms).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from harness.audio.frames import frame_len, frame_levels, runs
from harness.audio.pcm import RATE, Samples, rms_dbfs

FRAME_S = 0.020
"""Length of one analysis frame in seconds."""


class Segment(NamedTuple):
    """A stretch of a capture, in seconds from its start."""

    start_s: float
    end_s: float

    @property
    def duration(self) -> float:
        """Length of the stretch in seconds."""
        return self.end_s - self.start_s


def level_dbfs(samples: Samples) -> float:
    """RMS level in dBFS (a full-scale sine is 0 dBFS); ``-inf`` for digital silence."""
    return rms_dbfs(samples)


def segments(
    samples: Samples, rate: int = RATE, threshold_dbfs: float = -45.0, min_silence: float = 0.3
) -> list[Segment]:
    """Return the stretches of audio, bridging pauses shorter than ``min_silence`` seconds."""
    active = _active_frames(samples, rate, threshold_dbfs)
    frame = frame_len(FRAME_S, rate) / rate
    merged: list[Segment] = []
    for first, last in runs(active):
        start, end = first * frame, (last + 1) * frame
        if merged and start - merged[-1].end_s < min_silence:
            start = merged.pop().start_s
        merged.append(Segment(round(start, 6), round(end, 6)))
    return merged


def first_audio(samples: Samples, rate: int = RATE, threshold_dbfs: float = -45.0) -> float | None:
    """Time in seconds of the first active frame, or ``None`` if the capture is silent."""
    active = np.flatnonzero(_active_frames(samples, rate, threshold_dbfs))
    return round(active[0] * frame_len(FRAME_S, rate) / rate, 6) if active.size else None


def longest_silence(
    samples: Samples,
    start: float = 0.0,
    end: float | None = None,
    rate: int = RATE,
    threshold_dbfs: float = -45.0,
) -> Segment | None:
    """The longest run of silent frames between ``start`` and ``end`` seconds, or ``None``.

    Only whole frames inside the range count; ``end=None`` means the end of
    the capture. No hangover is applied: every silent frame counts.
    """
    frame = frame_len(FRAME_S, rate) / rate
    silent = ~_active_frames(samples, rate, threshold_dbfs)
    first = int(np.ceil(start / frame - 1e-9))
    last = silent.size if end is None else min(silent.size, int(np.floor(end / frame + 1e-9)))
    quiet = runs(silent[first:last]) if last > first else []
    if not quiet:
        return None
    a, b = max(quiet, key=lambda run: run[1] - run[0])
    return Segment(round((first + a) * frame, 6), round((first + b + 1) * frame, 6))


def _active_frames(samples: Samples, rate: int, threshold_dbfs: float) -> np.ndarray:
    """One bool per whole 20 ms frame: is its level at or above the threshold?"""
    return frame_levels(samples, frame_len(FRAME_S, rate)) >= threshold_dbfs
