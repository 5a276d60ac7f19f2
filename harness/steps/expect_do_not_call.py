"""``expect_do_not_call``: the platform never dials a number on its do-not-call list, and does not
call again a customer who refused further calls, shown with real calls (the verdict is
``harness.checks.dnc``).

``listed`` (default true) places a call to a number on the platform's list: the
profile's ``outbound.do_not_call.numbers``, or, where the adapter can add one, a
fresh number added now. ``refusal: dtmf | hangup`` places a call to a fresh
number that the carrier answers; the customer then refuses -- presses the
profile's refusal key, or hangs up at once -- and a second call to that number
must not reach the carrier. Each run uses a new number, since a platform keeps
refusals for its period; the trunk points at the harness, so nothing reaches
a real line.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.checks.dnc import DncAttempt, DncSeen, dnc_verdict, undecided
from harness.checks.outbound import first_call
from harness.errors import HarnessError, TargetError
from harness.runner import carrier
from harness.runner.rule_clock import allowed_now
from harness.runner.run import ScenarioRun
from harness.scenario.context import LoadContext
from harness.sip.controller import WaitTimeout
from harness.spec.checker import mapping
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.kind import Measurements, Said, Skips, StepKind, always
from harness.steps.media import idle
from harness.steps.outbound_attempt import clear, outcome, place
from harness.steps.outbound_call import needs_outbound, number
from harness.steps.recorded import NotConformant
from harness.targets.adapter import DoNotCallList
from harness.targets.capability import Capability
from harness.targets.model import DoNotCall
from harness.targets.registry import adapter_for, capabilities

SETTLE = 10.0


@dataclass(frozen=True)
class ExpectDoNotCallStep:
    agent: str
    via: str = "dial_out"  # dial_out | originate
    listed: bool = True
    refusal: str = "none"  # none | dtmf | hangup
    number: str = ""  # the refusing customer's number; "" = a fresh one each run
    within: float = SETTLE
    mark: Mark | None = None


SCHEMA = """
description: >-
  The platform never dials a number on its do-not-call list (listed), and does not call again a customer who
  refused further calls - pressed the refusal key or hung up at once (refusal).
type: object
x-hint: 'e.g. expect_do_not_call: {agent: agent1, via: originate, refusal: dtmf}'
required: [agent]
additionalProperties: false
properties:
  agent: {type: string, minLength: 1, description: The agent whose seat (or whose API call) places the calls.}
  via: {enum: [dial_out, originate], description: "How the calls start (default dial_out)."}
  listed: {type: boolean, description: "Call a number on the platform's list: it must not go out (default true)."}
  refusal:
    enum: [none, dtmf, hangup]
    description: >-
      How the customer refuses the first call to a fresh number; a second call must not go out (default none).
  number:
    description: "The refusing customer's number (default a fresh 1380013xxxx each run: a platform keeps refusals)."
    type: [string, integer]
  within: {$ref: "#/$defs/duration", description: "How long each call may take to reach the carrier (default 10s)."}
"""


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> ExpectDoNotCallStep:
    fields = mapping(body)
    needs_outbound(ctx, at, ("do_not_call", "says nothing of its do-not-call list",
                             'add outbound.do_not_call: {numbers: ["..."], refusal: {dtmf: "9", hangup_within: '
                             '5s}, period: 180d} to the profile'))
    agent, within, given = ctx.get(fields, at, "agent"), ctx.get(fields, at, "within"), ctx.get(fields, at, "number")
    listed = ctx.get(fields, at, "listed")
    return ExpectDoNotCallStep(
        agent=ctx.agent(at + ("agent",), str(agent)) if agent is not None else "",
        via=str(ctx.get(fields, at, "via") or "dial_out"),
        listed=listed is not False,
        refusal=str(ctx.get(fields, at, "refusal") or "none"),
        number=number(ctx, at + ("number",), given) if given is not None else "",
        within=ctx.duration(at + ("within",), within) if within is not None else SETTLE,
        mark=mark)


def _listed_number(run: ScenarioRun, dnc: DoNotCall) -> str:
    if dnc.numbers:
        return dnc.numbers[0]
    able = Capability.DNC_LIST in capabilities(run.target)  # declared: an adapter may inherit the method
    platform = adapter_for(run.target) if able else None
    if not isinstance(platform, DoNotCallList):
        raise TargetError(f"target profile {run.target.path} names no number on the platform's do-not-call list "
                          "and its adapter cannot add one (hint: outbound.do_not_call.numbers: [\"...\"])")
    fresh = f"1390013{secrets.randbelow(10_000):04d}"
    platform.add_do_not_call(fresh)
    return fresh


def _refuse(run: ScenarioRun, step: ExpectDoNotCallStep, dnc: DoNotCall, fresh: str) -> tuple[DncAttempt, str, float]:
    """The first call to ``fresh``, answered by the carrier and refused by the customer; (the attempt,
    how they refused, when)."""
    started, leg = place(run, step.agent, fresh, step.via, "dnc-refusing")
    reached, saw = outcome(run, step.agent, fresh, started, leg, step.within, hang_up=False)
    if not reached:
        clear(run, step.agent)
        return DncAttempt("refusing", fresh, False, saw), "", time.monotonic()
    try:
        offered = run.board.wait(lambda: _answered_leg(run, fresh, started), run.budget(step.within),
                                 lambda: f"the carrier to answer the call to {fresh}")
    except WaitTimeout:
        clear(run, step.agent)
        return DncAttempt("refusing", fresh, True, f"the carrier never answered within {step.within:g}s"), "", \
            time.monotonic()
    if step.refusal == "dtmf":
        idle(run, 0.3)  # the customer has heard the agent's first words
        run.board.command(carrier.PHONE, "dtmf", handle=offered, digits=dnc.refusal_dtmf, method="rfc4733")
        how = f"pressed {dnc.refusal_dtmf}"
    else:
        run.board.command(carrier.PHONE, "hangup", handle=offered)
        how = f"hung up at once (within the {dnc.hangup_within:g}s the profile counts as a refusal)"
    refused = time.monotonic()
    clear(run, step.agent, grace=5.0)  # the platform ends a refused call by itself
    return DncAttempt("refusing", fresh, True, "the call went out"), how, refused


def _answered_leg(run: ScenarioRun, number: str, since: float) -> str | None:
    call = first_call(carrier.calls(run), number, since)
    return call.leg.split("/", 1)[1] if call is not None and call.answered is not None else None


def perform(run: ScenarioRun, step: ExpectDoNotCallStep) -> Measurements:
    outbound = carrier.outbound_of(run.target)
    dnc = outbound.do_not_call
    if dnc is None:
        raise TargetError(f"target profile {run.target.path} has no outbound.do_not_call")
    moved = allowed_now(run)  # outside the forbidden hours, or nothing could be shown
    attempts = []
    if step.listed:
        listed = _listed_number(run, dnc)
        started, leg = place(run, step.agent, listed, step.via, "dnc-listed")
        reached, saw = outcome(run, step.agent, listed, started, leg, step.within)
        attempts.append(DncAttempt("listed", listed, reached, saw))
        clear(run, step.agent)
    how = ""
    if step.refusal != "none":
        fresh = step.number or f"1380013{secrets.randbelow(10_000):04d}"
        first, how, refused = _refuse(run, step, dnc, fresh)
        attempts.append(first)
        if first.reached_carrier and how:
            started, leg = place(run, step.agent, fresh, step.via, "dnc-again")
            reached, saw = outcome(run, step.agent, fresh, started, leg, step.within)
            attempts.append(DncAttempt("again", fresh, reached, saw, round(started - refused, 1)))
            clear(run, step.agent)
    seen = DncSeen(tuple(attempts), how, dnc.period_days, dnc.clause)
    why = undecided(seen)
    if why is not None:
        raise HarnessError(why)
    verdict = dnc_verdict(seen)
    if verdict.problem is not None:
        raise NotConformant(run, "expect_do_not_call", verdict.problem, verdict.figures)
    return {**verdict.figures, **moved}


def say(spec: Mapping[str, Any]) -> Said:
    parts_zh, parts_en = [], []
    if spec.get("listed", True) is not False:
        parts_zh.append("拒呼名单上的号码不被外呼")
        parts_en.append("a number on the do-not-call list is never dialled")
    if spec.get("refusal", "none") != "none":
        parts_zh.append("客户明确拒绝后不再被呼叫")
        parts_en.append("a customer who refused further calls is not called again")
    return "；".join(parts_zh) or "拒呼控制", "; ".join(parts_en) or "do-not-call controls"


KIND = StepKind(
    name="expect_do_not_call",
    model=ExpectDoNotCallStep,
    description="A number on the do-not-call list is never dialled; a customer who refused is not called again.",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=always(Skips()),
    shot=(("平台的拒呼名单（黑名单）配置，坐席外呼名单上的号码被拦截",
           "the platform's do-not-call list, and the agent's call to a listed number refused"),
          ("客户按键拒绝后，再次外呼被拦截", "after the customer refuses, a second call is refused")),
)
