"""The IVR verdicts on recorded observations: prompt looks, silence windows, DTMF received.

Each case is what a real call recorded -- the matcher's fits at each look, the
captured window, the leg's DTMF events -- built by hand; messages are compared
whole, because the report and the reviewers read them.  Where a message is
quoted from a real run's evidence record, the case says so.  No SIP, no files.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from harness.audio.prompt import PromptMatch
from harness.checks.ivr import (
    DtmfHeard,
    PromptLook,
    PromptWanted,
    QuietWindow,
    agent_dtmf_leg,
    best_look,
    dtmf_arrival,
    dtmf_verdict,
    loud_spans,
    prompt_heard,
    prompt_verdict,
    signalled_digits,
    silence_verdict,
)
from harness.sip.timeline import CallTimeline
from tests.checks.timelines import T0, answered_call, timeline

RATE = 8000
CAPTURE_T0 = T0 + 0.01  # the capture's first sample: the audio began just after the answer
ON_CALL = "c1 (caller-caller -> sip:4000@127.0.0.1:29800;transport=udp)"
SUMMARY = "CALLING@0.0s, EARLY(180)@0.0s, CONNECTING@0.1s, MEDIA_ACTIVE@0.1s, CONFIRMED@0.1s"
NEED = "need score >= 0.80 and coverage >= 0.90"


# -- expect_prompt -----------------------------------------------------------------------------
def look(score: float, coverage: float, start: float, length: float = 6.445, cursor: float = 0.0,
         captured: float = 10.0) -> PromptLook:
    """One look: the fit ``start`` seconds after the cursor, as ``match_prompt`` returns it."""
    return PromptLook(PromptMatch(score, start, start + length, score, coverage), cursor, CAPTURE_T0,
                      captured)


def wanted(prompt: str = "welcome", within: float = 3.0, length: float = 6.4, began: float = T0 + 0.1,
           min_score: float = 0.8) -> PromptWanted:
    return PromptWanted(prompt, f"/refs/{prompt}.wav", length, within, min_score, began)


STILL_ARRIVING = look(0.0, 0.0, 0.0)  # a capture shorter than the reference scores 0

PROMPT_CASES: list[tuple[str, PromptWanted, list[PromptLook], str | dict[str, Any]]] = [
    ("the greeting at once (reference IVR, no_input run: start 0.039 s, end 6.484 s on the call)",
     wanted(), [STILL_ARRIVING, look(0.41, 0.3, 0.029), look(1.0, 1.0, 0.029)],
     {"prompt": "welcome", "score": 1.0, "coverage": 1.0, "start_s": 0.039, "end_s": 6.484,
      "reference": "/refs/welcome.wav"}),
    ("the menu after the greeting: searched from the cursor, starting a hair before the step",
     wanted("main_menu", within=2.0, length=9.0, began=T0 + 6.5),
     [look(0.9901, 1.0, 0.005, length=9.042, cursor=6.474)],
     {"prompt": "main_menu", "score": 0.99, "coverage": 1.0, "start_s": 6.489, "end_s": 15.531,
      "reference": "/refs/main_menu.wav"}),
    ("dead air: heard whole, but late (fault ivr_dead_air, message as in the fault matrix's records)",
     wanted(), [STILL_ARRIVING, look(0.97, 1.0, 4.06)],
     f"prompt 'welcome' was heard, but only 3.97s after the step began, 0.97s later than allowed "
     f"(3.0s): dead air or a slow prompt on call {ON_CALL}"),
    ("the wrong prompt: the loopback peer's greeting is not digit_one's words (plugin test's run)",
     wanted("greeting", length=6.2),
     [STILL_ARRIVING, look(0.08, 0.0, 0.03), look(0.05, 0.0, 2.0, captured=14.8)],
     f"prompt 'greeting' (greeting.wav, 6.2s) not heard on call {ON_CALL} within 3.0s: best score "
     f"0.08 (coverage 0.00) at 0.03s into the capture, {NEED}; 14.8s of audio captured; "
     f"timeline: {SUMMARY}"),
    ("stitched menu: the score passes but a part of it is missing (coverage below 0.90)",
     wanted("main_menu", within=2.0, length=9.0, began=T0 + 6.5),
     [look(0.62, 0.40, 0.3, cursor=6.474), look(0.84, 0.71, 0.01, cursor=6.474),
      look(0.84, 0.73, 0.01, cursor=6.474, captured=16.2)],
     f"prompt 'main_menu' (main_menu.wav, 9.0s) not heard on call {ON_CALL} within 2.0s: best score "
     f"0.84 (coverage 0.71) at 6.48s into the capture, {NEED}; 16.2s of audio captured; "
     f"timeline: {SUMMARY}"),
    ("so late that listening ended before its end: the score is there, the words say late",
     wanted(), [look(0.9, 0.5, 7.2, captured=12.0)],
     f"prompt 'welcome' (welcome.wav, 6.4s) not heard on call {ON_CALL} within 3.0s: best score "
     f"0.90 (coverage 0.50) at 7.20s into the capture, 7.11s after the step began, later than the "
     f"allowed 3.0s (dead air or a slow prompt, and not heard whole), {NEED}; 12.0s of audio "
     f"captured; timeline: {SUMMARY}"),
    ("no look before the scenario's deadline cut the wait",
     wanted(), [],
     f"prompt 'welcome' (welcome.wav, 6.4s) not heard on call {ON_CALL} within 3.0s: best score "
     f"0.00 (coverage 0.00), {NEED}; 0.0s of audio captured; timeline: {SUMMARY}"),
    ("only silence came: every look scored 0, so no place is named",
     wanted(), [STILL_ARRIVING, look(0.0, 0.0, 0.0, captured=11.0)],
     f"prompt 'welcome' (welcome.wav, 6.4s) not heard on call {ON_CALL} within 3.0s: best score "
     f"0.00 (coverage 0.00), {NEED}; 11.0s of audio captured; timeline: {SUMMARY}"),
]


@pytest.mark.parametrize(("want", "looks", "expected"), [c[1:] for c in PROMPT_CASES],
                         ids=[c[0] for c in PROMPT_CASES])
def test_prompt_verdict(want: PromptWanted, looks: list[PromptLook], expected: str | dict[str, Any]) -> None:
    verdict = prompt_verdict(want, looks, answered_call())
    if isinstance(expected, str):
        assert (verdict.passed, verdict.problem) == (False, expected)
    else:
        assert (verdict.passed, verdict.figures) == (True, expected)


def test_a_prompt_not_heard_names_the_jitter_buffer_slips_it_was_heard_through() -> None:
    # a sender stalled 0.3 s mid-prompt (as tests/sip/test_prompt_warp.py does on a real call):
    # the slips are one entry with their span, not thirty
    slips = [(1.8, {"dropped_ms": 0, "made_up_ms": 100}), (1.9, {"dropped_ms": 0, "made_up_ms": 100}),
             (2.0, {"dropped_ms": 0, "made_up_ms": 100}),
             *((3.5 + 0.2 * k, {"dropped_ms": 10, "made_up_ms": 0}) for k in range(24))]
    tl = answered_call(*((at, "slip", {"call": "c1", **d}) for at, d in slips), (8.4, "dtmf", {
        "digit": "9", "method": "rfc4733"}), (8.5, "slip", {"call": "c1", "dropped_ms": 10, "made_up_ms": 0}))
    verdict = prompt_verdict(wanted(), [look(0.6, 0.3, 0.03)], tl)
    assert verdict.problem is not None
    assert verdict.problem.endswith(
        f"timeline: {SUMMARY}, JITTER_SLIP(-240ms/+300ms)@1.8s-8.1s, DTMF(9/rfc4733)@8.4s, "
        f"JITTER_SLIP(-10ms/+0ms)@8.5s"), verdict.problem


def test_the_slips_a_prompt_is_matched_with_are_those_from_its_capture_on() -> None:
    tl = answered_call((0.5, "slip", {"call": "c1", "dropped_ms": 10, "made_up_ms": 0}),
                       (2.0, "slip", {"call": "c1", "dropped_ms": 0, "made_up_ms": 60}),
                       (2.1, "slip", {"call": "c1", "dropped_ms": 10, "made_up_ms": 40}))
    assert tl.slips_after(T0 + 1.95) == [pytest.approx((0.05, 0.06)), pytest.approx((0.15, 0.05))]
    # up to 0.3 s (a look, and more) before it: at its start, as its audio may still follow
    assert tl.slips_after(T0 + 2.2) == [(0.0, 0.06), (0.0, 0.05)]
    assert tl.slips_after(T0 + 2.5) == []


@pytest.mark.parametrize(("score", "coverage", "heard"), [
    (0.80, 0.90, True), (0.79, 1.0, False), (1.0, 0.899, False), (0.95, 0.95, True)])
def test_a_look_hears_the_prompt_at_both_thresholds(score: float, coverage: float, heard: bool) -> None:
    assert prompt_heard(look(score, coverage, 0.0), wanted()) is heard


def test_the_best_look_is_the_first_to_reach_the_top_score() -> None:
    looks = [look(0.5, 0.5, 1.0), look(0.7, 0.6, 2.0), look(0.7, 0.9, 3.0), look(0.0, 0.0, 0.0)]
    assert best_look(looks) is looks[1]
    assert best_look([STILL_ARRIVING]) is None


# -- expect_silence ----------------------------------------------------------------------------
def noise(seconds: float, dbfs: float, seed: int = 7) -> np.ndarray:
    """Comfort noise: random signs at a constant level, so each 20 ms frame is at ``dbfs``."""
    signs = np.random.default_rng(seed).choice([-1.0, 1.0], int(seconds * RATE))
    return (signs * 10 ** (dbfs / 20)).astype(np.float32)


def burst(window: np.ndarray, at: float, seconds: float, dbfs: float) -> np.ndarray:
    out = window.copy()
    out[int(at * RATE): int((at + seconds) * RATE)] = noise(seconds, dbfs, seed=3)
    return out


def silent_for(limit: float = -45.0) -> str:
    return f"expected 2.0s of silence (<= {limit:.0f} dBFS) on call {ON_CALL}, heard audio at "


QUIET = np.zeros(2 * RATE, np.float32)
# the step began 0.5 s into the capture, which began 11.8 s into the call: the window is 12.3-14.3 s
FIRST, CAPTURE_AT = 0.5, T0 + 11.8
APART = burst(burst(QUIET, 0.2, 0.04, -30.0), 0.28, 0.02, -25.0)  # two silent frames between
TOGETHER = burst(burst(QUIET, 1.0, 0.02, -30.0), 1.04, 0.02, -25.0)  # one silent frame between

SILENCE_CASES: list[tuple[str, np.ndarray, float, str | None]] = [
    ("digital silence", QUIET, -45.0, None),
    ("comfort noise at -60 dBFS (RFC 3389 level 60) is silence", noise(2.0, -60.0), -45.0, None),
    ("comfort noise at -40 dBFS breaks it: one span, the whole window", noise(2.0, -40.0), -45.0,
     silent_for() + "12.30-14.30s at -40 dBFS"),
    ("the same noise is silence under the step's looser limit of -35 dBFS", noise(2.0, -40.0), -35.0,
     None),
    ("and not under a stricter limit than the noise floor", noise(2.0, -60.0), -65.0,
     silent_for(-65.0) + "12.30-14.30s at -60 dBFS"),
    ("a 100 ms prompt fragment in -60 dBFS comfort noise", burst(noise(2.0, -60.0), 1.0, 0.1, -20.0),
     -45.0, silent_for() + "13.30-13.40s at -20 dBFS"),
    ("clicks two frames apart are two spans, one frame apart one span at the louder's peak",
     APART + TOGETHER, -45.0,
     silent_for() + "12.50-12.54s at -30 dBFS, 12.58-12.60s at -25 dBFS, 13.30-13.36s at -25 dBFS"),
]


@pytest.mark.parametrize(("samples", "limit", "problem"), [c[1:] for c in SILENCE_CASES],
                         ids=[c[0] for c in SILENCE_CASES])
def test_silence_verdict(samples: np.ndarray, limit: float, problem: str | None) -> None:
    verdict = silence_verdict(QuietWindow(samples, FIRST, CAPTURE_AT), 2.0, limit, answered_call())
    assert verdict.problem == problem
    if problem is None:
        assert verdict.figures == {"from_s": 12.3, "seconds": 2.0, "captured_s": 2.0}


def test_only_the_first_five_loud_spans_are_named() -> None:
    window = QUIET
    for i in range(7):
        window = burst(window, 0.1 + 0.2 * i, 0.02, -30.0)
    problem = silence_verdict(QuietWindow(window, FIRST, CAPTURE_AT), 2.0, -45.0, answered_call()).problem
    assert problem is not None and problem.count("dBFS") == 6  # the limit, then five spans
    assert len(loud_spans(window, -45.0, FIRST)) == 7


def test_a_window_shorter_than_a_frame_is_silent() -> None:
    verdict = silence_verdict(QuietWindow(np.ones(100, np.float32), FIRST, CAPTURE_AT), 2.0, -45.0,
                              answered_call())
    assert verdict.passed and verdict.figures["captured_s"] == 0.013


# -- expect_dtmf -------------------------------------------------------------------------------
def dtmf(at: float, digit: str, method: str) -> tuple[float, str, dict[str, Any]]:
    """A digit as ``onDtmfDigit`` reports it: RFC 4733 (2833) events or SIP INFO."""
    return at, "dtmf", {"digit": digit, "method": method}


AGENT_LEG = "in1 (agent-alice <- sip:caller@127.0.0.1)"
DTMF_CASES: list[tuple[str, list[tuple[float, str, dict[str, Any]]], str, str, str | list[str]]] = [
    ("RFC 2833/4733 telephone-events", [dtmf(2.1, "4", "rfc4733"), dtmf(2.35, "2", "rfc4733")],
     "", "42", ["rfc4733"]),
    ("SIP INFO", [dtmf(2.1, "4", "info"), dtmf(2.2, "2", "info")], "", "42", ["info"]),
    ("a platform that relays one digit each way: both methods named",
     [dtmf(2.1, "4", "rfc4733"), dtmf(2.2, "2", "info")], "", "42", ["info", "rfc4733"]),
    ("in-band tones only (no telephone-event negotiated)", [], "7#", "7#", ["inband"]),
    ("signalled wins when the tones leaked into the audio too",
     [dtmf(2.1, "7", "rfc4733"), dtmf(2.3, "#", "rfc4733")], "7#", "7#", ["rfc4733"]),
    ("the expected digits inside more", [dtmf(1.0, "1", "info"), dtmf(2.0, "4", "info"),
                                          dtmf(2.1, "2", "info")], "", "42", ["info"]),
    ("one digit lost", [dtmf(2.1, "4", "rfc4733")], "",
     "42", f"DTMF '42' not received within 3.0s on call {AGENT_LEG}: got '4' signalled "
     "(RFC 4733/INFO) and '' in-band"),
    ("digits swapped, and a partial in-band", [dtmf(2.1, "2", "rfc4733"), dtmf(2.3, "4", "rfc4733")],
     "4", "42", f"DTMF '42' not received within 3.0s on call {AGENT_LEG}: got '24' signalled "
     "(RFC 4733/INFO) and '4' in-band"),
]


@pytest.mark.parametrize(("events", "inband", "digits", "expected"), [c[1:] for c in DTMF_CASES],
                         ids=[c[0] for c in DTMF_CASES])
def test_dtmf_verdict(events: list[tuple[float, str, dict[str, Any]]], inband: str, digits: str,
                      expected: str | list[str]) -> None:
    leg = timeline(*events, handle="in1", description="agent-alice <- sip:caller@127.0.0.1",
                   phone="agent-alice")
    verdict = dtmf_verdict(digits, 3.0, leg, DtmfHeard(signalled_digits(leg, leg.t0), inband))
    if isinstance(expected, str):
        assert verdict.problem == expected
    else:
        assert (verdict.problem, verdict.figures) == (None, {"digits": digits, "received_as": expected})


def test_dtmf_for_an_agent_is_expected_on_its_attributed_leg_else_its_last() -> None:
    stale, attributed, last = (timeline(handle=h, phone="agent-alice") for h in ("in1", "in2", "in3"))
    assert agent_dtmf_leg("alice", [attributed], [stale, attributed, last]) is attributed
    assert agent_dtmf_leg("alice", [], [stale, last]) is last
    none = agent_dtmf_leg("alice", [], [])
    assert not isinstance(none, CallTimeline) and none.problem == "agent alice has no call to receive DTMF on"


def test_digits_before_the_step_counted_from_do_not_count() -> None:
    leg = timeline(dtmf(0.5, "4", "rfc4733"), dtmf(2.0, "2", "rfc4733"))
    assert signalled_digits(leg, T0 + 1.0) == "2"
    assert dtmf_arrival("42", DtmfHeard(signalled_digits(leg, T0 + 1.0), "")) is None
    assert dtmf_arrival("42", DtmfHeard(signalled_digits(leg, T0), "")) == "signalled"
