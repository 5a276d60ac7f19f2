"""Framing: cutting audio into fixed frames and finding runs of frames.

Shared by the analyses that decide frame by frame (tone, speech).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from harness.audio.pcm import SINE_RMS_DB, Samples, to_float


def frame_len(seconds: float, rate: int) -> int:
    """Samples in a frame of ``seconds`` at ``rate`` (at least one)."""
    return max(1, round(seconds * rate))


def frame_levels(samples: Samples, size: int) -> npt.NDArray[np.float64]:
    """RMS level in dBFS of each whole frame of ``size`` samples (``-inf`` when silent)."""
    x = to_float(samples).astype(np.float64)
    frames = x[: x.size - x.size % size].reshape(-1, size)
    power = np.mean(frames * frames, axis=1) if frames.size else np.zeros(0)
    with np.errstate(divide="ignore"):
        levels: npt.NDArray[np.float64] = 10.0 * np.log10(power) - SINE_RMS_DB
    return levels


def runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """Inclusive ``(first, last)`` index pairs of the runs of True in ``mask``."""
    padded = np.concatenate(([False], np.asarray(mask, dtype=bool), [False])).astype(np.int8)
    edges = np.diff(padded)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return [(int(a), int(b)) for a, b in zip(starts, ends)]
