"""Loading expect_quality: values, and errors with file, line and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.errors import ScenarioError
from harness.steps.expect_quality import ExpectQualityStep
from harness.steps.registry import load_scenario
from harness.targets.profile import load_prompt_library

HEAD = """\
name: quality
steps:
  - call: {to: "4000"}
"""


PROMPTS = load_prompt_library(Path(__file__).resolve().parents[2] / "fixtures" / "prompts" / "reference"
                              / "prompts.yaml")


def load(tmp_path: Path, steps: str) -> list[Any]:
    path = tmp_path / "t.scenario.yaml"
    path.write_text(HEAD + steps, encoding="utf-8")
    return list(load_scenario(path, PROMPTS).steps)


def problems(tmp_path: Path, steps: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load(tmp_path, steps)
    return [p.headline().split(".scenario.yaml:", 1)[1] for p in caught.value.problems]


def test_the_step_loads_with_its_values(tmp_path: Path) -> None:
    steps = load(tmp_path, """\
  - expect_quality: {prompt: main_menu, mos_min: 3.8, loss_max: 1%, jitter_max: 30ms}
  - expect_quality: {loss_max: 0.02}
""")[1:]
    assert all(isinstance(s, ExpectQualityStep) for s in steps)
    first, second = steps
    assert (first.call, first.prompt, first.mos_min, first.loss_max, first.jitter_max_ms) == (
        "c1", "main_menu", 3.8, pytest.approx(0.01), pytest.approx(30.0))
    assert (second.prompt, second.mos_min, second.loss_max, second.jitter_max_ms) == (None, None, 0.02, None)


def test_every_problem_is_named_by_line_and_field_at_once(tmp_path: Path) -> None:
    found = problems(tmp_path, """\
  - expect_quality: {mos_min: 3.5}
  - expect_quality: {loss_max: lots}
  - expect_quality: {}
  - expect_quality: {prompt: main_menu, mos_min: 5}
""")
    assert len(found) == 4, found
    assert found[0].startswith("4:") and "mos_min scores a prompt: name it" in found[0], found
    assert found[1].startswith("5:") and "'lots' is not a share" in found[1], found
    assert found[2].startswith("6:") and "nothing to judge" in found[2], found
    assert found[3].startswith("7:") and "mos_min" in found[3], found
