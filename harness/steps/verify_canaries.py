"""``verify_canaries``: recordings kept as canaries on earlier runs are still there and unchanged."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.checks.retention import verify_canaries
from harness.runner.run import ScenarioRun
from harness.scenario.context import LoadContext
from harness.scenario.model import RETENTION_DAYS
from harness.scenario.recording import min_days
from harness.spec.checker import mapping
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.kind import Measurements, Said, StepKind, Stops, always
from harness.steps.recorded import NotConformant, ledger, run_id
from harness.targets.capability import Capability
from harness.targets.registry import adapter_for


@dataclass(frozen=True)
class VerifyCanariesStep:
    """Every canary recording of earlier runs younger than ``min_days`` is still there, unchanged."""

    min_days: int = RETENTION_DAYS
    mark: Mark | None = None


SCHEMA = """
description: Re-download every canary of earlier runs younger than min_days and compare its SHA-256.
type: [object, "null"]
x-hint: "e.g. - verify_canaries"
additionalProperties: false
properties:
  min_days: {$ref: "#/$defs/days", description: "Canaries younger than this must still be there (default 183)."}
"""


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> VerifyCanariesStep:
    """``verify_canaries`` or ``verify_canaries: {min_days}``."""
    return VerifyCanariesStep(min_days(ctx, at, mapping(body)), mark)


def perform(run: ScenarioRun, step: VerifyCanariesStep) -> Measurements:
    platform = adapter_for(run.target)
    book = ledger(run)
    report = verify_canaries(platform, book, platform.description, run_id(run), step.min_days,
                             run.work_dir / "canaries")
    figures = {"ledger": str(book.path), **report.measurements()}
    if report.problems:
        raise NotConformant(run, "verify_canaries", "; ".join(report.problems), figures)
    return figures


def say(spec: Mapping[str, Any]) -> Said:
    return ("核对以往测试留下的录音仍可调取且未被修改",
            "recordings left by earlier runs are still retrievable and unchanged")


KIND = StepKind(
    name="verify_canaries",
    model=VerifyCanariesStep,
    description="Recordings kept as canaries on earlier runs are still there and unchanged.",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=always(Stops()),
    shot=(("查询以往测试的录音", "searching recordings from earlier runs"),
          ("旧录音仍可调取", "old recordings are still retrievable")),
    needs=frozenset({Capability.RECORDINGS}),
)
