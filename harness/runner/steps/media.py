"""Steps about audio: play, wait, expect_prompt, expect_silence.

Listening is sequential per call: each call keeps a cursor into its capture,
and an expectation searches from the cursor on, then moves it past what it
consumed, so "greeting then menu" means the menu was heard after the greeting.
Captures are read while the phone is still writing them (PJSIP flushes its
WAV writer every few hundred milliseconds), hence the small flush allowance.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from harness.runner.run import CallState, ScenarioRun
from harness.runner.steps import handles
from harness.scenario.model import ExpectPromptStep, ExpectSilenceStep, PlayStep, WaitStep
from harness.sip.controller import WaitTimeout

RATE = 8000
FLUSH_ALLOWANCE = 1.0  # seconds the capture file may lag the call
POLL = 0.2  # seconds between analyses of a growing capture
LATE_MARGIN = 5.0  # keep listening this long past ``within``, to tell "late" from "never"


def idle(run: ScenarioRun, seconds: float) -> None:
    """Let ``seconds`` pass while pumping events (a dead phone still raises)."""
    end = time.monotonic() + seconds
    run.board.wait(lambda: True if time.monotonic() >= end else None, seconds + 1.0,
                   lambda: f"{seconds:.1f}s to pass")


def capture(state: CallState) -> tuple[np.ndarray, float]:
    """The call's received audio so far and the monotonic time of its first sample."""
    from harness.audio.wav import read_wav
    from harness.errors import AudioError

    tl = state.timeline
    if tl.capture_path is None or tl.capture_t0 is None:
        return np.zeros(0, dtype=np.float32), time.monotonic()
    try:
        samples, _ = read_wav(tl.capture_path)
    except (AudioError, OSError):
        samples = np.zeros(0, dtype=np.float32)
    return samples, tl.capture_t0


def _call_time(state: CallState, capture_t0: float, seconds_into_capture: float) -> float:
    return round(capture_t0 + seconds_into_capture - state.timeline.t0, 3)


@handles(WaitStep)
def wait(run: ScenarioRun, step: WaitStep) -> None:
    idle(run, run.budget(step.duration))


@handles(PlayStep)
def play(run: ScenarioRun, step: PlayStep) -> dict[str, Any]:
    state = run.call(step.call)
    path = run.audio_file(step.audio)
    tl = state.timeline
    before = len(tl.events)
    run.board.command(state.phone, "play", handle=tl.handle, path=path, loop=step.audio.loop, name="play")
    started = run.board.wait(
        lambda: next((e for e in tl.events[before:] if e.kind == "play"), None), 5.0,
        lambda: "playback to start", timeline=tl)
    seconds = float(started.data["seconds"])
    if step.wait and not step.audio.loop:
        idle(run, run.budget(seconds))
    return {"file": path, "seconds": round(seconds, 3), "started_at_s": round(started.t - tl.t0, 3)}


@handles(ExpectPromptStep)
def expect_prompt(run: ScenarioRun, step: ExpectPromptStep) -> dict[str, Any]:
    """The prompt must *start* within ``within`` of this step; we then listen to its end."""
    from harness.audio.prompt import MIN_COVERAGE, match_prompt
    from harness.audio.wav import read_wav

    state = run.call(step.call)
    assert run.prompts is not None
    ref_path = run.prompts.prompts[step.prompt].file
    reference, _ = read_wav(ref_path)
    length = len(reference) / RATE
    began = time.monotonic()
    best: dict[str, Any] = {"score": 0.0, "coverage": 0.0, "at": None, "heard_s": 0.0}
    last_check = [0.0]

    def heard() -> Any:
        if time.monotonic() - last_check[0] < POLL:
            return None
        last_check[0] = time.monotonic()
        samples, t0 = capture(state)
        match = match_prompt(samples[int(state.cursor * RATE):], reference)
        best["heard_s"] = len(samples) / RATE
        if match.score > best["score"]:
            at = state.cursor + match.start_s
            best.update(score=match.score, coverage=match.coverage, at=at, after=t0 + at - began)
        return (match, t0) if match.score >= step.min_score and match.coverage >= MIN_COVERAGE else None

    try:
        match, t0 = run.board.wait(heard, run.budget(step.within + LATE_MARGIN + length + FLUSH_ALLOWANCE),
                                   lambda: f"prompt {step.prompt!r}", timeline=state.timeline)
    except WaitTimeout:
        where = f" at {best['at']:.2f}s into the capture" if best["at"] is not None else ""
        if best["at"] is not None and best["score"] >= step.min_score and best["after"] > step.within:
            where += (f", {best['after']:.2f}s after the step began, later than the allowed "
                      f"{step.within:.1f}s (dead air or a slow prompt, and not heard whole)")
        raise run.fail("expect_prompt", (
            f"prompt {step.prompt!r} ({ref_path.name}, {length:.1f}s) not heard on call "
            f"{state.timeline} within {step.within:.1f}s: best score {best['score']:.2f} "
            f"(coverage {best['coverage']:.2f}){where}, need score >= {step.min_score:.2f} and "
            f"coverage >= {MIN_COVERAGE:.2f}; {best['heard_s']:.1f}s of audio captured; "
            f"timeline: {state.timeline.summary()}"
        )) from None
    start_s, end_s = state.cursor + match.start_s, state.cursor + match.end_s
    state.cursor = end_s
    late = t0 + start_s - began
    if late > step.within:
        raise run.fail("expect_prompt", (
            f"prompt {step.prompt!r} was heard, but only {late:.2f}s after the step began, "
            f"{late - step.within:.2f}s later than allowed ({step.within:.1f}s): dead air or a slow "
            f"prompt on call {state.timeline}"))
    return {"prompt": step.prompt, "score": round(float(match.score), 3),
            "coverage": round(float(match.coverage), 3),
            "start_s": _call_time(state, t0, start_s), "end_s": _call_time(state, t0, end_s),
            "reference": str(ref_path)}


def _loud_spans(window: np.ndarray, limit_dbfs: float, offset: float) -> list[tuple[float, float, float]]:
    """20 ms frames louder than ``limit_dbfs``, merged into (start, end, peak dBFS) spans."""
    frame = RATE // 50
    n = len(window) // frame
    if n == 0:
        return []
    frames = window[: n * frame].reshape(n, frame).astype(np.float64)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    spans: list[tuple[float, float, float]] = []
    for i in np.flatnonzero(level > limit_dbfs):
        t = offset + i / 50
        if spans and t - spans[-1][1] < 0.03:
            spans[-1] = (spans[-1][0], t + 0.02, max(spans[-1][2], float(level[i])))
        else:
            spans.append((t, t + 0.02, float(level[i])))
    return spans


@handles(ExpectSilenceStep)
def expect_silence(run: ScenarioRun, step: ExpectSilenceStep) -> dict[str, Any]:
    state = run.call(step.call)
    begin = time.monotonic()
    idle(run, run.budget(step.duration))

    def covered() -> Any:
        samples, t0 = capture(state)
        return (samples, t0) if t0 + len(samples) / RATE >= begin + step.duration else None

    try:
        samples, t0 = run.board.wait(covered, FLUSH_ALLOWANCE, lambda: "the capture to cover the window",
                                     timeline=state.timeline)
    except WaitTimeout:
        samples, t0 = capture(state)
    first = max(0.0, begin - t0)
    window = samples[int(first * RATE): int((first + step.duration) * RATE)]
    loud = _loud_spans(window, step.max_level_dbfs, first)
    state.cursor = max(state.cursor, first + step.duration)
    if loud:
        shown = ", ".join(f"{_call_time(state, t0, a):.2f}-{_call_time(state, t0, b):.2f}s at "
                          f"{peak:.0f} dBFS" for a, b, peak in loud[:5])
        raise run.fail("expect_silence", (
            f"expected {step.duration:.1f}s of silence (<= {step.max_level_dbfs:.0f} dBFS) on call "
            f"{state.timeline}, heard audio at {shown}"))
    return {"from_s": _call_time(state, t0, first), "seconds": step.duration,
            "captured_s": round(len(window) / RATE, 3)}
