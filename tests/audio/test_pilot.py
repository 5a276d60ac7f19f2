"""The load agents' pilot tone: heard where it starts, through G.711 and loss; never in the
reference platform's prompts and hold music, nor in speech or music with a weak tone under it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.audio.g711 import alaw_roundtrip, ulaw_roundtrip
from harness.audio.impair import add_noise, lose_packets
from harness.audio.pilot import pilot, pilot_onset
from harness.audio.tone import dtmf_tones, sine
from harness.audio.wav import read_wav

PROMPTS = Path(__file__).resolve().parents[2] / "fixtures" / "reference" / "prompts"


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * 8000), dtype=np.float32)


@pytest.mark.parametrize("codec", [ulaw_roundtrip, alaw_roundtrip], ids=["pcmu", "pcma"])
def test_heard_where_it_starts(codec) -> None:  # type: ignore[no-untyped-def]
    music, _ = read_wav(PROMPTS / "hold_music.wav")
    audio = codec(np.concatenate([music[:12000], pilot(3.0)]))
    onset = pilot_onset(audio)
    assert onset is not None and abs(onset - 12000) <= 160, onset  # within one 20 ms frame


def test_a_caller_s_marker_is_found_over_it() -> None:
    from harness.audio.marker import find_markers, marker_for, render

    marker = marker_for("call-1", "caller")
    mix = pilot(3.0)
    mix[8000: 8000 + len(render(marker))] += render(marker)
    assert find_markers(ulaw_roundtrip(mix), [marker]), "the pilot hid the caller's marker"


def test_heard_through_noise_and_loss() -> None:
    audio = np.concatenate([silence(1.0), pilot(3.0)])
    rng = np.random.default_rng(7)
    audio = lose_packets(add_noise(audio, 20.0, rng), 0.03, rng)
    onset = pilot_onset(ulaw_roundtrip(audio))
    assert onset is not None and 8000 <= onset <= 8000 + 0.3 * 8000, onset


@pytest.mark.parametrize("name", sorted(p.stem for p in PROMPTS.glob("*.wav")))
def test_not_in_the_reference_prompts(name: str) -> None:
    audio, _ = read_wav(PROMPTS / f"{name}.wav")
    assert pilot_onset(ulaw_roundtrip(audio)) is None


def test_not_too_short_and_not_under_other_sound() -> None:
    assert pilot_onset(pilot(0.25)) is None  # under 300 ms is no agent
    under_music = sine(440, 2.0, -10) + sine(660, 2.0, -12) + pilot(2.0, -32)
    assert pilot_onset(under_music) is None
    assert pilot_onset(sine(1100, 2.0, -10)) is None  # one of the two tones is not an agent
    assert pilot_onset(sine(1000, 2.0, -10)) is None  # nor a 1 kHz beep
    assert pilot_onset(dtmf_tones("123456789*0#", on_s=0.4, off_s=0.1)) is None
    assert pilot_onset(silence(2.0)) is None
