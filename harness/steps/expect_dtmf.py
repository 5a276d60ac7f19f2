"""``expect_dtmf``: the caller (or an agent) receives DTMF digits."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.checks.ivr import DtmfHeard, agent_dtmf_leg, dtmf_arrival, dtmf_verdict, signalled_digits
from harness.runner.run import CallState, ScenarioRun
from harness.scenario.context import LoadContext
from harness.sip.controller import WaitTimeout
from harness.sip.timeline import CallTimeline
from harness.spec.checker import mapping
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.kind import Measurements, Said, StepKind, Stops, always
from harness.steps.media import FLUSH_ALLOWANCE, POLL


@dataclass(frozen=True)
class ExpectDtmfStep:
    """DTMF received: by the caller on ``call``, or by ``agent`` on its current call."""

    digits: str
    within: float
    call: str | None = None
    agent: str | None = None
    mark: Mark | None = None


SCHEMA = """
description: Expect DTMF digits, on the caller's call or at an agent.
type: object
x-hint: 'e.g. expect_dtmf: {digits: "12", within: 3s, agent: alice}'
required: [digits, within]
additionalProperties: false
properties:
  call: {$ref: "#/$defs/call_ref", description: The call whose caller receives them (default the most recent call).}
  agent: {type: string, minLength: 1, description: The agent that receives them (instead of call).}
  digits:
    description: The digits expected, from 0-9 * # A-D.
    type: [string, integer]
  within: {$ref: "#/$defs/duration", description: How long to wait for all of them.}
"""


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> ExpectDtmfStep:
    """``expect_dtmf: {digits, within, call | agent}``: the caller's side unless an agent is named."""
    fields = mapping(body)
    agent = ctx.get(fields, at, "agent")
    if "agent" in fields and "call" in fields:
        ctx.report(
            at, "give call or agent, not both", "agent: the digits are expected at that agent"
        )
    return ExpectDtmfStep(
        digits=ctx.digits(at + ("digits",), ctx.get(fields, at, "digits")),
        within=ctx.within(at, fields),
        call=None if "agent" in fields else ctx.call(at, fields),
        agent=ctx.agent(at + ("agent",), agent) if agent is not None else None,
        mark=mark,
    )


def _leg(run: ScenarioRun, step: ExpectDtmfStep) -> tuple[CallState | None, CallTimeline]:
    if step.agent is not None:
        # the leg the agent answered for a scenario call (expect_agent attributed it), else its last
        answered = [c.agent_leg for c in run.calls.values() if c.agent == step.agent and c.agent_leg]
        leg = agent_dtmf_leg(step.agent, answered, run.board.calls_of(run.agent_phone[step.agent]))
        if not isinstance(leg, CallTimeline):
            raise run.fail("expect_dtmf", leg.problem or "")
        return None, leg
    state = run.call(step.call or run.last_call or "")
    return state, state.timeline


def _inband(leg: CallTimeline, since: float) -> str:
    from harness.audio.dtmf import detect_dtmf
    from harness.audio.wav import read_capture

    if leg.capture_path is None or leg.capture_t0 is None:
        return ""
    samples = read_capture(leg.capture_path)
    start = max(0, int((since - leg.capture_t0) * 8000))
    return "".join(hit.digit for hit in detect_dtmf(samples[start:]))


def perform(run: ScenarioRun, step: ExpectDtmfStep) -> Measurements:
    _, leg = _leg(run, step)
    since = leg.t0  # DTMF sent before this step started still counts
    heard = DtmfHeard("", "")
    last = [0.0]

    def received() -> str | None:
        nonlocal heard
        heard = DtmfHeard(signalled_digits(leg, since), heard.inband)
        if dtmf_arrival(step.digits, heard) is None and time.monotonic() - last[0] >= POLL:
            last[0] = time.monotonic()  # the capture is analysed at most every POLL seconds
            heard = DtmfHeard(heard.signalled, _inband(leg, since))
        return dtmf_arrival(step.digits, heard)

    with contextlib.suppress(WaitTimeout):  # the verdict says what was received instead
        run.board.wait(received, run.budget(step.within + FLUSH_ALLOWANCE),
                       lambda: f"DTMF {step.digits!r}", timeline=leg)
    verdict = dtmf_verdict(step.digits, step.within, leg, heard)
    if verdict.problem is not None:
        raise run.fail("expect_dtmf", verdict.problem)
    return verdict.figures


def say(spec: Mapping[str, Any]) -> Said:
    return f"收到按键 {spec['digits']}", f"the keys {spec['digits']} arrive"


KIND = StepKind(
    name="expect_dtmf",
    model=ExpectDtmfStep,
    description="The caller (or an agent) receives DTMF digits.",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=always(Stops()),
    shot=None,
)
