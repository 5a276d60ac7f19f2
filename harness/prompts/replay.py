"""Walking one scenario's caller path on real calls, and cutting out each prompt it expects.

The scenario runs as ``ccharness run`` runs it -- the same phones, the same
step handlers, under the scenario's deadline -- but only listens.  What it
does with each step is what the step's kind declares (``StepKind.replay``, a
value of ``harness.steps.kind``); this module knows no step model.  A step
that places a call, sends keys, plays or waits runs its own handler; the
steps that judge (``expect_answer``, ``expect_silence``, ``expect_hangup``)
only wait (:mod:`harness.prompts.listen`); ``expect_prompt`` does not match a
reference: it listens for the first sound after what happened last on the
call (the answer, the keys, the previous prompt) and takes everything up to
the first pause of ``end_silence``; a step that only judges or places calls
of its own is skipped.  The walk stops at a step it cannot replay (agents,
recordings), at a prompt that never comes, or once no prompt it still wants
lies ahead; every call is hung up on the way out, whatever happened.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

from harness.audio.pcm import RATE
from harness.errors import HarnessError
from harness.prompts.cut import SOUND_DBFS, excerpt, first_sound, last_sound_end, shape, sound_end
from harness.prompts.line import Line
from harness.prompts.listen import listener
from harness.prompts.plan import Kinds, not_replayed, prompt_steps, replayed, step_line
from harness.prompts.take import Miss, Source, Take
from harness.runner.run import CallState, ScenarioRun, step_kind
from harness.scenario.model import Scenario, Step
from harness.sip.controller import WaitTimeout
from harness.sip.timeline import CallTimeline
from harness.spec.values import Destination
from harness.steps.kind import ListensForPrompt, PlacesCall, Replayed, Skips
from harness.targets.model import PromptLibrary, Target

LATE_MARGIN = 2.0  # a prompt that begins this much after its step's ``within`` is still taken
FLUSH_ALLOWANCE = 1.0  # seconds the capture file may lag the call
POLL = 0.2  # seconds between reads of a growing capture
HANGUP_TIMEOUT = 5.0


@dataclass(frozen=True)
class Settings:
    end_silence: float = 1.0  # a pause this long ends a prompt
    max_length: float = 60.0  # a prompt with no such pause is cut here


@dataclass
class Walk:
    """What one walk heard: takes in the order heard, and the prompts it missed."""

    takes: list[Take] = field(default_factory=list)
    misses: list[Miss] = field(default_factory=list)


@dataclass(frozen=True)
class _NoSound:
    why: str
    ended: bool = False  # the call ended: nothing more can come


class _Stop(Exception):
    """The walk cannot go on; the message says why."""


class Replay:
    """One walk of one scenario against the target."""

    def __init__(self, scenario: Scenario, target: Target, library: PromptLibrary | None,
                 work: Path, settings: Settings, wanted: set[str],
                 done: Callable[[], set[str]], say: Callable[[str], None], *, kinds: Kinds) -> None:
        self.scenario = scenario
        self.kinds = kinds  # the step kinds, to run each step and know what to do with it
        self.target = target
        self.library = library
        self.work = work
        self.settings = settings
        self.wanted = wanted
        self.done = done  # the prompts earlier walks have captured already
        self.say = say
        self.lines: dict[str, Line] = {}
        self.result = Walk()

    def walk(self) -> Walk:
        """Replay the scenario's caller path; every call is hung up before this returns."""
        run = ScenarioRun(replace(self.scenario, agents=()), self.target, self.library, self.work,
                          kinds=self.kinds)
        try:
            run.start()
            run.deadline += len(prompt_steps(self.scenario, self.kinds)) * (
                self.settings.end_silence + LATE_MARGIN + FLUSH_ALLOWANCE)
            self._steps(run)
        except HarnessError as exc:
            self._not_reached(0, f"the scenario's phones could not start: {exc}")
        finally:
            _hang_up(run)
            run.close()
        return self.result

    def _steps(self, run: ScenarioRun) -> None:
        for index, step in enumerate(self.scenario.steps):
            what = replayed(step, self.kinds)
            if not self._ahead(index, what):
                return
            why = not_replayed(step, what)
            try:
                if why:
                    raise _Stop(why)
                self._step(run, step, what, index)
            except _Stop as stop:
                self._not_reached(index, str(stop))
                return
            except (AssertionError, HarnessError) as exc:
                self._not_reached(index, f"{step_kind(step)} failed: {getattr(exc, 'detail', exc)}")
                return

    def _ahead(self, index: int, what: Replayed) -> bool:
        """Is there still a wanted prompt ahead (or a take to tell apart from what follows it)?"""
        if isinstance(what, ListensForPrompt) and any(li.last for li in self.lines.values()):
            return True
        done = self.done() | {t.prompt for t in self.result.takes if not t.followers}
        return any(s.prompt in self.wanted and s.prompt not in done
                   for i, s in prompt_steps(self.scenario, self.kinds) if i >= index)

    def _not_reached(self, index: int, why: str) -> None:
        """Every wanted prompt at or after step ``index`` is missed, because of that step."""
        step = self.scenario.steps[index] if self.scenario.steps else None
        where = self._where(index, step) if step is not None else str(self.scenario.path)
        missed = {m.prompt for m in self.result.misses}
        for i, s in prompt_steps(self.scenario, self.kinds):
            if i >= index and s.prompt in self.wanted and s.prompt not in missed:
                missed.add(s.prompt)
                self.result.misses.append(Miss(s.prompt, f"not reached: the walk of {where} "
                                                         f"stopped there: {why}"))

    def _where(self, index: int, step: Step) -> str:
        line = step_line(step)
        at = f"{self.scenario.path}:{line}" if line else str(self.scenario.path)
        return f"{at} step {index + 1} ({step_kind(step)})"

    # -- the steps ---------------------------------------------------------------------
    def _step(self, run: ScenarioRun, step: Step, what: Replayed, index: int) -> None:
        if isinstance(what, ListensForPrompt):
            self._listen(run, step, what, index)
            return
        if isinstance(what, Skips):
            return
        began = time.monotonic()
        listen_only = listener(what)  # a step that judges only waits: a capture gives no verdicts
        why = listen_only(run, what) if listen_only is not None else self.kinds[type(step)].run(run, step)
        if isinstance(why, str):
            raise _Stop(why)
        if isinstance(what, PlacesCall):
            self.lines[what.call] = Line(self._destination(what.to))
            return
        call: str = getattr(what, "call", "")
        line = self.lines.get(call)
        if line is not None:
            line.follow(what, run.call(call), began, time.monotonic(),
                        f"step {index + 1} ({step_kind(step)})")

    def _destination(self, to: Destination) -> str:
        if to.kind == "did":
            return f"did {to.value} ({self.target.dids[to.value]})"
        return to.value if to.kind == "uri" else f"number {to.value}"

    def _listen(self, run: ScenarioRun, step: Step, what: ListensForPrompt, index: int) -> None:
        state = run.call(what.call)
        line = self.lines[what.call]
        source = self._source(state, line, index, step)
        start = self._await_sound(run, state, what)
        if isinstance(start, _NoSound):
            if line.last is not None and not start.ended:  # it came with the one before, no pause
                line.last.followers.append((what.prompt, source))
                self.say(f"  {what.prompt}: no sound after {line.last.prompt}: taken as played "
                         f"right after it, with no pause of {self.settings.end_silence:g}s")
                return
            self.result.misses.append(Miss(what.prompt, (
                f"{self._where(index, step)}: prompt {what.prompt!r} was not heard on "
                f"{line.destination}{', keys ' + line.keys if line.keys else ''}: {start.why}")))
            raise _Stop(f"prompt {what.prompt!r} was not heard")
        end, samples, warning = self._await_end(run, state, what, start)
        tl = state.timeline
        wall = time.time() - (time.monotonic() - (tl.capture_t0 or time.monotonic()) - start)
        take = Take(what.prompt, excerpt(samples, start, end), replace(source, wall=wall),
                    warning=warning, slipped=_slipped(state, start))
        self.result.takes.append(take)
        state.cursor = end
        line.last, line.after = take, f"prompt {what.prompt!r} ended"
        self.say(f"  heard {what.prompt} on {source.route()}: {shape(take.audio).describe()}"
                 + "".join(f" ({w})" for w in (warning, take.slipped) if w))

    def _source(self, state: CallState, line: Line, index: int, step: Step) -> Source:
        return Source(self.scenario.path, index + 1, step_line(step), line.destination, line.keys,
                      state.timeline.sip_call_id, time.time())

    def _await_sound(self, run: ScenarioRun, state: CallState,
                     step: ListensForPrompt) -> float | _NoSound:
        """Capture time of the first sound after the cursor, or why none came."""
        tl = state.timeline
        line = self.lines[step.call]
        since = state.cursor
        base = tl.capture_t0 + since if tl.capture_t0 is not None else time.monotonic()
        allowed = step.within + LATE_MARGIN
        polled = [0.0]

        def heard() -> float | _NoSound | None:
            if time.monotonic() - polled[0] < POLL:
                return None
            polled[0] = time.monotonic()
            samples, _ = _capture(state)
            found = first_sound(samples, since)
            if found is not None:
                return found
            if tl.last("capture_closed") is not None or (tl.state == "DISCONNECTED"
                                                         and tl.capture_path is None):
                code, reason = tl.final_status() or (0, "")
                return _NoSound(f"the call ended ({code} {reason}) before any sound after "
                                f"{line.after}", ended=True)
            return None

        try:
            return cast("float | _NoSound", run.board.wait(
                heard, run.budget(base + allowed + FLUSH_ALLOWANCE - time.monotonic()),
                lambda: "a prompt", timeline=tl))
        except WaitTimeout:
            return _NoSound(f"no sound (>= {SOUND_DBFS:.0f} dBFS) within {allowed:g}s after "
                            f"{line.after} (the step allows {step.within:g}s); timeline: "
                            f"{tl.summary()}")

    def _await_end(self, run: ScenarioRun, state: CallState, step: ListensForPrompt,
                   start: float) -> tuple[float, Any, str]:
        """Where the prompt that began at ``start`` ends, the samples, and a warning if it was cut
        short."""
        tl = state.timeline
        s = self.settings
        limit = start + s.max_length
        polled = [0.0]

        def ended() -> tuple[float, Any, str] | None:
            if time.monotonic() - polled[0] < POLL:
                return None
            polled[0] = time.monotonic()
            samples, _ = _capture(state)
            end = sound_end(samples, start, s.end_silence)
            if end is not None and end <= limit:
                return end, samples, ""
            if end is not None or len(samples) / RATE >= limit:
                return limit, samples, (f"cut at --max-length {s.max_length:g}s: no pause of "
                                        f"{s.end_silence:g}s")
            if tl.last("capture_closed") is not None:  # the call ended: the capture is whole
                return last_sound_end(samples, start), samples, ""
            return None

        try:
            return run.board.wait(ended, run.budget(s.max_length + s.end_silence + 2 * FLUSH_ALLOWANCE),
                                  lambda: f"the end of prompt {step.prompt!r} (a pause of "
                                          f"{s.end_silence:g}s)", timeline=tl)
        except WaitTimeout as exc:
            raise _Stop(f"prompt {step.prompt!r} began but did not end before the scenario's "
                        f"deadline: {exc}") from None


SLIP_VOUCHED = 0.02
"""Seconds of audio a phone's jitter buffer may throw away or make up inside a prompt before
the capture stops vouching for the cut's length (two 10 ms frames)."""


def _slipped(state: CallState, start: float) -> str:
    """Why the take that began at ``start`` (capture seconds) and has just ended is not as long as
    the prompt played, or '': the audio its phone's jitter buffer threw away or made up since.
    A phone the host did not run for 0.8 s lost 0.5 s of a 6.2 s greeting so."""
    tl = state.timeline
    if tl.capture_t0 is None:
        return ""
    # A capture that lost time runs behind the clock: its start is no earlier than this.
    dropped, made_up = tl.slipped(tl.capture_t0 + start - POLL, time.monotonic())
    if dropped + made_up < SLIP_VOUCHED:
        return ""
    return (f"cannot vouch for its length: the phone's jitter buffer threw away or lost {dropped:.2f}s "
            f"and made up {made_up:.2f}s of audio while it was heard (a phone or host that fell "
            f"behind); capture it again on a quieter host")


def _capture(state: CallState) -> tuple[Any, float]:
    from harness.steps.media import capture

    return capture(state)


def _hang_up(run: ScenarioRun) -> None:
    """End every call of the walk that is still up; one that will not end is left to ``close``."""
    for state in run.calls.values():
        _end(run, state.timeline)


def _end(run: ScenarioRun, tl: CallTimeline) -> None:
    if tl.state in ("DISCONNECTED", "NULL"):
        return
    try:
        run.board.command(tl.phone, "hangup", handle=tl.handle)
        run.board.wait(lambda: tl.state == "DISCONNECTED" or None, HANGUP_TIMEOUT,
                       lambda: "the call to end after our BYE", timeline=tl)
    except HarnessError:
        pass
