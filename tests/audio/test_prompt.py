"""Prompt matching by normalised cross-correlation, through what a call does to audio."""

from __future__ import annotations

import itertools
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from harness.audio import g711, impair
from harness.audio.pcm import FloatArray
from harness.audio.pieces import LAPSE_S
from harness.audio.prompt import find_prompt, match_prompt
from harness.audio.tone import silence
from harness.audio.wav import read_wav

from .committed import PROMPT_DIR, PROMPT_NAMES

START_S = 1.234  # the prompt starts mid-capture, off the 20 ms packet grid
GOODBYE = PROMPT_DIR.parents[1] / "reference" / "prompts" / "goodbye.wav"  # ends mid-word
Degrade = Callable[[FloatArray, FloatArray, np.random.Generator], FloatArray]


def _duration(x: FloatArray) -> float:
    return x.size / 8000


DEGRADATIONS: dict[str, Degrade] = {
    "clean": lambda cap, ref, rng: cap,
    "ulaw": lambda cap, ref, rng: g711.ulaw_roundtrip(cap),
    "alaw": lambda cap, ref, rng: g711.alaw_roundtrip(cap),
    "gain-12dB": lambda cap, ref, rng: impair.gain(cap, -12.0),
    "gain+6dB": lambda cap, ref, rng: impair.gain(cap, 6.0),  # the prompts peak at -3 dBFS: clips
    "clipped": lambda cap, ref, rng: impair.clip(cap, 0.25),
    "loss1%": lambda cap, ref, rng: impair.lose_packets(cap, 0.01, rng),
    "loss3%": lambda cap, ref, rng: impair.lose_packets(cap, 0.03, rng),
    "noise10dB": lambda cap, ref, rng: impair.add_noise(cap, 10.0, rng, signal=ref),
    "jitter+20ms": lambda cap, ref, rng: impair.slip(cap, START_S + _duration(ref) * 0.5, 0.020),
    "jitter-10ms,+20ms": lambda cap, ref, rng: impair.slip(
        impair.slip(cap, START_S + _duration(ref) * 0.3, -0.010),
        START_S + _duration(ref) * 0.7,
        0.020,
    ),
    # a bridged call passes two jitter buffers: slips of 40 ms each, adding up to 80 ms
    # (seen on the reference platform under load: 40 ms two-thirds into agent_hello)
    "bridged+40ms,+40ms": lambda cap, ref, rng: impair.slip(
        impair.slip(cap, START_S + _duration(ref) * 0.35, 0.040),
        START_S + _duration(ref) * 0.7,
        0.040,
    ),
    "ulaw+gain-12dB+loss3%+noise20dB": lambda cap, ref, rng: g711.ulaw_roundtrip(
        impair.add_noise(
            impair.lose_packets(impair.gain(cap, -12.0), 0.03, rng),
            20.0,
            rng,
            signal=impair.gain(ref, -12.0),
        )
    ),
}


def _capture(prompt: FloatArray, before: float = START_S, after: float = 1.0) -> FloatArray:
    return np.concatenate((silence(before), prompt, silence(after)))


@pytest.mark.parametrize("name", PROMPT_NAMES)
@pytest.mark.parametrize("degradation", DEGRADATIONS)
def test_same_prompt_matches_through_degradation(
    prompts: dict[str, FloatArray], rng: np.random.Generator, name: str, degradation: str
) -> None:
    reference = prompts[name]
    heard = DEGRADATIONS[degradation](_capture(reference), reference, rng)
    found = find_prompt(heard, reference, min_score=0.9)
    assert found is not None, match_prompt(heard, reference)
    assert found.start_s == pytest.approx(START_S, abs=0.020)
    assert found.rigid_score <= found.score <= 1.0


@pytest.mark.parametrize("degradation", ["clean", "ulaw", "noise10dB"])
def test_different_prompts_do_not_match(
    prompts: dict[str, FloatArray], rng: np.random.Generator, degradation: str
) -> None:
    for expected, played in itertools.permutations(PROMPT_NAMES, 2):
        capture = _capture(prompts[played], before=1.0, after=5.0)
        heard = DEGRADATIONS[degradation](capture, prompts[played], rng)
        found = match_prompt(heard, prompts[expected])
        assert found.score <= 0.6, (expected, played, found)
        assert find_prompt(heard, prompts[expected]) is None


@pytest.mark.parametrize("name", PROMPT_NAMES)
def test_prompt_half_arrived_at_end_of_capture_does_not_match(
    prompts: dict[str, FloatArray], name: str
) -> None:
    reference = prompts[name]
    capture = np.concatenate(
        (silence(2.0 + _duration(reference)), reference[: reference.size // 2])
    )
    assert match_prompt(capture, reference).score < 0.8
    assert find_prompt(capture, reference) is None


def test_capture_shorter_than_reference_by_more_than_a_lapse_scores_zero(
    prompts: dict[str, FloatArray]
) -> None:
    reference = prompts["greeting"]
    found = match_prompt(reference[: -round(LAPSE_S * 8000) - 1], reference)
    assert (found.score, found.rigid_score, found.coverage) == (0.0, 0.0, 0.0)


def test_capture_that_ends_a_few_packets_before_the_prompt_does_is_heard() -> None:
    # Asterisk 22 answered, played no_agents and hung up: the capture, from the answer to the
    # BYE, was shorter than the prompt by what the jitter buffer still held, and scored 0.
    reference = read_wav(GOODBYE)[0]
    assert find_prompt(reference[:-160], reference) is not None


@pytest.mark.parametrize("name", PROMPT_NAMES)
def test_prompt_cut_short_then_silence_is_not_found(
    prompts: dict[str, FloatArray], name: str
) -> None:
    reference = prompts[name]
    capture = _capture(reference[: reference.size // 2], after=_duration(reference))
    found = match_prompt(capture, reference)
    assert found.coverage < 0.9, found  # while score alone may reach about 0.86
    assert find_prompt(capture, reference) is None


def test_end_follows_a_slip_near_the_end(prompts: dict[str, FloatArray]) -> None:
    reference = prompts["agent_hello"]
    heard = impair.slip(_capture(reference), START_S + _duration(reference) * 0.8, 0.020)
    found = match_prompt(heard, reference)
    assert found.start_s == pytest.approx(START_S, abs=0.002)
    assert found.end_s == pytest.approx(START_S + _duration(reference) + 0.020, abs=0.002)
    assert match_prompt(heard, reference, max_slip_s=0.0).score < found.score


def test_polarity_does_not_matter(prompts: dict[str, FloatArray]) -> None:
    reference = prompts["digit_two"]
    assert match_prompt(-_capture(reference), reference).score == pytest.approx(1.0, abs=1e-6)


def test_silent_capture_and_silent_reference(prompts: dict[str, FloatArray]) -> None:
    assert match_prompt(silence(5.0), prompts["digit_one"]).score == 0.0
    with pytest.raises(ValueError, match="digital silence"):
        match_prompt(silence(5.0), silence(1.0))


@pytest.mark.parametrize("name", PROMPT_NAMES)
def test_committed_prompts_are_small_8_khz_mono_16_bit(name: str) -> None:
    path = PROMPT_DIR / f"{name}.wav"
    assert Path(path).stat().st_size < 100 * 1024
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)



@pytest.mark.parametrize("missing_s", [0.02, 0.05, 0.1])
def test_prompt_whose_last_packets_the_hang_up_cut_off_is_heard(missing_s: float) -> None:
    # Asterisk 22 plays goodbye and hangs up: its BYE follows the last packets, and the phone
    # stops capturing with them in its jitter buffer. 20 ms missing failed the no-input scenario.
    reference = read_wav(GOODBYE)[0]
    heard = np.concatenate((silence(START_S), reference[: -round(missing_s * 8000)]))
    found = find_prompt(heard, reference)
    assert found is not None, match_prompt(heard, reference)
    assert found.start_s == pytest.approx(START_S, abs=0.002)


@pytest.mark.parametrize("missing_s", [0.25, 0.5])
def test_prompt_cut_off_by_more_than_a_lapse_at_the_capture_end_is_not_heard(missing_s: float) -> None:
    reference = read_wav(GOODBYE)[0]
    heard = np.concatenate((silence(START_S), reference[: -round(missing_s * 8000)]))
    assert find_prompt(heard, reference) is None
