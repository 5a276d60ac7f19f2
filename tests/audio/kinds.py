"""A deterministic corpus of what a queued caller hears: music, tones, speech, silence.

* **tone**: call-progress tones with their cadences -- continuous 425 Hz and
  350+440 Hz dial tones, 450 Hz Chinese ringback (1 s on, 4 s off), 425 Hz
  European ringback (1 s / 4 s), UK ringback (400+450 Hz, 0.4 / 0.2 / 0.4 /
  2 s), US ringback (440+480 Hz, 2 s / 4 s), Chinese busy (450 Hz, 0.35 /
  0.35 s) and US busy (480+620 Hz, 0.5 / 0.5 s);
* **music**: synthesized chords with rhythm (a pad of three harmonic notes
  per chord, a bass on each beat and a plucked melody, 80-130 beats a minute,
  one of four progressions), and the reference platform's own hold music (a
  melody of pure sine notes, ``fixtures/reference/prompts/hold_music.wav``);
* **speech**: the committed speech prompts (espeak-ng, Mandarin then English),
  in a random order with 0.3-0.7 s between them;
* **silence**: digital silence and comfort noise (white or low-passed, -70 to
  -50 dBFS).

:func:`as_heard` puts a clip through a call: a level change, G.711 (mu- or
A-law) and lost packets concealed as a jitter buffer does. Every function
takes a ``numpy.random.Generator``, so the corpus repeats. Used by
``tests/audio/test_kind.py`` and ``tests/benchmarks/bench_audio_kind.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from harness.audio import g711, impair
from harness.audio.pcm import RATE, FloatArray
from harness.audio.wav import read_wav

from .stitched import REFERENCE_DIR

Rng = np.random.Generator
# (frequencies, [on, off, ...] seconds; empty: continuous)
TONES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "dial 425": ((425.0,), ()),
    "dial 350+440": ((350.0, 440.0), ()),
    "ringback CN 450": ((450.0,), (1.0, 4.0)),
    "ringback EU 425": ((425.0,), (1.0, 4.0)),
    "ringback UK 400+450": ((400.0, 450.0), (0.4, 0.2, 0.4, 2.0)),
    "ringback US 440+480": ((440.0, 480.0), (2.0, 4.0)),
    "busy CN 450": ((450.0,), (0.35, 0.35)),
    "busy US 480+620": ((480.0, 620.0), (0.5, 0.5)),
}
SPEECH_PROMPTS = ("welcome", "main_menu", "service_menu", "invalid_option", "no_input", "goodbye",
                  "opening_hours", "all_busy", "no_agents", "queue_position")
_PROGRESSIONS = (  # semitones from A3 of each chord's root, major (0) or minor (1)
    ((3, 0), (10, 0), (0, 1), (8, 0)),
    ((0, 1), (5, 1), (7, 0), (0, 1)),
    ((8, 0), (10, 0), (3, 0), (0, 1)),
    ((5, 0), (7, 0), (3, 0), (3, 0)),
)


def _db(x: FloatArray, dbfs: float) -> FloatArray:
    """``x`` scaled to an RMS of ``dbfs`` (AES17: a sine at that level)."""
    rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) + 1e-12
    return (x * (10 ** (dbfs / 20) * np.sqrt(0.5) / rms)).astype(np.float32)


def tone(name: str, seconds: float, rng: Rng) -> FloatArray:
    """The tone ``name`` of :data:`TONES`, starting at a random point of its cadence."""
    freqs, cadence = TONES[name]
    period = sum(cadence) or 1.0
    t = np.arange(round(seconds * RATE)) / RATE + rng.uniform(0, period)
    x = sum(np.sin(2 * np.pi * f * t) for f in freqs)
    if cadence:
        phase, on, edge = t % period, np.zeros(t.size, bool), 0.0
        for i, part in enumerate(cadence):
            if i % 2 == 0:
                on |= (phase >= edge) & (phase < edge + part)
            edge += part
        x = x * on
    return _db(np.asarray(x, np.float32), rng.uniform(-22, -10))


def _note(freq: float, seconds: float, harmonics: int, decay: float) -> FloatArray:
    t = np.arange(round(seconds * RATE)) / RATE
    x = sum(np.sin(2 * np.pi * freq * k * t) / k**1.5 for k in range(1, harmonics + 1) if freq * k < 3800)
    envelope = np.minimum(1.0, t / 0.01) * np.exp(-t * decay)
    return np.asarray(x * envelope, np.float32)


def music(seconds: float, rng: Rng) -> FloatArray:
    """Chords with rhythm: pad, bass on each beat, a plucked melody on the half-beats."""
    beat = 60.0 / rng.uniform(80, 130)
    chords = _PROGRESSIONS[int(rng.integers(len(_PROGRESSIONS)))]
    n = round(seconds * RATE)
    out = np.zeros(n + RATE * 4, np.float32)
    at, bar = 0, 0
    while at < n:
        root, minor = chords[bar % len(chords)]
        notes = [220.0 * 2 ** ((root + s) / 12) for s in (0, 3 + (1 - minor), 7)]
        size = round(4 * beat * RATE)
        for f in notes:
            out[at : at + size] += 0.5 * _note(f, 4 * beat, 6, 0.3)
        for b in range(4):
            start = at + round(b * beat * RATE)
            out[start : start + round(beat * RATE)] += 0.8 * _note(notes[0] / 2, beat, 8, 3.0)
        for h in range(8):
            start = at + round(h * beat / 2 * RATE)
            pitch = notes[int(rng.integers(3))] * 2
            out[start : start + round(beat / 2 * RATE)] += 0.4 * _note(pitch, beat / 2, 3, 5.0)
        at, bar = at + size, bar + 1
    return _db(out[:n], rng.uniform(-24, -14))


@lru_cache(maxsize=1)
def _prompts() -> dict[str, FloatArray]:
    names = (*SPEECH_PROMPTS, "hold_music")
    return {name: read_wav(REFERENCE_DIR / f"{name}.wav")[0] for name in names}


def hold_music(seconds: float, rng: Rng) -> FloatArray:
    """The reference platform's hold music, looped, from a random point."""
    loop = _prompts()["hold_music"]
    start = int(rng.integers(loop.size))
    return np.tile(loop, int(seconds * RATE / loop.size) + 2)[start : start + round(seconds * RATE)]


def speech(seconds: float, rng: Rng) -> FloatArray:
    """Speech prompts in a random order, 0.3-0.7 s apart, from a random point of the first."""
    parts: list[FloatArray] = []
    size = 0
    while size < seconds * RATE * 2:
        parts += [_prompts()[SPEECH_PROMPTS[int(rng.integers(len(SPEECH_PROMPTS)))]],
                  np.zeros(round(rng.uniform(0.3, 0.7) * RATE), np.float32)]
        size += parts[-2].size + parts[-1].size
    x = np.concatenate(parts)
    start = int(rng.integers(x.size - round(seconds * RATE)))
    return _db(x[start : start + round(seconds * RATE)], rng.uniform(-24, -12))


def silence(seconds: float, rng: Rng) -> FloatArray:
    """Digital silence or comfort noise (white, or low-passed below 1 kHz), -70 to -50 dBFS."""
    n = round(seconds * RATE)
    choice = int(rng.integers(3))
    if choice == 0:
        return np.zeros(n, np.float32)
    noise = rng.normal(0.0, 1.0, n)
    if choice == 2:
        noise = np.convolve(noise, np.ones(8) / 8, "same")
    return _db(noise.astype(np.float32), rng.uniform(-70, -50))


def speech_over_music(seconds: float, rng: Rng, bed_db: float = -12.0) -> FloatArray:
    """An announcement over a music bed ``bed_db`` below it (the speech is what is heard)."""
    words = speech(seconds, rng)
    return (words + _db(music(seconds, rng), 20 * np.log10(np.sqrt(np.mean(words**2)) / np.sqrt(0.5))
                        + bed_db)).astype(np.float32)


Source = Callable[[float, Rng], FloatArray]
SOURCES: dict[str, tuple[str, Source]] = {  # name: (its kind, how to make it)
    **{name: ("tone", lambda s, rng, name=name: tone(name, s, rng)) for name in TONES},
    "chords": ("music", music),
    "reference hold music": ("music", hold_music),
    "speech prompts": ("speech", speech),
    "speech over music -12 dB": ("speech", speech_over_music),
    "silence / comfort noise": ("silence", silence),
}


def as_heard(x: FloatArray, rng: Rng, loss: float | None = None) -> FloatArray:
    """``x`` after a call: +-6 dB, G.711 mu- or A-law, 0-5 % of the packets lost and concealed."""
    y = impair.gain(x, rng.uniform(-6, 6))
    y = g711.ulaw_roundtrip(y) if rng.integers(2) else g711.alaw_roundtrip(y)
    fraction = rng.uniform(0, 0.05) if loss is None else loss
    return impair.conceal_lost_packets(y, fraction, rng) if fraction > 0 else y
