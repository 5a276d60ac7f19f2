"""What a capture's walk does with each step, by what its kind declares (``StepKind.replay``).

No SIP: the walk runs over a stand-in for the run (its calls, a board whose waits poll in real
time, budgets cut short), with the step kinds' handlers replaced by ones that only note they ran
-- the capture's own decisions are what is checked: which handler runs, which only waits, which
is skipped, where the walk stops and why, and where listening on the call stands after each step.
"""

from __future__ import annotations

import ast
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import harness.prompts
from harness.prompts import listen
from harness.prompts.line import Line
from harness.prompts.plan import not_replayed, prompt_steps, replayed
from harness.prompts.replay import Replay, Settings
from harness.prompts.take import Source, Take
from harness.runner.run import CallState, ScenarioRun
from harness.scenario.model import Scenario
from harness.sip.controller import WaitTimeout
from harness.sip.timeline import CallTimeline, Event
from harness.spec.values import Destination
from harness.steps.kind import (
    LetsPass,
    ListensForPrompt,
    OnlyWaits,
    Performs,
    PlacesCall,
    PlaysSound,
    SendsKeys,
    Skips,
    Stops,
    WaitsForAnswer,
    WaitsForHangup,
)
from harness.steps.registry import BY_MODEL, BY_NAME
from harness.targets.model import Target
from tests.scenario.test_step_kinds import sample

PATH = Path("walk.scenario.yaml")


class Board:
    """Waits as the switchboard's do -- poll until the condition holds or time runs out."""

    def wait(self, condition: Callable[[], Any], timeout: float, expected: Callable[[], str],
             phones: Any = None, timeline: CallTimeline | None = None) -> Any:
        end = time.monotonic() + timeout
        while (found := condition()) is None:
            if time.monotonic() >= end:
                raise WaitTimeout(expected(), timeout, timeline)
            time.sleep(0.005)
        return found


@dataclass
class Run:
    """The parts of ``ScenarioRun`` a walk uses; every wait is cut to ``cut`` seconds."""

    cut: float = 0.05
    calls: dict[str, CallState] = field(default_factory=dict)
    board: Board = field(default_factory=Board)

    def call(self, call_id: str) -> CallState:
        return self.calls[call_id]

    def budget(self, wanted: float) -> float:
        return min(wanted, self.cut)


@dataclass
class Noted:
    """A step kind whose handler only notes that it ran (a ``call`` places an answered call)."""

    name: str
    replay: Callable[[Any], Any]
    ran: list[str]
    answer: dict[str, Any]  # the call's state once placed

    @property
    def run(self) -> Callable[[Any, Any], None]:
        def handler(run: Run, step: Any) -> None:
            self.ran.append(self.name)
            if self.name == "call":
                tl = CallTimeline("caller", "h1", time.monotonic(), "to 100")
                tl.add(Event("call", "caller", time.monotonic(), time.time(), "h1", self.answer))
                tl.capture_t0 = time.monotonic()
                run.calls[step.call] = CallState(step.call, step.caller, "caller", tl)
        return handler


def walk(*steps: Any, wanted: str = "menu", answer: dict[str, Any] | None = None) -> tuple[Replay, list[str]]:
    ran: list[str] = []
    kinds = {model: Noted(k.name, k.replay, ran, answer or {"state": "CONFIRMED"}) for model, k in BY_MODEL.items()}
    scenario = Scenario(PATH, "walk", "", 30.0, (), (), steps)
    replay = Replay(scenario, cast(Target, None), None, PATH.parent, Settings(), {wanted},
                    set, lambda _: None, kinds=kinds)
    replay._steps(cast(ScenarioRun, Run()))
    return replay, ran


def step(name: str, **fields: Any) -> Any:
    return sample(BY_NAME[name], **fields)


CALL = step("call", to=Destination("user", "100"))
MENU = step("expect_prompt", prompt="menu", within=0.01)


def test_handlers_run_for_calls_keys_plays_and_waits_the_judging_steps_only_wait_and_verdicts_are_skipped() -> None:
    replay, ran = walk(CALL, step("expect_answer", within=1.0), step("expect_register", account="agent1"),
                       step("send_dtmf", digits="1"), step("expect_call_refused"),
                       step("expect_silence", duration=0.01), step("play"), step("wait", duration=0.01),
                       step("expect_queue_entered"), step("expect_offer_headers"), MENU)
    assert ran == ["call", "send_dtmf", "play", "wait"]
    line = replay.lines["c1"]
    assert (line.destination, line.keys, line.after) == ("number 100", "1", "step 7 (play)")
    [miss] = replay.result.misses
    assert miss.prompt == "menu"
    assert miss.reason.startswith("walk.scenario.yaml step 11 (expect_prompt): prompt 'menu' was not heard on "
                                  "number 100, keys 1: no sound (>= -45 dBFS) within 2.01s after step 7 "
                                  "(play) (the step allows 0.01s)"), miss.reason


def test_hold_music_is_let_pass_and_the_next_prompt_is_listened_for_after_it() -> None:
    replay, ran = walk(CALL, step("expect_audio", kind="music", seconds=0.01, within=0.0), MENU)
    assert ran == ["call"]
    assert replay.lines["c1"].after == "step 2 (expect_audio)"
    assert "after step 2 (expect_audio)" in replay.result.misses[0].reason


def test_a_call_to_an_agent_stops_the_walk_and_says_why() -> None:
    replay, ran = walk(step("call", to=Destination("agent", "alice")), MENU)
    assert ran == []
    assert [m.reason for m in replay.result.misses] == [
        "not reached: the walk of walk.scenario.yaml step 1 (call) stopped there: call to agent alice: "
        "capture places calls to the platform's numbers only, it runs no agents"]


def test_an_agent_recording_or_dtmf_check_stops_the_walk_as_it_always_has() -> None:
    for name in ("expect_agent", "expect_recording", "expect_dtmf", "expect_distribution", "play_marker",
                 "expect_retention", "expect_retention_proof", "verify_canaries", "expect_storage"):
        replay, ran = walk(CALL, step(name), MENU)
        assert ran == ["call"], name
        assert [m.reason for m in replay.result.misses] == [
            f"not reached: the walk of walk.scenario.yaml step 2 ({name}) stopped there: {name}: capture "
            "replays calls, keys, waits, plays and prompts; not agents, recordings or DTMF checks"], name


def test_a_call_never_answered_ends_the_walk_with_nothing_to_listen_to() -> None:
    replay, ran = walk(CALL, step("expect_answer", within=1.0), MENU,
                       answer={"state": "DISCONNECTED", "code": 486, "reason": "Busy Here"})
    assert ran == ["call"]
    assert [m.reason for m in replay.result.misses] == [
        "not reached: the walk of walk.scenario.yaml step 2 (expect_answer) stopped there: the call ended "
        "(486 Busy Here) before it was answered, so there is nothing to listen to; timeline: "
        "DISCONNECTED(486 Busy Here)@0.0s"]


def test_the_walk_ends_once_no_wanted_prompt_lies_ahead() -> None:
    replay, ran = walk(CALL, step("send_dtmf", digits="1"), MENU, wanted="other")
    assert (ran, replay.result.misses) == ([], [])


def test_the_prompt_steps_are_the_ones_a_capture_listens_at() -> None:
    scenario = Scenario(PATH, "walk", "", 30.0, (), (), (CALL, MENU, step("hangup"), MENU))
    assert prompt_steps(scenario, BY_MODEL) == [(1, ListensForPrompt("c1", "menu", 0.01)),
                                                (3, ListensForPrompt("c1", "menu", 0.01))]
    assert replayed(step("hangup"), BY_MODEL) == Performs()
    assert replayed(step("hangup"), {}) == Stops("hangup: no step kind of this capture runs it")
    assert not_replayed(CALL, PlacesCall("c1", Destination("user", "100"))) is None
    assert not_replayed(step("expect_agent"), Stops()) == (
        "expect_agent: capture replays calls, keys, waits, plays and prompts; not agents, recordings or "
        "DTMF checks")


def test_only_the_judging_steps_have_listen_only_stand_ins() -> None:
    assert listen.listener(WaitsForAnswer("c1", 1.0)) is listen.answer
    assert listen.listener(WaitsForHangup("c1", 1.0)) is listen.hangup
    assert listen.listener(OnlyWaits("c1", 1.0)) is listen.wait_out
    assert listen.listener(LetsPass("c1", 1.0)) is listen.wait_out
    for acts in (PlacesCall("c1", Destination("user", "1")), SendsKeys("c1", "1", "info"), PlaysSound("c1"),
                 Performs(), Skips(), Stops()):
        assert listen.listener(acts) is None, acts


# -- where listening on a call stands after each step (Line.follow) -------------------------------
def _line_with_a_take() -> tuple[Line, CallState]:
    tl = CallTimeline("caller", "h1", 100.0, "to 100")
    tl.capture_t0 = 100.0
    line = Line("number 100", after="prompt 'welcome' ended")
    line.last = Take("welcome", cast(Any, []), Source(PATH, 3, 5, "number 100", "", None, 0.0))
    return line, CallState("c1", "caller", "caller", tl, cursor=4.0)


def test_keys_end_the_take_before_them_and_the_reply_is_heard_from_the_keys_on() -> None:
    line, state = _line_with_a_take()
    line.follow(SendsKeys("c1", "12", "info"), state, began=106.5, ended=107.0, step="step 4 (send_dtmf)")
    assert (line.keys, line.after, line.last, state.cursor) == ("12", "keys '12' were sent (info)", None, 6.5)
    line.follow(SendsKeys("c1", "#", "rfc4733"), state, began=103.0, ended=103.1, step="step 5 (send_dtmf)")
    assert (line.keys, state.cursor) == ("12#", 6.5)  # the cursor never goes back


def test_our_own_sound_ends_the_take_and_leaves_the_cursor() -> None:
    line, state = _line_with_a_take()
    line.follow(PlaysSound("c1"), state, began=106.0, ended=108.0, step="step 4 (play)")
    assert (line.after, line.last, state.cursor) == ("step 4 (play)", None, 4.0)


def test_a_wait_leaves_the_take_so_a_prompt_may_run_on() -> None:
    line, state = _line_with_a_take()
    line.follow(OnlyWaits("c1", 1.0), state, began=106.0, ended=107.0, step="step 4 (expect_silence)")
    assert (line.after, line.last is not None, state.cursor) == ("step 4 (expect_silence)", True, 4.0)


def test_a_sound_let_pass_ends_the_take_and_moves_the_cursor_past_it() -> None:
    line, state = _line_with_a_take()
    line.follow(LetsPass("c1", 8.0), state, began=106.0, ended=114.0, step="step 4 (expect_audio)")
    assert (line.after, line.last, state.cursor) == ("step 4 (expect_audio)", None, 14.0)


def test_the_answer_is_what_happened_last_and_the_other_steps_change_nothing() -> None:
    line, state = _line_with_a_take()
    line.follow(WaitsForAnswer("c1", 5.0), state, began=101.0, ended=101.5, step="step 2 (expect_answer)")
    assert (line.after, line.last is not None, state.cursor) == ("the answer", True, 4.0)
    for other in (WaitsForHangup("c1", 1.0), Performs(), Skips()):
        line.follow(other, state, began=106.0, ended=107.0, step="step 9")
        assert (line.after, line.last is not None, state.cursor) == ("the answer", True, 4.0), other


def test_the_capture_knows_no_step_model() -> None:
    """harness/prompts/ reads what the kinds declare; a new kind never needs an edit there."""
    allowed = {"harness.steps.kind", "harness.steps.registry", "harness.steps.media"}
    for path in Path(harness.prompts.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        named = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        named |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert {m for m in named if m.startswith("harness.steps")} <= allowed, path.name
