"""``wait``: do nothing for a while (a duration)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.runner.run import ScenarioRun
from harness.scenario.context import LoadContext
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.kind import Performs, Said, StepKind, always
from harness.steps.media import idle


@dataclass(frozen=True)
class WaitStep:
    duration: float
    mark: Mark | None = None


SCHEMA = """
$ref: "#/$defs/duration"
"""


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> WaitStep:
    """``wait: 2s``."""
    return WaitStep(ctx.duration(at, body), mark)


def perform(run: ScenarioRun, step: WaitStep) -> None:
    idle(run, run.budget(step.duration))


def say(spec: Mapping[str, Any]) -> Said:
    return f"等待 {spec['duration']} 秒", f"wait {spec['duration']} s"


KIND = StepKind(
    name="wait",
    model=WaitStep,
    description="Do nothing for a while (a duration).",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=always(Performs()),
    shot=None,
)
