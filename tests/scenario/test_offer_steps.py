"""Loading the agent-offer steps, expect_offer_headers and expect_queue_entered: values, defaults, errors.

Errors are reported at collection with file, line and field, every one at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.checks.offer import HeaderRule
from harness.errors import ScenarioError
from harness.steps.expect_offer_headers import ExpectOfferHeadersStep, fill
from harness.steps.expect_queue_entered import ExpectQueueEnteredStep
from harness.steps.registry import load_scenario
from harness.targets.profile import load_target

PROFILE = """\
name: unit
platform: {host: 127.0.0.1, port: 5070}
dids: {main: "100"}
accounts:
  caller: {username: "1001", password: "${ENV:CC_UNIT_PW}"}
  agent1: {username: "2001", password: "${ENV:CC_UNIT_PW}"}
  agent2: {username: "2002", password: "${ENV:CC_UNIT_PW}"}
"""
HEAD = """\
name: screen pop
agents:
  agent1: {}
  agent2: {}
steps:
  - call: {to: "did:main", id: c1}
"""


def load(tmp_path: Path, steps: str) -> list[Any]:
    (tmp_path / "target.yaml").write_text(PROFILE, encoding="utf-8")
    path = tmp_path / "t.scenario.yaml"
    path.write_text(HEAD + steps, encoding="utf-8")
    return list(load_scenario(path, None, load_target(tmp_path / "target.yaml")).steps)[1:]


def problems(tmp_path: Path, steps: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load(tmp_path, steps)
    return [p.headline().split(".scenario.yaml:", 1)[1] for p in caught.value.problems]


def test_the_steps_load_with_their_values_and_defaults(tmp_path: Path) -> None:
    steps = load(tmp_path, """\
  - expect_offer_headers: {from_user: "{caller}", pai_user: 1001, headers: {X-Queue: "^sales$", X-Debug: null}}
  - expect_offer_headers: {call: c1, agent: agent2, within: 3s, headers: {f: "{caller}"}}
  - expect_queue_entered: {within: 5s}
  - expect_queue_entered: {call: c1, within: 2s, since: answer, queue: 4001, queue_header: X-CC-Queue}
""")
    assert steps[0] == ExpectOfferHeadersStep(
        "c1", (), (HeaderRule("From", "{caller}", "user"), HeaderRule("P-Asserted-Identity", "1001", "user"),
                   HeaderRule("X-Queue", "^sales$"), HeaderRule("X-Debug", None)), 10.0, steps[0].mark)
    assert steps[1] == ExpectOfferHeadersStep("c1", ("agent2",), (HeaderRule("f", "{caller}"),), 3.0,
                                              steps[1].mark)
    assert steps[2] == ExpectQueueEnteredStep("c1", 5.0, None, None, "X-Queue", steps[2].mark)
    assert steps[3] == ExpectQueueEnteredStep("c1", 2.0, "answer", "4001", "X-CC-Queue", steps[3].mark)


def test_placeholders_are_filled_literally() -> None:
    assert fill("^{caller}$", {"caller": "+8610"}) == r"^\+8610$"
    assert fill("{call_id}|x{2}", {"call_id": "a.b@c"}) == r"a\.b@c|x{2}"


def test_expect_offer_headers_errors_name_the_line_and_the_field(tmp_path: Path) -> None:
    found = problems(tmp_path, """\
  - expect_offer_headers: {agent: nobody, from_user: "{caler}"}
  - expect_offer_headers: {pai_user: "(1001", headers: {"X Queue": a, Proxy-Authorization: x}}
  - expect_offer_headers: {within: 3s}
  - expect_offer_headers: {agent: agent1, agents: [agent2], headers: {X-Queue: [sales]}}
""")
    assert found == [
        "7:28: steps[1].expect_offer_headers.agent: unknown agent 'nobody' (hint: agents declared: agent1, agent2)",
        "7:43: steps[1].expect_offer_headers.from_user: unknown placeholder {caler} (hint: known: {caller}, "
        "{call_id})",
        "8:28: steps[2].expect_offer_headers.pai_user: '(1001' is not a regular expression (missing ), "
        "unterminated subpattern at position 0) (hint: e.g. ^sales$ or {caller})",
        "8:57: steps[2].expect_offer_headers.headers.X Queue: 'X Queue' is not a SIP header name "
        "(hint: e.g. X-Queue or P-Asserted-Identity)",
        "8:71: steps[2].expect_offer_headers.headers.Proxy-Authorization: Proxy-Authorization is a credential: "
        "agent phones never keep it (hint: check another header)",
        "9:5: steps[3].expect_offer_headers: nothing to check: give from_user, pai_user or headers "
        """(hint: e.g. expect_offer_headers: {from_user: "{caller}", headers: {X-Queue: "^sales$"}})""",
        "10:5: steps[4].expect_offer_headers: give agent or agents, not both (hint: agents: [alice, bob] "
        "for any of several)",
        "10:71: steps[4].expect_offer_headers.headers.X-Queue: expected a string or a whole number or nothing, "
        "got a list",
    ]


def test_expect_queue_entered_errors_name_the_line_and_the_field(tmp_path: Path) -> None:
    found = problems(tmp_path, """\
  - expect_queue_entered: {queue: sales}
  - expect_queue_entered: {within: 5s, since: dtmf}
  - expect_queue_entered: {within: soon, call: c9}
""")
    assert found[0].startswith("7:5: steps[1].expect_queue_entered: missing required field 'within'")
    assert found[1].startswith("8:40: steps[2].expect_queue_entered.since: 'dtmf' is not one of "
                               "['key_press', 'answer']")
    assert found[2] == ("9:28: steps[3].expect_queue_entered.within: 'soon' is not a duration "
                        "(hint: write 5s, 500ms or 2m)")
    assert found[3].startswith("9:42: steps[3].expect_queue_entered.call: call 'c9' has not been placed yet")
    assert len(found) == 4
