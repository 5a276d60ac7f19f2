"""One simulated call of a load run: a flow's steps on the controller's shared phones.

A flow is an ordinary scenario run with the step kinds everyone uses, except
where a load run must differ:

* its caller's phone is leased from the pool, and no agent of its own starts:
  the load profile's agents answer every flow's queued calls, and
  ``expect_agent`` is met when the caller hears one (their pilot tone,
  ``harness/audio/pilot.py``), since it may be another worker's phone;
* a call that is not in the verified sample is checked cheaply: ``expect_prompt``
  only asks that sound as long as the prompt arrived in time (media flowing,
  no prompt matching), ``expect_recording`` is left to the sampled calls, and
  ``expect_quality`` judges the stream's counters without a PESQ score.

What the call did comes back as a :class:`CallOutcome`, plain data that the
Locust side turns into request events and the worker's call log.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from harness.audio.pcm import RATE
from harness.checks.load import SETUP, SETUP_FAILED
from harness.errors import ExpectationFailed, HarnessError
from harness.load.pool import Pool
from harness.prompts.cut import SOUND_DBFS
from harness.runner.run import Performer, ScenarioRun, StepRecord, step_kind
from harness.scenario.model import Scenario
from harness.sip.controller import WaitTimeout
from harness.sip.timeline import CallTimeline
from harness.steps.expect_agent import ExpectAgentStep
from harness.steps.expect_prompt import ExpectPromptStep
from harness.steps.expect_quality import ExpectQualityStep
from harness.steps.expect_quality import perform as expect_quality
from harness.steps.expect_recording import ExpectRecordingStep
from harness.steps.media import FLUSH_ALLOWANCE, POLL, capture, every
from harness.steps.registry import BY_MODEL
from harness.targets.model import PromptLibrary, Target

HANGUP_WAIT = 5.0  # seconds for the calls a flow left up to end after it hangs them up


@dataclass(frozen=True)
class StageSeen:
    """One stage of the call as Locust counts it: a request type and name, its time, its failure."""

    kind: str  # Locust's request type: call (set-up), flow, ivr, acd, recording, verify
    name: str
    ms: float
    error: str | None = None


@dataclass
class CallOutcome:
    flow: str
    sampled: bool
    started: float  # wall clock
    stages: list[StageSeen] = field(default_factory=list)
    failure: str | None = None  # why the flow failed (an expectation) or could not decide (an error)
    error: bool = False  # the failure is the harness's (undecided), not the platform's
    quality: dict[str, Any] | None = None  # expect_quality's figures: loss, jitter, MOS (sampled)

    def to_json(self) -> dict[str, Any]:
        return {"flow": self.flow, "sampled": self.sampled, "started": self.started,
                "failure": self.failure, "error": self.error, "quality": self.quality,
                "stages": [[s.kind, s.name, round(s.ms, 1), s.error] for s in self.stages]}


class PooledRun(ScenarioRun):
    """A scenario run on the pool's phones: it starts none and stops none."""

    def __init__(self, flow: Scenario, target: Target, prompts: PromptLibrary | None, work_dir: Path,
                 pool: Pool, kinds: Mapping[type, Performer]) -> None:
        super().__init__(flow, target, prompts, work_dir, kinds=kinds, board=pool.board)
        work_dir.mkdir(parents=True, exist_ok=True)
        self.pool = pool
        self.leased: list[str] = []

    def _start_phones(self) -> None:
        for caller in self.scenario.callers:
            phone = self.pool.lease(self.target.accounts[caller.account])
            self.leased.append(phone)
            self.caller_phone[caller.name] = phone

    def close(self) -> None:
        """Hang up what the flow left up, wait for it to end, give the phones back."""
        legs = [c.timeline for c in self.calls.values()]
        for tl in legs:
            if tl.state != "DISCONNECTED":
                try:
                    self.board.command(tl.phone, "hangup", handle=tl.handle)
                except HarnessError:
                    continue
        try:
            self.board.wait(lambda: all(t.state in ("DISCONNECTED", "NULL") for t in legs) or None,
                            HANGUP_WAIT, lambda: "the flow's calls to end")
        except HarnessError:
            pass  # the pool's close kills what is left; the outcome already has its verdict
        for phone in self.leased:
            self.pool.release(phone)


def agent_heard(run: ScenarioRun, step: ExpectAgentStep) -> dict[str, Any] | None:
    """``expect_agent`` in a load run: the caller hears a load agent's pilot tone in time.

    The agent that answered may be another worker's phone, so the caller listens for it."""
    from harness.audio.pilot import FRAME, NEEDED, pilot_onset

    state = run.call(step.call)
    tl = state.timeline
    began = time.monotonic()
    scanned = [int(state.cursor * RATE)]  # where the next look starts (a pilot's length back)

    def heard() -> float | None:
        if tl.state == "DISCONNECTED":
            status = tl.final_status()
            raise run.fail("expect_agent", f"the call ended ({status[0]} {status[1]}) before an agent "
                           "answered" if status else "the call ended before an agent answered")
        samples, t0 = capture(state)
        start = scanned[0]
        onset = pilot_onset(samples[start:])
        scanned[0] = max(start, len(samples) - NEEDED * FRAME)  # only new audio next time
        return None if onset is None else t0 + (start + onset) / RATE

    try:
        at = run.board.wait(every(POLL, heard), run.budget(step.within + FLUSH_ALLOWANCE),
                            lambda: "an agent on the line (the load agents' pilot tone)", timeline=tl)
    except WaitTimeout:
        raise run.fail("expect_agent", f"no agent answered within {step.within:g}s "
                       f"(no load agent's pilot tone heard since +{began - tl.t0:.1f}s)") from None
    answered = _answered(tl)
    state.agent, state.agent_heard = "load agent", at
    return {"agent_heard_at_s": round(at - tl.t0, 3),
            "after_answer_s": round(at - answered, 3) if answered is not None else None}


def media_heard(run: ScenarioRun, step: ExpectPromptStep) -> dict[str, Any] | None:
    """``expect_prompt`` off the sample: as much sound as the prompt is long, starting in time."""
    from harness.audio.wav import read_wav

    state = run.call(step.call)
    assert run.prompts is not None
    length = len(read_wav(run.prompts.prompts[step.prompt].file)[0]) / RATE
    began = time.monotonic()

    def sounded() -> float | None:
        samples, _ = capture(state)
        new = samples[int(state.cursor * RATE):]
        loud = np.flatnonzero(np.abs(new) > 10 ** (SOUND_DBFS / 20))
        if len(loud) == 0:
            if time.monotonic() - began > step.within + FLUSH_ALLOWANCE:
                raise run.fail("expect_prompt", f"no sound within {step.within:g}s where prompt "
                               f"{step.prompt!r} was expected (checked cheaply: not in the verified sample)")
            return None
        end = state.cursor + (loud[0] / RATE) + length
        return end if len(samples) / RATE >= end else None

    try:
        state.cursor = run.board.wait(every(POLL, sounded), run.budget(step.within + length + FLUSH_ALLOWANCE + POLL),
                                      lambda: f"{length:.1f}s of sound for prompt {step.prompt!r}",
                                      timeline=state.timeline)
    except WaitTimeout as exc:
        raise run.fail("expect_prompt", f"the call did not carry prompt {step.prompt!r}'s "
                       f"{length:.1f}s of sound: {exc}") from None
    found: dict[str, Any] = {"checked": "media only (not in the verified sample)", "prompt_s": round(length, 2)}
    t0 = state.timeline.capture_t0  # when the capture's first sample was heard (set once it has one)
    if t0 is not None:
        found["end_s"] = round(t0 + state.cursor - state.timeline.t0, 3)  # as expect_prompt's: into the call
    return found


def not_sampled(run: ScenarioRun, step: Any) -> dict[str, Any] | None:
    return {"skipped": "not in the verified sample"}


def counters_only(run: ScenarioRun, step: ExpectQualityStep) -> dict[str, Any] | None:
    """``expect_quality`` off the sample: loss and jitter from the stream's counters, no PESQ."""
    if step.loss_max is None and step.jitter_max_ms is None:
        return not_sampled(run, step)
    return expect_quality(run, replace(step, prompt=None, mos_min=None))


def kinds_for(sampled: bool) -> dict[type, Performer]:
    """The step kinds a load call runs with: every kind, with the load run's exceptions."""
    kinds: dict[type, Performer] = {**BY_MODEL, ExpectAgentStep: _Handler(agent_heard)}
    if not sampled:
        kinds[ExpectPromptStep] = _Handler(media_heard)
        kinds[ExpectRecordingStep] = _Handler(not_sampled)
        kinds[ExpectQualityStep] = _Handler(counters_only)
    return kinds


@dataclass(frozen=True)
class _Handler:
    run: Any


def place(pool: Pool, flow: Scenario, target: Target, prompts: PromptLibrary | None,
          work_dir: Path, sampled: bool) -> CallOutcome:
    """Run one flow as one simulated call; never raises for what the platform did."""
    outcome = CallOutcome(flow.name, sampled, time.time())
    work = work_dir / f"call-{pool.next_call():06d}"  # its generated audio (markers), its recordings
    run = PooledRun(flow, target, prompts, work, pool, kinds_for(sampled))
    try:
        run.execute()
    except ExpectationFailed as exc:
        outcome.failure = f"{exc.step}: {exc.detail}"
    except AssertionError as exc:
        outcome.failure = str(exc)
    except HarnessError as exc:
        outcome.failure, outcome.error = f"{type(exc).__name__}: {exc}", True
    finally:
        run.close()
    outcome.stages = stages(run, sampled, outcome.failure)
    judged = [r.measurements for r in run.records if r.kind == "expect_quality" and "rx_packets" in r.measurements]
    outcome.quality = judged[-1] if judged else None
    for state in run.calls.values():
        (pool.keep if outcome.failure else pool.discard)(state.timeline)
    if outcome.failure is None:
        shutil.rmtree(work, ignore_errors=True)  # a passed call leaves nothing; a failed one its evidence
    return outcome


def stages(run: ScenarioRun, sampled: bool, failure: str | None) -> list[StageSeen]:
    """The call's stages, as Locust will count them."""
    out: list[StageSeen] = []
    first = next(iter(run.calls.values()), None)
    answered = _answered(first.timeline) if first is not None else None
    if first is not None:
        out.append(_setup(first.timeline, answered))
    for record in run.records:
        out.extend(_step_stages(run, record))
    wanted = sum(1 for s in run.scenario.steps if step_kind(s) in _AUDIO_CHECKS)
    if sampled and wanted:
        heard = [r for r in run.records if r.kind in _AUDIO_CHECKS]
        bad = next((r for r in heard if r.status != "passed"), None)
        why = (f"{bad.kind}: {bad.detail}" if bad is not None else
               None if len(heard) == wanted else f"the flow ended before its audio checks: {failure}")
        out.append(StageSeen("verify", "audio", 0.0, why))
    out.append(StageSeen("flow", run.scenario.name, (time.monotonic() - run.started) * 1000, failure))
    return out


_AUDIO_CHECKS = ("expect_prompt", "expect_audio")


def _answered(tl: CallTimeline) -> float | None:
    """When the call was first confirmed (the platform answered)."""
    ev = tl.last("call", state="CONFIRMED")
    return ev.t if ev is not None else None


def _setup(tl: CallTimeline, answered: float | None) -> StageSeen:
    if answered is not None:
        return StageSeen("call", SETUP, (answered - tl.t0) * 1000)
    status = tl.final_status()
    why = f"{status[0]} {status[1]}" if status else "never answered"
    # its own name: Locust's percentiles count failed requests' times too, and a 32 s timeout or an
    # instant 486 is no set-up time (harness.checks.load reads set-up time from answered calls only)
    return StageSeen("call", SETUP_FAILED, (time.monotonic() - tl.t0) * 1000, why)


def _step_stages(run: ScenarioRun, record: StepRecord) -> list[StageSeen]:
    ms = (record.ended - record.started) * 1000
    error = None if record.status == "passed" else record.detail or record.status
    if record.kind == "expect_prompt":
        step = run.scenario.steps[record.index]
        assert isinstance(step, ExpectPromptStep)
        return [StageSeen("ivr", f"prompt {step.prompt}", ms, error)]
    if record.kind == "expect_agent":
        after = record.measurements.get("after_answer_s")
        if error is not None or after is None:
            return [StageSeen("acd", "abandoned", ms, error or "no agent answered")]
        return [StageSeen("acd", "agent answer", float(after) * 1000)]
    if record.kind == "expect_recording" and "skipped" not in record.measurements:
        return [StageSeen("recording", "found", ms, error)]
    return []
