"""``ccharness rehearse`` in a real terminal (a pty, driven by pexpect) against the loopback peer.

The presenter's side is what is tested: the intro, every step announced in
Chinese and English before it runs, Enter to go on, the outcome, the exit
status -- and that the run leaves the same evidence as ``ccharness run``.
Each test gives the loopback profile a free port so that runs do not collide.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pexpect
import pytest
from rich.console import Console

from harness.audio import playback
from harness.audio.tone import sine
from harness.audio.wav import write_wav
from harness.report.narration import say, spec_of
from harness.report.rehearsal import Rehearsal
from harness.runner.run import ScenarioRun, step_kind
from harness.scenario.model import Scenario
from harness.steps.registry import BY_MODEL, load_scenario
from harness.steps.wait import WaitStep
from harness.targets.profile import load_prompt_library, load_target
from tests.ports import free_udp_port

ROOT = Path(__file__).resolve().parents[2]
CCHARNESS = ROOT / ".venv" / "bin" / "ccharness"
LOOPBACK = ROOT / "fixtures" / "targets" / "loopback.yaml"
GREETING = ROOT / "fixtures" / "scenarios" / "loopback" / "greeting_and_dtmf.scenario.yaml"
STEP_TIMEOUT = 30  # seconds for one step to be announced or to finish (the scenario's deadline is 40 s)
# A line the rehearsal prints at once (after a key, a step, Ctrl-C): the deadline only guards a
# hang. Under stress --cpu 2 beside three test workers the controller waited over 5 s for a core.
SAID = 30
END_TIMEOUT = 60  # seconds for teardown, reports and exit after the last step

WRONG_PROMPT = """
name: Loopback peer is expected to say digit_one first (it says the greeting)
tags: [loopback]
deadline: 30s
steps:
  - call: {to: "did:main"}
  - expect_answer: {within: 5s}
  - expect_prompt: {prompt: digit_one, within: 1s}
  - hangup
"""


@pytest.fixture
def target(tmp_path: Path) -> Path:
    """fixtures/targets/loopback.yaml on a free port."""
    text = LOOPBACK.read_text()
    prompts = (LOOPBACK.parent / "../prompts/loopback/prompts.yaml").resolve()
    text = text.replace("port: 5070", f"port: {free_udp_port()}")
    text = text.replace("prompts: ../prompts/loopback/prompts.yaml", f"prompts: {prompts}")
    path = tmp_path / "loopback.yaml"
    path.write_text(text)
    return path


def signal_state(pid: int) -> str:
    """What the kernel says of a process's signals and threads (for a failure's message)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
        threads = [Path(f"/proc/{pid}/task/{t}/stat").read_text().split(") ")[-1][:1]
                   for t in sorted(os.listdir(f"/proc/{pid}/task"))]
    except OSError as exc:
        return f"unreadable ({exc})"
    keep = ("State", "SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt", "Threads")
    return "; ".join(line for line in status if line.split(":")[0] in keep) + f"; thread states {threads}"


def rehearse(tmp_path: Path, target: Path, scenario: Path, *args: str) -> tuple[pexpect.spawn, io.StringIO]:
    seen = io.StringIO()
    child = pexpect.spawn(
        str(CCHARNESS), ["rehearse", "--target", str(target), str(scenario),
                         "--reports", str(tmp_path / "reports"), "--run-id", "r1", *args],
        cwd=str(ROOT), env={**os.environ, "NO_COLOR": "1"}, encoding="utf-8",
        dimensions=(50, 220),  # wide enough that no announcement wraps
        timeout=STEP_TIMEOUT,
        # as at a user's terminal: Ctrl-C interrupts, whatever this test process inherited
        # (an ignored SIGINT survives exec, and Python then never raises KeyboardInterrupt)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    child.logfile_read = seen
    return child, seen


def finish(child: pexpect.spawn, seen: io.StringIO) -> int:
    child.expect(pexpect.EOF, timeout=END_TIMEOUT)
    child.close()
    assert child.exitstatus is not None, f"killed by signal {child.signalstatus}:\n{seen.getvalue()}"
    return int(child.exitstatus)


def announcements(scenario: Path, target: Path) -> list[tuple[str, str]]:
    loaded = load_target(target)
    prompts = load_prompt_library(loaded.prompts) if loaded.prompts else None
    steps = load_scenario(scenario, prompts, loaded).steps
    return [say(step_kind(step), spec_of(step)) for step in steps]


def scenario_records(tmp_path: Path) -> list[dict[str, Any]]:
    evidence = tmp_path / "reports" / "r1" / "evidence.jsonl"
    assert evidence.exists()
    records = [json.loads(line) for line in evidence.read_text(encoding="utf-8").splitlines()]
    assert records[-1]["type"] == "end"  # the normal teardown ran
    return [r for r in records if r["type"] == "scenario"]


@pytest.mark.sip
def test_each_step_is_announced_in_both_languages_and_waits_for_enter(tmp_path: Path, target: Path) -> None:
    said = announcements(GREETING, target)
    child, seen = rehearse(tmp_path, target, GREETING)
    child.expect_exact("On-site inspection rehearsal", timeout=STEP_TIMEOUT)
    child.expect_exact("press Enter before each step", timeout=STEP_TIMEOUT)
    child.expect_exact("Ctrl-C", timeout=STEP_TIMEOUT)
    for number, (zh, en) in enumerate(said, start=1):
        child.expect_exact(f"step {number}/{len(said)}", timeout=STEP_TIMEOUT)
        child.expect_exact(zh, timeout=SAID)
        child.expect_exact(en, timeout=SAID)
        child.expect_exact("press Enter to run this step", timeout=SAID)
        child.sendline("")
        child.expect_exact("passed", timeout=STEP_TIMEOUT)
        child.expect_exact("call legs", timeout=SAID)
    child.expect_exact("verdict:", timeout=END_TIMEOUT)
    child.expect_exact("CONFORMANT", timeout=SAID)
    assert finish(child, seen) == 0, seen.getvalue()
    [record] = scenario_records(tmp_path)
    assert record["verdict"] == "passed"
    assert (tmp_path / "reports" / "r1" / "junit.xml").exists()


@pytest.mark.sip
def test_pace_mode_runs_through_without_input(tmp_path: Path, target: Path) -> None:
    child, seen = rehearse(tmp_path, target, GREETING, "--pace", "0.2")
    child.expect_exact("the steps advance every 0.2 s", timeout=STEP_TIMEOUT)
    child.expect_exact("step 8/8", timeout=STEP_TIMEOUT * 2)
    child.expect_exact("hang up", timeout=SAID)
    child.expect_exact("passed", timeout=STEP_TIMEOUT)
    assert finish(child, seen) == 0, seen.getvalue()
    assert "press Enter to run this step" not in seen.getvalue()
    [record] = scenario_records(tmp_path)
    assert record["verdict"] == "passed"


@pytest.mark.sip
def test_a_failing_step_is_shown_as_not_conformant(tmp_path: Path, target: Path) -> None:
    scenario = tmp_path / "wrong_prompt.scenario.yaml"
    scenario.write_text(WRONG_PROMPT)
    child, seen = rehearse(tmp_path, target, scenario, "--pace", "0.1")
    child.expect_exact("step 3/4", timeout=STEP_TIMEOUT * 2)
    child.expect_exact("不符合 NOT CONFORMANT:", timeout=STEP_TIMEOUT)
    child.expect_exact("expect_prompt: prompt 'digit_one'", timeout=SAID)
    child.expect_exact("call legs", timeout=SAID)
    assert finish(child, seen) == 1, seen.getvalue()
    assert "step 4/4" not in seen.getvalue()
    [record] = scenario_records(tmp_path)
    assert record["verdict"] == "not_conformant" and record["failed_step"] == "expect_prompt"


@pytest.mark.sip
def test_ctrl_c_while_waiting_hangs_up_and_keeps_the_evidence(tmp_path: Path, target: Path) -> None:
    child, seen = rehearse(tmp_path, target, GREETING)
    child.expect_exact("press Enter to run this step", timeout=STEP_TIMEOUT)
    child.sendline("")
    child.expect_exact("step 2/8", timeout=STEP_TIMEOUT)
    child.expect_exact("press Enter to run this step", timeout=SAID)
    child.sendintr()
    try:
        child.expect_exact("stopped (Ctrl-C)", timeout=SAID)
    except pexpect.TIMEOUT:
        raise AssertionError(f"no reaction to Ctrl-C within {SAID}s; the controller's signal "
                             f"state: {signal_state(child.pid)}") from None
    assert finish(child, seen) == 2, seen.getvalue()  # pytest's "interrupted"
    [record] = scenario_records(tmp_path)
    assert record["verdict"] == "error" and "KeyboardInterrupt" in record["message"]
    folder = tmp_path / "reports" / "r1" / "greeting_and_dtmf"
    trace = "".join(p.read_text() for p in folder.glob("sip-*.txt"))
    assert "CANCEL sip:" in trace or "BYE sip:" in trace  # hung up, not dropped
    assert not any("KeyboardInterrupt" in p.read_text() for p in folder.glob("phone-*.log"))


# -- playing a retrieved recording back (no recording platform needed) ----------------------
@pytest.fixture
def wav(tmp_path: Path) -> Path:
    path = tmp_path / "rec.wav"
    write_wav(path, sine(440.0, 0.3, -20.0))
    return path


def test_without_audio_output_the_file_is_shown_instead(wav: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(playback, "audio_output", lambda: False)
    out = io.StringIO()
    rehearsal = Rehearsal(0.0, Console(file=out, width=200, highlight=False))
    found = SimpleNamespace(info=SimpleNamespace(name="rec-1"), path=wav, duration_s=0.3,
                            found_by="SIP Call-ID")
    run = SimpleNamespace(calls={"c1": SimpleNamespace(recording=found)})
    rehearsal._play_back(run, SimpleNamespace(call="c1"))  # type: ignore[arg-type]
    text = out.getvalue()
    assert "recording retrieved: rec-1 (0.3 s" in text
    assert "not played: no audio output on this machine" in text and str(wav) in text


def test_a_failing_or_hanging_player_is_reported_not_raised(wav: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(playback, "audio_output", lambda: True)
    monkeypatch.setattr(playback, "PLAYERS", (("false",),))
    result = playback.play_aloud(wav, 0.3)
    assert not result.played and result.reason.startswith("false exited with 1")
    monkeypatch.setattr(playback, "PLAYERS", (("sh", "-c", "sleep 10"),))
    monkeypatch.setattr(playback, "MARGIN", 0.2)
    result = playback.play_aloud(wav, 0.3)
    assert not result.played and "did not finish within 0.5s" in result.reason


def test_a_player_that_works_is_used(wav: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(playback, "audio_output", lambda: True)
    monkeypatch.setattr(playback, "PLAYERS", ((sys.executable, "-c", "import sys; assert sys.argv[1]"),))
    result = playback.play_aloud(wav, 0.3)
    assert result.played and result.player == Path(sys.executable).name


# -- the presenter's pauses are neither the step's time nor the scenario's ---------------------
def test_time_spent_in_observers_is_not_charged_to_the_scenario(tmp_path: Path) -> None:
    scenario = Scenario(tmp_path / "s.scenario.yaml", "pauses", "", 1.0, (), (),
                        (WaitStep(0.4), WaitStep(0.4)))
    run = ScenarioRun(scenario, SimpleNamespace(), None, tmp_path, kinds=BY_MODEL)  # type: ignore[arg-type]
    run._start_phones = lambda: None  # type: ignore[method-assign]

    @contextmanager
    def presenter(index: int, kind: str, step: Any) -> Iterator[None]:
        time.sleep(0.5)  # a pause before the step ...
        yield
        time.sleep(0.3)  # ... and a playback after it

    run.observe(presenter)
    try:
        run.execute()  # 1.6 s of pauses in a 1.0 s scenario: each wait still gets its 0.4 s
    finally:
        run.close()
    took = [r.ended - r.started for r in run.records]
    assert all(0.35 <= t < 0.6 for t in took), took
    assert run.records[1].started - run.records[0].ended >= 0.75
    assert run.remaining() > 0.0
