"""``play``: the caller plays audio into the call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.runner.run import ScenarioRun
from harness.scenario.context import LoadContext
from harness.scenario.model import Audio
from harness.spec.checker import mapping
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.kind import Measurements, PlaysSound, Replayed, Said, StepKind
from harness.steps.media import idle


@dataclass(frozen=True)
class PlayStep:
    call: str
    audio: Audio
    wait: bool = True  # block until it has played out
    mark: Mark | None = None


SCHEMA = """
description: Play audio into the call.
type: object
x-hint: "e.g. play: {prompt: greeting}, {file: hello.wav} or {tone: {freq: 1000, duration: 1s}}"
additionalProperties: false
properties:
  call: {$ref: "#/$defs/call_ref", description: The call (default the most recent call placed).}
  prompt: {type: string, minLength: 1, description: The id of a prompt in the prompt library.}
  file: {type: string, minLength: 1, description: "A WAV file, relative to the scenario file."}
  tone: {$ref: "#/$defs/tone", description: A generated tone.}
  loop: {type: boolean, description: "Repeat until the call ends or something else is played (default false)."}
  wait: {type: boolean, description: "Wait until it has played out before the next step (default true)."}
"""


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> PlayStep:
    """``play: {prompt | file | tone, loop, wait, call}``."""
    fields = mapping(body)
    wait = ctx.get(fields, at, "wait")
    return PlayStep(
        ctx.call(at, fields), ctx.audio(at, fields), True if wait is None else wait, mark
    )


def perform(run: ScenarioRun, step: PlayStep) -> Measurements:
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


def say(spec: Mapping[str, Any]) -> Said:
    return "播放语音", "play audio into the call"


def replayed(step: PlayStep) -> Replayed:
    return PlaysSound(step.call)


KIND = StepKind(
    name="play",
    model=PlayStep,
    description="The caller plays audio into the call.",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=replayed,
    shot=None,
)
