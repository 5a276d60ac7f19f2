"""Load profiles: what loads, and every problem named with its file, line and field (unit tier)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ProfileError
from harness.load.profile import load_profile
from harness.spec.values import parse_share
from harness.targets.model import PromptLibrary, Target
from harness.targets.profile import load_prompt_library, load_target

PROJECT = Path(__file__).resolve().parents[2]
FLOWS = PROJECT / "scenarios" / "load" / "flows"
SHIPPED = PROJECT / "scenarios" / "load" / "busy_hour.load.yaml"


@pytest.fixture(scope="module")
def reference() -> tuple[Target, PromptLibrary | None]:
    target = load_target(PROJECT / "fixtures" / "targets" / "reference.yaml")
    return target, load_prompt_library(target.prompts) if target.prompts else None


def write(tmp_path: Path, text: str, name: str = "t.load.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text.replace("FLOWS", str(FLOWS)), encoding="utf-8")
    return path


GOOD = """\
callers: {count: 6, spawn_rate: 2, rate: 0.5}
duration: 2m
flows:
  - {scenario: FLOWS/opening_hours.flow.yaml, weight: 3}
  - {scenario: FLOWS/sales_queue.flow.yaml}
agents: {accounts: [agent1, agent2], answer_after: 1s, talk: {min: 2s, max: 4s}}
verify: {sample: 20%}
thresholds: {setup_p95: 500ms, answer_seizure_ratio: 99.5%, abandoned: 0.02}
"""


def test_the_shipped_profile_loads(reference: tuple[Target, PromptLibrary | None]) -> None:
    profile = load_profile(SHIPPED, *reference)
    assert profile.target == (PROJECT / "fixtures" / "targets" / "reference.yaml").resolve()
    assert [f.scenario.name for f in profile.flows] == ["Opening hours from the main menu",
                                                       "Sales queue, an agent answers and talks"]
    assert profile.thresholds["failed_calls"] == 0.0


def test_a_profile_reads_as_written(tmp_path: Path, reference: tuple[Target, PromptLibrary | None]) -> None:
    profile = load_profile(write(tmp_path, GOOD), *reference)
    assert (profile.callers, profile.spawn_rate, profile.rate, profile.duration) == (6, 2.0, 0.5, 120.0)
    assert profile.pacing == 12.0  # six callers, one call every 12 s each: 0.5 calls a second
    assert [f.weight for f in profile.flows] == [3, 1]
    assert profile.agents is not None
    assert [a.name for a in profile.agents.accounts] == ["agent1", "agent2"]
    assert profile.agents.answer_after == 1.0
    assert (profile.agents.talk_min, profile.agents.talk_max) == (2.0, 4.0)
    assert profile.sample == pytest.approx(0.2)
    assert profile.thresholds == pytest.approx({"setup_p95": 0.5, "answer_seizure_ratio": 0.995,
                                                "abandoned": 0.02})


@pytest.mark.parametrize(("old", "new", "where", "said"), [
    ("abandoned: 0.02", "abandoned: 2 percent", "thresholds.abandoned", "'2 percent' is not a share"),
    ("99.5%", "120%", "thresholds.answer_seizure_ratio", "120% is not between 0 and 100%"),
    ("duration: 2m", "duration: soon", "duration", "'soon' is not a duration"),
    ("agent2]", "agnet2]", "agents.accounts[1]", "'agnet2' is not an account of target profile"),
    ("max: 4s", "max: 1s", "agents.talk.max", "talk max (1s) is below talk min (2s)"),
    ("opening_hours.flow.yaml", "nowhere.flow.yaml", "flows[0].scenario", "no such file"),
    ("rate: 0.5}", "rate: 0.5, users: 3}", "callers.users", "users"),
], ids=["share", "over-100", "duration", "account", "talk", "flow-file", "unknown-field"])
def test_a_bad_field_is_named(tmp_path: Path, reference: tuple[Target, PromptLibrary | None],
                              old: str, new: str, where: str, said: str) -> None:
    bad = GOOD.replace(old, new)
    path = write(tmp_path, bad)
    with pytest.raises(ProfileError) as err:
        load_profile(path, *reference)
    problem = next((p for p in err.value.problems if p.field == where), None)
    assert problem is not None, str(err.value)
    line = next(i for i, text in enumerate(bad.splitlines(), 1) if new in text)
    assert (problem.path, problem.line) == (path, line), problem
    assert said in str(problem), str(problem)


def test_a_flow_s_own_problem_is_reported_in_the_flow_s_file(
        tmp_path: Path, reference: tuple[Target, PromptLibrary | None]) -> None:
    flow = write(tmp_path, "name: x\nsteps:\n  - call: {to: \"did:nowhere\"}\n", "bad.flow.yaml")
    path = write(tmp_path, GOOD.replace("FLOWS/opening_hours.flow.yaml", str(flow)))
    with pytest.raises(ProfileError) as err:
        load_profile(path, *reference)
    problem = next(p for p in err.value.problems if p.path == flow)
    assert (problem.line, problem.field) == (3, "steps[0].call.to"), problem
    assert "unknown DID 'nowhere'" in str(problem)


def test_flows_with_agents_need_the_profile_s_agents(tmp_path: Path,
                                                     reference: tuple[Target, PromptLibrary | None]) -> None:
    path = write(tmp_path, "\n".join(ln for ln in GOOD.splitlines() if not ln.startswith("agents:")))
    with pytest.raises(ProfileError) as err:
        load_profile(path, *reference)
    assert "a flow has agents, but the load profile gives none to answer" in str(err.value)


def test_a_flow_is_one_caller_s_call(tmp_path: Path, reference: tuple[Target, PromptLibrary | None]) -> None:
    flow = write(tmp_path, "name: two\ncallers:\n  a: {account: caller}\n  b: {account: caller2}\n"
                 "steps:\n  - call: {to: \"did:main\", from: a}\n", "two.flow.yaml")
    path = write(tmp_path, GOOD.replace("FLOWS/opening_hours.flow.yaml", str(flow)))
    with pytest.raises(ProfileError) as err:
        load_profile(path, *reference)
    assert "has 2 callers; a flow is one caller's call" in str(err.value)


@pytest.mark.parametrize(("text", "share"), [("99%", 0.99), ("0.5 %", 0.005), (1, 1.0), (0.25, 0.25)])
def test_ratio(text: object, share: float) -> None:
    assert parse_share(text) == pytest.approx(share)


@pytest.mark.parametrize("text", ["101%", "-1%", 1.5, "half", True])
def test_ratio_refuses(text: object) -> None:
    with pytest.raises(ValueError):
        parse_share(text)


def test_agents_by_count_come_from_the_seat_accounts(tmp_path: Path,
                                                     reference: tuple[Target, PromptLibrary | None]) -> None:
    path = write(tmp_path, GOOD.replace("accounts: [agent1, agent2]", "count: 6"))
    profile = load_profile(path, *reference)
    assert profile.agents is not None
    users = [a.username for a in profile.agents.accounts]
    assert users == ["2001", "2002", "2003", "2004", "2005", "2006"]  # the listed four, then "20{n:02d}"
    both = write(tmp_path, GOOD.replace("accounts: [agent1, agent2]", "count: 6, accounts: [agent1]"), "b.load.yaml")
    with pytest.raises(ProfileError) as err:
        load_profile(both, *reference)
    assert "give the agents as accounts: [...] or as count: N, one of the two" in str(err.value)
