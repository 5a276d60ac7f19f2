"""Steps about call signalling: call, expect_answer, expect_hangup, expect_agent, hangup."""

from __future__ import annotations

from typing import Any

from harness.errors import TargetError
from harness.runner.cast import request_uri
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


def _answered_legs(run: ScenarioRun) -> list[tuple[str, CallTimeline]]:
    """Agent legs that are answered and not yet attributed to a scenario call."""
    taken = {id(c.agent_leg) for c in run.calls.values() if c.agent_leg is not None}
    legs = []
    for agent, phone in run.agent_phone.items():
        for leg in run.board.calls_of(phone):
            if id(leg) not in taken and leg.last("call", state="CONFIRMED") is not None:
                legs.append((agent, leg))
    return sorted(legs, key=lambda al: al[1].last("call", state="CONFIRMED").t)  # type: ignore[union-attr]


@handles(ExpectAgentStep)
def expect_agent(run: ScenarioRun, step: ExpectAgentStep) -> dict[str, Any]:
    state = run.call(step.call)
    tl = state.timeline

    def answered() -> tuple[str, CallTimeline] | None:
        if tl.state == "DISCONNECTED":
            code, reason = tl.final_status() or (0, "")
            raise run.fail("expect_agent", f"call {tl} ended with {code} {reason} before an agent "
                           f"answered; timeline: {tl.summary()}")
        legs = _answered_legs(run)
        return legs[0] if legs and tl.state == "CONFIRMED" else None

    try:
        agent, leg = run.board.wait(answered, run.budget(step.within),
                                    lambda: f"one of agents {list(step.agents)} to answer", timeline=tl)
    except WaitTimeout as exc:
        offered = {a: [e.label() for e in leg.events if e.kind == "call"]
                   for a, p in run.agent_phone.items() for leg in run.board.calls_of(p)}
        raise run.fail("expect_agent", f"{exc}; agent legs seen: {offered or 'none'}") from None
    state.agent_leg, state.agent = leg, agent
    offer = leg.events[0].t
    answer = leg.last("call", state="CONFIRMED").t  # type: ignore[union-attr]
    if agent not in step.agents:
        raise run.fail("expect_agent", f"call {tl} was answered by agent {agent}, expected "
                       f"{' or '.join(step.agents)}")
    return {"agent": agent, "offered_after_s": round(offer - tl.t0, 3),
            "answered_after_s": round(answer - tl.t0, 3), "agent_sip_call_id": leg.sip_call_id}
