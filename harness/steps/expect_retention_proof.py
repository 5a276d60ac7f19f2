"""``expect_retention_proof``: the call's recording is kept, unchanged, for the required days.

Shown by moving the platform's clock ahead (``harness.checks.retention``), where
the platform has one to move (the reference platform does).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from harness.checks.retention import prove_retention
from harness.errors import HarnessError
from harness.runner.run import ScenarioRun
from harness.scenario.context import LoadContext
from harness.scenario.model import RETENTION_DAYS
from harness.scenario.recording import after_recording, min_days
from harness.spec.checker import mapping
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.kind import Measurements, Said, StepKind, Stops, always
from harness.steps.recorded import FoundRecording, NotConformant, declared_days, ledger, run_id
from harness.targets.adapter import NotSupported
from harness.targets.capability import Capability
from harness.targets.registry import adapter_for


@dataclass(frozen=True)
class ExpectRetentionProofStep:
    """By moving the platform's clock: the call's recording is kept, unchanged, as required."""

    call: str
    min_days: int = RETENTION_DAYS
    ages: tuple[float, ...] = ()  # more ages (days) at which it must still be there
    mark: Mark | None = None


SCHEMA = """
description: >-
  On platforms that can move their clock: age the call's recording past
  min_days - 1 and the declared policy, purging each time; it must still be
  there and unchanged, then be purged only after the policy.  The clock is
  always set back.  Purging with a moved clock removes older recordings too.
type: [object, "null"]
x-hint: "e.g. expect_retention_proof: {min_days: 183}"
additionalProperties: false
properties:
  call: {$ref: "#/$defs/call_ref", description: The call whose recording is aged (default the most recent call placed).}
  min_days: {$ref: "#/$defs/days", description: "The required retention in days (default 183)."}
  ages:
    description: More ages, in days, at which the recording must still be there.
    type: array
    items: {type: number, exclusiveMinimum: 0, maximum: 36500, description: An age in days.}
"""


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> ExpectRetentionProofStep:
    """``expect_retention_proof: {call, min_days, ages}``."""
    fields = mapping(body)
    call = ctx.call(at, fields)
    after_recording(ctx, at, call, "the proof ages that recording")
    ages = tuple(float(a) for a in ctx.get(fields, at, "ages") or ())
    return ExpectRetentionProofStep(call, min_days(ctx, at, fields), ages, mark)


def perform(run: ScenarioRun, step: ExpectRetentionProofStep) -> Measurements:
    state = run.call(step.call)
    found = state.recording
    if not isinstance(found, FoundRecording):
        raise HarnessError(f"expect_retention_proof on call {step.call}: its recording was not "
                           f"found (hint: a passing expect_recording must come first)")
    platform = adapter_for(run.target)
    days, _ = declared_days(run, platform)
    started = datetime.now(UTC)
    moved = True  # purging under a moved clock removes older recordings: retire their canaries
    try:
        proof = prove_retention(platform, found.info, found.sha256, run.work_dir / "retention",
                                days, step.min_days, step.ages)
    except NotSupported:
        moved = False  # the platform cannot move its clock: nothing was purged
        raise
    finally:
        if moved:
            ledger(run).note_clock_proof(platform.description, run_id(run), started)
    figures = {**proof.measurements(), "notes": proof.notes()}
    if proof.problems():
        raise NotConformant(run, "expect_retention_proof", "; ".join(proof.problems()), figures)
    return figures


def say(spec: Mapping[str, Any]) -> Said:
    return ("将平台时钟拨快，核对录音仍在且未被修改",
            "move the platform's clock ahead: the recording is still there, unchanged")


KIND = StepKind(
    name="expect_retention_proof",
    model=ExpectRetentionProofStep,
    description="By moving the platform's clock, the call's recording is shown kept unchanged for the required days.",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=always(Stops()),
    shot=(("调快平台时钟后查询该录音", "searching the recording after moving the clock ahead"),
          ("录音仍在且哈希一致", "the recording is still there, same hash")),
    needs=frozenset({Capability.RECORDINGS, Capability.RETENTION_POLICY, Capability.CLOCK,
                     Capability.PURGE}),
    instead="use expect_retention (the declared policy) or verify_canaries (recordings of earlier runs, "
            "re-verified as the days really pass) instead",
)
