"""The pytest plugin end to end, through pytester: collection, verdicts, JUnit (with the verdict as
testcase properties) and Allure output.

Each test writes a target profile for the loopback peer on a free port, so
runs do not collide, and runs pytest in a subprocess as a user would.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.evidence.records import read_evidence
from harness.evidence.runbook import RunBook
from tests.ports import free_udp_port

PROMPTS = Path(__file__).resolve().parents[2] / "fixtures" / "prompts" / "loopback" / "prompts.yaml"
pytestmark = pytest.mark.sip
pytest_plugins = ["pytester"]




def profile(pytester: pytest.Pytester, port: int, managed: str = "peer") -> Path:
    path = pytester.path / "target.yaml"
    peer = 'peer: {answer_after: 0.1s, prompt: digit_one, on_dtmf: {"2": digit_two}}' if managed == "peer" else ""
    path.write_text(f"""
name: loopback-test
platform: {{host: 127.0.0.1, port: {port}, transport: udp}}
managed: {managed}
{peer}
prompts: {PROMPTS}
dids: {{main: "100"}}
accounts:
  caller: {{username: caller, register: false}}
  carol: {{username: carol, register: false}}
""")
    return path


def run(pytester: pytest.Pytester, target: Path, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        f"--cc-target={target}", f"--cc-reports={pytester.path / 'reports'}", "--cc-run-id=run",
        f"--junitxml={pytester.path / 'junit.xml'}", f"--alluredir={pytester.path / 'allure'}",
        "-p", "no:cacheprovider", *args, timeout=120,
    )


def junit_properties(pytester: pytest.Pytester) -> dict[str, str | None]:
    """The one testcase's properties in the JUnit XML: the verdict the evidence record holds."""
    [case] = ET.parse(pytester.path / "junit.xml").getroot().iter("testcase")
    return {p.get("name", ""): p.get("value") for p in case.iter("property")}


GOOD = """
name: peer greets and answers DTMF 2
deadline: 30s
steps:
  - call: {to: "did:main"}
  - expect_answer: {within: 5s}
  - expect_prompt: {prompt: digit_one, within: 3s}
  - send_dtmf: {digits: "2"}
  - expect_prompt: {prompt: digit_two, within: 3s}
  - hangup
"""


def test_a_passing_scenario_leaves_junit_and_allure_with_trace_and_audio(pytester: pytest.Pytester) -> None:
    pytester.makefile(".scenario.yaml", good=GOOD)
    result = run(pytester, profile(pytester, free_udp_port()))
    result.assert_outcomes(passed=1)
    suite = ET.parse(pytester.path / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "1" and suite.get("failures") == "0"
    assert junit_properties(pytester) == {"verdict": "passed"}  # no licence item, no failed step
    results = [json.loads(p.read_text()) for p in (pytester.path / "allure").glob("*-result.json")]
    assert len(results) == 1 and results[0]["status"] == "passed"
    attachments = {a["name"]: a for a in results[0]["attachments"]}
    trace_name = next(n for n in attachments if n.endswith("SIP trace"))
    trace = (pytester.path / "allure" / attachments[trace_name]["source"]).read_text()
    for method in ("INVITE sip:100@", "SIP/2.0 200 OK", "ACK sip:", "BYE sip:"):
        assert method in trace
    assert any(a["type"] == "audio/wav" for a in attachments.values())
    steps = [s["name"] for s in results[0]["steps"]]
    assert steps[0].startswith("1. call") and steps[-1].startswith("6. hangup")
    (scenario,) = [r for r in read_evidence(pytester.path / "reports" / "run") if r["type"] == "scenario"]
    prompt = next(s for s in scenario["steps"] if s["kind"] == "expect_prompt")
    # the evidence holds the score the step passed on: a clean capture whose phone made up 20 ms
    # 0.57 s into this 2.4 s prompt scored 0.86 (session 27, under stress), a bar of 0.9 failed it
    assert prompt["measurements"]["score"] >= prompt["spec"]["min_score"] == 0.8
    assert not (pytester.path / "reports" / "run" / "good" / "records.jsonl").exists()  # recorded once


def test_a_wrong_prompt_fails_as_not_conformant_with_the_evidence(pytester: pytest.Pytester) -> None:
    pytester.makefile(".scenario.yaml", wrong=GOOD.replace("prompt: digit_one", "prompt: greeting"))
    result = run(pytester, profile(pytester, free_udp_port()))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*NOT CONFORMANT: expect_prompt: prompt 'greeting' (greeting.wav, 6.2s) not heard on call c1*"
        "best score 0.*need score >= 0.80*timeline: CALLING@0.0s*CONFIRMED@*",
    ])
    assert junit_properties(pytester) == {"verdict": "not_conformant", "failed_step": "expect_prompt"}
    book = RunBook.of_reports(pytester.path / "reports")  # the run filed itself for the history
    ((filed,), (result,)) = book.runs(), book.results(["run"])
    assert (filed.run_id, filed.target, filed.complete, filed.exit_status) == ("run", "loopback-test", True, 1)
    assert (result.verdict, result.failed_step) == ("not_conformant", "expect_prompt")


def test_a_peer_that_never_answers_fails_with_the_timeline(pytester: pytest.Pytester) -> None:
    pytester.makefile(".scenario.yaml", ring="""
name: nobody answers
deadline: 20s
agents:
  carol: {behaviour: ring}
steps:
  - call: {to: "agent:carol"}
  - expect_answer: {within: 2s}
""")
    result = run(pytester, profile(pytester, free_udp_port()))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*NOT CONFORMANT: expect_answer: waited 2.0s for the call to be answered on call c1*"
        "timeline: CALLING@0.0s, EARLY(180)@*",
    ])


def test_a_target_where_nothing_listens_is_an_error_within_the_deadline(pytester: pytest.Pytester) -> None:
    pytester.makefile(".scenario.yaml", down="""
name: platform down
deadline: 8s
steps:
  - call: {to: "did:main"}
  - expect_answer: {within: 30s}
""")
    result = run(pytester, profile(pytester, free_udp_port(), managed="none"), "--durations=1")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*ERROR (the run could not decide): TargetError: no SIP response from the target at "
        "127.0.0.1:*/udp to the INVITE of call c1*is the platform running*",
    ])
    assert result.duration < 30.0  # the scenario's 8 s deadline won over the step's 30 s


def test_a_bad_scenario_is_a_collection_error_naming_file_line_and_field(pytester: pytest.Pytester) -> None:
    pytester.makefile(".scenario.yaml", bad="""
name: bad
steps:
  - call: {to: "did:main"}
  - send_dtmf: {digits: "1x"}
  - expect_prompt: {prompt: press_1, within: 5s}
""")
    result = run(pytester, profile(pytester, free_udp_port()))
    assert result.ret == pytest.ExitCode.INTERRUPTED
    out = result.stdout.str()
    assert "bad.scenario.yaml:4:17: steps[1].send_dtmf.digits: 'x' is not a DTMF digit (hint: " in out
    assert '    4 |   - send_dtmf: {digits: "1x"}' in out
    assert "bad.scenario.yaml:5:21: steps[2].expect_prompt.prompt: 'press_1' is not one of [" in out
