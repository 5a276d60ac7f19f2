"""``send_dtmf``: the caller sends DTMF digits."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.runner.run import ScenarioRun
from harness.scenario.context import LoadContext
from harness.scenario.model import DtmfMethod
from harness.sip.timeline import CallTimeline
from harness.spec.checker import mapping
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.expect_prompt import ExpectPromptStep
from harness.steps.kind import Measurements, Replayed, Said, SendsKeys, StepKind
from harness.steps.media import idle

INBAND_ON, INBAND_OFF = 0.1, 0.1
RFC4733_PER_DIGIT = 0.25  # PJSIP's 160 ms events plus the gap it leaves
LATE_PRESS = 2.0
"""A caller answers a menu within this of its end, inside the few seconds an IVR waits for a key
(the reference's menus wait 5 s, its sub-menus 3 s). A harness that took longer, because its
host was too busy hearing the menu or scoring it, may have pressed after the platform rightly
stopped waiting: a failure that follows such a press is undecided (``ScenarioRun``)."""


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
    reaction = reaction_time(run, tl, step.call)
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
    done: dict[str, Any] = {"digits": step.digits, "method": step.method, "sent_at_s": sent_at}
    if reaction is not None:
        heard, seconds = reaction
        done["reaction_s"] = round(seconds, 2)
        if seconds >= LATE_PRESS:
            done["late"] = (f"the harness pressed {step.digits!r} {seconds:.1f}s after the caller heard "
                            f"prompt {heard!r} end (a caller presses within {LATE_PRESS:g}s; this host "
                            f"was too busy to answer sooner), so the platform may rightly have stopped "
                            f"waiting for it")
    return done


def reaction_time(run: ScenarioRun, tl: CallTimeline, call: str) -> tuple[str, float] | None:
    """The prompt this press answers, and how long the harness has taken since hearing its end.

    That is the time the prompt's step spent noticing the end, plus the time of the steps in
    between (a PESQ score, say), but neither ``wait`` steps (meant) nor the time observers hold
    the run (a rehearsal's presenter). None when no prompt was heard on the call before, or
    the step is not run by ``ScenarioRun.execute`` (a prompt capture replays steps unrecorded)."""
    if not run.records or run.records[-1].kind != "send_dtmf":
        return None
    spent = time.monotonic() - run.records[-1].started
    for record in reversed(run.records[:-1]):
        step = run.scenario.steps[record.index]
        if isinstance(step, ExpectPromptStep) and step.call == call:
            end = record.measurements.get("end_s")  # seconds into the call
            if record.status != "passed" or end is None:
                return None
            return step.prompt, spent + record.ended - (tl.t0 + float(end))
        if record.kind != "wait":
            spent += record.ended - record.started
    return None


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
