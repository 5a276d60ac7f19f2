"""A scenario that could not decide because the harness's host was busy is run again; a fail never is.

The host's business cannot be ordered up on cue, so a conftest in the pytester
folder makes the real run (real calls to the loopback peer, traces written) end
in ``HostBusy`` on its first ``BUSY_ATTEMPTS`` attempts -- what ``expect_quality``
or a stalled phone raises on a busy host.
"""

from __future__ import annotations

import pytest

from harness.evidence.records import read_evidence
from harness.report.evidence import render_html
from tests.plugin import test_plugin as base
from tests.ports import free_udp_port

pytestmark = pytest.mark.sip
pytest_plugins = ["pytester"]

BUSY_CONFTEST = """
import os

from harness.errors import HostBusy
from harness.runner import run as runner

real = runner.ScenarioRun.execute
attempts = []


def execute(self):
    real(self)
    attempts.append(1)
    if len(attempts) <= int(os.environ["BUSY_ATTEMPTS"]):
        raise HostBusy(f"cannot decide: the host was busy (attempt {len(attempts)})")


runner.ScenarioRun.execute = execute
"""


def busy_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, busy: int, scenario: str,
             *args: str) -> tuple[pytest.RunResult, list[dict[str, object]]]:
    monkeypatch.setenv("BUSY_ATTEMPTS", str(busy))
    pytester.makeconftest(BUSY_CONFTEST)
    pytester.makefile(".scenario.yaml", good=scenario)
    result = base.run(pytester, base.profile(pytester, free_udp_port()), *args)
    return result, read_evidence(pytester.path / "reports" / "run")


def test_a_busy_first_attempt_is_run_again_and_the_report_says_so(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    result, records = busy_run(pytester, monkeypatch, 1, base.GOOD)
    result.assert_outcomes(passed=1)
    [retried] = [r for r in records if r["type"] == "scenario_retried"]
    assert (retried["attempt"], retried["folder"]) == (1, "good.attempt-1")
    [scenario] = [r for r in records if r["type"] == "scenario"]
    assert scenario["verdict"] == "passed"
    assert scenario["attempts"] == ["good.attempt-1/: cannot decide: the host was busy (attempt 1)"]
    run_dir = pytester.path / "reports" / "run"
    assert list((run_dir / "good.attempt-1").glob("sip-*.txt")), "the first attempt's SIP trace is kept"
    assert list((run_dir / "good").glob("sip-*.txt")), "the second attempt's is where it always is"
    assert base.junit_properties(pytester) == {"verdict": "passed"}
    html = render_html(run_dir).read_text(encoding="utf-8")
    assert "the result of attempt 2" in html and "good.attempt-1/: cannot decide" in html


def test_a_host_busy_every_time_ends_undecided_after_the_retries(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    result, records = busy_run(pytester, monkeypatch, 9, base.GOOD, "--cc-busy-retries=1")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*ERROR (the run could not decide): HostBusy: cannot decide: "
                                 "the host was busy (attempt 2)*"])
    assert [r["attempt"] for r in records if r["type"] == "scenario_retried"] == [1]
    [scenario] = [r for r in records if r["type"] == "scenario"]
    assert scenario["verdict"] == "error"
    assert scenario["attempts"] == ["good.attempt-1/: cannot decide: the host was busy (attempt 1)"]


def test_a_fail_is_never_run_again(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = base.GOOD.replace("prompt: digit_one", "prompt: greeting")
    result, records = busy_run(pytester, monkeypatch, 0, wrong)
    result.assert_outcomes(failed=1)
    assert not [r for r in records if r["type"] == "scenario_retried"]
    [scenario] = [r for r in records if r["type"] == "scenario"]
    assert scenario["verdict"] == "not_conformant" and "attempts" not in scenario
    assert not list((pytester.path / "reports" / "run").glob("*.attempt-*"))
