"""Stitched menu prompts: a reference made of phrase files, and how a call plays it.

A real menu is several sound files played back to back ("销售按一", "For
sales press one", ...), each with its own silences. The phrases here are the
committed prompts cut at their long pause (each is a Mandarin sentence, a
pause, an English one); the digit phrases are those of ``digit_one`` and
``digit_two``, whose wording differs in the digit alone.

A case holds the reference (2-4 phrases, one a digit phrase, 0.1-0.3 s
apart), the capture of the same phrases as a call delivers them (other gaps,
0-0.3 s; a level change of +/-12 dB; +/-0.1 % clock drift; G.711; 1-5 %
packet loss concealed by repeating the previous frame attenuated), and the
capture of its near duplicate: the same, with the digit phrase replaced by
the other digit's phrase in the same language. Used by the unit tests and by
``tests/benchmarks/bench_stitched_prompts.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.audio import g711, impair
from harness.audio.frames import frame_levels, runs
from harness.audio.pcm import RATE, FloatArray
from harness.audio.tone import silence
from harness.audio.wav import read_wav

from .committed import PROMPT_DIR

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "reference" / "prompts"
DIGITS = ("digit_one", "digit_two")
SPLIT_PAUSE_S = 0.3  # the pause between a committed prompt's two sentences is about 0.4 s


@dataclass(frozen=True)
class Phrase:
    """One sentence of a committed prompt: ``lang`` is "zh" (first) or "en" (second)."""

    prompt: str
    lang: str
    audio: FloatArray


@dataclass(frozen=True)
class StitchedCase:
    """A stitched reference, the capture of it, and the capture of its near duplicate."""

    reference: FloatArray
    heard: FloatArray
    near_duplicate: FloatArray
    start_s: float  # capture time of the reference's first sample in ``heard``
    phrases: tuple[str, ...]  # "prompt.lang" of each phrase, in order
    impairments: str


def load_phrases() -> dict[str, Phrase]:
    """Every committed speech prompt's sentences, keyed "prompt.lang"."""
    phrases: dict[str, Phrase] = {}
    files = [*PROMPT_DIR.glob("*.wav"), *REFERENCE_DIR.glob("*.wav")]
    for path in sorted(f for f in files if f.stem != "hold_music"):
        halves = split_sentences(read_wav(path)[0])
        for lang, audio in zip(("zh", "en"), halves):
            phrases[f"{path.stem}.{lang}"] = Phrase(path.stem, lang, audio)
    return phrases


def split_sentences(audio: FloatArray) -> list[FloatArray]:
    """Cut ``audio`` at its longest pause of at least ``SPLIT_PAUSE_S`` (else whole)."""
    size = RATE // 100
    with np.errstate(divide="ignore"):
        levels = frame_levels(audio, size)
    quiet = [(a, b) for a, b in runs(levels < levels.max() - 45.0) if a > 0]
    long = [(a, b) for a, b in quiet if (b - a + 1) * size >= SPLIT_PAUSE_S * RATE]
    if not long:
        return [audio]
    a, b = max(long, key=lambda q: q[1] - q[0])
    return [audio[: a * size], audio[(b + 1) * size :]]


def make_case(rng: np.random.Generator, phrases: dict[str, Phrase],
              loss: float | None = None) -> StitchedCase:
    """A random stitched prompt and both captures (``loss`` fixes the packet loss)."""
    names = _choose(rng, phrases)
    digit = next(i for i, n in enumerate(names) if n.split(".")[0] in DIGITS)
    prompt, lang = names[digit].split(".")
    swapped = list(names)
    swapped[digit] = f"{DIGITS[1 - DIGITS.index(prompt)]}.{lang}"
    ref_gaps = list(rng.uniform(0.1, 0.3, len(names) - 1))
    heard_gaps = list(rng.uniform(0.0, 0.3, len(names) - 1))
    level, ppm = float(rng.uniform(-12.0, 12.0)), float(rng.uniform(-1000.0, 1000.0))
    law = str(rng.choice(["ulaw", "alaw"]))
    lost = float(rng.uniform(0.01, 0.05)) if loss is None else loss
    before = float(rng.uniform(0.5, 1.5))
    seed = int(rng.integers(2**32))

    def deliver(order: list[str]) -> FloatArray:
        played = impair.stitch([phrases[n].audio for n in order], heard_gaps)
        line = impair.drift(impair.gain(played, level), ppm)
        coded = g711.ulaw_roundtrip(line) if law == "ulaw" else g711.alaw_roundtrip(line)
        capture = np.concatenate((silence(before), coded, silence(1.0)))
        return impair.conceal_lost_packets(capture, lost, np.random.default_rng(seed))

    return StitchedCase(
        reference=impair.stitch([phrases[n].audio for n in names], ref_gaps),
        heard=deliver(names),
        near_duplicate=deliver(swapped),
        start_s=before,
        phrases=tuple(names),
        impairments=(f"gaps {_ms(ref_gaps)} -> {_ms(heard_gaps)} ms, {level:+.1f} dB, "
                     f"{ppm:+.0f} ppm, {law}, {lost:.1%} loss"),
    )


def _choose(rng: np.random.Generator, phrases: dict[str, Phrase]) -> list[str]:
    """2-4 phrase names: one digit phrase at a random place among other prompts' phrases."""
    others = sorted(n for n, p in phrases.items() if p.prompt not in DIGITS)
    digits = sorted(n for n, p in phrases.items() if p.prompt in DIGITS)
    count = int(rng.integers(2, 5))
    names = [str(n) for n in rng.choice(others, count - 1, replace=False)]
    names.insert(int(rng.integers(count)), str(rng.choice(digits)))
    return names


def _ms(gaps: list[float]) -> str:
    return "/".join(f"{g * 1000:.0f}" for g in gaps)
