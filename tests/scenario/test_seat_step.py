"""Loading expect_seats: values, defaults, and the seats the profile cannot fill, at collection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.errors import ScenarioError
from harness.spec.values import Destination
from harness.steps.expect_seats import ExpectSeatsStep
from harness.steps.registry import load_scenario
from harness.targets.profile import load_target

PROFILE = """\
name: unit
platform: {host: 127.0.0.1, port: 5070}
dids: {seats: "4105"}
accounts:
  caller: {username: "1001", password: "${ENV:CC_UNIT_PW}"}
  caller2: {username: "1002", password: "${ENV:CC_UNIT_PW}"}
  agent1: {username: "2001", password: "${ENV:CC_UNIT_PW}"}
  agent2: {username: "2002", password: "${ENV:CC_UNIT_PW}"}
adapter: {type: reference, url: "http://127.0.0.1:8188", username: admin, password: "${ENV:CC_UNIT_PW}"}
"""


def load(tmp_path: Path, steps: str, profile: str = PROFILE + "licence: {seats: 2}\n") -> list[Any]:
    (tmp_path / "target.yaml").write_text(profile, encoding="utf-8")
    path = tmp_path / "t.scenario.yaml"
    path.write_text("name: seats\nsteps:\n" + steps, encoding="utf-8")
    return list(load_scenario(path, None, load_target(tmp_path / "target.yaml")).steps)


def problems(tmp_path: Path, steps: str, profile: str = PROFILE + "licence: {seats: 2}\n") -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load(tmp_path, steps, profile)
    return [p.headline().split(".scenario.yaml:", 1)[1].replace(f"{tmp_path}/", "")
            for p in caught.value.problems]


def test_the_step_loads_with_its_values_and_defaults(tmp_path: Path) -> None:
    steps = load(tmp_path, """\
  - expect_seats: {to: "did:seats"}
  - expect_seats: {to: "did:seats", seats: 1, hold: 2s, within: 9s, answer_after: 0s, recording: false}
""")
    assert steps[0] == ExpectSeatsStep(Destination("did", "seats"), None, 5.0, 20.0, 0.5, True, steps[0].mark)
    assert steps[1] == ExpectSeatsStep(Destination("did", "seats"), 1, 2.0, 9.0, 0.0, False, steps[1].mark)


def test_more_seats_than_the_profile_has_accounts_for_is_reported_with_the_fix(tmp_path: Path) -> None:
    assert problems(tmp_path, '  - expect_seats: {to: "did:seats", seats: 3}\n') == [
        "3:37: steps[0].expect_seats.seats: 3 seats need 3 agents; target profile target.yaml gives 2 and no "
        'template for more (hint: seat_accounts: {agents: {more: {username: "...{n}", password: '
        '"${ENV:...{n}}"}}} makes the rest)',
        "3:37: steps[0].expect_seats.seats: 3 seats need 3 callers; target profile target.yaml gives 2 and no "
        'template for more (hint: seat_accounts: {callers: {more: {username: "...{n}", password: '
        '"${ENV:...{n}}"}}} makes the rest)']


def test_without_licence_seats_the_step_must_say_how_many(tmp_path: Path) -> None:
    assert problems(tmp_path, '  - expect_seats: {to: "did:seats"}\n', PROFILE) == [
        "3:5: steps[0].expect_seats: target profile target.yaml declares no licence.seats (hint: give "
        "seats: N here, or licence: {seats: N} in the profile)"]
    assert load(tmp_path, '  - expect_seats: {to: "did:seats", seats: 2}\n', PROFILE)[0].seats == 2


def test_a_template_fills_any_number_of_seats(tmp_path: Path) -> None:
    profile = PROFILE + ('licence: {seats: 200}\nseat_accounts:\n'
                         '  agents: {more: {username: "20{n:03d}", password: "${ENV:PW}"}}\n'
                         '  callers: {more: {username: "10{n:03d}", password: "${ENV:PW}"}}\n')
    assert load(tmp_path, '  - expect_seats: {to: "did:seats"}\n', profile)[0].seats is None
