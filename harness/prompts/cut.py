"""Cutting one prompt out of a capture: where its sound starts and ends, trimmed and level-checked.

Pure audio on numpy arrays (8 kHz mono float), in the 20 ms frames of
:mod:`harness.audio.speech`: a prompt starts at the first frame at or above
the sound level after a given time, and ends where the first run of silent
frames at least ``end_silence`` long begins -- so pauses inside a sentence
(a few hundred ms) stay in the prompt, and the pause an IVR leaves while it
waits for a key ends it.  Times are exact to one frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from harness.audio.frames import frame_len, frame_levels, runs
from harness.audio.pcm import RATE, FloatArray, Samples, to_float
from harness.audio.speech import FRAME_S, first_audio, level_dbfs

SOUND_DBFS = -45.0  # a 20 ms frame at least this loud is sound (as speech.segments counts it)
PAD_S = 0.020  # kept before the first and after the last sound frame: the onset under the threshold
FADE_S = 0.005  # raised-cosine fade at both ends, so the cut does not click
QUIET_DBFS = -35.0  # a prompt quieter than this (RMS) is suspicious: gain, or one-way audio
FULL_SCALE = 0.97  # G.711 decodes to at most 0.98 of full scale
CLIPPED_SHARE = 0.001  # more than 0.1 % of samples at full scale: clipped
SHORT_S = 0.3  # shorter than this is a click or a beep, not a prompt
PAUSE_S = 0.1  # silent runs this long inside a cut are reported as its pauses (a word gap is shorter)


def first_sound(samples: Samples, since: float, rate: int = RATE,
                threshold_dbfs: float = SOUND_DBFS) -> float | None:
    """Time (s) of the first sound frame at or after ``since`` seconds, or None if none yet."""
    offset = max(0, round(since * rate))
    found = first_audio(to_float(samples)[offset:], rate, threshold_dbfs)
    return None if found is None else round(since + found, 6)


def sound_end(samples: Samples, start: float, end_silence: float, rate: int = RATE,
              threshold_dbfs: float = SOUND_DBFS) -> float | None:
    """Where the sound that begins at ``start`` ends: the start of the first silence that lasts
    ``end_silence`` seconds.  None while no such silence has been captured yet."""
    frame = frame_len(FRAME_S, rate)
    offset = round(start * rate)
    silent = frame_levels(to_float(samples)[offset:], frame) < threshold_dbfs
    needed = max(1, math.ceil(end_silence / FRAME_S - 1e-9))
    for first, last in runs(silent):
        if last - first + 1 >= needed:
            return round(start + first * frame / rate, 6)
    return None


def last_sound_end(samples: Samples, start: float, rate: int = RATE,
                   threshold_dbfs: float = SOUND_DBFS) -> float:
    """The end of the last sound frame after ``start`` (for a capture that is over)."""
    frame = frame_len(FRAME_S, rate)
    offset = round(start * rate)
    loud = np.flatnonzero(frame_levels(to_float(samples)[offset:], frame) >= threshold_dbfs)
    return round(start + (int(loud[-1]) + 1) * frame / rate, 6) if loud.size else start


def excerpt(samples: Samples, start: float, end: float, rate: int = RATE) -> FloatArray:
    """``start``..``end`` seconds of ``samples``, widened by ``PAD_S`` each side and faded."""
    x = to_float(samples)
    lo = max(0, round((start - PAD_S) * rate))
    hi = min(x.size, round((end + PAD_S) * rate))
    return fade(x[lo:hi].copy(), rate)


def trim(samples: Samples, rate: int = RATE, threshold_dbfs: float = SOUND_DBFS) -> FloatArray:
    """``samples`` without the silence before its first and after its last sound frame (padded,
    faded); empty when there is no sound at all."""
    start = first_sound(samples, 0.0, rate, threshold_dbfs)
    if start is None:
        return np.zeros(0, dtype=np.float32)
    return excerpt(samples, start, last_sound_end(samples, start, rate, threshold_dbfs), rate)


def fade(x: FloatArray, rate: int = RATE) -> FloatArray:
    """Fade ``x`` in and out over ``FADE_S`` (in place) and return it."""
    n = min(int(FADE_S * rate), x.size // 2)
    if n > 0:
        ramp = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n, endpoint=False))).astype(np.float32)
        x[:n] *= ramp
        x[-n:] *= ramp[::-1]
    return x


@dataclass(frozen=True)
class Level:
    """How loud a captured prompt is, and what is wrong with it (``warnings`` empty: nothing)."""

    duration_s: float
    rms_dbfs: float
    peak_dbfs: float
    clipped_share: float  # of samples at full scale
    warnings: tuple[str, ...]


def assess(samples: Samples, rate: int = RATE) -> Level:
    """Measure a trimmed prompt: too quiet, clipped or too short is a warning."""
    x = to_float(samples)
    duration = x.size / rate
    rms = level_dbfs(x)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    clipped = float(np.mean(np.abs(x) >= FULL_SCALE)) if x.size else 0.0
    warnings = []
    if rms < QUIET_DBFS:
        warnings.append(f"quiet ({rms:.0f} dBFS): check the platform's prompt gain, or one-way audio")
    if clipped > CLIPPED_SHARE:
        warnings.append(f"clipped ({clipped:.1%} of samples at full scale): the prompt is too loud")
    if duration < SHORT_S:
        warnings.append(f"short ({duration:.2f}s): a beep or a click rather than a prompt?")
    peak_db = 20 * math.log10(peak) if peak > 0 else float("-inf")
    return Level(round(duration, 3), rms, peak_db, clipped, tuple(warnings))


@dataclass(frozen=True)
class Shape:
    """Where a cut's sound lies: its length, its first and last sound, and the pauses between."""

    length_s: float
    sound: tuple[float, float] | None  # seconds into the cut; None when it holds no sound
    pauses: tuple[tuple[float, float], ...]  # (where it begins, how long), seconds

    def describe(self) -> str:
        """``4.82 s, sound 0.12-4.70 s, pauses at 1.30 s (0.40 s), 2.95 s (0.35 s)``."""
        if self.sound is None:
            return f"{self.length_s:.2f} s, no sound"
        pauses = ", ".join(f"{at:.2f} s ({long:.2f} s)" for at, long in self.pauses) or "none"
        return (f"{self.length_s:.2f} s, sound {self.sound[0]:.2f}-{self.sound[1]:.2f} s, "
                f"pauses {'at ' if self.pauses else ''}{pauses}")

    def record(self) -> dict[str, object]:
        return {"length_s": self.length_s, "sound_s": list(self.sound) if self.sound else None,
                "pauses_s": [list(p) for p in self.pauses]}


def shape(samples: Samples, rate: int = RATE, threshold_dbfs: float = SOUND_DBFS,
          min_pause_s: float = PAUSE_S) -> Shape:
    """The content boundaries of a cut, to one 20 ms frame: first and last frame at or above the
    sound level, and every silent run of at least ``min_pause_s`` between them."""
    x = to_float(samples)
    frame = frame_len(FRAME_S, rate)
    step = frame / rate
    loud = frame_levels(x, frame) >= threshold_dbfs
    length = round(x.size / rate, 3)
    where = np.flatnonzero(loud)
    if where.size == 0:
        return Shape(length, None, ())
    first, last = int(where[0]), int(where[-1])
    needed = max(1, math.ceil(min_pause_s / step - 1e-9))
    pauses = tuple((round((first + a) * step, 3), round((b - a + 1) * step, 3))
                   for a, b in runs(~loud[first:last + 1]) if b - a + 1 >= needed)
    return Shape(length, (round(first * step, 3), round((last + 1) * step, 3)), pauses)
