"""Digest registration and authenticated calls through a real registrar: Kamailio on loopback."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.reference.kamailio.server import Kamailio
from harness.errors import TargetError
from harness.runner.run import ScenarioRun
from harness.scenario.model import AgentSpec, CallerSpec, Scenario
from harness.spec.values import Destination
from harness.steps.call import CallStep
from harness.steps.expect_agent import ExpectAgentStep
from harness.steps.expect_answer import ExpectAnswerStep
from harness.steps.hangup import HangupStep
from harness.steps.registry import BY_MODEL
from harness.targets.model import Account, Secret, Target
from tests.ports import free_udp_tcp_port

pytestmark = [
    pytest.mark.sip,
    pytest.mark.kamailio,
    pytest.mark.skipif(shutil.which("kamailio") is None, reason="needs Debian's kamailio package"),
]
PASSWORDS = {"1001": "caller-secret-1", "2001": "alice-secret-2"}


@pytest.fixture
def registrar(tmp_path: Path) -> Iterator[Kamailio]:
    with Kamailio(tmp_path / "kamailio", free_udp_tcp_port(), dict(PASSWORDS)) as kam:
        yield kam


def target(kam: Kamailio) -> Target:
    return Target(
        name="kamailio", path=Path("kamailio-test.yaml"), host="127.0.0.1", port=kam.sip_port,
        transport="udp", domain="127.0.0.1", outbound_proxy=None, managed="none", dids={},
        accounts={
            "caller": Account("caller", "1001", password=Secret("CC_TEST_CALLER_PW")),
            "alice": Account("alice", "2001", password=Secret("CC_TEST_ALICE_PW")),
        },
        prompts=None,
    )


def scenario(path: Path) -> Scenario:
    return Scenario(
        path=path, name="agent reached through the registrar", description="", deadline=20.0,
        callers=(CallerSpec("caller", "caller"),), agents=(AgentSpec("alice", "alice", answer_after=0.2),),
        steps=(
            CallStep("c1", "caller", Destination("agent", "alice")),
            ExpectAnswerStep("c1", 5.0),
            ExpectAgentStep("c1", ("alice",), 5.0),
            HangupStep("c1"),
        ),
    )


def test_right_passwords_register_and_the_call_reaches_the_agent(
    registrar: Kamailio, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CC_TEST_CALLER_PW", PASSWORDS["1001"])
    monkeypatch.setenv("CC_TEST_ALICE_PW", PASSWORDS["2001"])
    run = ScenarioRun(scenario(tmp_path / "s.scenario.yaml"), target(registrar), None, tmp_path / "run", kinds=BY_MODEL)
    try:
        run.execute()
    finally:
        run.close()
    alice = run.board.phones["agent-alice"]
    assert next(e.data["code"] for e in alice.registrations) == 200
    trace = [e.data["first_line"] for e in run.board.sip_trace(run.calls["c1"].timeline)]
    assert any(line.startswith("SIP/2.0 407") for line in trace), "the INVITE was not challenged"
    assert run.records[2].measurements["agent"] == "alice"
    # Secrets stay out of what the phones reported.
    everything = "\n".join(str(e.data) for p in run.board.phones.values() for e in p.sip)
    assert PASSWORDS["2001"] not in everything and PASSWORDS["1001"] not in everything
    assert 'response="' not in everything


def test_wrong_password_names_the_account_and_the_status(
    registrar: Kamailio, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CC_TEST_CALLER_PW", PASSWORDS["1001"])
    monkeypatch.setenv("CC_TEST_ALICE_PW", "not-alices-password")
    run = ScenarioRun(scenario(tmp_path / "s.scenario.yaml"), target(registrar), None, tmp_path / "run", kinds=BY_MODEL)
    began = time.monotonic()
    with pytest.raises(TargetError) as err:
        try:
            run.execute()
        finally:
            run.close()
    message = str(err.value)
    assert "account sip:2001@127.0.0.1 (phone agent-alice) could not register" in message
    assert "403 Forbidden" in message
    assert "not-alices-password" not in message
    assert time.monotonic() - began < 15.0
