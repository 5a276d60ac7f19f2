"""Listening only: what a capture does in place of the steps that judge a call.

A capture replays a scenario to hear the platform's prompts, not to judge the
platform: a check that would fail a run (sound during ``expect_silence``, a
hang-up with another status) must not stop the walk.  So the steps whose kind
replays them listen-only (``harness.steps.kind``: ``WaitsForAnswer``,
``OnlyWaits``, ``LetsPass``, ``WaitsForHangup``) only let the call go on,
within the scenario's deadline: waiting out a duration, waiting for the
hang-up (or its ``within``) reading no status, waiting for the answer.  Only a
call that is never answered ends the walk -- there is nothing to listen to --
and the reason says so; it is not a verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.runner.run import ScenarioRun
from harness.sip.controller import WaitTimeout
from harness.sip.timeline import CallTimeline
from harness.steps.kind import LetsPass, OnlyWaits, Replayed, WaitsForAnswer, WaitsForHangup

Listener = Callable[[ScenarioRun, Any], "str | None"]  # why the walk cannot go on, or None


def _state(run: ScenarioRun, tl: CallTimeline, states: tuple[str, ...], within: float,
           what: str) -> str:
    return str(run.board.wait(lambda: tl.state if tl.state in states else None, run.budget(within),
                              lambda: what, timeline=tl))


def answer(run: ScenarioRun, what: WaitsForAnswer) -> str | None:
    """Wait for the answer; a call that is not answered leaves nothing to listen to."""
    tl = run.call(what.call).timeline
    try:
        state = _state(run, tl, ("CONFIRMED", "DISCONNECTED"), what.within, "the call to be answered")
    except WaitTimeout as exc:
        return f"the call was not answered, so there is nothing to listen to: {exc}"
    if state == "DISCONNECTED":
        code, reason = tl.final_status() or (0, "")
        return (f"the call ended ({code} {reason}) before it was answered, so there is nothing "
                f"to listen to; timeline: {tl.summary()}")
    return None


def hangup(run: ScenarioRun, what: WaitsForHangup) -> None:
    """Wait for the far end to hang up, at most ``within``; its status is not judged."""
    tl = run.call(what.call).timeline
    try:
        _state(run, tl, ("DISCONNECTED",), what.within, "the far end to end the call")
    except WaitTimeout:
        pass  # still up: the walk goes on, and hangs the call up when it ends


def wait_out(run: ScenarioRun, what: OnlyWaits | LetsPass) -> None:
    """Let the step's time pass; what is heard meanwhile is for the walk to place."""
    from harness.steps.media import idle

    idle(run, run.budget(what.seconds))


LISTENERS: dict[type, Listener] = {WaitsForAnswer: answer, WaitsForHangup: hangup,
                                   OnlyWaits: wait_out, LetsPass: wait_out}


def listener(what: Replayed) -> Listener | None:
    """The listen-only stand-in for a step replayed as ``what``, or None when its handler runs."""
    return LISTENERS.get(type(what))
