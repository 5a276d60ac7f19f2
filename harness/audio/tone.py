"""Tones: generate sines, dual tones, silence and in-band DTMF; find a tone in audio.

Levels follow :mod:`harness.audio.pcm`: a sine generated at -10 dBFS peaks
at 10 ** (-10 / 20) of full scale. For a dual tone the level is that of each
component, as DTMF levels are specified (ITU-T Q.23).
"""

from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

from harness.audio.frames import runs
from harness.audio.pcm import RATE, FloatArray, Samples, db_to_amplitude, to_float
from harness.audio.wav import write_wav

DTMF_LOW = (697.0, 770.0, 852.0, 941.0)
DTMF_HIGH = (1209.0, 1336.0, 1477.0, 1633.0)
_DTMF_KEYS = ("123A", "456B", "789C", "*0#D")
DTMF_FREQUENCIES: dict[str, tuple[float, float]] = {
    key: (low, high) for low, row in zip(DTMF_LOW, _DTMF_KEYS) for high, key in zip(DTMF_HIGH, row)
}
"""Each DTMF key with its (low, high) frequency pair in Hz."""

_FRAME_S = 0.020  # analysis window: one RTP packet of audio
_HOP_S = 0.005  # window step: sets the time resolution of tone edges


class ToneSegment(NamedTuple):
    """A stretch of audio where one frequency dominates."""

    start_s: float
    end_s: float
    level_dbfs: float  # level of the tone component itself (median over the stretch)


def silence(duration: float, rate: int = RATE) -> FloatArray:
    """Return ``duration`` seconds of digital silence."""
    return np.zeros(_count(duration, rate), dtype=np.float32)


def sine(
    freq: float, duration: float, level_dbfs: float = -10.0, rate: int = RATE, phase: float = 0.0
) -> FloatArray:
    """Return a sine of ``freq`` Hz lasting ``duration`` seconds at ``level_dbfs``."""
    t = np.arange(_count(duration, rate)) / rate
    wave = db_to_amplitude(level_dbfs) * np.sin(2 * np.pi * freq * t + phase)
    return wave.astype(np.float32)


def dual_tone(
    low: float,
    high: float,
    duration: float,
    level_dbfs: float = -10.0,
    rate: int = RATE,
    twist_db: float = 0.0,
) -> FloatArray:
    """Return two summed sines; ``level_dbfs`` is per component, ``high`` is raised by ``twist_db``."""
    return sine(low, duration, level_dbfs, rate) + sine(high, duration, level_dbfs + twist_db, rate)


def dtmf_tones(
    digits: str,
    on_s: float = 0.100,
    off_s: float = 0.100,
    level_dbfs: float = -10.0,
    rate: int = RATE,
    twist_db: float = 0.0,
) -> FloatArray:
    """Return in-band DTMF for ``digits``: ``on_s`` of tone, ``off_s`` of silence between digits.

    Keys are ``0-9``, ``*``, ``#`` and ``A-D`` (case-insensitive); anything
    else raises ``ValueError``.
    """
    parts: list[FloatArray] = []
    for index, char in enumerate(digits):
        key = char.upper()
        if key not in DTMF_FREQUENCIES:
            raise ValueError(f"{char!r} in {digits!r} is not a DTMF key (0-9 * # A-D)")
        if index:
            parts.append(silence(off_s, rate))
        low, high = DTMF_FREQUENCIES[key]
        parts.append(dual_tone(low, high, on_s, level_dbfs, rate, twist_db))
    return np.concatenate(parts) if parts else silence(0.0, rate)


def write_sine(
    path: str | os.PathLike[str],
    freq: float,
    duration: float,
    level_dbfs: float = -10.0,
    rate: int = RATE,
) -> None:
    """Write a sine to a 16-bit WAV file (see :func:`sine`)."""
    write_wav(path, sine(freq, duration, level_dbfs, rate), rate)


def write_dtmf(
    path: str | os.PathLike[str],
    digits: str,
    on_s: float = 0.100,
    off_s: float = 0.100,
    level_dbfs: float = -10.0,
    rate: int = RATE,
) -> None:
    """Write in-band DTMF for ``digits`` to a 16-bit WAV file (see :func:`dtmf_tones`)."""
    write_wav(path, dtmf_tones(digits, on_s, off_s, level_dbfs, rate), rate)


def detect_tone(
    samples: Samples,
    freq: float,
    rate: int = RATE,
    min_duration: float = 0.040,
    min_ratio: float = 0.5,
    min_level_dbfs: float = -50.0,
) -> list[ToneSegment]:
    """Find the stretches where ``freq`` dominates: ``[(start_s, end_s, level_dbfs), ...]``.

    A 20 ms window slides in 5 ms steps; a window counts when the component at
    ``freq`` carries at least ``min_ratio`` of its energy and is louder than
    ``min_level_dbfs``. Because the ratio does not depend on gain, and G.711
    noise sits some 35 dB below the signal, codec and level changes do not
    move the edges. Edges are the centres of the first and last windows that
    count, which is where half the window overlaps the tone (within 5 ms).
    The 20 ms window accepts a tone within about 10 Hz of ``freq``. For one component of
    a dual tone, which carries half the energy, pass
    ``min_ratio=0.3``.
    """
    x = to_float(samples).astype(np.float64)
    size, hop = _count(_FRAME_S, rate), max(1, _count(_HOP_S, rate))
    if x.size < size:
        return []
    ratio, amplitude = _tone_frames(x, freq, rate, size, hop)
    level = 20.0 * np.log10(np.maximum(amplitude, 1e-12))
    hits = (ratio >= min_ratio) & (level >= min_level_dbfs)
    centre = (np.arange(hits.size) * hop + size / 2) / rate
    return [
        ToneSegment(float(centre[a]), float(centre[b]), float(np.median(level[a : b + 1])))
        for a, b in runs(hits)
        if centre[b] - centre[a] >= min_duration
    ]


def _tone_frames(
    x: np.ndarray, freq: float, rate: int, size: int, hop: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per window: the fraction of energy at ``freq`` and that component's amplitude.

    A sliding DFT at one frequency by cumulative sums: the magnitude of a
    window's sum of x[n]·e^(-jωn) does not depend on where n starts.
    """
    n = np.arange(x.size)
    product = np.concatenate(([0j], np.cumsum(x * np.exp(-2j * np.pi * freq * n / rate))))
    energy = np.concatenate(([0.0], np.cumsum(x * x)))
    starts = np.arange(0, x.size - size + 1, hop)
    component = np.abs(product[starts + size] - product[starts])
    window_energy = energy[starts + size] - energy[starts]
    ratio = 2.0 * component**2 / (size * np.maximum(window_energy, 1e-20))
    return ratio, 2.0 * component / size


def _count(duration: float, rate: int) -> int:
    if duration < 0:
        raise ValueError(f"duration must not be negative, got {duration}")
    return round(duration * rate)
