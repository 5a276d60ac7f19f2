"""``expect_prompt``: the caller hears a reference prompt within the deadline."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.checks.ivr import PromptLook, PromptWanted, prompt_heard, prompt_verdict
from harness.runner.run import ScenarioRun
from harness.scenario.context import LoadContext
from harness.sip.controller import WaitTimeout
from harness.spec.checker import mapping
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.kind import ListensForPrompt, Measurements, Replayed, Said, StepKind
from harness.steps.media import FLUSH_ALLOWANCE, LATE_MARGIN, POLL, RATE, capture, every


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
    from harness.audio.prompt import match_prompt
    from harness.audio.wav import read_wav

    state = run.call(step.call)
    assert run.prompts is not None
    ref_path = run.prompts.prompts[step.prompt].file
    reference, _ = read_wav(ref_path)
    want = PromptWanted(step.prompt, str(ref_path), len(reference) / RATE, step.within,
                        step.min_score, began=time.monotonic())
    looks: list[PromptLook] = []

    def heard() -> PromptLook | None:
        samples, t0 = capture(state)
        slips = state.timeline.slips_after(t0 + state.cursor)  # where the heard audio was warped
        match = match_prompt(samples[int(state.cursor * RATE):], reference, slips=slips)
        looks.append(PromptLook(match, state.cursor, t0, len(samples) / RATE))
        return looks[-1] if prompt_heard(looks[-1], want) else None

    try:
        listen = run.budget(step.within + LATE_MARGIN + want.length_s + FLUSH_ALLOWANCE)
        look = run.board.wait(every(POLL, heard), listen, lambda: f"prompt {step.prompt!r}", timeline=state.timeline)
        state.cursor = look.end_s
    except WaitTimeout:
        pass  # the verdict says what was heard instead
    verdict = prompt_verdict(want, looks, state.timeline)
    if verdict.problem is not None:
        raise run.fail("expect_prompt", verdict.problem)
    return verdict.figures


def say(spec: Mapping[str, Any]) -> Said:
    return f"听到提示音「{spec['prompt']}」", f"the prompt '{spec['prompt']}' is heard"


def replayed(step: ExpectPromptStep) -> Replayed:
    """A capture takes what it hears as the prompt, to match against later."""
    return ListensForPrompt(step.call, step.prompt, step.within)


KIND = StepKind(
    name="expect_prompt",
    model=ExpectPromptStep,
    description="The caller hears a reference prompt within the deadline.",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=replayed,
    shot=(("放音（开启扬声器），同时显示提示音文本", "the prompt playing (speaker on), its text on screen"),
          ("听到提示音", "the prompt is heard")),
)
