"""Loading expect_audio: values, defaults, and errors with file, line and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.errors import ScenarioError
from harness.steps.expect_audio import ExpectAudioStep
from harness.steps.registry import load_scenario

HEAD = """\
name: hold music
steps:
  - call: {to: "4001"}
"""


def load(tmp_path: Path, steps: str) -> list[Any]:
    path = tmp_path / "t.scenario.yaml"
    path.write_text(HEAD + steps, encoding="utf-8")
    return list(load_scenario(path, None).steps)


def problems(tmp_path: Path, steps: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load(tmp_path, steps)
    return [p.headline().split(".scenario.yaml:", 1)[1] for p in caught.value.problems]


def test_the_step_loads_with_its_values_and_defaults(tmp_path: Path) -> None:
    steps = load(tmp_path, """\
  - expect_audio: {kind: music, for: 5s, within: 3s}
  - expect_audio: {kind: silence, for: 2.5s}
""")[1:]
    assert [(s.call, s.kind, s.seconds, s.within) for s in steps] == [("c1", "music", 5.0, 3.0),
                                                                      ("c1", "silence", 2.5, 0.0)]
    assert all(isinstance(s, ExpectAudioStep) and s.mark is not None for s in steps)


def test_every_problem_is_named_by_line_and_field_at_once(tmp_path: Path) -> None:
    found = problems(tmp_path, """\
  - expect_audio: {kind: musik, for: 5s}
  - expect_audio: {kind: tone}
  - expect_audio: {kind: speech, for: -1s, within: soon}
  - expect_audio: {kind: music, for: 5s, loud: true}
""")
    assert found == [
        "4:20: steps[1].expect_audio.kind: 'musik' is not one of ['music', 'tone', 'speech', 'silence'] "
        "(hint: did you mean 'music'?)",
        "5:5: steps[2].expect_audio: missing required field 'for' "
        "(hint: e.g. expect_audio: {kind: music, for: 5s, within: 3s})",
        "6:34: steps[3].expect_audio.for: -1s: must be more than 0",
        "6:44: steps[3].expect_audio.within: 'soon' is not a duration (hint: write 5s, 500ms or 2m)",
        "7:42: steps[4].expect_audio.loud: unknown field 'loud' (hint: known fields: call, kind, for, within)",
    ]


def test_a_call_must_be_placed_first(tmp_path: Path) -> None:
    path = tmp_path / "t.scenario.yaml"
    path.write_text("name: x\nsteps:\n  - expect_audio: {kind: music, for: 5s}\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, None)
    assert "steps[0].expect_audio: no call has been placed yet" in str(caught.value)
