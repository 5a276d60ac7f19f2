"""Outbound recording on the reference platform, with real calls (issue 16).

An agent's own outbound call goes through a media worker (a B2BUA) that records it,
and a click-to-call is recorded by the worker that bridges it: the suite's two
scenarios find each recording under the agent leg's Call-ID, holding the agent's and
the customer's markers, as long as the customer's answer to the hang-up. With the fault
``outbound_not_recorded`` both fail in a reviewer's words. The worker in the middle
must not change what the agent sees of the customer's line: ringing, a refusal with
its status, an answer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ExpectationFailed
from tests.marks import ON_REFERENCE
from tests.recording.reference import PROJECT, reference_platform, run_scenario

pytestmark = ON_REFERENCE

SUITE = PROJECT / "scenarios" / "outbound"
SCENARIOS = ["agent_dial_out_recorded", "api_originate_recorded"]

REFUSED_AND_RUNG = """\
name: The customer's line refuses, then rings, as the dialling agent sees it
licence_item: outbound
deadline: 60s
agents:
  agent1: {behaviour: reject}
steps:
  - dial_out: {agent: agent1, number: "13400134000", id: busy, carrier: {behaviour: reject, code: 486}}
  - expect_carrier_call: {within: 10s, answered: false}
  - expect_hangup: {call: busy, within: 5s}
  - dial_out: {agent: agent1, number: "13400134001", id: ringing, carrier: {behaviour: ring}}
  - expect_carrier_call: {within: 10s, answered: false}
  - wait: 1s
  - hangup: {call: ringing}
"""


@pytest.mark.parametrize("fault", [None, "outbound_not_recorded"], ids=lambda f: f or "conformant")
def test_outbound_calls_are_recorded_with_both_parties(
        fault: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with reference_platform(tmp_path, monkeypatch, (fault,) if fault else ()) as platform:
        for name in SCENARIOS:
            scenario = SUITE / f"{name}.scenario.yaml"
            if fault is None:
                run = run_scenario(platform, scenario, tmp_path / "reports", "ok")
                [found] = [r.measurements for r in run.records if r.kind == "expect_recording"]
                assert found["found_by"] == "SIP Call-ID", (name, found)
                assert found["sip_call_id"] == run.calls["out1"].timeline.sip_call_id  # the agent's leg
                assert {p for p, m in found["markers"].items() if m["found"]} == {"agent", "customer"}, found
                assert found["bridged_basis"] == "customer answer to hang-up", found
                continue
            with pytest.raises(ExpectationFailed) as failed:
                run_scenario(platform, scenario, tmp_path / "reports", fault)
            assert failed.value.step == "expect_recording", failed.value
            assert "no recording of call out1" in failed.value.detail, (name, failed.value.detail)


def test_the_worker_in_the_middle_passes_the_customer_s_line_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = tmp_path / "refused_and_rung.scenario.yaml"
    scenario.write_text(REFUSED_AND_RUNG, encoding="utf-8")
    with reference_platform(tmp_path, monkeypatch, ()) as platform:
        run = run_scenario(platform, scenario, tmp_path / "reports", "ok")
    busy, ringing = run.calls["busy"].timeline, run.calls["ringing"].timeline
    assert busy.final_status() is not None and busy.final_status()[0] == 486, busy.summary()  # type: ignore[index]
    assert ringing.last("call", state="EARLY") is not None, ringing.summary()  # the customer's 180, passed on
    assert ringing.last("call", state="CONFIRMED") is None, ringing.summary()
