"""Walking one scenario's caller path on real calls, and cutting out each prompt it expects.

The scenario runs as ``ccharness run`` runs it -- the same phones, the same
step handlers for ``call``, ``send_dtmf``, ``wait``, ``play`` and ``hangup``,
under the scenario's deadline -- but only listens: the steps that judge
(``expect_answer``, ``expect_silence``, ``expect_hangup``) only wait
(:mod:`harness.prompts.listen`), and ``expect_prompt`` does not match a
reference: it listens for the first sound after what happened last on the
call (the answer, the keys, the previous prompt) and takes everything up to
the first pause of ``end_silence``.  The
walk stops at a step it cannot replay (agents, recordings), at a prompt that
never comes, or once no prompt it still wants lies ahead; every call is hung
up on the way out, whatever happened.
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
from harness.prompts.listen import listener
from harness.prompts.plan import not_replayed, prompt_steps, step_line
from harness.prompts.take import Miss, Source, Take
from harness.runner.run import CallState, ScenarioRun, step_kind
from harness.scenario.model import Scenario, Step
from harness.sip.controller import WaitTimeout
from harness.sip.timeline import CallTimeline
from harness.steps.call import CallStep
from harness.steps.expect_answer import ExpectAnswerStep
from harness.steps.expect_prompt import ExpectPromptStep
from harness.steps.expect_silence import ExpectSilenceStep
from harness.steps.play import PlayStep
from harness.steps.registry import BY_MODEL
from harness.steps.send_dtmf import SendDtmfStep
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


@dataclass
class _Line:
    """One call of the walk: where it went, the keys sent on it, what happened last."""

    destination: str
    keys: str = ""
    after: str = "the call was placed"  # the last thing that happened, for messages
    last: Take | None = None  # the take just heard, while nothing else has happened since


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
                 done: Callable[[], set[str]], say: Callable[[str], None]) -> None:
        self.scenario = scenario
        self.target = target
        self.library = library
        self.work = work
        self.settings = settings
        self.wanted = wanted
        self.done = done  # the prompts earlier walks have captured already
        self.say = say
        self.lines: dict[str, _Line] = {}
        self.result = Walk()

    def walk(self) -> Walk:
        """Replay the scenario's caller path; every call is hung up before this returns."""
        run = ScenarioRun(replace(self.scenario, agents=()), self.target, self.library, self.work,
                          kinds=BY_MODEL)
        try:
            run.start()
            run.deadline += len(prompt_steps(self.scenario)) * (
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
            if not self._ahead(index, step):
                return
            why = not_replayed(step)
            try:
                if why:
                    raise _Stop(why)
                self._step(run, step, index)
            except _Stop as stop:
                self._not_reached(index, str(stop))
                return
            except (AssertionError, HarnessError) as exc:
                self._not_reached(index, f"{step_kind(step)} failed: {getattr(exc, 'detail', exc)}")
                return

    def _ahead(self, index: int, step: Step) -> bool:
        """Is there still a wanted prompt ahead (or a take to tell apart from what follows it)?"""
        if isinstance(step, ExpectPromptStep) and any(li.last for li in self.lines.values()):
            return True
        done = self.done() | {t.prompt for t in self.result.takes if not t.followers}
        return any(s.prompt in self.wanted and s.prompt not in done
                   for i, s in prompt_steps(self.scenario) if i >= index)

    def _not_reached(self, index: int, why: str) -> None:
        """Every wanted prompt at or after step ``index`` is missed, because of that step."""
        step = self.scenario.steps[index] if self.scenario.steps else None
        where = self._where(index, step) if step is not None else str(self.scenario.path)
        missed = {m.prompt for m in self.result.misses}
        for i, s in prompt_steps(self.scenario):
            if i >= index and s.prompt in self.wanted and s.prompt not in missed:
                missed.add(s.prompt)
                self.result.misses.append(Miss(s.prompt, f"not reached: the walk of {where} "
                                                         f"stopped there: {why}"))

    def _where(self, index: int, step: Step) -> str:
        line = step_line(step)
        at = f"{self.scenario.path}:{line}" if line else str(self.scenario.path)
        return f"{at} step {index + 1} ({step_kind(step)})"

    # -- the steps ---------------------------------------------------------------------
    def _step(self, run: ScenarioRun, step: Step, index: int) -> None:
        if isinstance(step, ExpectPromptStep):
            self._listen(run, step, index)
            return
        began = time.monotonic()
        listen_only = listener(step)  # a step that judges only waits: a capture gives no verdicts
        why = listen_only(run, step) if listen_only is not None else BY_MODEL[type(step)].run(run, step)
        if isinstance(why, str):
            raise _Stop(why)
        if isinstance(step, CallStep):
            self.lines[step.call] = _Line(self._destination(step))
            return
        line = self.lines.get(getattr(step, "call", ""))
        if line is None:
            return
        if isinstance(step, ExpectAnswerStep):
            line.after = "the answer"
        elif isinstance(step, SendDtmfStep):
            state = run.call(step.call)
            if state.timeline.capture_t0 is not None:  # the reply is heard from the keys on
                state.cursor = max(state.cursor, began - state.timeline.capture_t0)
            line.keys += step.digits
            line.after, line.last = f"keys {step.digits!r} were sent ({step.method})", None
        elif isinstance(step, PlayStep):  # our own sound: what follows is no longer the take's
            line.after, line.last = f"step {index + 1} ({step_kind(step)})", None
        elif isinstance(step, ExpectSilenceStep):  # only waited: a prompt may still run on
            line.after = f"step {index + 1} ({step_kind(step)})"

    def _destination(self, step: CallStep) -> str:
        if step.to.kind == "did":
            return f"did {step.to.value} ({self.target.dids[step.to.value]})"
        return step.to.value if step.to.kind == "uri" else f"number {step.to.value}"

    def _listen(self, run: ScenarioRun, step: ExpectPromptStep, index: int) -> None:
        state = run.call(step.call)
        line = self.lines[step.call]
        source = self._source(state, line, index, step)
        start = self._await_sound(run, state, step)
        if isinstance(start, _NoSound):
            if line.last is not None and not start.ended:  # it came with the one before, no pause
                line.last.followers.append((step.prompt, source))
                self.say(f"  {step.prompt}: no sound after {line.last.prompt}: taken as played "
                         f"right after it, with no pause of {self.settings.end_silence:g}s")
                return
            self.result.misses.append(Miss(step.prompt, (
                f"{self._where(index, step)}: prompt {step.prompt!r} was not heard on "
                f"{line.destination}{', keys ' + line.keys if line.keys else ''}: {start.why}")))
            raise _Stop(f"prompt {step.prompt!r} was not heard")
        end, samples, warning = self._await_end(run, state, step, start)
        tl = state.timeline
        wall = time.time() - (time.monotonic() - (tl.capture_t0 or time.monotonic()) - start)
        take = Take(step.prompt, excerpt(samples, start, end), replace(source, wall=wall),
                    warning=warning)
        self.result.takes.append(take)
        state.cursor = end
        line.last, line.after = take, f"prompt {step.prompt!r} ended"
        self.say(f"  heard {step.prompt} on {source.route()}: {shape(take.audio).describe()}"
                 + (f" ({warning})" if warning else ""))

    def _source(self, state: CallState, line: _Line, index: int, step: Step) -> Source:
        return Source(self.scenario.path, index + 1, step_line(step), line.destination, line.keys,
                      state.timeline.sip_call_id, time.time())

    def _await_sound(self, run: ScenarioRun, state: CallState,
                     step: ExpectPromptStep) -> float | _NoSound:
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

    def _await_end(self, run: ScenarioRun, state: CallState, step: ExpectPromptStep,
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
