"""Only a session given scenarios is a scenario run: ``pytest -n 3`` on the harness's own tests
must spread them over the workers, not group them all on one and start the reference platform."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.plugin import _runs_scenarios
from harness.project import PROJECT_ROOT


def _config(*args: str, cwd: Path = PROJECT_ROOT) -> pytest.Config:
    return SimpleNamespace(args=list(args), invocation_params=SimpleNamespace(dir=cwd))  # type: ignore[return-value]


@pytest.mark.parametrize(("args", "expected"), [
    (("scenarios",), True),
    (("scenarios/ivr/greeting_and_menu.scenario.yaml",), True),
    (("scenarios/ivr/greeting_and_menu.scenario.yaml::greeting",), True),
    (("tests/runner", "scenarios/acd"), True),
    (("tests",), False),  # its data folders hold scenario files the suite never collects
    (("tests/data/good",), False),
    (("tests/runner/test_parallel.py::test_x",), False),
    (("harness",), False),  # a folder with no scenario in it
])
def test_a_session_is_a_scenario_run_when_it_is_given_scenarios(args: tuple[str, ...], expected: bool) -> None:
    assert _runs_scenarios(_config(*args)) is expected


def test_paths_count_from_where_pytest_was_started(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "a.scenario.yaml").write_text("name: x\n")
    assert _runs_scenarios(_config("mine", cwd=tmp_path))
    assert not _runs_scenarios(_config("mine", cwd=PROJECT_ROOT))
