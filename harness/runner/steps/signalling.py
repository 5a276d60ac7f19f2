"""Steps about call signalling: call, expect_answer, expect_hangup, expect_agent, hangup."""

from __future__ import annotations

from typing import Any

from harness.checks.attribution import Attribution, attribute
from harness.errors import TargetError
from harness.runner.cast import request_uri
from harness.runner.legs import attributed, observe
from harness.runner.run import CallState, ScenarioRun
from harness.runner.steps import handles
from harness.scenario.model import (
    CallStep,
    ExpectAgentStep,
    ExpectAnswerStep,
    ExpectHangupStep,
    HangupStep,
)
from harness.sip.controller import WaitTimeout
from harness.sip.timeline import CallTimeline

HANGUP_TIMEOUT = 5.0


@handles(CallStep)
def call(run: ScenarioRun, step: CallStep) -> dict[str, Any]:
    phone = run.caller_phone[step.caller]
    addresses = {n: run.board.phones[p].address or "" for n, p in run.agent_phone.items()}
    users = {a.name: run.target.accounts[a.account].username for a in run.scenario.agents}
    uri = request_uri(step.to, run.target, addresses, users)
    timeline = run.board.open_call(phone, step.call, uri, dict(step.headers))
    run.calls[step.call] = CallState(step.call, step.caller, phone, timeline)
    run.last_call = step.call
    return {"uri": uri, "phone": phone}


def _unreachable(run: ScenarioRun, tl: CallTimeline) -> TargetError | None:
    """The platform never answered the INVITE at all: an error, not a conformance verdict."""
    heard = [e for e in run.board.sip_trace(tl) if e.data["dir"] == "RX"]
    if heard:
        return None
    t = run.target
    tls = run.board.tls_failure(tl.phone)
    if tls is not None:
        return TargetError(f"{tls}; call {tl} could not be placed; timeline: {tl.summary()}")
    return TargetError(
        f"no SIP response from the target at {t.host}:{t.port}/{t.transport} to the INVITE of "
        f"call {tl} (hint: is the platform running and listening there? try ccharness doctor); "
        f"timeline: {tl.summary()}"
    )


def _wait_state(run: ScenarioRun, tl: CallTimeline, states: tuple[str, ...], within: float,
                what: str) -> str:
    return run.board.wait(
        lambda: tl.state if tl.state in states else None, run.budget(within), lambda: what, timeline=tl
    )


@handles(ExpectAnswerStep)
def expect_answer(run: ScenarioRun, step: ExpectAnswerStep) -> dict[str, Any]:
    tl = run.call(step.call).timeline
    try:
        state = _wait_state(run, tl, ("CONFIRMED", "DISCONNECTED"), step.within, "the call to be answered")
    except WaitTimeout as exc:
        run.board.command(tl.phone, "hangup", handle=tl.handle)  # PJSIP would wait for minutes
        raise _unreachable(run, tl) or run.fail("expect_answer", str(exc)) from None
    if state == "DISCONNECTED":
        code, reason = tl.final_status() or (0, "")
        raise _unreachable(run, tl) or run.fail(
            "expect_answer", f"call {tl} ended with {code} {reason} before it was answered; "
            f"timeline: {tl.summary()}")
    answered = tl.last("call", state="CONFIRMED")
    assert answered is not None
    return {"answered_after_s": round(answered.t - tl.t0, 3), "sip_call_id": tl.sip_call_id}


@handles(ExpectHangupStep)
def expect_hangup(run: ScenarioRun, step: ExpectHangupStep) -> dict[str, Any]:
    tl = run.call(step.call).timeline
    try:
        _wait_state(run, tl, ("DISCONNECTED",), step.within, "the far end to end the call")
    except WaitTimeout as exc:
        raise run.fail("expect_hangup", str(exc)) from None
    code, reason = tl.final_status() or (0, "")
    if step.status is not None and code != step.status:
        raise run.fail("expect_hangup", f"call {tl} ended with {code} {reason}, expected "
                       f"{step.status}; timeline: {tl.summary()}")
    return {"status": code, "reason": reason}


@handles(HangupStep)
def hangup(run: ScenarioRun, step: HangupStep) -> dict[str, Any]:
    tl = run.call(step.call).timeline
    if tl.state != "DISCONNECTED":
        run.board.command(tl.phone, "hangup", handle=tl.handle)
        _wait_state(run, tl, ("DISCONNECTED",), HANGUP_TIMEOUT, "the call to end after our BYE")
    return {"status": (tl.final_status() or (0, ""))[0]}


def _attribution(run: ScenarioRun, call_id: str) -> tuple[Attribution, dict[str, CallTimeline]]:
    """Which agent leg is this call's, among every leg the agent phones were offered."""
    tl = run.call(call_id).timeline
    seen = observe(run, attributed(run, besides=call_id))
    verdict = attribute(tl.t0, tl.sip_call_id, [leg for leg, _ in seen])
    return verdict, {leg.name: timeline for leg, timeline in seen}


@handles(ExpectAgentStep)
def expect_agent(run: ScenarioRun, step: ExpectAgentStep) -> dict[str, Any]:
    state = run.call(step.call)
    tl = state.timeline

    def answered() -> tuple[Attribution, CallTimeline] | None:
        verdict, legs = _attribution(run, state.id)
        if tl.state == "DISCONNECTED":
            code, reason = tl.final_status() or (0, "")
            raise run.fail("expect_agent", f"call {tl} ended with {code} {reason} before an agent "
                           f"answered it; agent legs seen: {verdict.describe()}; "
                           f"timeline: {tl.summary()}")
        if verdict.chosen is None or tl.state != "CONFIRMED":
            return None
        return verdict, legs[verdict.chosen.name]

    try:
        verdict, leg = run.board.wait(answered, run.budget(step.within),
                                      lambda: f"one of agents {list(step.agents)} to answer",
                                      timeline=tl)
    except WaitTimeout as exc:
        seen = _attribution(run, state.id)[0].describe()
        raise run.fail("expect_agent", f"{exc}; no agent leg offered for this call was answered; "
                       f"agent legs seen: {seen}") from None
    chosen = verdict.chosen
    assert chosen is not None and chosen.answered is not None
    state.agent_leg, state.agent = leg, chosen.agent
    if chosen.agent not in step.agents:
        raise run.fail("expect_agent", f"call {tl} was answered by agent {chosen.agent}, expected "
                       f"{' or '.join(step.agents)}; agent legs seen: {verdict.describe()}")
    return {"agent": chosen.agent, "offered_after_s": round(chosen.offered - tl.t0, 3),
            "answered_after_s": round(chosen.answered - tl.t0, 3),
            "agent_sip_call_id": leg.sip_call_id, "agent_leg": leg.handle,
            "legs": verdict.evidence()}
