"""The call signalling verdicts on timelines as phones record them: answered, by whom, ended how.

PJSIP's last status tells who ended a confirmed call: the far end's BYE leaves
``200 Normal call clearing``, our own BYE ``200 OK`` (its answer), a CANCEL
``487 Request Terminated``.  ``expect_hangup`` judges the status code only; the
reason is in its figures for the reader.  No SIP here.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.checks.attribution import LegSeen, attribute
from harness.checks.signalling import agent_verdict, answer_verdict, hangup_verdict, unanswered_end, unreachable
from harness.sip.timeline import CallTimeline
from tests.checks.timelines import T0, answered_call, state, timeline

ON_CALL = "c1 (caller-caller -> sip:4000@127.0.0.1:29800;transport=udp)"
RINGING = (state(0.0, "CALLING"), state(0.02, "EARLY", 180, "Ringing"))
ANSWERED = "CALLING@0.0s, EARLY(180)@0.0s, CONNECTING@0.1s, MEDIA_ACTIVE@0.1s, CONFIRMED@0.1s"
# a real run's words when the wait ran out (the plugin test's peer that never answers)
NEVER_ANSWERED = ("waited 2.0s for the call to be answered on call c1 (caller-caller -> "
                  "sip:carol@127.0.0.1:51925); timeline: CALLING@0.0s, EARLY(180)@0.0s")


def ended(at: float, code: int, reason: str) -> tuple[float, str, dict[str, Any]]:
    return state(at, "DISCONNECTED", code, reason)


ANSWER_CASES: list[tuple[str, CallTimeline, str | None, str | dict[str, Any]]] = [
    ("answered at once (the reference IVR: 14 ms)",
     timeline(state(0.0, "CALLING"), state(0.014, "CONFIRMED", 200, "OK")), None,
     {"answered_after_s": 0.014, "sip_call_id": "YTnrzPrL16oZ"}),
    ("answered after ringing", answered_call(), None,
     {"answered_after_s": 0.1, "sip_call_id": "YTnrzPrL16oZ"}),
    ("refused busy before the answer", timeline(*RINGING, ended(0.3, 486, "Busy Here")), None,
     f"call {ON_CALL} ended with 486 Busy Here before it was answered; timeline: "
     "CALLING@0.0s, EARLY(180)@0.0s, DISCONNECTED(486 Busy Here)@0.3s"),
    ("the wait ran out while it rang", timeline(*RINGING), NEVER_ANSWERED, NEVER_ANSWERED),
]


@pytest.mark.parametrize(("tl", "timeout", "expected"), [c[1:] for c in ANSWER_CASES],
                         ids=[c[0] for c in ANSWER_CASES])
def test_answer_verdict(tl: CallTimeline, timeout: str | None, expected: str | dict[str, Any]) -> None:
    verdict = answer_verdict(tl, timeout)
    if isinstance(expected, str):
        assert verdict.problem == expected
    else:
        assert (verdict.problem, verdict.figures) == (None, expected)


def test_a_call_still_ringing_without_a_timeout_is_not_judged() -> None:
    with pytest.raises(ValueError, match="neither answered nor ended"):
        answer_verdict(timeline(*RINGING))


WHERE = "127.0.0.1:5160/udp"
TLS_REFUSED = ("TLS: the certificate of 127.0.0.1:5161 is not trusted (self-signed certificate; "
               "CA file /etc/ssl/certs/ca-certificates.crt)")
UNREACHABLE_CASES: list[tuple[str, CallTimeline, int, str | None, str | None]] = [
    ("it answered: 100 Trying is enough", timeline(*RINGING), 1, None, None),
    ("it answered, whatever the TLS log said", timeline(*RINGING), 2, TLS_REFUSED, None),
    ("silence: the call timed out with 408", timeline(state(0.0, "CALLING"), ended(32.0, 408, "Request Timeout")),
     0, None, f"no SIP response from the target at {WHERE} to the INVITE of call {ON_CALL} (hint: is the "
     "platform running and listening there? try ccharness doctor); timeline: CALLING@0.0s, "
     "DISCONNECTED(408 Request Timeout)@32.0s"),
    ("the TLS handshake failed", timeline(state(0.0, "CALLING"), ended(0.1, 503, "Service Unavailable")),
     0, TLS_REFUSED, f"{TLS_REFUSED}; call {ON_CALL} could not be placed; timeline: CALLING@0.0s, "
     "DISCONNECTED(503 Service Unavailable)@0.1s"),
]


@pytest.mark.parametrize(("tl", "responses", "tls", "expected"), [c[1:] for c in UNREACHABLE_CASES],
                         ids=[c[0] for c in UNREACHABLE_CASES])
def test_unreachable(tl: CallTimeline, responses: int, tls: str | None, expected: str | None) -> None:
    """No message back to the INVITE is an error (the run cannot judge), never a verdict."""
    assert unreachable(tl, responses, WHERE, tls) == expected


def hung_up(code: int, reason: str, at: float = 12.4) -> CallTimeline:
    """Answered, then ended ``at`` seconds in."""
    return answered_call(ended(at, code, reason))


KEPT_OPEN = f"waited 5.0s for the far end to end the call on call {ON_CALL}; timeline: {ANSWERED}"
HANGUP_CASES: list[tuple[str, CallTimeline, int | None, str | None, str | dict[str, Any]]] = [
    ("the platform hung up (its BYE)", hung_up(200, "Normal call clearing"), None, None,
     {"status": 200, "reason": "Normal call clearing"}),
    ("the platform hung up, 200 expected", hung_up(200, "Normal call clearing"), 200, None,
     {"status": 200, "reason": "Normal call clearing"}),
    ("the caller hung up (our BYE): any status passes, the reason says OK", hung_up(200, "OK"),
     None, None, {"status": 200, "reason": "OK"}),
    ("the caller hung up where the platform should have refused busy", hung_up(200, "OK", 3.0), 486,
     None, f"call {ON_CALL} ended with 200 OK, expected 486; timeline: {ANSWERED}, "
     "DISCONNECTED(200 OK)@3.0s"),
    ("refused busy as expected", timeline(*RINGING, ended(0.3, 486, "Busy Here")), 486, None,
     {"status": 486, "reason": "Busy Here"}),
    ("the caller cancelled while it rang", timeline(*RINGING, ended(4.0, 487, "Request Terminated")),
     486, None, f"call {ON_CALL} ended with 487 Request Terminated, expected 486; timeline: "
     "CALLING@0.0s, EARLY(180)@0.0s, DISCONNECTED(487 Request Terminated)@4.0s"),
    ("the platform kept the line open", answered_call(), None, KEPT_OPEN, KEPT_OPEN),
]


@pytest.mark.parametrize(("tl", "status", "timeout", "expected"), [c[1:] for c in HANGUP_CASES],
                         ids=[c[0] for c in HANGUP_CASES])
def test_hangup_verdict(tl: CallTimeline, status: int | None, timeout: str | None,
                        expected: str | dict[str, Any]) -> None:
    verdict = hangup_verdict(tl, status, timeout)
    if isinstance(expected, str):
        assert verdict.problem == expected
    else:
        assert (verdict.problem, verdict.figures) == (None, expected)


# -- expect_agent ------------------------------------------------------------------------------
def agent_leg(agent: str, handle: str = "in1") -> CallTimeline:
    return timeline(state(0.2, "INCOMING", call_id=f"{agent}-leg"), state(0.7, "CONFIRMED", 200, "OK",
                                                                         call_id=f"{agent}-leg"),
                    handle=handle, description=f"agent-{agent} <- sip:caller@127.0.0.1",
                    phone=f"agent-{agent}")


def legs(*seen: LegSeen) -> Any:
    return attribute(T0, "YTnrzPrL16oZ", list(seen))


ALICE = LegSeen("agent-alice/in1", "alice", T0 + 0.2, T0 + 0.7)
BOB = LegSeen("agent-bob/in1", "bob", T0 + 0.2, T0 + 0.7)
RUNG = LegSeen("agent-alice/in1", "alice", T0 + 0.2)


def test_the_agent_expected_answered() -> None:
    verdict = agent_verdict(answered_call(), ("alice", "carol"), legs(ALICE), agent_leg("alice"))
    assert (verdict.problem, verdict.figures) == (None, {
        "agent": "alice", "offered_after_s": 0.2, "answered_after_s": 0.7,
        "agent_sip_call_id": "alice-leg", "agent_leg": "in1",
        "legs": {"agent-alice/in1": "attributed: first answered after offer (offered +0.2 s, "
                                    "answered +0.7 s)"}})


def test_another_agent_answered() -> None:
    verdict = agent_verdict(answered_call(), ("alice", "carol"), legs(BOB), agent_leg("bob"))
    assert verdict.problem == (
        f"call {ON_CALL} was answered by agent bob, expected alice or carol; agent legs seen: "
        "agent-bob/in1: attributed: first answered after offer (offered +0.2 s, answered +0.7 s)")


def test_no_agent_answered_in_time() -> None:
    timeout = f"waited 10.0s for one of agents ['alice'] to answer on call {ON_CALL}; timeline: {ANSWERED}"
    verdict = agent_verdict(answered_call(), ("alice",), legs(RUNG), None, timeout)
    assert verdict.problem == (f"{timeout}; no agent leg offered for this call was answered; "
                               "agent legs seen: agent-alice/in1: offered +0.2 s, not answered")


def test_the_call_ended_before_an_agent_answered() -> None:
    tl = timeline(*RINGING, ended(30.0, 480, "Temporarily Unavailable"))
    assert unanswered_end(tl, legs(RUNG)) == (
        f"call {ON_CALL} ended with 480 Temporarily Unavailable before an agent answered it; "
        "agent legs seen: agent-alice/in1: offered +0.2 s, not answered; "
        "timeline: CALLING@0.0s, EARLY(180)@0.0s, DISCONNECTED(480 Temporarily Unavailable)@30.0s")
    assert unanswered_end(timeline(*RINGING), legs()) is None
