"""``expect_forbidden_hours``: outbound calls are refused inside the undertaking's forbidden calling
hours (禁呼时段) and put through outside them, shown with real calls.

The rules are the target profile's ``outbound.forbidden_hours``. Where the
adapter can move the platform's outbound rule clock, the step places one call
at a moment well inside a forbidden window and one well outside, each as an
agent dialling out (``via: dial_out``) or through the platform's API
(``via: originate``); the call inside must never reach the carrier, the one
outside must. Without such a clock only the side that holds now is run, and
the other is reported as not exercised, with when it can be (``ccharness run
--at``); it is never claimed. The verdict is ``harness.checks.hours``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from harness.checks.hours import Attempt, HoursSeen, hours_verdict
from harness.errors import TargetError
from harness.runner.rule_clock import clock_of, move_to, platform_now, reset, rules_of
from harness.runner.run import ScenarioRun
from harness.scenario.context import LoadContext
from harness.spec.checker import mapping
from harness.spec.hours import CallingRules, moment
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.kind import Measurements, Said, Skips, StepKind, always
from harness.steps.outbound_attempt import clear, outcome, place
from harness.steps.outbound_call import NUMBER_SCHEMA, needs_outbound, number
from harness.steps.recorded import NotConformant
from harness.targets.adapter import OutboundClock

SETTLE = 10.0  # seconds an attempt may take to reach the carrier or be refused


@dataclass(frozen=True)
class ExpectForbiddenHoursStep:
    agent: str
    number: str
    via: str = "dial_out"  # dial_out | originate
    within: float = SETTLE
    mark: Mark | None = None


SCHEMA = f"""
description: >-
  Outbound calls are refused inside the profile's forbidden calling hours (outbound.forbidden_hours) and
  put through outside them: one call on each side, at moments the platform's rule clock is set to where
  its adapter can move it; otherwise the side that holds now, and the other reported as not exercised.
type: object
x-hint: 'e.g. expect_forbidden_hours: {{agent: agent1, number: "13800138000", via: dial_out}}'
required: [agent, number]
additionalProperties: false
properties:
  agent: {{type: string, minLength: 1, description: The agent whose seat (or whose API call) places the calls.}}
  number:{NUMBER_SCHEMA}
  via:
    description: How the calls start - the agent dialling out with the dial prefix, or the platform's API.
    enum: [dial_out, originate]
  within: {{$ref: "#/$defs/duration", description: "How long each call may take to reach the carrier (default 10s)."}}
"""


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> ExpectForbiddenHoursStep:
    fields = mapping(body)
    needs_outbound(ctx, at, ("forbidden_hours", "states no forbidden calling hours",
                             'add outbound.forbidden_hours: {windows: ["21:00-09:00"], tz: Asia/Shanghai} to the '
                             "profile, as the anti-harassment undertaking states them"))
    agent, within = ctx.get(fields, at, "agent"), ctx.get(fields, at, "within")
    return ExpectForbiddenHoursStep(
        agent=ctx.agent(at + ("agent",), str(agent)) if agent is not None else "",
        number=number(ctx, at + ("number",), ctx.get(fields, at, "number")),
        via=str(ctx.get(fields, at, "via") or "dial_out"),
        within=ctx.duration(at + ("within",), within) if within is not None else SETTLE,
        mark=mark)


def _sides(run: ScenarioRun, rules: CallingRules, clock: OutboundClock | None) -> list[tuple[datetime, str]]:
    """The moments to place calls at, and how each was reached."""
    now = platform_now(run)
    if clock is None:
        return [(now, "real time (the platform's rule clock cannot be moved)")]
    picked = []
    for forbidden in (True, False):
        when = moment(rules, now, forbidden)
        if when is not None:
            picked.append((when, f"the platform's rule clock set to {when.astimezone(rules.tz):%H:%M}"))
    return picked


def perform(run: ScenarioRun, step: ExpectForbiddenHoursStep) -> Measurements:
    rules = rules_of(run)
    if rules is None:
        raise TargetError(f"target profile {run.target.path} states no outbound.forbidden_hours")
    clock = clock_of(run)
    real_now = platform_now(run)
    attempts = []
    for index, (when, how) in enumerate(_sides(run, rules, clock), 1):
        if clock is not None:
            move_to(run, clock, when)
        started, leg = place(run, step.agent, step.number, step.via, f"fh{index}")
        reached, saw = outcome(run, step.agent, step.number, started, leg, step.within)
        attempts.append(Attempt(when, how, step.number, reached, saw))
        clear(run, step.agent)
    if clock is not None:
        reset(run, clock)
    verdict = hours_verdict(HoursSeen(rules, tuple(attempts), real_now))
    if verdict.problem is not None:
        raise NotConformant(run, "expect_forbidden_hours", verdict.problem, verdict.figures)
    return verdict.figures


def say(spec: Mapping[str, Any]) -> Said:
    via = spec.get("via", "dial_out")
    how = ("通过平台接口外呼", "through the platform's API") if via == "originate" else \
        (f"由坐席 {spec.get('agent', '')} 拨号外呼", f"dialled by agent {spec.get('agent', '')}")
    return (f"禁呼时段内的外呼（{how[0]}）被平台拦截、不到达运营商侧，禁呼时段外的外呼正常呼出",
            f"an outbound call {how[1]} inside the forbidden calling hours is refused and never reaches the "
            f"carrier; outside them it goes out")


KIND = StepKind(
    name="expect_forbidden_hours",
    model=ExpectForbiddenHoursStep,
    description="Outbound calls are refused inside the undertaking's forbidden calling hours and go out "
                "outside them.",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=always(Skips()),
    shot=(("平台的禁呼时段配置，坐席在禁呼时段内外呼被拦截，时段外正常呼出",
           "the platform's forbidden-hours setting; the agent's call refused inside them, going out outside"),
          ("禁呼时段内：坐席听到拒绝；时段外：客户侧来电",
           "inside: the agent hears the refusal; outside: the customer's line rings")),
)
