"""``hangup``: the caller ends the call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.runner.run import ScenarioRun
from harness.scenario.context import LoadContext
from harness.spec.checker import mapping
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.kind import Measurements, Performs, Said, StepKind, always
from harness.steps.signalling import HANGUP_TIMEOUT, wait_state


@dataclass(frozen=True)
class HangupStep:
    call: str
    mark: Mark | None = None


SCHEMA = """
description: End the call.
type: [object, "null"]
x-hint: "e.g. - hangup or - hangup: {call: c1}"
additionalProperties: false
properties:
  call: {$ref: "#/$defs/call_ref", description: The call (default the most recent call placed).}
"""


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> HangupStep:
    """``hangup`` or ``hangup: {call}``."""
    return HangupStep(ctx.call(at, mapping(body)), mark)


def perform(run: ScenarioRun, step: HangupStep) -> Measurements:
    tl = run.call(step.call).timeline
    if tl.state != "DISCONNECTED":
        run.board.command(tl.phone, "hangup", handle=tl.handle)
        wait_state(run, tl, ("DISCONNECTED",), HANGUP_TIMEOUT, "the call to end after our BYE")
    return {"status": (tl.final_status() or (0, ""))[0]}


def say(spec: Mapping[str, Any]) -> Said:
    return "挂机", "hang up"


KIND = StepKind(
    name="hangup",
    model=HangupStep,
    description="The caller ends the call.",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=always(Performs()),
    shot=None,
)
