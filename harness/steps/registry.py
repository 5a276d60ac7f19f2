"""The step kinds, listed explicitly in the order the schema shows them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.scenario import loader
from harness.scenario.model import Scenario
from harness.steps import (
    expect_recording,
    expect_retention,
    expect_retention_proof,
    expect_storage,
    play_marker,
    verify_canaries,
)
from harness.steps.kind import StepKind
from harness.targets.model import PromptLibrary, Target

KINDS: tuple[StepKind[Any], ...] = (
    play_marker.KIND,
    expect_recording.KIND,
    expect_retention.KIND,
    expect_retention_proof.KIND,
    verify_canaries.KIND,
    expect_storage.KIND,
)
BY_NAME: dict[str, StepKind[Any]] = {k.name: k for k in KINDS}
BY_MODEL: dict[type, StepKind[Any]] = {k.model: k for k in KINDS}


def load_scenario(path: Path, prompts: PromptLibrary | None, target: Target | None = None) -> Scenario:
    """Load and check one scenario file with every step kind (``harness.scenario.loader``)."""
    return loader.load_scenario(path, prompts, target, KINDS)
