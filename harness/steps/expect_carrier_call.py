"""``expect_carrier_call``: the outbound call reached the carrier, for the number expected, in time,
answered or not as asked, presenting the caller ID the licence asks for.

Waits (``within``, counted from when the scenario's last outbound attempt --
``dial_out`` or ``originate`` -- began) for the carrier to be offered a call for
``number`` (default that attempt's number), and, with ``answered``, for it to be
answered (or to end unanswered).  ``caller_id: profile`` judges the number
presented: the profile's ``outbound.caller_id`` (the company's registered
number), shown, not an agent's extension, the same on every call of the
scenario (``harness.checks.outbound``); ``caller_id: shown`` only that it is
shown and no extension; a number: that number.  The evidence lists the request
URI, From, P-Asserted-Identity, Remote-Party-ID and Privacy the carrier got,
and the time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.checks.outbound import (
    CallerIdRule,
    CarrierCall,
    answer_problem,
    arrival_verdict,
    caller_id_verdict,
    first_call,
    presented,
    presented_number,
)
from harness.errors import HarnessError
from harness.runner import carrier
from harness.runner.run import ScenarioRun
from harness.scenario.context import LoadContext
from harness.sip.controller import WaitTimeout
from harness.spec.checker import mapping
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.kind import Measurements, Said, Skips, StepKind, always
from harness.steps.outbound_call import needs_outbound, number
from harness.steps.recorded import NotConformant

DEFAULT_WITHIN = 10.0
ANSWER_WAIT = 10.0  # after the call arrived, for it to be answered (or to end) as asked


@dataclass(frozen=True)
class ExpectCarrierCallStep:
    number: str | None = None  # None: the last outbound attempt's number
    within: float = DEFAULT_WITHIN
    answered: bool | None = None  # None: not judged
    caller_id: str | None = None  # "profile", "shown", a number; None: not judged
    mark: Mark | None = None


SCHEMA = """
description: >-
  Expect the outbound call to reach the carrier (the PSTN side of the trunk) for the number
  dialled, within a deadline, answered or not as asked, presenting the registered caller ID.
type: object
x-hint: 'e.g. expect_carrier_call: {number: "13800138000", within: 10s, answered: true, caller_id: profile}'
additionalProperties: false
properties:
  number:
    description: The number the carrier must be called for (default the last dial_out or originate step's).
    type: [string, integer]
  within:
    $ref: "#/$defs/duration"
    description: How long after the outbound call began it must arrive (default 10s).
  answered:
    type: boolean
    description: "true - the carrier's leg must be answered; false - it must not be (default not judged)."
  caller_id:
    description: >-
      The caller ID to judge - profile (the profile's outbound.caller_id, the company's registered
      number: shown, not an extension, the same on every call), shown (only that a number other
      than an extension is shown), or the number itself.
    type: [string, integer]
"""


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> ExpectCarrierCallStep:
    """``expect_carrier_call: {number, within, answered, caller_id}``."""
    fields = mapping(body)
    needs_outbound(ctx, at)
    given = ctx.get(fields, at, "number")
    within = ctx.get(fields, at, "within")
    cid = ctx.get(fields, at, "caller_id")
    caller_id = ctx.text(at + ("caller_id",), cid) if cid is not None else None
    if caller_id not in (None, "profile", "shown"):
        caller_id = number(ctx, at + ("caller_id",), caller_id)
    target = ctx.target
    if caller_id == "profile" and target is not None and target.outbound is not None \
            and target.outbound.caller_id is None:
        ctx.report(at + ("caller_id",), f"the profile {target.path} names no outbound.caller_id",
                   "set outbound.caller_id to the company's registered number, or write caller_id: shown")
    return ExpectCarrierCallStep(
        number=number(ctx, at + ("number",), given) if given is not None else None,
        within=DEFAULT_WITHIN if within is None else ctx.duration(at + ("within",), within),
        answered=ctx.get(fields, at, "answered"), caller_id=caller_id, mark=mark)


def _arrived(run: ScenarioRun, step: ExpectCarrierCallStep, wanted: str, since: float, what: str) -> CarrierCall:
    try:
        return run.board.wait(lambda: first_call(carrier.calls(run), wanted, since), run.budget(step.within),
                              lambda: f"the carrier to be offered a call for {wanted}")
    except WaitTimeout:
        verdict = arrival_verdict(carrier.calls(run), wanted, since, step.within, what)
        raise NotConformant(run, "expect_carrier_call", verdict.problem or "", verdict.figures) from None


def _settled(run: ScenarioRun, call: CarrierCall, answered: bool | None) -> CarrierCall:
    """The call once it is answered (or, when it must not be, ended or left ringing ANSWER_WAIT)."""
    def now() -> CarrierCall:
        return next(c for c in carrier.calls(run) if c.leg == call.leg)

    if answered is None:
        return now()
    try:
        return run.board.wait(lambda: _if_settled(now()), run.budget(ANSWER_WAIT),
                              lambda: f"the carrier's call {call.leg} to be answered or end")
    except WaitTimeout:
        return now()  # still ringing: not answered


def _if_settled(call: CarrierCall) -> CarrierCall | None:
    return call if call.answered is not None or call.status else None


def _rule(run: ScenarioRun, step: ExpectCarrierCallStep) -> CallerIdRule:
    outbound = carrier.outbound_of(run.target)
    registered = {"profile": outbound.caller_id, "shown": None}.get(step.caller_id or "", step.caller_id)
    extensions = {a.username: f"account {name}" for name, a in run.target.accounts.items()}
    for agent in run.scenario.agents:
        extensions[run.target.accounts[agent.account].username] = f"agent {agent.name}"
    earlier = tuple(carrier.carrier(run).judged) if step.caller_id == "profile" else ()
    return CallerIdRule(registered, extensions, earlier)


def perform(run: ScenarioRun, step: ExpectCarrierCallStep) -> Measurements:
    state = carrier.carrier(run)
    if not state.attempts:
        raise HarnessError("expect_carrier_call: no outbound call was started before it "
                           "(put a dial_out or originate step first)")
    last = state.attempts[-1]
    wanted = step.number or last.number
    call = _settled(run, _arrived(run, step, wanted, last.started, last.origin), step.answered)
    figures = arrival_verdict([call], wanted, last.started, step.within, last.origin).figures
    figures["origin"] = last.origin
    problem = answer_problem(call, step.answered)
    if step.caller_id is not None:
        verdict = caller_id_verdict(call, _rule(run, step))
        figures["caller_id"] = verdict.figures
        problem = "; ".join(p for p in (problem, verdict.problem) if p) or None
        shown = presented_number(presented(call.headers))
        if shown is not None:
            state.judged.append((call.leg, shown))
    if problem:
        raise NotConformant(run, "expect_carrier_call", problem, figures)
    if last.call is not None and last.call in run.calls and call.answered is not None:
        # the customer's side of the scenario's call: it plays and hears as the customer
        run.calls[last.call].customer_leg = carrier.leg_of(run, call)
    return figures


def say(spec: Mapping[str, Any]) -> Said:
    to = spec.get("number") or "the number dialled"
    cid = spec.get("caller_id")
    zh_cid = {"profile": "，主叫显示为登记号码（不隐藏、非分机号、不变换）", "shown": "，显示主叫号码"}.get(
        str(cid), f"，主叫显示 {cid}" if cid else "")
    en_cid = {"profile": ", presenting the registered number (shown, no extension, never changed)",
              "shown": ", showing a caller number"}.get(str(cid), f", presenting {cid}" if cid else "")
    return (f"运营商侧收到外呼 {to}{zh_cid}", f"the carrier receives the outbound call to {to}{en_cid}")


KIND = StepKind(
    name="expect_carrier_call",
    model=ExpectCarrierCallStep,
    description="The outbound call reaches the carrier for the number dialled, presenting the registered caller ID.",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=always(Skips()),
    shot=(("运营商侧（测试线路）来电显示：被叫号码、主叫号码、Privacy 头",
           "the carrier (test line) display: number called, caller number, Privacy header"),
          ("客户来电显示公司登记号码", "the customer sees the company's registered number")),
)
