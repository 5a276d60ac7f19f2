"""Speech/silence segmentation by short-term energy."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from harness.audio import impair, speech
from harness.audio.pcm import FloatArray
from harness.audio.tone import silence, sine


def _two_prompts_with_a_gap(prompts: dict[str, FloatArray], rng: np.random.Generator) -> FloatArray:
    """0.5 s quiet, greeting, 2.0 s quiet, digit_one, 0.4 s quiet; line noise at -65 dBFS."""
    parts = (silence(0.5), prompts["greeting"], silence(2.0), prompts["digit_one"], silence(0.4))
    x = np.concatenate(parts)
    return impair.add_noise(x, 0.0, rng, signal=sine(1000, 1.0, -65.0))


def test_segmentation_finds_the_2_s_gap(
    prompts: dict[str, FloatArray], rng: np.random.Generator
) -> None:
    x = _two_prompts_with_a_gap(prompts, rng)
    found = speech.segments(x)
    greeting_end = 0.5 + prompts["greeting"].size / 8000
    gaps = [(a.end_s, b.start_s) for a, b in itertools.pairwise(found)]
    long_gaps = [(a, b) for a, b in gaps if b - a >= 1.0]
    assert len(long_gaps) == 1
    start, end = long_gaps[0]
    assert start == pytest.approx(greeting_end, abs=0.04)
    assert end - start == pytest.approx(2.0, abs=0.04)
    assert found[0].start_s == pytest.approx(0.5, abs=0.02)


def test_short_pauses_inside_speech_are_bridged(prompts: dict[str, FloatArray]) -> None:
    assert len(speech.segments(prompts["digit_one"], min_silence=0.6)) == 1


def test_first_audio(prompts: dict[str, FloatArray], rng: np.random.Generator) -> None:
    assert speech.first_audio(_two_prompts_with_a_gap(prompts, rng)) == pytest.approx(0.5, abs=0.02)
    assert speech.first_audio(silence(3.0)) is None


def test_longest_silence(prompts: dict[str, FloatArray], rng: np.random.Generator) -> None:
    x = _two_prompts_with_a_gap(prompts, rng)
    gap = speech.longest_silence(x)
    assert gap is not None and gap.duration == pytest.approx(2.0, abs=0.04)
    inside = speech.longest_silence(x, 1.0, 1.5)  # within the greeting: only its short pauses
    assert inside is None or inside.duration < 0.3
    assert speech.longest_silence(sine(440, 1.0)) is None


def test_level_dbfs() -> None:
    assert speech.level_dbfs(sine(1000, 1.0, -20.0)) == pytest.approx(-20.0, abs=0.01)
    assert speech.level_dbfs(silence(1.0)) == float("-inf")
