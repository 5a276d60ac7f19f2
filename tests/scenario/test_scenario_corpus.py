"""The bad-file corpus: each file under tests/data/bad_* and the exact problems it must produce.

The expectations live beside the files, in each folder's ``expected.yaml``;
this module only loads the files and compares headlines.  Files are loaded
by relative path from a copy of the folder, so headlines show short paths.
"""

from __future__ import annotations

import shutil
import wave
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.errors import ProfileError, ScenarioError, SpecError
from harness.steps.registry import load_scenario
from harness.targets.profile import load_prompt_library, load_target

DATA = Path(__file__).resolve().parents[1] / "data"


def write_wav(path: Path) -> None:
    """A 10 ms silent 8 kHz mono WAV: enough for a file that must exist."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\0" * 80)


def expected(folder: str) -> dict[str, Any]:
    with (DATA / folder / "expected.yaml").open(encoding="utf-8") as f:
        data: dict[str, Any] = yaml.safe_load(f)
    return data


def working_copy(folder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Copy a corpus folder, add its WAV files, and make it the current directory."""
    copy = tmp_path / folder
    shutil.copytree(DATA / folder, copy)
    for name in expected(folder)["wav_files"]:
        write_wav(copy / name)
    monkeypatch.chdir(copy)
    return copy


SCENARIOS = expected("bad_scenarios")["cases"]
PROFILES = expected("bad_profiles")["profiles"]
LIBRARIES = expected("bad_profiles")["libraries"]


def headlines(err: SpecError) -> list[str]:
    return [p.headline() for p in err.problems]


def test_every_bad_scenario_has_expectations() -> None:
    on_disk = {p.name for p in (DATA / "bad_scenarios").glob("*.scenario.yaml")}
    assert on_disk == set(SCENARIOS)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_bad_scenario(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    working_copy("bad_scenarios", tmp_path, monkeypatch)
    case = SCENARIOS[name]
    given = case["with"] if isinstance(case, dict) else ["target", "prompts"]
    target = load_target(Path("target.yaml")) if "target" in given else None
    prompts = load_prompt_library(Path("prompts.yaml")) if "prompts" in given else None
    with pytest.raises(ScenarioError) as err:
        load_scenario(Path(name), prompts, target)
    assert headlines(err.value) == (case["expect"] if isinstance(case, dict) else case)
    located = [p for p in err.value.problems if p.line]
    assert all(p.snippet for p in located), "every located problem shows its lines"


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_bad_profile(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    working_copy("bad_profiles", tmp_path, monkeypatch)
    with pytest.raises(ProfileError) as err:
        load_target(Path(name))
    assert headlines(err.value) == PROFILES[name]


@pytest.mark.parametrize("name", sorted(LIBRARIES))
def test_bad_prompt_library(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    working_copy("bad_profiles", tmp_path, monkeypatch)
    with pytest.raises(ProfileError) as err:
        load_prompt_library(Path(name))
    assert headlines(err.value) == LIBRARIES[name]


def test_snippet_points_at_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    working_copy("bad_scenarios", tmp_path, monkeypatch)
    prompts = load_prompt_library(Path("prompts.yaml"))
    with pytest.raises(ScenarioError) as err:
        load_scenario(Path("unknown_prompt.scenario.yaml"), prompts)
    assert str(err.value) == (
        "unknown_prompt.scenario.yaml:6:7: steps[2].expect_prompt.prompt:"
        " 'press_1' is not one of ['menu', 'welcome'] (hint: prompts come from prompts.yaml)\n"
        "    5 |   - expect_prompt:\n"
        "    6 |       prompt: press_1\n"
        "      |       ^"
    )


def test_duplicate_key_shows_both_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    working_copy("bad_scenarios", tmp_path, monkeypatch)
    with pytest.raises(ScenarioError) as err:
        load_scenario(Path("duplicate_keys.scenario.yaml"), None)
    assert err.value.problems[-1].snippet == (
        "    1 | name: first name\n      | ^\n      | ...\n    7 | name: second name\n      | ^"
    )


def test_literal_secrets_never_reach_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    working_copy("bad_profiles", tmp_path, monkeypatch)
    with pytest.raises(ProfileError) as err:
        load_target(Path("literal_password.yaml"))
    report = str(err.value)
    for secret in ("hunter2", "12345", "abc123"):
        assert secret not in report
    assert "password: ***}" in report
    assert "${ENV:CC_ARI_PASSWORD}" in report  # a reference is not a secret: it stays


def test_file_over_1_mib_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.scenario.yaml"
    big.write_bytes(b"name: big\n" + b"# padding\n" * 110_000)
    with pytest.raises(ScenarioError) as err:
        load_scenario(big, None)
    assert headlines(err.value) == [f"{big}: the file is 1.0 MiB, more than the 1 MiB limit"]


def test_missing_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as err:
        load_scenario(tmp_path / "nowhere.scenario.yaml", None)
    assert headlines(err.value) == [
        f"{tmp_path / 'nowhere.scenario.yaml'}: cannot read the file: No such file or directory"
    ]


def test_recursive_alias_is_reported(tmp_path: Path) -> None:
    looped = tmp_path / "loop.scenario.yaml"
    looped.write_text("name: loop\nsteps: &s [*s]\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(looped, None)
    assert headlines(err.value) == [
        f"{looped}:2:8: steps[0]: an alias refers to a value that contains it"
    ]


def test_alias_bomb_is_cut_short(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]
    bomb = tmp_path / "bomb.scenario.yaml"
    bomb.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(bomb, None)
    assert "more than 100000 values (aliases expanding?)" in err.value.problems[0].message
