"""``expect_hangup``: the far end ends the call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.checks.signalling import hangup_verdict
from harness.runner.run import ScenarioRun
from harness.scenario.context import LoadContext
from harness.sip.controller import WaitTimeout
from harness.spec.checker import mapping
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.kind import Measurements, Replayed, Said, StepKind, WaitsForHangup
from harness.steps.signalling import wait_state


@dataclass(frozen=True)
class ExpectHangupStep:
    """The far end ends the call within the deadline, optionally with a given status."""

    call: str
    within: float
    status: int | None = None
    mark: Mark | None = None


SCHEMA = """
description: Expect the far end to end the call.
type: object
x-hint: "e.g. expect_hangup: {within: 10s}"
required: [within]
additionalProperties: false
properties:
  call: {$ref: "#/$defs/call_ref", description: The call (default the most recent call placed).}
  within: {$ref: "#/$defs/duration", description: How long to wait for the hang-up.}
  status:
    description: The SIP status the call must end with, e.g. 486 (default any).
    type: integer
    minimum: 100
    maximum: 699
"""


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> ExpectHangupStep:
    """``expect_hangup: {call, within, status}``."""
    fields = mapping(body)
    status = ctx.get(fields, at, "status")
    return ExpectHangupStep(ctx.call(at, fields), ctx.within(at, fields), status, mark)


def perform(run: ScenarioRun, step: ExpectHangupStep) -> Measurements:
    tl = run.call(step.call).timeline
    timeout = None
    try:
        wait_state(run, tl, ("DISCONNECTED",), step.within, "the far end to end the call")
    except WaitTimeout as exc:
        timeout = str(exc)
    verdict = hangup_verdict(tl, step.status, timeout)
    if verdict.problem is not None:
        raise run.fail("expect_hangup", verdict.problem)
    return verdict.figures


def say(spec: Mapping[str, Any]) -> Said:
    return "平台挂机", "the platform hangs up"


def replayed(step: ExpectHangupStep) -> Replayed:
    return WaitsForHangup(step.call, step.within)


KIND = StepKind(
    name="expect_hangup",
    model=ExpectHangupStep,
    description="The far end ends the call.",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=replayed,
    shot=(("平台挂机", "the platform hanging up"), ("通话结束", "the call ends")),
)
