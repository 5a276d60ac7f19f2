"""``expect_storage``: the declared storage holds the required days of recordings.

The call's recording (found by an earlier ``expect_recording``) gives the bytes
per minute; the profile's ``adapter.storage`` gives the traffic and the capacity;
``harness.checks.retention`` projects one against the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.checks.retention import storage_needed, storage_problem
from harness.errors import HarnessError, TargetError
from harness.runner.run import ScenarioRun
from harness.scenario.context import LoadContext
from harness.scenario.model import RETENTION_DAYS
from harness.scenario.recording import after_recording, min_days
from harness.spec.checker import mapping
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.kind import Measurements, Said, StepKind, Stops, always
from harness.steps.recorded import FoundRecording, NotConformant
from harness.targets.adapter import profile_storage
from harness.targets.capability import Capability


@dataclass(frozen=True)
class ExpectStorageStep:
    """At the call's recorded bytes per minute, ``min_days`` of the declared traffic fit the storage."""

    call: str
    min_days: int = RETENTION_DAYS
    mark: Mark | None = None


SCHEMA = """
description: >-
  Project the storage the required retention needs - the call's recording's
  bytes per minute x the profile's adapter.storage minutes_per_call x
  calls_per_day x min_days - against its capacity_gb.
type: [object, "null"]
x-hint: "e.g. expect_storage: {min_days: 183}"
additionalProperties: false
properties:
  call:
    $ref: "#/$defs/call_ref"
    description: The call whose recording sets the bytes per minute (default the most recent call placed).
  min_days: {$ref: "#/$defs/days", description: "The days of recordings to be held (default 183)."}
"""


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> ExpectStorageStep:
    """``expect_storage: {call, min_days}``."""
    fields = mapping(body)
    call = ctx.call(at, fields)
    after_recording(ctx, at, call, "the projection starts from its bytes per minute")
    return ExpectStorageStep(call, min_days(ctx, at, fields), mark)


def perform(run: ScenarioRun, step: ExpectStorageStep) -> Measurements:
    found = run.call(step.call).recording
    if not isinstance(found, FoundRecording) or found.duration_s <= 0:
        raise HarnessError(f"expect_storage on call {step.call}: its recording was not found "
                           f"(hint: a passing expect_recording must come first)")
    declared = profile_storage(run.target)
    if declared is None:
        raise TargetError(f"target profile {run.target.path} declares no adapter.storage "
                          f"(capacity_gb, calls_per_day, minutes_per_call) to project against")
    per_minute = found.size / found.duration_s * 60
    figures: dict[str, Any] = {
        "recording": found.info.name, "bytes_per_minute": round(per_minute),
        "calls_per_day": declared.calls_per_day, "minutes_per_call": declared.minutes_per_call,
        "days": step.min_days, "capacity_gb": declared.capacity_gb,
        "needed_gb": round(storage_needed(per_minute, declared, step.min_days) / 1e9, 1)}
    problem = storage_problem(per_minute, declared, step.min_days)
    if problem:
        raise NotConformant(run, "expect_storage", problem, figures)
    return figures


def say(spec: Mapping[str, Any]) -> Said:
    return "核对存储容量可保存 6 个月录音", "the storage holds six months of recordings"


KIND = StepKind(
    name="expect_storage",
    model=ExpectStorageStep,
    description="The storage the profile declares holds the required days of recordings at the declared traffic.",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=always(Stops()),
    shot=(("存储容量与话务量", "the storage capacity and traffic"), ("容量可保存 6 个月", "six months fit")),
    needs=frozenset({Capability.STORAGE}),
)
