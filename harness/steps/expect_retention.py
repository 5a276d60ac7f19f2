"""``expect_retention``: the platform's declared retention policy is at least the required days."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.checks.retention import policy_problem
from harness.runner.run import ScenarioRun
from harness.scenario.context import LoadContext
from harness.scenario.model import RETENTION_CLAUSE, RETENTION_DAYS
from harness.scenario.recording import min_days
from harness.spec.checker import mapping
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.kind import Measurements, Said, StepKind, Stops, always
from harness.steps.recorded import NotConformant, declared_days
from harness.targets.capability import Capability
from harness.targets.registry import adapter_for


@dataclass(frozen=True)
class ExpectRetentionStep:
    """The platform's declared retention policy is at least ``min_days``."""

    min_days: int = RETENTION_DAYS
    clause: str = RETENTION_CLAUSE
    mark: Mark | None = None


SCHEMA = """
description: >-
  Check the retention policy the platform declares (or the profile's
  adapter.retention_days when it cannot say).
type: [object, "null"]
x-hint: "e.g. expect_retention: {min_days: 183}"
additionalProperties: false
properties:
  min_days: {$ref: "#/$defs/days", description: "The fewest days recordings must be kept (default 183, six months)."}
  clause: {type: string, minLength: 1, description: The requirement cited in the report (default 录音存储≥6个月).}
"""


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> ExpectRetentionStep:
    """``expect_retention: {min_days, clause}``."""
    fields = mapping(body)
    clause = ctx.get(fields, at, "clause")
    return ExpectRetentionStep(min_days(ctx, at, fields), clause or RETENTION_CLAUSE, mark)


def perform(run: ScenarioRun, step: ExpectRetentionStep) -> Measurements:
    platform = adapter_for(run.target)
    days, source = declared_days(run, platform)
    figures = {"declared_days": days, "declared_by": source, "min_days": step.min_days,
               "clause": step.clause}
    problem = policy_problem(days, step.min_days, step.clause)
    if problem:
        raise NotConformant(run, "expect_retention", problem, figures)
    return figures


def say(spec: Mapping[str, Any]) -> Said:
    days = spec.get("min_days", RETENTION_DAYS)
    return f"核对录音保存策略 ≥ {days} 天", f"check the declared retention is at least {days} days"


KIND = StepKind(
    name="expect_retention",
    model=ExpectRetentionStep,
    description="The platform's declared retention policy is at least the required days.",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=always(Stops()),
    shot=(("录音保存策略设置页面", "the recording retention setting"), ("保存期 ≥ 183 天", "retention ≥ 183 days")),
    needs=frozenset({Capability.RETENTION_POLICY}),
)
