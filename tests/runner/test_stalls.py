"""A failure seen while one of the harness's own phones did not run is an error, not a fail.

RTP is read only while a phone pumps: a phone the host stopped for longer than
its jitter buffer (0.5 s) lost audio and answered SIP late, so what it saw
cannot convict the platform. Real calls to the loopback peer; the caller's
phone is stopped with SIGSTOP just before the step that fails.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from harness.errors import ExpectationFailed, HostBusy
from harness.runner.platform import managed_platform
from harness.runner.run import ScenarioRun
from harness.steps.registry import BY_MODEL, load_scenario
from harness.targets.profile import load_prompt_library, load_target
from tests.ports import free_udp_port
from tests.reference.scenario_run import executed

pytestmark = pytest.mark.sip

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = ROOT / "fixtures" / "targets" / "loopback.yaml"
WRONG_PROMPT = """\
name: The loopback peer is expected to say digit_one first (it says the greeting)
tags: [loopback]
deadline: 30s
steps:
  - call: {to: "did:main"}
  - expect_answer: {within: 5s}
  - expect_prompt: {prompt: digit_one, within: 2s}
  - hangup
"""


def run_wrong_prompt(tmp_path: Path, stall: float, before: str = "expect_prompt"
                     ) -> tuple[ScenarioRun, BaseException]:
    """Run WRONG_PROMPT; stop the harness's phones for ``stall`` s as step ``before`` begins."""
    text = LOOPBACK.read_text().replace("port: 5070", f"port: {free_udp_port()}")
    text = text.replace("prompts: ../prompts/", f"prompts: {LOOPBACK.parent.parent}/prompts/")
    (tmp_path / "loopback.yaml").write_text(text)
    (tmp_path / "wrong.scenario.yaml").write_text(WRONG_PROMPT)
    target = load_target(tmp_path / "loopback.yaml")
    prompts = load_prompt_library(target.prompts) if target.prompts else None
    scenario = load_scenario(tmp_path / "wrong.scenario.yaml", prompts, target)
    work = tmp_path / "run"
    work.mkdir()
    run = ScenarioRun(scenario, target, prompts, work, kinds=BY_MODEL)

    @contextmanager
    def host_stalls(index: int, kind: str, step: Any) -> Iterator[None]:
        if kind == before and stall:
            pids = [p.proc.pid for p in run.board.phones.values()]
            for pid in pids:
                os.kill(pid, signal.SIGSTOP)
            time.sleep(stall)
            for pid in pids:
                os.kill(pid, signal.SIGCONT)
        yield

    run.observe(host_stalls)
    with managed_platform(target, prompts, tmp_path / "platform"):
        exc = executed(run)
    if exc is None:
        raise AssertionError("the scenario passed: the loopback peer said digit_one first?")
    return run, exc


def test_a_failure_while_our_phone_stalled_is_undecided(tmp_path: Path) -> None:
    run, exc = run_wrong_prompt(tmp_path, stall=0.8)
    assert isinstance(exc, HostBusy) and not isinstance(exc, AssertionError), repr(exc)
    assert "cannot decide: phone" in str(exc) and "did not run for 0." in str(exc), str(exc)
    assert "digit_one" in str(exc)  # what the phone saw is kept, for whoever reads the error
    assert isinstance(exc.__cause__, ExpectationFailed)
    assert run.records[-1].kind == "expect_prompt" and run.records[-1].status == "error"


def test_the_same_failure_without_a_stall_is_a_fail(tmp_path: Path) -> None:
    run, exc = run_wrong_prompt(tmp_path, stall=0.0)
    assert isinstance(exc, ExpectationFailed), repr(exc)
    assert run.records[-1].kind == "expect_prompt" and run.records[-1].status == "failed"


def test_a_stall_in_an_earlier_step_that_passed_leaves_the_failure_a_fail(tmp_path: Path) -> None:
    # The caller stalls before expect_answer (which then passes); expect_prompt listens only
    # from the end of expect_answer on, so its failure is the platform's.
    run, exc = run_wrong_prompt(tmp_path, stall=0.8, before="expect_answer")
    assert isinstance(exc, ExpectationFailed), repr(exc)
    assert [r.status for r in run.records] == ["passed", "passed", "failed"]
    assert run.board.worst_stall(run.started) is not None  # the stall happened, and was seen
