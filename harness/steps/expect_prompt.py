"""``expect_prompt``: the caller hears a reference prompt within the deadline."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.runner.run import ScenarioRun
from harness.scenario.context import LoadContext
from harness.sip.controller import WaitTimeout
from harness.spec.checker import mapping
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.kind import Measurements, Said, StepKind
from harness.steps.media import FLUSH_ALLOWANCE, LATE_MARGIN, POLL, RATE, call_time, capture


@dataclass(frozen=True)
class ExpectPromptStep:
    call: str
    prompt: str
    within: float
    min_score: float = 0.8
    mark: Mark | None = None


SCHEMA = """
description: Expect a reference prompt on the caller's side.
type: object
x-hint: "e.g. expect_prompt: {prompt: greeting, within: 5s}"
required: [prompt, within]
additionalProperties: false
properties:
  call: {$ref: "#/$defs/call_ref", description: The call (default the most recent call placed).}
  prompt: {type: string, minLength: 1, description: The id of the expected prompt in the prompt library.}
  within: {$ref: "#/$defs/duration", description: How long to wait for the prompt to have been heard.}
  min_score:
    description: The lowest match score (0 to 1) that counts as heard (default 0.8).
    type: number
    minimum: 0
    maximum: 1
"""


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> ExpectPromptStep:
    """``expect_prompt: {call, prompt, within, min_score}``."""
    fields = mapping(body)
    prompt = ctx.get(fields, at, "prompt")
    score = ctx.get(fields, at, "min_score")
    return ExpectPromptStep(
        call=ctx.call(at, fields),
        prompt=ctx.prompt(at + ("prompt",), prompt) if prompt is not None else "",
        within=ctx.within(at, fields),
        min_score=0.8 if score is None else float(score),
        mark=mark,
    )


def perform(run: ScenarioRun, step: ExpectPromptStep) -> Measurements:
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
            "start_s": call_time(state, t0, start_s), "end_s": call_time(state, t0, end_s),
            "reference": str(ref_path)}


def say(spec: Mapping[str, Any]) -> Said:
    return f"听到提示音「{spec['prompt']}」", f"the prompt '{spec['prompt']}' is heard"


KIND = StepKind(
    name="expect_prompt",
    model=ExpectPromptStep,
    description="The caller hears a reference prompt within the deadline.",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    shot=(("放音（开启扬声器），同时显示提示音文本", "the prompt playing (speaker on), its text on screen"),
          ("听到提示音", "the prompt is heard")),
)
