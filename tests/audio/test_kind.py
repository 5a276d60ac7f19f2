"""The sound-kind classifier on synthesized signals, as a call delivers them (G.711, lost packets)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from harness.audio.kind import classify, shares
from harness.audio.pcm import FloatArray
from tests.audio.kinds import as_heard, hold_music, music, silence, speech, speech_over_music, tone

Make = Callable[[np.random.Generator], FloatArray]
CASES: list[tuple[str, Make, str]] = [
    ("ringback CN 450 Hz 1 s / 4 s", lambda rng: tone("ringback CN 450", 5.0, rng), "tone"),
    ("busy CN 450 Hz 0.35 / 0.35 s", lambda rng: tone("busy CN 450", 5.0, rng), "tone"),
    ("dual-tone UK ringback", lambda rng: tone("ringback UK 400+450", 5.0, rng), "tone"),
    ("US ringback 2 s / 4 s", lambda rng: tone("ringback US 440+480", 5.0, rng), "tone"),
    ("dial tone 350+440 Hz", lambda rng: tone("dial 350+440", 5.0, rng), "tone"),
    ("chords with rhythm", lambda rng: music(5.0, rng), "music"),
    ("the reference's sine-note hold music", lambda rng: hold_music(5.0, rng), "music"),
    ("speech prompts", lambda rng: speech(5.0, rng), "speech"),
    ("silence or comfort noise", lambda rng: silence(5.0, rng), "silence"),
    # borderline cases
    ("speech over music 12 dB down", lambda rng: speech_over_music(5.0, rng), "speech"),
    ("comfort noise at -50 dBFS", lambda rng: np.asarray(rng.normal(0, 10 ** (-50 / 20), 40000),
                                                         np.float32), "silence"),
]


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(("name", "make", "kind"), CASES, ids=[c[0] for c in CASES])
def test_each_kind_holds_its_clips_after_a_call(name: str, make: Make, kind: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    heard = shares(classify(as_heard(make(rng), rng)))
    assert heard[kind] >= 0.8, f"{name}: {heard}"


@pytest.mark.parametrize("loss", [0.05, 0.10])
def test_a_tone_with_lost_packets_is_still_a_tone(loss: float) -> None:
    rng = np.random.default_rng(4)
    heard = shares(classify(as_heard(tone("ringback EU 425", 10.0, rng), rng, loss=loss)))
    assert heard["tone"] >= 0.8, heard


def test_silence_after_a_tone_is_silence_once_past_the_longest_cadence() -> None:
    rng = np.random.default_rng(5)
    x = np.concatenate((tone("dial 425", 1.0, rng), np.zeros(40000, np.float32)))
    labels = classify(x)
    assert shares(labels[:50])["tone"] == 1.0 and shares(labels[50:])["silence"] == 1.0


def test_a_melody_is_not_a_tone_and_a_steady_tone_is_not_music() -> None:
    t = np.arange(8000) / 8000
    notes = np.concatenate([0.3 * np.sin(2 * np.pi * f * t[:3200]) for f in (523, 659, 784, 587, 698)])
    assert shares(classify(notes))["music"] >= 0.8
    assert shares(classify(0.3 * np.sin(2 * np.pi * 425 * np.arange(40000) / 8000)))["tone"] == 1.0


def test_too_little_audio_gives_no_frames() -> None:
    assert classify(np.zeros(100)).size == 0
