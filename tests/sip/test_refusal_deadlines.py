"""A platform that never answers leaves the toll-fraud steps undecided: an error, never a pass.

The target is a UDP socket on 127.0.0.1 that reads nothing: the registrar's
silence and the proxy's are each an error after the step's ``within`` (1 s
here), not PJSIP's own 32 s transaction timeout.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.errors import TargetError
from harness.runner.run import ScenarioRun
from harness.steps.registry import BY_MODEL, load_scenario
from harness.targets.profile import load_target

pytestmark = pytest.mark.sip

PROFILE = """\
name: silent
platform: {{host: 127.0.0.1, port: {port}, transport: udp, domain: 127.0.0.1}}
accounts:
  caller: {{username: "1001", password: "${{ENV:CC_SILENT_PW}}", register: false}}
  agent1: {{username: "2001", password: "${{ENV:CC_SILENT_PW}}"}}
"""


@pytest.fixture
def silent_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A profile whose platform is a bound UDP port that never answers."""
    monkeypatch.setenv("CC_SILENT_PW", "not-used-by-anyone")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as hole:
        hole.bind(("127.0.0.1", 0))
        path = tmp_path / "silent.yaml"
        path.write_text(PROFILE.format(port=hole.getsockname()[1]), encoding="utf-8")
        yield path


def run(tmp_path: Path, profile: Path, step: str) -> TargetError:
    """Run a one-step scenario; the error it raised (the step's record says error too)."""
    (tmp_path / "s.scenario.yaml").write_text(f"name: silent\ndeadline: 20s\nsteps:\n  - {step}\n")
    target = load_target(profile)
    scenario = ScenarioRun(load_scenario(tmp_path / "s.scenario.yaml", None, target), target, None,
                           tmp_path / "run", kinds=BY_MODEL)
    try:
        with pytest.raises(TargetError) as raised:
            scenario.execute()
    finally:
        scenario.close()
    assert scenario.records[-1].status == "error"
    return raised.value


def test_a_registrar_that_never_answers_is_an_error(tmp_path: Path, silent_target: Path) -> None:
    error = run(tmp_path, silent_target, "expect_register: {account: agent1, within: 1s}")
    assert str(error).startswith("cannot decide: waited 1.0s for the registrar's answer to agent1 "
                                 "(sip:2001@127.0.0.1) (with a wrong password); the registrar sip:127.0.0.1:")


def test_a_call_with_no_final_response_is_an_error(tmp_path: Path, silent_target: Path) -> None:
    error = run(tmp_path, silent_target,
                   'expect_call_refused: {to: "00441632960000", status: 403, within: 1s}')
    assert str(error).startswith("no SIP response from the target at 127.0.0.1:")
    assert "to the INVITE of call refused1 (caller-caller -> sip:00441632960000@127.0.0.1:" in str(error)
