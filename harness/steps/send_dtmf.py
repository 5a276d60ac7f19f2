"""``send_dtmf``: the caller sends DTMF digits."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.runner.run import ScenarioRun
from harness.scenario.context import LoadContext
from harness.scenario.model import DtmfMethod
from harness.spec.checker import mapping
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.kind import Measurements, Replayed, Said, SendsKeys, StepKind
from harness.steps.media import idle

INBAND_ON, INBAND_OFF = 0.1, 0.1
RFC4733_PER_DIGIT = 0.25  # PJSIP's 160 ms events plus the gap it leaves


@dataclass(frozen=True)
class SendDtmfStep:
    call: str
    digits: str
    method: DtmfMethod = "rfc4733"
    mark: Mark | None = None


SCHEMA = """
description: Send DTMF digits.
type: object
x-hint: 'e.g. send_dtmf: {digits: "1#"}'
required: [digits]
additionalProperties: false
properties:
  call: {$ref: "#/$defs/call_ref", description: The call (default the most recent call placed).}
  digits:
    description: The digits, from 0-9 * # A-D; quote them when they start with 0.
    type: [string, integer]
  method:
    description: How to send them (default the target profile's dtmf_method, else rfc4733).
    enum: [rfc4733, info, inband]
"""


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> SendDtmfStep:
    """``send_dtmf: {call, digits, method}``; method defaults to the target's dtmf_method."""
    fields = mapping(body)
    method = ctx.get(fields, at, "method") or (ctx.target.dtmf_method if ctx.target else "rfc4733")
    digits = ctx.digits(at + ("digits",), ctx.get(fields, at, "digits"))
    return SendDtmfStep(ctx.call(at, fields), digits, method, mark)


def perform(run: ScenarioRun, step: SendDtmfStep) -> Measurements:
    state = run.call(step.call)
    tl = state.timeline
    sent_at = round(time.monotonic() - tl.t0, 3)
    if step.method == "inband":
        from harness.audio.tone import dtmf_tones

        path = run.write_generated(f"dtmf-{len(step.digits)}", dtmf_tones(step.digits, INBAND_ON, INBAND_OFF))
        run.board.command(state.phone, "play", handle=tl.handle, path=path, loop=False, name="dtmf")
        idle(run, run.budget(len(step.digits) * (INBAND_ON + INBAND_OFF)))
    else:
        run.board.command(state.phone, "dtmf", handle=tl.handle, digits=step.digits, method=step.method)
        if step.method == "rfc4733":
            idle(run, run.budget(len(step.digits) * RFC4733_PER_DIGIT))
    return {"digits": step.digits, "method": step.method, "sent_at_s": sent_at}


def say(spec: Mapping[str, Any]) -> Said:
    return f"按键 {spec['digits']}", f"press {spec['digits']}"


def replayed(step: SendDtmfStep) -> Replayed:
    return SendsKeys(step.call, step.digits, step.method)


KIND = StepKind(
    name="send_dtmf",
    model=SendDtmfStep,
    description="The caller sends DTMF digits.",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=replayed,
    shot=(("主叫拨号盘按键", "the caller's keypad"), ("按键音", "the key tone")),
)
