"""Tone generation and detection."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from harness.audio import g711, impair, tone
from harness.audio.pcm import FloatArray, rms_dbfs
from harness.audio.wav import read_wav

CODECS: dict[str, Callable[[FloatArray], FloatArray]] = {
    "linear": lambda x: x,
    "ulaw": g711.ulaw_roundtrip,
    "alaw": g711.alaw_roundtrip,
}


def _tone_in_silence() -> FloatArray:
    """1000 Hz at -10 dBFS from 1.20 s to 2.19 s."""
    parts = (tone.silence(1.2), tone.sine(1000, 0.99, -10.0), tone.silence(0.5))
    return np.concatenate(parts)


def test_sine_level_is_aes17_dbfs() -> None:
    x = tone.sine(1000, 1.0, -10.0)
    assert x.size == 8000
    assert np.max(np.abs(x)) == pytest.approx(10 ** (-10 / 20), rel=1e-3)
    assert rms_dbfs(x) == pytest.approx(-10.0, abs=0.01)


def test_dual_tone_level_is_per_component() -> None:
    assert rms_dbfs(tone.dual_tone(697, 1209, 1.0, -10.0)) == pytest.approx(-7.0, abs=0.05)


def test_dtmf_tones_timing() -> None:
    x = tone.dtmf_tones("12#", on_s=0.08, off_s=0.05)
    assert x.size == round((3 * 0.08 + 2 * 0.05) * 8000)
    assert not x[640:1040].any()  # the first gap is silent


def test_dtmf_tones_rejects_unknown_key() -> None:
    with pytest.raises(ValueError, match="'x' in '1x' is not a DTMF key"):
        tone.dtmf_tones("1x")


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("gain_db", [-6.0, 0.0, 6.0])
def test_detect_tone_edges_within_30_ms(codec: str, gain_db: float) -> None:
    heard = CODECS[codec](impair.gain(_tone_in_silence(), gain_db))
    [segment] = tone.detect_tone(heard, 1000)
    assert segment.start_s == pytest.approx(1.20, abs=0.030)
    assert segment.end_s == pytest.approx(2.19, abs=0.030)
    assert segment.level_dbfs == pytest.approx(-10.0 + gain_db, abs=1.0)


def test_detect_tone_in_noise(rng: np.random.Generator) -> None:
    heard = impair.add_noise(_tone_in_silence(), 10.0, rng, signal=tone.sine(1000, 1.0, -10.0))
    [segment] = tone.detect_tone(heard, 1000)
    assert (segment.start_s, segment.end_s) == pytest.approx((1.20, 2.19), abs=0.030)


def test_other_frequencies_and_short_blips_are_not_reported() -> None:
    x = _tone_in_silence()
    assert tone.detect_tone(x, 1100) == []
    assert tone.detect_tone(x, 1000, min_duration=1.5) == []
    assert tone.detect_tone(np.zeros(8000), 1000) == []


def test_one_component_of_a_dual_tone() -> None:
    x = np.concatenate((tone.silence(0.3), tone.dual_tone(350, 440, 1.0, -13.0)))
    assert tone.detect_tone(x, 440) == []  # it carries only half the energy
    [segment] = tone.detect_tone(x, 440, min_ratio=0.3)
    assert (segment.start_s, segment.end_s) == pytest.approx((0.3, 1.3), abs=0.030)


def test_speech_is_not_a_tone(prompts: dict[str, FloatArray]) -> None:
    for samples in prompts.values():
        for freq in (440.0, 1000.0, 1400.0, 2100.0):
            assert tone.detect_tone(samples, freq, min_duration=0.2) == []


def test_write_helpers(tmp_path: Path) -> None:
    tone.write_sine(tmp_path / "s.wav", 1000, 0.5, -12.0)
    tone.write_dtmf(tmp_path / "d.wav", "0", on_s=0.1)
    [segment] = tone.detect_tone(read_wav(tmp_path / "s.wav")[0], 1000)
    assert segment.level_dbfs == pytest.approx(-12.0, abs=0.1)
    assert read_wav(tmp_path / "d.wav")[0].size == 800
