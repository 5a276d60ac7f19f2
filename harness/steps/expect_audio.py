"""``expect_audio``: what the caller hears is music, a tone, speech or silence, for long enough.

For what a caller hears while queued: hold music, ringback or busy tones,
position announcements, or dead air.  The caller's capture from the step's
beginning is classified 20 ms frame by frame (``harness.audio.kind``); the
verdict (``harness.checks.audio_kind``) wants a window of ``for`` seconds,
starting within ``within``, that holds the kind in at least 80 % of its frames.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.checks.audio_kind import AudioHeard, AudioWanted, audio_verdict, heard_long_enough
from harness.runner.run import ScenarioRun
from harness.scenario.context import LoadContext
from harness.sip.controller import WaitTimeout
from harness.spec.checker import mapping
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.kind import LetsPass, Measurements, OnlyWaits, Replayed, Said, StepKind
from harness.steps.media import FLUSH_ALLOWANCE, POLL, RATE, capture


@dataclass(frozen=True)
class ExpectAudioStep:
    call: str
    kind: str  # music | tone | speech | silence
    seconds: float  # ``for``
    within: float = 0.0
    mark: Mark | None = None


SCHEMA = """
description: Expect the caller to hear music, a tone, speech or silence for a while.
type: object
x-hint: "e.g. expect_audio: {kind: music, for: 5s, within: 3s}"
required: [kind, for]
additionalProperties: false
properties:
  call: {$ref: "#/$defs/call_ref", description: The call (default the most recent call placed).}
  kind:
    description: >-
      What is heard: music (continuous broadband or melodic sound: hold music), tone (one or two
      steady frequencies, with their cadence: ringback, busy, dial tone), speech (syllables and
      pauses: an announcement) or silence (nothing above -45 dBFS; comfort noise counts).
    enum: [music, tone, speech, silence]
  for:
    $ref: "#/$defs/duration"
    description: >-
      How long it must be heard: a window this long must hold the kind in at least 80 % of its
      20 ms frames.
  within:
    $ref: "#/$defs/duration"
    description: The window must start within this of the step's beginning (default 0s, at once).
"""

_CHINESE = {"music": "等待音乐", "tone": "信号音", "speech": "语音", "silence": "静音"}


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> ExpectAudioStep:
    """``expect_audio: {call, kind, for, within}``."""
    fields = mapping(body)
    kind = ctx.get(fields, at, "kind")
    return ExpectAudioStep(
        call=ctx.call(at, fields),
        kind="" if kind is None else str(kind),
        seconds=ctx.duration(at + ("for",), ctx.get(fields, at, "for")),
        within=ctx.duration(at + ("within",), ctx.get(fields, at, "within"), allow_zero=True),
        mark=mark,
    )


def perform(run: ScenarioRun, step: ExpectAudioStep) -> Measurements:
    """Listen from now until the kind has held long enough, or the window can no longer start."""
    from harness.audio.kind import classify

    state = run.call(step.call)
    want = AudioWanted(step.kind, step.seconds, step.within)
    begin = time.monotonic()
    heard: list[AudioHeard] = []
    last_look = [0.0]

    def look(force: bool = False) -> AudioHeard | None:
        if not force and time.monotonic() - last_look[0] < POLL:
            return None
        last_look[0] = time.monotonic()
        samples, t0 = capture(state)
        first = max(0.0, begin - t0)
        heard.append(AudioHeard(classify(samples[int(first * RATE):]), first, t0))
        return heard[-1] if heard_long_enough(want, heard[-1].labels) is not None else None

    try:
        run.board.wait(look, run.budget(step.within + step.seconds + FLUSH_ALLOWANCE),
                       lambda: f"{step.kind} for {step.seconds:.1f}s", timeline=state.timeline)
    except WaitTimeout:
        look(force=True)  # the verdict says what was heard instead
    verdict = audio_verdict(want, heard[-1], state.timeline)
    if verdict.problem is not None:
        raise run.fail("expect_audio", verdict.problem)
    state.cursor = max(state.cursor, heard[-1].first + verdict.figures["after_s"] + step.seconds)
    return verdict.figures


def say(spec: Mapping[str, Any]) -> Said:
    kind, seconds = spec["kind"], spec.get("seconds", spec.get("for"))
    return f"听到{_CHINESE.get(kind, kind)} {seconds} 秒", f"{kind} heard for {seconds} s"


def replayed(step: ExpectAudioStep) -> Replayed:
    """A capture waits as long as the step could listen, judging nothing: silence as
    ``expect_silence`` (a prompt may run on through it), any other sound let pass as no prompt."""
    seconds = step.within + step.seconds
    return OnlyWaits(step.call, seconds) if step.kind == "silence" else LetsPass(step.call, seconds)


KIND = StepKind(
    name="expect_audio",
    model=ExpectAudioStep,
    description="The caller hears music, a tone, speech or silence for a while (e.g. hold music while queued).",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=replayed,
    shot=(("排队等待时开启扬声器", "the queued call on the speaker"),
          ("听到等待音乐或信号音", "the hold music or tone is heard")),
)
