"""Call signalling verdicts: the call answered, answered by an agent expected, ended as expected.

Pure functions of the caller's timeline (its call states, the final SIP status)
and, for agents, of the leg attribution (``harness.checks.attribution``).  The
steps (``expect_answer``, ``expect_agent``, ``expect_hangup``) wait for the states;
when a wait runs out first, its own words (what was awaited, on which call, the
timeline seen) are the fail's reason, passed in as ``timeout``.

A platform that never answered the INVITE at all gets no verdict: ``unreachable``
says why, and the step raises it as an error (the run could not judge).
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.checks.attribution import Attribution
from harness.checks.verdict import Verdict, failed, passed
from harness.sip.timeline import CallTimeline


def _ended(tl: CallTimeline) -> str:
    code, reason = tl.final_status() or (0, "")
    return f"call {tl} ended with {code} {reason}"


def unreachable(tl: CallTimeline, responses: int, where: str, tls_failure: str | None) -> str | None:
    """Why the platform at ``where`` (host:port/transport) counts as unreachable for call ``tl``:
    it sent no SIP message back (``responses`` received on the leg), perhaps because the TLS
    handshake failed (``tls_failure``). None when it answered anything at all."""
    if responses:
        return None
    if tls_failure is not None:
        return f"{tls_failure}; call {tl} could not be placed; timeline: {tl.summary()}"
    return (f"no SIP response from the target at {where} to the INVITE of call {tl} (hint: is the "
            f"platform running and listening there? try ccharness doctor); timeline: {tl.summary()}")


def answer_verdict(tl: CallTimeline, timeout: str | None = None) -> Verdict:
    """Answered, from a timeline whose last state is CONFIRMED or DISCONNECTED (or ``timeout``)."""
    if timeout is not None:
        return failed(timeout)
    if tl.state == "DISCONNECTED":
        return failed(f"{_ended(tl)} before it was answered; timeline: {tl.summary()}")
    answered = tl.last("call", state="CONFIRMED")
    if answered is None:
        raise ValueError(f"call {tl} is {tl.state}: neither answered nor ended, and no timeout")
    return passed({"answered_after_s": round(answered.t - tl.t0, 3), "sip_call_id": tl.sip_call_id})


def hangup_verdict(tl: CallTimeline, status: int | None, timeout: str | None = None) -> Verdict:
    """Ended by the far end (with ``status``, when one is expected), from a DISCONNECTED timeline."""
    if timeout is not None:
        return failed(timeout)
    code, reason = tl.final_status() or (0, "")
    if status is not None and code != status:
        return failed(f"{_ended(tl)}, expected {status}; timeline: {tl.summary()}")
    return passed({"status": code, "reason": reason})


def unanswered_end(tl: CallTimeline, seen: Attribution) -> str | None:
    """Why the wait for an agent is over without one: the call ended first; None while it is up."""
    if tl.state != "DISCONNECTED":
        return None
    return (f"{_ended(tl)} before an agent answered it; agent legs seen: {seen.describe()}; "
            f"timeline: {tl.summary()}")


def agent_verdict(tl: CallTimeline, agents: Sequence[str], seen: Attribution,
                  leg: CallTimeline | None, timeout: str | None = None) -> Verdict:
    """Answered by one of ``agents``: the attributed leg ``leg`` (its timeline), or why not."""
    if timeout is not None:
        return failed(f"{timeout}; no agent leg offered for this call was answered; "
                      f"agent legs seen: {seen.describe()}")
    chosen = seen.chosen
    if chosen is None or chosen.answered is None or leg is None:
        raise ValueError(f"call {tl}: no answered agent leg attributed, and no timeout")
    if chosen.agent not in agents:
        return failed(f"call {tl} was answered by agent {chosen.agent}, expected "
                      f"{' or '.join(agents)}; agent legs seen: {seen.describe()}")
    return passed({"agent": chosen.agent, "offered_after_s": round(chosen.offered - tl.t0, 3),
                   "answered_after_s": round(chosen.answered - tl.t0, 3),
                   "agent_sip_call_id": leg.sip_call_id, "agent_leg": leg.handle,
                   "legs": seen.evidence()})
