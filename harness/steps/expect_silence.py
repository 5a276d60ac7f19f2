"""``expect_silence``: the caller hears nothing above a level for a while."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.checks.ivr import QuietWindow, silence_verdict
from harness.runner.run import ScenarioRun
from harness.scenario.context import LoadContext
from harness.sip.controller import WaitTimeout
from harness.spec.checker import mapping
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.kind import Measurements, OnlyWaits, Replayed, Said, StepKind
from harness.steps.media import FLUSH_ALLOWANCE, RATE, capture, idle


@dataclass(frozen=True)
class ExpectSilenceStep:
    call: str
    duration: float
    max_level_dbfs: float = -45.0
    mark: Mark | None = None


SCHEMA = """
description: Expect silence on the caller's side.
type: object
x-hint: "e.g. expect_silence: {duration: 2s}"
required: [duration]
additionalProperties: false
properties:
  call: {$ref: "#/$defs/call_ref", description: The call (default the most recent call placed).}
  duration: {$ref: "#/$defs/duration", description: How long it must stay silent.}
  max_level_dbfs:
    description: The loudest level still counted as silence, in dBFS (default -45).
    type: number
    maximum: 0
"""


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> ExpectSilenceStep:
    """``expect_silence: {call, duration, max_level_dbfs}``."""
    fields = mapping(body)
    level = ctx.get(fields, at, "max_level_dbfs")
    return ExpectSilenceStep(
        call=ctx.call(at, fields),
        duration=ctx.duration(at + ("duration",), ctx.get(fields, at, "duration")),
        max_level_dbfs=-45.0 if level is None else float(level),
        mark=mark,
    )


def perform(run: ScenarioRun, step: ExpectSilenceStep) -> Measurements:
    state = run.call(step.call)
    begin = time.monotonic()
    idle(run, run.budget(step.duration))

    def covered() -> Any:
        samples, t0 = capture(state)
        return (samples, t0) if t0 + len(samples) / RATE >= begin + step.duration else None

    try:
        samples, t0 = run.board.wait(covered, FLUSH_ALLOWANCE, lambda: "the capture to cover the window",
                                     timeline=state.timeline)
    except WaitTimeout:
        samples, t0 = capture(state)
    first = max(0.0, begin - t0)
    window = samples[int(first * RATE): int((first + step.duration) * RATE)]
    state.cursor = max(state.cursor, first + step.duration)
    verdict = silence_verdict(QuietWindow(window, first, t0), step.duration, step.max_level_dbfs,
                              state.timeline)
    if verdict.problem is not None:
        raise run.fail("expect_silence", verdict.problem)
    return verdict.figures


def say(spec: Mapping[str, Any]) -> Said:
    return f"静音 {spec['duration']} 秒", f"{spec['duration']} s of silence"


def replayed(step: ExpectSilenceStep) -> Replayed:
    """A capture judges no silence: it waits, and a prompt heard meanwhile is the next one's."""
    return OnlyWaits(step.call, step.duration)


KIND = StepKind(
    name="expect_silence",
    model=ExpectSilenceStep,
    description="The caller hears nothing above a level for a while.",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=replayed,
    shot=None,
)
