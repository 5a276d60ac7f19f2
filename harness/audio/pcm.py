"""Sample formats and rates: the one place that converts between them.

The harness analyses mono audio at :data:`RATE` (8000 Hz, the G.711 rate).
Samples travel as float arrays in [-1, 1]; int16 is accepted wherever samples
are taken, and produced only for files and for spandsp.

Levels are in dBFS after AES17: a sine whose peak touches full scale is
0 dBFS, so a sine generated at -10 dBFS also *measures* -10 dBFS.
"""

from __future__ import annotations

from math import gcd
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.signal import resample_poly

RATE = 8000
"""The analysis rate in Hz."""

FloatArray = npt.NDArray[np.float32]
Int16Array = npt.NDArray[np.int16]
Samples = npt.NDArray[Any]
"""Mono samples: int16 PCM, or float in [-1, 1]."""

SINE_RMS_DB = float(20 * np.log10(np.sqrt(0.5)))
"""RMS of a full-scale sine in dB re full-scale square (-3.01): the AES17 offset."""


def to_float(samples: Samples) -> FloatArray:
    """Return ``samples`` as float32 in [-1, 1]; int16 is scaled by 1/32768."""
    array = np.asarray(samples)
    if array.dtype == np.int16:
        return (array.astype(np.float32) / 32768.0).reshape(-1)
    if np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"integer samples must be int16, not {array.dtype}")
    return array.astype(np.float32, copy=False).reshape(-1)


def to_int16(samples: Samples) -> Int16Array:
    """Return ``samples`` as int16, clipping floats outside [-1, 1]."""
    array = np.asarray(samples)
    if array.dtype == np.int16:
        return array.reshape(-1)
    scaled = np.round(to_float(array).astype(np.float64) * 32768.0)
    return np.clip(scaled, -32768, 32767).astype(np.int16)


def resample(samples: Samples, rate: int, target: int = RATE) -> FloatArray:
    """Resample float samples from ``rate`` to ``target`` Hz (polyphase, anti-aliased)."""
    x = to_float(samples)
    if rate == target or x.size == 0:
        return x
    if rate <= 0 or target <= 0:
        raise ValueError(f"sample rates must be positive, got {rate} -> {target}")
    g = gcd(rate, target)
    resampled: FloatArray = resample_poly(x, target // g, rate // g).astype(np.float32)
    return resampled


def db_to_amplitude(level_dbfs: float) -> float:
    """Peak amplitude of a sine at ``level_dbfs`` (AES17: 0 dBFS peaks at full scale)."""
    return float(10.0 ** (level_dbfs / 20.0))


def rms_dbfs(samples: Samples) -> float:
    """RMS level in dBFS (AES17 sine-referenced); ``-inf`` for silence or no samples."""
    x = to_float(samples).astype(np.float64)
    if x.size == 0:
        return float("-inf")
    power = float(np.mean(x * x))
    if power <= 0.0:
        return float("-inf")
    return 10.0 * float(np.log10(power)) - SINE_RMS_DB
