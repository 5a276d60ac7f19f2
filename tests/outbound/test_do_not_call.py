"""Do-not-call on the reference platform, with real calls (issue 16).

The suite's scenario (a listed number dialled by an agent; a click-to-call
customer pressing the refusal key) runs in the default suite and the fault
matrix. Here: the other way to refuse -- the customer hangs up at once -- is
kept by the conformant platform, on a click-to-call and on an agent's own call
(which passes a media worker that hears the refusal), either way of refusing;
and the fault ``dnc_ignored`` calls that customer again, which the step
reports in a reviewer's words.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ExpectationFailed
from tests.marks import ON_REFERENCE
from tests.recording.reference import reference_platform, run_scenario

pytestmark = ON_REFERENCE

HANGING_UP = """\
name: A customer who hangs up at once is not called again
licence_item: outbound
deadline: 60s
agents:
  agent1: {answer_after: 0.3s}
steps:
  - expect_do_not_call: {agent: agent1, via: originate, listed: false, refusal: hangup}
  - expect_do_not_call: {agent: agent1, via: dial_out, listed: false, refusal: hangup}
  - expect_do_not_call: {agent: agent1, via: dial_out, listed: false, refusal: dtmf}
"""


@pytest.mark.parametrize("fault", [None, "dnc_ignored"], ids=lambda f: f or "conformant")
def test_a_customer_hanging_up_at_once_is_not_called_again(
        fault: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = tmp_path / "hangup_refusal.scenario.yaml"
    scenario.write_text(HANGING_UP, encoding="utf-8")
    with reference_platform(tmp_path, monkeypatch, (fault,) if fault else ()) as platform:
        if fault is None:
            run = run_scenario(platform, scenario, tmp_path / "reports", "ok")
            judged = [r.measurements for r in run.records if r.kind == "expect_do_not_call"]
            assert len(judged) == 3, judged  # click-to-call, and an agent's own call (through a media worker)
            for m, how in zip(judged, ("hung up at once", "hung up at once", "pressed 9"), strict=True):
                refusing, again = m["attempts"]
                assert refusing["reached_carrier"] and not again["reached_carrier"], m
                assert m["refusal"].startswith(how), m
            return
        with pytest.raises(ExpectationFailed) as failed:
            run_scenario(platform, scenario, tmp_path / "reports", fault)
        assert "reached the carrier again" in failed.value.detail, failed.value.detail
        assert "after the customer refused further calls (hung up at once" in failed.value.detail
