"""In-band DTMF detection through spandsp."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from harness.audio import dtmf, g711, impair
from harness.audio.pcm import FloatArray, to_int16
from harness.audio.tone import DTMF_FREQUENCIES, dtmf_tones, dual_tone, silence
from harness.errors import AudioError

ALL_KEYS = "123A456B789C*0#D"


def _framed(x: FloatArray) -> FloatArray:
    return np.concatenate((silence(0.5), x, silence(0.3)))


def test_all_16_digits_in_order_with_times() -> None:
    hits = dtmf.detect_dtmf(_framed(dtmf_tones(ALL_KEYS)))
    assert "".join(h.digit for h in hits) == ALL_KEYS
    for index, hit in enumerate(hits):
        onset = 0.5 + 0.2 * index
        assert onset <= hit.start_s <= onset + 0.06


@pytest.mark.parametrize("codec", [g711.ulaw_roundtrip, g711.alaw_roundtrip])
@pytest.mark.parametrize("gain_db", [-12.0, 0.0, 6.0])
def test_digits_survive_g711_and_gain(
    codec: Callable[[FloatArray], FloatArray], gain_db: float
) -> None:
    heard = codec(impair.gain(_framed(dtmf_tones("5#09", level_dbfs=-12.0)), gain_db))
    assert dtmf.dtmf_digits(heard) == "5#09"


def test_int16_and_16_khz_input() -> None:
    assert dtmf.dtmf_digits(to_int16(_framed(dtmf_tones("47")))) == "47"
    low, high = DTMF_FREQUENCIES["7"]
    at_16k = np.concatenate((np.zeros(8000, np.float32), dual_tone(low, high, 0.1, rate=16000)))
    assert dtmf.dtmf_digits(at_16k, rate=16000) == "7"


def test_a_20_ms_digit_is_rejected() -> None:
    assert dtmf.dtmf_digits(_framed(dtmf_tones("5", on_s=0.020))) == ""
    assert dtmf.dtmf_digits(_framed(dtmf_tones("5", on_s=0.040))) == "5"


@pytest.mark.parametrize("offset", [0.965, 1.035])
@pytest.mark.parametrize("key", sorted(DTMF_FREQUENCIES))
def test_tones_3_5_percent_off_frequency_are_rejected(key: str, offset: float) -> None:
    low, high = DTMF_FREQUENCIES[key]
    assert dtmf.dtmf_digits(_framed(dual_tone(low * offset, high * offset, 0.1))) == ""


def test_speech_prompts_give_no_digits(prompts: dict[str, FloatArray]) -> None:
    for name, samples in prompts.items():
        assert dtmf.detect_dtmf(samples) == [], name
        assert dtmf.detect_dtmf(g711.ulaw_roundtrip(impair.gain(samples, 6.0))) == [], name


def test_missing_spandsp_names_the_debian_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dtmf, "_LIBRARY_NAMES", ("libspandsp-not-here.so.9",))
    dtmf._spandsp.cache_clear()
    try:
        with pytest.raises(AudioError, match="install the Debian package libspandsp2"):
            dtmf.detect_dtmf(silence(0.1))
    finally:
        dtmf._spandsp.cache_clear()
