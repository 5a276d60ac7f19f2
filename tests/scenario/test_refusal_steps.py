"""Loading the toll-fraud steps, expect_register and expect_call_refused: values, defaults, errors.

Errors are reported at collection with file, line and field, every one at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.errors import ScenarioError
from harness.spec.values import Destination
from harness.steps.expect_call_refused import ExpectCallRefusedStep
from harness.steps.expect_register import ExpectRegisterStep
from harness.steps.registry import load_scenario
from harness.targets.profile import load_target

PROFILE = """\
name: unit
platform: {host: 127.0.0.1, port: 5070}
dids: {main: "100"}
accounts:
  caller: {username: "1001", password: "${ENV:CC_UNIT_PW}"}
  agent1: {username: "2001", password: "${ENV:CC_UNIT_PW}"}
  alice: {username: "2002", password: "${ENV:CC_UNIT_PW}"}
  trunk: {username: "3001", password: "${ENV:CC_UNIT_PW}", register: false}
  open: {username: "3002"}
"""
HEAD = """\
name: toll fraud
agents:
  alice: {}
steps:
"""


def load(tmp_path: Path, steps: str) -> list[Any]:
    (tmp_path / "target.yaml").write_text(PROFILE, encoding="utf-8")
    path = tmp_path / "t.scenario.yaml"
    path.write_text(HEAD + steps, encoding="utf-8")
    return list(load_scenario(path, None, load_target(tmp_path / "target.yaml")).steps)


def problems(tmp_path: Path, steps: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load(tmp_path, steps)
    return [p.headline().split(".scenario.yaml:", 1)[1] for p in caught.value.problems]


def test_the_steps_load_with_their_values_and_defaults(tmp_path: Path) -> None:
    steps = load(tmp_path, """\
  - expect_register: {account: agent1}
  - expect_register: {account: agent1, refused: 403, within: 3s}
  - expect_register: {account: caller, refused: [401, 403]}
  - expect_call_refused: {to: "00441632960000", status: [403, 404]}
  - expect_call_refused: {from: alice, to: 4999, status: 404, within: 2s}
  - expect_call_refused: {from: agent1, to: "did:main", status: 403}
""")
    assert steps[0] == ExpectRegisterStep("agent1", (401, 403), 10.0, steps[0].mark)
    assert steps[1] == ExpectRegisterStep("agent1", (403,), 3.0, steps[1].mark)
    assert steps[2] == ExpectRegisterStep("caller", (401, 403), 10.0, steps[2].mark)
    assert steps[3] == ExpectCallRefusedStep("caller", "caller", Destination("user", "00441632960000"),
                                             (403, 404), 10.0, steps[3].mark)
    assert steps[4] == ExpectCallRefusedStep("alice", "agent", Destination("user", "4999"), (404,), 2.0,
                                             steps[4].mark)
    assert steps[5] == ExpectCallRefusedStep("agent1", "account", Destination("did", "main"), (403,), 10.0,
                                             steps[5].mark)


def test_expect_register_errors_name_the_line_and_the_field(tmp_path: Path) -> None:
    assert problems(tmp_path, """\
  - expect_register: {account: nobody}
  - expect_register: {account: agent1, refused: 404}
  - expect_register: {account: agent1, refused: [403, 407]}
  - expect_register: {account: trunk}
  - expect_register: {account: open}
  - expect_register: {refused: 403}
""") == [
        "5:23: steps[0].expect_register.account: no account 'nobody' in target 'unit' (hint: accounts in "
        f"{tmp_path / 'target.yaml'}: caller, agent1, alice, trunk, open)",
        "6:40: steps[1].expect_register.refused: 404 is not how a registrar refuses a password "
        "(hint: 401 (challenged again) or 403 (Forbidden))",
        "7:55: steps[2].expect_register.refused[1]: 407 is not how a registrar refuses a password "
        "(hint: 401 (challenged again) or 403 (Forbidden))",
        "8:23: steps[3].expect_register.account: account 'trunk' does not register (register: false in "
        f"{tmp_path / 'target.yaml'}) (hint: choose an account that registers)",
        "9:23: steps[4].expect_register.account: account 'open' has no password to get wrong "
        "(hint: give it a password in the profile)",
        "10:5: steps[5].expect_register: missing required field 'account' "
        "(hint: e.g. expect_register: {account: agent1, refused: 403})",
    ]


def test_expect_call_refused_errors_name_the_line_and_the_field(tmp_path: Path) -> None:
    found = problems(tmp_path, """\
  - expect_call_refused: {from: nobody, to: "0044", status: 403}
  - expect_call_refused: {to: "0044", status: [403, 200]}
  - expect_call_refused: {to: "did:sales", status: 404}
  - expect_call_refused: {to: "0044"}
  - expect_call_refused: {to: "0044", status: 403, within: soon}
""")
    assert found[0] == (
        "5:27: steps[0].expect_call_refused.from: 'nobody' is no caller, agent or account (hint: callers: "
        f"caller; agents: alice; accounts in {tmp_path / 'target.yaml'}: caller, agent1, alice, trunk, open)")
    assert found[1] == ("6:53: steps[1].expect_call_refused.status[1]: 200 is not a refusal "
                        "(hint: a final status of 400-699, e.g. 403 or 404)")
    assert found[2].startswith("7:27: steps[2].expect_call_refused.to: unknown DID 'sales' (hint: DIDs in ")
    assert found[3].startswith("8:5: steps[3].expect_call_refused: missing required field 'status'")
    assert found[4] == ("9:52: steps[4].expect_call_refused.within: 'soon' is not a duration "
                        "(hint: write 5s, 500ms or 2m)")
    assert len(found) == 5
