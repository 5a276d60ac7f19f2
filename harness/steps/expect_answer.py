"""``expect_answer``: the call is answered (200 OK) within the deadline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.checks.signalling import answer_verdict
from harness.runner.run import ScenarioRun
from harness.scenario.context import LoadContext
from harness.sip.controller import WaitTimeout
from harness.spec.checker import mapping
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.kind import Measurements, Replayed, Said, StepKind, WaitsForAnswer
from harness.steps.signalling import unreachable, wait_state


@dataclass(frozen=True)
class ExpectAnswerStep:
    call: str
    within: float
    mark: Mark | None = None


SCHEMA = """
description: Expect the call to be answered.
type: object
x-hint: "e.g. expect_answer: {within: 5s}"
required: [within]
additionalProperties: false
properties:
  call: {$ref: "#/$defs/call_ref", description: The call (default the most recent call placed).}
  within: {$ref: "#/$defs/duration", description: How long to wait for the answer.}
"""


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> ExpectAnswerStep:
    """``expect_answer: {call, within}``."""
    fields = mapping(body)
    return ExpectAnswerStep(ctx.call(at, fields), ctx.within(at, fields), mark)


def perform(run: ScenarioRun, step: ExpectAnswerStep) -> Measurements:
    tl = run.call(step.call).timeline
    timeout = None
    try:
        wait_state(run, tl, ("CONFIRMED", "DISCONNECTED"), step.within, "the call to be answered")
    except WaitTimeout as exc:
        run.board.command(tl.phone, "hangup", handle=tl.handle)  # PJSIP would wait for minutes
        timeout = str(exc)
    verdict = answer_verdict(tl, timeout)
    if verdict.problem is not None:
        raise unreachable(run, tl) or run.fail("expect_answer", verdict.problem)
    return verdict.figures


def say(spec: Mapping[str, Any]) -> Said:
    return "平台应答", "the platform answers"


def replayed(step: ExpectAnswerStep) -> Replayed:
    return WaitsForAnswer(step.call, step.within)


KIND = StepKind(
    name="expect_answer",
    model=ExpectAnswerStep,
    description="The call is answered (200 OK) within the deadline.",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=replayed,
    shot=(("平台接通", "the platform answering"), ("通话计时开始", "the call timer starts")),
)
