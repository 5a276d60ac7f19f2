"""Per-call markers on synthetic recordings: both parties found through G.711, gain and speech."""

from __future__ import annotations

import numpy as np
import pytest

from harness.audio.g711 import alaw_roundtrip, ulaw_roundtrip
from harness.audio.impair import gain, lose_packets
from harness.audio.marker import (
    ALPHABET,
    SLOT_S,
    SLOTS,
    find_markers,
    marker_for,
    render,
    scan,
)
from harness.audio.pcm import RATE, FloatArray
from harness.audio.tone import DTMF_HIGH, DTMF_LOW, dtmf_tones

CALL = "0q2MwBIAhx6QPiAQqG2bK798H6xoYaW2"
OTHER = "a84b4c76e66710@pc33.example.com"
CALLER_AT, AGENT_AT = 0.70, 2.90  # where each marker starts in the mix


def place(length_s: float, *parts: tuple[FloatArray, float]) -> FloatArray:
    """Sum each (signal, start second) into a silent track ``length_s`` long."""
    out = np.zeros(round(length_s * RATE), dtype=np.float32)
    for signal, start in parts:
        at = round(start * RATE)
        out[at : at + signal.size] += signal[: out.size - at]
    return out


def mix(prompts: dict[str, FloatArray], marker_gain_db: float, call: str = CALL) -> FloatArray:
    """A two-party recording: each party's marker while the *other* party talks over it.

    The caller side (greeting, then its marker) and the agent side (agent_hello
    from 0.5 s, so over the caller's marker; then its marker under the caller's
    digit_one) are each put through the gain of their leg, summed, then µ-law.
    """
    caller = place(6.0, (prompts["greeting"][: 2 * RATE], 0.0),
                   (render(marker_for(call, "caller")), CALLER_AT), (prompts["digit_one"], 2.6))
    agent = place(6.0, (prompts["agent_hello"], 0.5), (render(marker_for(call, "agent")), AGENT_AT))
    return ulaw_roundtrip(gain(caller, marker_gain_db) + gain(agent, marker_gain_db))


def test_markers_are_deterministic_per_call_and_party() -> None:
    a, b = marker_for(CALL, "caller"), marker_for(CALL, "agent")
    assert a == marker_for(CALL, "caller") and a.id == f"caller@{CALL}"
    assert a.code != b.code and marker_for(OTHER, "caller").code != a.code
    assert len(a.code) == SLOTS and all(x != y for x, y in zip(a.code, a.code[1:]))


def test_caller_and_agent_markers_differ_on_every_call() -> None:
    for i in range(2000):
        call = f"call-{i}@host"
        assert marker_for(call, "caller").code != marker_for(call, "agent").code


def test_the_alphabet_keeps_clear_of_dtmf_and_signalling_tones() -> None:
    for f in ALPHABET:
        assert all(abs(f - d) > 60 for d in DTMF_LOW + DTMF_HIGH + (2100.0, 2600.0))
        assert 300 < f < 3400
    assert min(np.diff(sorted(ALPHABET))) >= 150


def test_render_is_short_and_at_its_level() -> None:
    samples = render(marker_for(CALL, "caller"))
    assert samples.size == round(SLOTS * SLOT_S * RATE)
    assert 0.24 < float(np.max(np.abs(samples))) <= 0.252  # -12 dBFS peak


@pytest.mark.parametrize("gain_db", [-12.0, -6.0, 0.0, 6.0])
def test_both_markers_found_in_a_mix_with_speech_over_them(prompts: dict[str, FloatArray],
                                                           gain_db: float) -> None:
    candidates = [marker_for(CALL, "caller"), marker_for(CALL, "agent")]
    found = find_markers(mix(prompts, gain_db), candidates)
    assert found.keys() == {f"caller@{CALL}", f"agent@{CALL}"}
    assert found[f"caller@{CALL}"] == pytest.approx(CALLER_AT, abs=0.005)
    assert found[f"agent@{CALL}"] == pytest.approx(AGENT_AT, abs=0.005)


def test_a_marker_survives_a_law_and_lost_packets(prompts: dict[str, FloatArray],
                                                   rng: np.random.Generator) -> None:
    marker = marker_for(CALL, "agent")
    track = place(3.0, (prompts["digit_two"], 0.2), (render(marker), 1.0))
    heard = lose_packets(alaw_roundtrip(gain(track, -9.0)), 0.02, rng)
    assert find_markers(heard, [marker]) == {marker.id: pytest.approx(1.0, abs=0.005)}


def test_speech_alone_holds_no_marker(prompts: dict[str, FloatArray]) -> None:
    speech = np.concatenate([ulaw_roundtrip(p) for p in prompts.values()])
    candidates = [marker_for(f"call-{i}", party) for i in range(50) for party in ("caller", "agent")]
    hits = scan(speech, candidates)
    assert not [m for m, hit in hits.items() if hit.found]
    assert max(hit.min_share for hit in hits.values()) < 0.4  # found needs 0.5


def test_one_party_missing_is_seen(prompts: dict[str, FloatArray]) -> None:
    caller_only = place(6.0, (prompts["greeting"][: 2 * RATE], 0.0),
                        (render(marker_for(CALL, "caller")), CALLER_AT))
    found = find_markers(ulaw_roundtrip(caller_only), [marker_for(CALL, "caller"), marker_for(CALL, "agent")])
    assert list(found) == [f"caller@{CALL}"]


def test_another_calls_markers_are_not_confused(prompts: dict[str, FloatArray]) -> None:
    recording = mix(prompts, 0.0, call=OTHER)
    candidates = [marker_for(CALL, "caller"), marker_for(CALL, "agent")]
    assert find_markers(recording, candidates) == {}
    assert len(find_markers(recording, [marker_for(OTHER, p) for p in ("caller", "agent")])) == 2


def test_dtmf_and_silence_hold_no_marker() -> None:
    tones = np.concatenate([dtmf_tones("0123456789*#ABCD", 0.08, 0.0), np.zeros(RATE, np.float32)])
    candidates = [marker_for(f"call-{i}", "caller") for i in range(200)]
    assert find_markers(tones, candidates) == {}
    assert find_markers(np.zeros(100, np.float32), candidates) == {}


def test_a_quiet_marker_under_loud_speech_is_found(prompts: dict[str, FloatArray]) -> None:
    """The marker's leg at -12 dB (tone at -24 dBFS), the other party's speech at +6 dB (~-14 dBFS)."""
    marker = marker_for(CALL, "caller")
    quiet = gain(place(3.0, (render(marker), 0.8)), -12.0)
    loud = gain(place(3.0, (prompts["agent_hello"], 0.0)), 6.0)
    hit = scan(ulaw_roundtrip(quiet + loud), [marker])[marker.id]
    assert hit.found and hit.start_s == pytest.approx(0.8, abs=0.005)
    assert hit.min_share > 0.7  # found needs 0.5


def test_the_three_parties_of_a_call_have_three_different_markers() -> None:
    # agent and customer each skip the codes of the parties before them, on every call
    for n in range(300):
        codes = {marker_for(f"call-{n}", p).code for p in ("caller", "agent", "customer")}
        assert len(codes) == 3, n
    assert marker_for(CALL, "customer").id == f"customer@{CALL}"
