"""expect_agent takes only an agent leg offered for the call it judges, over real calls.

An agent phone can still hold an answered leg from an earlier call: here the
first call of the scenario is taken by agent1 and left up, and the scenario
never asked which agent took it, so that leg is attributed to no call. The
second caller, in the same linear queue, goes to agent2 (agent1 is busy); its
``expect_agent`` must wait for agent2's offer to be answered -- not take
agent1's leg, which was offered before the second call began -- and its
evidence must say why each leg seen was taken or left. Against the reference
platform, with no fault: the platform is right, only the harness could be wrong.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import HarnessError
from tests.recording.reference import reference_platform, run_scenario

pytestmark = [pytest.mark.sip, pytest.mark.platform]

LEFT_UP = """\
name: A leg left up from an earlier call is not taken for the next call
licence_item: acd
tags: [acd]
deadline: 60s
callers:
  caller: {account: caller}
  caller2: {account: caller2}
agents:
  agent1: {answer_after: 0.3s, play: {prompt: agent_hello}}
  agent2: {answer_after: 1.5s}
  agent3: {answer_after: 1.5s}
steps:
  - wait: 1s   # agents have just logged in: let the platform see their registrations
  - call: {to: "did:linear", id: first}
  - expect_answer: {within: 5s}
  - expect_prompt: {prompt: agent_hello, within: 10s}   # an agent took it: which, is not asked
  - call: {from: caller2, to: "did:linear", id: second}
  - expect_agent: {agents: [agent2, agent3], within: 10s}
  - hangup: {call: second}
  - hangup: {call: first}
"""


def test_a_leg_left_up_from_an_earlier_call_is_not_taken_for_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = tmp_path / "left_up.scenario.yaml"
    scenario.write_text(LEFT_UP, encoding="utf-8")
    with reference_platform(tmp_path, monkeypatch) as platform:
        try:
            run = run_scenario(platform, scenario, tmp_path / "reports", "attribution")
        except (AssertionError, HarnessError) as exc:
            pytest.fail(f"the scenario did not pass: {exc}")
    found = next(r.measurements for r in run.records if r.kind == "expect_agent")
    assert found["agent"] in ("agent2", "agent3")
    reasons = found["legs"]
    stale = [why for name, why in reasons.items() if name.startswith("agent1/")]
    assert len(stale) == 1 and stale[0].endswith("before the call began"), reasons
    chosen = reasons[f"{found['agent']}/{found['agent_leg']}"]
    assert chosen.startswith("attributed: first answered after offer"), reasons
    assert found["answered_after_s"] >= found["offered_after_s"] >= 0
