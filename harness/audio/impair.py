"""Impairments a call applies to audio, reproduced on arrays.

Used to show that an analysis survives what a real call does to a signal:
gain changes, clipping, noise, lost packets (concealed or not), jitter-buffer slips,
clock drift and prompts stitched from several files (G.711
coding is in :mod:`harness.audio.g711`). Random impairments take a
``numpy.random.Generator`` so that every figure can be reproduced.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import resample

from harness.audio.pcm import RATE, FloatArray, Samples, to_float

PACKET_S = 0.020
"""Audio in one RTP packet at the usual 20 ms packetisation."""


def gain(samples: Samples, db: float) -> FloatArray:
    """Scale by ``db`` decibels and clip to full scale, as a PCM path would."""
    return clip(to_float(samples) * np.float32(10.0 ** (db / 20.0)), 1.0)


def clip(samples: Samples, limit: float) -> FloatArray:
    """Hard-clip at ``±limit`` (of full scale)."""
    return np.clip(to_float(samples), -limit, limit).astype(np.float32)


def add_noise(
    samples: Samples, snr_db: float, rng: np.random.Generator, signal: Samples | None = None
) -> FloatArray:
    """Add white Gaussian noise ``snr_db`` below the mean power of ``signal``.

    ``signal`` defaults to ``samples``; pass the prompt alone when ``samples``
    also holds silence, so that the ratio is the one heard during the prompt.
    """
    x = to_float(samples)
    reference = to_float(x if signal is None else signal).astype(np.float64)
    power = float(np.mean(reference**2))
    noise = rng.normal(0.0, np.sqrt(power / 10.0 ** (snr_db / 10.0)), x.size)
    return (x + noise).astype(np.float32)


def lose_packets(
    samples: Samples, fraction: float, rng: np.random.Generator, rate: int = RATE
) -> FloatArray:
    """Zero a random ``fraction`` of the 20 ms packets (no concealment), at least one."""
    x = to_float(samples).copy()
    size = int(PACKET_S * rate)
    count = -(-x.size // size)
    lost = rng.choice(count, size=max(1, round(fraction * count)), replace=False)
    for index in lost:
        x[index * size : (index + 1) * size] = 0.0
    return x


def slip(samples: Samples, at_s: float, shift_s: float, rate: int = RATE) -> FloatArray:
    """Shift everything after ``at_s`` by ``shift_s`` seconds, as a jitter buffer does.

    A positive shift inserts silence (an underrun, the rest arrives late); a
    negative one discards audio (the buffer drops frames to catch up).
    """
    x = to_float(samples)
    at, shift = int(at_s * rate), round(shift_s * rate)
    if shift >= 0:
        return np.concatenate((x[:at], np.zeros(shift, np.float32), x[at:]))
    return np.concatenate((x[:at], x[at - shift :]))


def conceal_lost_packets(
    samples: Samples,
    fraction: float,
    rng: np.random.Generator,
    rate: int = RATE,
    attenuation_db: float = 6.0,
) -> FloatArray:
    """Lose a random ``fraction`` of the 20 ms packets and conceal each one.

    The concealment is the simple one a jitter buffer falls back to: the
    previous frame *as played* is repeated ``attenuation_db`` quieter, so a
    burst of losses fades out (a lost first packet is silence).
    """
    x = to_float(samples).copy()
    size = int(PACKET_S * rate)
    count = -(-x.size // size)
    lost = rng.choice(count, size=max(1, round(fraction * count)), replace=False)
    factor = np.float32(10.0 ** (-attenuation_db / 20.0))
    for index in sorted(int(i) for i in lost):
        at = index * size
        end = min(at + size, x.size)
        previous = x[at - size : at] if index else np.zeros(size, np.float32)
        x[at:end] = previous[: end - at] * factor
    return x


def drift(samples: Samples, ppm: float) -> FloatArray:
    """``samples`` played ``ppm`` parts per million slower (longer; negative: shorter).

    What a sender's clock that differs from the receiver's does when nothing
    between them slips frames: at 0.1 % a 10 s prompt ends 10 ms late or
    early. Band-limited (FFT) resampling, so the only change is the timing.
    """
    x = to_float(samples)
    stretched = resample(x.astype(np.float64), round(x.size * (1.0 + ppm * 1e-6)))
    return np.asarray(stretched, dtype=np.float32)


def stitch(parts: list[Samples], gaps_s: list[float], rate: int = RATE) -> FloatArray:
    """Play ``parts`` back to back with ``gaps_s[i]`` of silence after part ``i``.

    The way an IVR plays a menu made of several files.
    """
    if len(gaps_s) != len(parts) - 1:
        raise ValueError(f"{len(parts)} parts need {len(parts) - 1} gaps, got {len(gaps_s)}")
    pieces: list[FloatArray] = [to_float(parts[0])]
    for part, gap in zip(parts[1:], gaps_s):
        pieces += [np.zeros(round(gap * rate), np.float32), to_float(part)]
    return np.concatenate(pieces)


def sender_stall(
    samples: Samples, at_s: float, stall_s: float, discard_s: float, look_s: float = 0.1,
    rate: int = RATE,
) -> tuple[FloatArray, list[tuple[float, float]]]:
    """``samples`` as a jitter buffer delivers them when their sender stalls ``stall_s`` at
    ``at_s``, and the ``(seconds, made up or thrown away)`` its phone reports.

    Measured on real calls (pjmedia 2.15): the buffer makes up silence for the whole stall,
    reported as it goes at looks ``look_s`` apart; then it throws away the burst that
    follows 10 ms at a time, about every other look, until ``discard_s`` is gone.
    """
    x, at = to_float(samples), int(at_s * rate)
    parts: list[FloatArray] = [x[:at], np.zeros(int(stall_s * rate), dtype=x.dtype)]
    slips: list[tuple[float, float]] = []
    t, left = at_s, stall_s
    while left > 1e-9:
        t += look_s
        slips.append((t, min(look_s, left)))
        left -= look_s
    pos, step, frame = at, int(2 * look_s * rate), int(0.010 * rate)
    for _ in range(round(discard_s / 0.010)):
        parts.append(x[pos : pos + step])
        pos += step + frame
        t += 2 * look_s
        slips.append((t, 0.010))
    parts.append(x[pos:])
    return np.concatenate(parts), slips
