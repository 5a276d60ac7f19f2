"""What kind of sound a caller hears: music, tone, speech or silence, 20 ms frame by frame.

Made for what a caller hears while queued (hold music, ringback and busy
tones, position announcements, dead air), after G.711 and a jitter buffer.
Each 20 ms frame (one RTP packet) gets three readings:

* its level (dBFS, AES17); below ``silence_dbfs`` it is *quiet*, and so is
  faint steady noise (comfort noise: spectrally flat, under ``NOISE_DBFS``);
* its *tonality*: the share of its 150-3700 Hz power within 40 Hz of its two
  strongest spectral peaks (64 ms Hann window) -- near 1 for a tone or a
  dual tone, well under it for speech, chords or noise;
* its strongest peak's frequency.

A sounding frame is then judged in its context, the frames within
``CONTEXT_S`` either side:

* **tone**: the frame is narrowband and most narrowband frames around it
  share its frequency (a steady peak: ringback, busy, a dial tone);
* **music**: narrowband frames whose pitch moves (a melody of pure notes), or
  broadband sound with continuous energy;
* **speech**: broadband sound with syllabic dips (the level falls by
  ``DIP_DB`` or more between the loud and the quiet parts of the context) or
  pauses.

Last, labels are smoothed (a majority over ``SMOOTH_S``) and quiet stretches
between two sounding frames of one kind take that kind when they are shorter
than its longest pause: the 4 s off of a 1 s on / 4 s off ringback cadence is
part of the tone, a breath between sentences part of the speech.  A quiet
stretch at either end of the audio takes its one neighbour's kind on the
same terms, so a tone followed by up to 4.5 s of silence reads as a cadence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from harness.audio.frames import frame_levels, runs
from harness.audio.pcm import RATE, Samples, to_float

KINDS = ("music", "tone", "speech", "silence")
"""The kinds, as labels index them."""
MUSIC, TONE, SPEECH, SILENCE = range(4)
FRAME = RATE // 50
"""One 20 ms frame."""
FRAME_S = 0.020
SILENCE_DBFS = -45.0
NOISE_DBFS = -30.0
"""Steady broadband noise (flatness >= NOISE_FLATNESS) under this level is comfort noise."""
NOISE_FLATNESS = 0.35
NARROW = 0.85
"""Tonality from which a frame is narrowband."""
STEADY = 0.7
"""Share of the context's narrowband frames at the frame's frequency that makes a tone."""
MELODY = 0.5
"""Share of narrowband frames among sounding ones from which moving pitch is a melody."""
DIP_DB = 12.0
"""Level range (loud 90th to quiet 15th percentile) from which broadband sound is speech."""
CONTEXT_S = 1.0
SMOOTH_S = 0.3
MAX_PAUSE_S = (0.6, 4.5, 0.8)
"""The longest quiet stretch inside music, a tone (its cadence) and speech."""
_WINDOW = 512  # 64 ms: 31 Hz main lobe, fine enough for two tones 60 Hz apart
_NFFT = 1024
_BLIP = 5  # frames: 100 ms
_PEAK_BINS = 5  # +-39 Hz around a peak at 7.8 Hz a bin
_BAND = (150.0, 3700.0)

_F64 = npt.NDArray[np.float64]
Labels = npt.NDArray[np.int8]


@dataclass(frozen=True, eq=False)
class FrameReadings:
    """Per 20 ms frame: level (dBFS), quiet, tonality, flatness and the two peaks (Hz)."""

    level: _F64
    quiet: npt.NDArray[np.bool_]
    tonality: _F64
    peaks: _F64  # shape (frames, 2)


def read_frames(samples: Samples, silence_dbfs: float = SILENCE_DBFS) -> FrameReadings:
    """The readings of every whole 20 ms frame of ``samples`` (8 kHz)."""
    x = to_float(samples).astype(np.float64)
    n = x.size // FRAME
    with np.errstate(divide="ignore"):
        level = frame_levels(x, FRAME)[:n]
    level = np.where(np.isfinite(level), level, -120.0)
    power, freqs = _spectra(x, n)
    band = (freqs >= _BAND[0]) & (freqs <= _BAND[1])
    p = power[:, band]
    total = p.sum(axis=1) + 1e-20
    flatness = np.exp(np.mean(np.log(p + 1e-20), axis=1)) / (total / p.shape[1])
    share, peaks = _two_peaks(p, freqs[band])
    quiet = (level < silence_dbfs) | ((level < NOISE_DBFS) & (flatness >= NOISE_FLATNESS))
    return FrameReadings(level, quiet, share / total, peaks)


def _spectra(x: _F64, n: int) -> tuple[_F64, _F64]:
    """Power spectra of 64 ms Hann windows centred on each 20 ms frame."""
    pad = (_WINDOW - FRAME) // 2
    padded = np.concatenate((np.zeros(pad), x[: n * FRAME], np.zeros(_WINDOW)))
    starts = np.arange(n) * FRAME
    frames = padded[starts[:, None] + np.arange(_WINDOW)[None, :]] * np.hanning(_WINDOW)
    power: _F64 = np.abs(np.fft.rfft(frames, _NFFT, axis=1)) ** 2
    freqs: _F64 = np.fft.rfftfreq(_NFFT, 1.0 / RATE).astype(np.float64)
    return power, freqs


def _two_peaks(p: _F64, freqs: _F64) -> tuple[_F64, _F64]:
    """Power within ``_PEAK_BINS`` of the two strongest peaks, and their frequencies."""
    rows = np.arange(p.shape[0])
    offsets = np.arange(-_PEAK_BINS, _PEAK_BINS + 1)
    share = np.zeros(p.shape[0])
    peaks = np.zeros((p.shape[0], 2))
    rest = p.copy()
    for k in range(2):
        top = np.argmax(rest, axis=1)
        around = np.clip(top[:, None] + offsets[None, :], 0, p.shape[1] - 1)
        share += rest[rows[:, None], around].sum(axis=1)
        rest[rows[:, None], around] = 0.0
        peaks[:, k] = freqs[top]
    return share, peaks


def classify(samples: Samples, silence_dbfs: float = SILENCE_DBFS) -> Labels:
    """The kind (an index into :data:`KINDS`) of every whole 20 ms frame of ``samples``."""
    r = read_frames(samples, silence_dbfs)
    labels = _sounding_labels(r)
    labels = _smooth(labels, r.quiet)
    return _fill_pauses(labels, r.quiet)


def _sounding_labels(r: FrameReadings) -> Labels:
    """Tone, music or speech for each sounding frame, from its context; silence for quiet ones."""
    n = r.level.size
    half = round(CONTEXT_S / FRAME_S)
    narrow = ~r.quiet & (r.tonality >= NARROW)
    floor = np.maximum(r.level, -70.0)
    labels = np.full(n, SILENCE, dtype=np.int8)
    for i in (int(j) for j in np.flatnonzero(~r.quiet)):
        lo, hi = max(0, i - half), min(n, i + half + 1)
        labels[i] = _judge(i, narrow[lo:hi], r.peaks[lo:hi], r.quiet[lo:hi], floor[lo:hi],
                           bool(narrow[i]), r.peaks[i, 0])
    return labels


def _judge(i: int, narrow: npt.NDArray[np.bool_], peaks: _F64, quiet: npt.NDArray[np.bool_],
           level: _F64, is_narrow: bool, pitch: float) -> int:
    """One sounding frame's kind in its context (the arrays are the context's)."""
    sounding = int((~quiet).sum())
    if is_narrow:
        near = np.abs(peaks[narrow] - pitch) <= max(10.0, 0.02 * pitch)
        if near.any(axis=1).mean() >= STEADY:
            return TONE
    if narrow.sum() >= MELODY * sounding:
        return MUSIC
    dip = float(np.percentile(level, 90) - np.percentile(level, 15))
    return SPEECH if dip >= DIP_DB else MUSIC


def _smooth(labels: Labels, quiet: npt.NDArray[np.bool_]) -> Labels:
    """Each sounding frame takes the commonest kind among the sounding frames around it."""
    half = round(SMOOTH_S / FRAME_S)
    sounding = np.flatnonzero(~quiet)
    out = labels.copy()
    counts = np.stack([_window_sums((labels == k) & ~quiet, half) for k in (MUSIC, TONE, SPEECH)])
    out[sounding] = np.array([MUSIC, TONE, SPEECH], dtype=np.int8)[np.argmax(counts[:, sounding], axis=0)]
    return out


def _window_sums(mask: npt.NDArray[np.bool_], half: int) -> _F64:
    """For each index, how many of ``mask`` are true within ``half`` either side."""
    total = np.concatenate(([0], np.cumsum(mask)))
    index = np.arange(mask.size)
    sums: _F64 = (total[np.minimum(mask.size, index + half + 1)] - total[np.maximum(0, index - half)]).astype(
        np.float64)
    return sums


def _fill_pauses(labels: Labels, quiet: npt.NDArray[np.bool_]) -> Labels:
    """Quiet stretches no longer than the neighbouring kind's longest pause take that kind."""
    out = labels.copy()
    sounding = runs(~quiet)
    for a, b in runs(quiet):
        before = [(int(labels[a - 1]), y - x + 1) for x, y in sounding if y == a - 1]
        after = [(int(labels[b + 1]), y - x + 1) for x, y in sounding if x == b + 1]
        kind = _neighbour_kind(before + after)
        if kind is not None and (b - a + 1) * FRAME_S <= MAX_PAUSE_S[kind]:
            out[a : b + 1] = kind
    return out


def _neighbour_kind(neighbours: list[tuple[int, int]]) -> int | None:
    """The kind of the sounding runs either side of a quiet stretch, if they agree.

    A run of at most ``_BLIP`` frames (a tone's onset click, a lone crackle) gives way to
    the other side.
    """
    kinds = {k for k, size in neighbours if size > _BLIP} or {k for k, _ in neighbours}
    return kinds.pop() if len(kinds) == 1 else None


def shares(labels: Labels) -> dict[str, float]:
    """Each kind's share of ``labels`` (0 to 1), in :data:`KINDS` order."""
    total = max(1, labels.size)
    return {name: float(np.count_nonzero(labels == k)) / total for k, name in enumerate(KINDS)}
