"""``repeat:`` unrolls a block of steps; its problems still point into the block."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ScenarioError
from harness.steps.call import CallStep
from harness.steps.expect_agent import ExpectAgentStep
from harness.steps.hangup import HangupStep
from harness.steps.registry import load_scenario
from harness.steps.wait import WaitStep

ROOT = Path(__file__).resolve().parents[2]
HEAD = """name: repeat
agents:
  agent1: {}
  agent2: {}
steps:
"""


def load(tmp_path: Path, steps: str) -> list[object]:
    path = tmp_path / "r.scenario.yaml"
    path.write_text(HEAD + steps)
    return list(load_scenario(path, None).steps)


def problems(tmp_path: Path, steps: str) -> list[str]:
    with pytest.raises(ScenarioError) as err:
        load(tmp_path, steps)
    return [f"{p.line}:{p.field}: {p.message}" for p in err.value.problems]


def test_each_binds_the_name_and_the_marks_stay_in_the_block(tmp_path: Path) -> None:
    steps = load(tmp_path, """  - repeat:
      each: [c1, c2, c3]
      as: call
      steps:
        - call: {to: "100", id: "${call}"}
        - expect_agent: {agents: [agent1, agent2], within: 5s}
        - hangup
  - wait: 1s
""")
    calls = [s for s in steps if isinstance(s, CallStep)]
    assert [c.call for c in calls] == ["c1", "c2", "c3"]
    assert [type(s) for s in steps[:3]] == [CallStep, ExpectAgentStep, HangupStep]
    assert isinstance(steps[-1], WaitStep) and len(steps) == 10
    assert {c.mark.line for c in calls if c.mark} == {10}  # the call line inside the block
    assert steps[-1].mark is not None and steps[-1].mark.line == 13


def test_count_counts_from_one_and_a_whole_string_keeps_the_number(tmp_path: Path) -> None:
    steps = load(tmp_path, """  - repeat:
      count: 2
      steps:
        - call: {to: "10${n}", id: "call${n}"}
        - wait: ${n}
""")
    assert [(s.call, s.to.value) for s in steps if isinstance(s, CallStep)] == [("call1", "101"), ("call2", "102")]
    assert [s.duration for s in steps if isinstance(s, WaitStep)] == [1.0, 2.0]


def test_a_problem_names_the_line_in_the_block_and_the_repetition(tmp_path: Path) -> None:
    found = problems(tmp_path, """  - repeat:
      each: [c1, c1]
      as: call
      steps:
        - call: {to: "100", id: "${call}"}
        - expect_agent: {agents: [agent9], within: 5s}
""")
    assert "11:steps[0].repeat.steps[1].expect_agent.agents[0] (repetition 1 of 2, call=c1): " \
           "unknown agent 'agent9'" in found[1]
    assert any(f.startswith("10:steps[0].repeat.steps[0].call.id (repetition 2 of 2, call=c1): call id 'c1' "
                            "is already used") for f in found), found


def test_an_unknown_name_and_a_nested_repeat_are_refused(tmp_path: Path) -> None:
    found = problems(tmp_path, """  - repeat:
      count: 2
      steps:
        - call: {to: "100", id: "${call}"}
        - repeat: {count: 2, steps: [hangup]}
""")
    assert any("9:steps[0].repeat.steps[0].call.id: unknown name ${call} in a repeat" in f for f in found), found
    assert any("10:steps[0].repeat.steps[1].repeat: a repeat inside a repeat is not supported" in f
               for f in found), found


@pytest.mark.parametrize(("body", "expected"), [
    ("{count: 2, each: [a], steps: [hangup]}", "give either count: or each:, not both"),
    ("{steps: [hangup]}", "give either count: or each:, not both"),
    ("{count: 0, steps: [hangup]}", "count"),
    ("{count: 2, steps: []}", "steps"),
    ("{count: 2, as: 2x, steps: [hangup]}", "as"),
    ("{count: 2, times: 3, steps: [hangup]}", "times"),
])
def test_a_malformed_repeat_is_reported_where_it_was_written(tmp_path: Path, body: str, expected: str) -> None:
    found = problems(tmp_path, f"  - repeat: {body}\n")
    assert found and all(f.startswith("6:steps[0].repeat") for f in found), found
    assert any(expected in f for f in found), found


def test_the_rrmemory_scenario_unrolls_to_six_calls() -> None:
    steps = load_scenario(ROOT / "scenarios" / "acd" / "rrmemory.scenario.yaml", None).steps
    assert [s.call for s in steps if isinstance(s, CallStep)] == [f"c{i}" for i in range(1, 7)]


def test_a_step_after_a_repeat_is_named_as_written_not_as_unrolled(tmp_path: Path) -> None:
    found = problems(tmp_path, """  - repeat:
      count: 2
      steps:
        - call: {to: "did:sales", id: "c${n}"}
        - hangup: {call: "c${n}"}
  - wait: {for: never}
""")
    # unrolled, the wait is the fifth step (steps[4]); in the file it is the second (steps[1])
    assert found and all(":steps[1].wait" in f for f in found), found
    assert not any("steps[4]" in f for f in found), found
