"""Listening only: what a capture does in place of the steps that judge a call.

A capture replays a scenario to hear the platform's prompts, not to judge the
platform: a check that would fail a run (sound during ``expect_silence``, a
hang-up with another status) must not stop the walk.  So these steps only
let the call go on, within the scenario's deadline: ``expect_silence`` waits
its duration, ``expect_hangup`` waits for the hang-up (or its ``within``) and
reads no status, ``expect_answer`` waits for the answer.  Only a call that
is never answered ends the walk -- there is nothing to listen to -- and the
reason says so; it is not a verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.runner.run import ScenarioRun
from harness.scenario.model import Step
from harness.sip.controller import WaitTimeout
from harness.sip.timeline import CallTimeline
from harness.steps.expect_answer import ExpectAnswerStep
from harness.steps.expect_hangup import ExpectHangupStep
from harness.steps.expect_silence import ExpectSilenceStep

Listener = Callable[[ScenarioRun, Any], "str | None"]  # why the walk cannot go on, or None


def _state(run: ScenarioRun, tl: CallTimeline, states: tuple[str, ...], within: float,
           what: str) -> str:
    return str(run.board.wait(lambda: tl.state if tl.state in states else None, run.budget(within),
                              lambda: what, timeline=tl))


def answer(run: ScenarioRun, step: ExpectAnswerStep) -> str | None:
    """Wait for the answer; a call that is not answered leaves nothing to listen to."""
    tl = run.call(step.call).timeline
    try:
        state = _state(run, tl, ("CONFIRMED", "DISCONNECTED"), step.within, "the call to be answered")
    except WaitTimeout as exc:
        return f"the call was not answered, so there is nothing to listen to: {exc}"
    if state == "DISCONNECTED":
        code, reason = tl.final_status() or (0, "")
        return (f"the call ended ({code} {reason}) before it was answered, so there is nothing "
                f"to listen to; timeline: {tl.summary()}")
    return None


def hangup(run: ScenarioRun, step: ExpectHangupStep) -> None:
    """Wait for the far end to hang up, at most ``within``; its status is not judged."""
    tl = run.call(step.call).timeline
    try:
        _state(run, tl, ("DISCONNECTED",), step.within, "the far end to end the call")
    except WaitTimeout:
        pass  # still up: the walk goes on, and hangs the call up when it ends


def silence(run: ScenarioRun, step: ExpectSilenceStep) -> None:
    """Let the step's duration pass; what is heard meanwhile is left to the next prompt."""
    from harness.steps.media import idle

    idle(run, run.budget(step.duration))


LISTENERS: dict[type, Listener] = {ExpectAnswerStep: answer, ExpectHangupStep: hangup,
                                   ExpectSilenceStep: silence}


def listener(step: Step) -> Listener | None:
    """The listen-only stand-in for ``step``, or None when its own handler only acts."""
    return LISTENERS.get(type(step))
