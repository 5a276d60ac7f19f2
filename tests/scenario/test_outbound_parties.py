"""An outbound call's parties -- the agent who dialled and the customer -- in scenarios and at run time."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness.errors import HarnessError, ScenarioError
from harness.runner.run import CallState
from harness.sip.timeline import CallTimeline
from harness.steps.dial_out import DialOutStep
from harness.steps.originate import OriginateStep
from harness.steps.recorded import player
from harness.steps.registry import load_scenario

HEAD = """\
name: outbound parties
agents:
  agent1: {behaviour: reject}
steps:
"""
RECORDED = """\
  - dial_out: {agent: agent1, number: "13600136000"}
  - expect_carrier_call: {within: 10s, answered: true}
  - play_marker: {party: agent}
  - play_marker: {party: customer}
  - hangup
  - expect_recording: {parties: [agent, customer]}
  - originate: {agent: agent1, number: "13500135000"}
"""


def load(tmp_path: Path, steps: str) -> list[Any]:
    path = tmp_path / "t.scenario.yaml"
    path.write_text(HEAD + steps, encoding="utf-8")
    return list(load_scenario(path, None).steps)


def test_an_outbound_call_is_recorded_by_its_agent_and_customer_markers(tmp_path: Path) -> None:
    steps = load(tmp_path, RECORDED)
    dial, originate = steps[0], steps[-1]
    assert isinstance(dial, DialOutStep) and dial.call == "c1"
    assert isinstance(originate, OriginateStep) and originate.call == "c2"  # numbered with the calls
    assert steps[5].parties == ("agent", "customer") and steps[5].call == "c1"


def test_a_party_whose_marker_was_not_played_is_named(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as caught:
        load(tmp_path, RECORDED.replace("  - play_marker: {party: customer}\n", ""))
    [problem] = [p.headline() for p in caught.value.problems]
    assert "no play_marker step plays the customer's marker on call 'c1'" in problem, problem


def _state(outbound: bool, customer: bool = False) -> CallState:
    leg = CallTimeline("agent1", "out1", 0.0, "agent1 -> 913600136000")
    state = CallState("out1", "agent1", "agent1", leg, outbound=outbound)
    if customer:
        state.customer_leg = CallTimeline("carrier", "in1", 0.1, "carrier <- 13600136000")
    return state


def test_who_plays_on_an_outbound_call() -> None:
    run: Any = SimpleNamespace(agent_phone={})
    assert player(run, _state(True), "agent")[0] == "agent1"
    assert player(run, _state(True, customer=True), "customer")[0] == "carrier"
    for state, party, words in [
        (_state(True), "customer", "the customer has not answered (hint: put expect_carrier_call"),
        (_state(True, customer=True), "caller", "an outbound call's parties are agent (who dialled) and customer"),
        (_state(False), "customer", "a customer is a party of an outbound call"),
    ]:
        with pytest.raises(HarnessError) as caught:
            player(run, state, party)
        assert words in str(caught.value), caught.value
