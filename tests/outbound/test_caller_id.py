"""Outbound caller ID on the reference platform, by the suite's own scenarios (issue 16).

The conformant platform passes both (an agent dialling out with the prefix, and the
API's click-to-call); each caller-ID fault fails both with the words a reviewer reads.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ExpectationFailed
from tests.marks import ON_REFERENCE
from tests.recording.reference import PROJECT, reference_platform, run_scenario

pytestmark = ON_REFERENCE

SUITE = PROJECT / "scenarios" / "outbound"
SCENARIOS = ["agent_dial_out_caller_id", "api_originate_caller_id"]
EXPECTED = {
    None: None,
    "outbound_hides_caller_id": "the caller ID is withheld: Privacy: id asks the network to withhold",
    "outbound_wrong_caller_id": "presents 2001, the extension of agent agent1, not the company's "
                                "registered number 01062345678",
}


@pytest.mark.parametrize("fault", list(EXPECTED), ids=lambda f: f or "conformant")
def test_outbound_caller_id(fault: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    faults = (fault,) if fault else ()
    with reference_platform(tmp_path, monkeypatch, faults) as platform:
        for name in SCENARIOS:
            scenario = SUITE / f"{name}.scenario.yaml"
            if fault is None:
                run = run_scenario(platform, scenario, tmp_path / "reports", "ok")
                judged = [r.measurements for r in run.records if r.kind == "expect_carrier_call"]
                assert judged and all(m["caller_id"]["presented"] == "01062345678" for m in judged), judged
                continue
            with pytest.raises(ExpectationFailed) as failed:
                run_scenario(platform, scenario, tmp_path / "reports", fault)
            assert failed.value.step == "expect_carrier_call", failed.value
            assert EXPECTED[fault] in failed.value.detail, (name, failed.value.detail)
