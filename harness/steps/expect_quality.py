"""``expect_quality``: the call's audio arrives whole, a prompt sounds as it should, and the
one-way delay between caller and agent stays within bounds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.audio.marker import Marker
from harness.checks.quality import MediaSeen, QualityWanted, quality_verdict
from harness.errors import AudioError, HarnessError, HostBusy
from harness.runner.host import busy_share, pressure_now
from harness.runner.run import CallState, ScenarioRun
from harness.scenario.context import LoadContext
from harness.sip.controller import WaitTimeout
from harness.sip.timeline import CallTimeline
from harness.spec.checker import mapping
from harness.spec.values import BadValue, parse_share
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.kind import Measurements, Said, Skips, StepKind, always
from harness.steps.media import FLUSH_ALLOWANCE, POLL, RATE, capture, every
from harness.steps.recorded import NotConformant

if TYPE_CHECKING:
    from harness.audio.prompt import PromptMatch

MATCHED = 0.6  # a prompt found at least this well is scored; below, it is not the prompt


@dataclass(frozen=True)
class ExpectQualityStep:
    call: str
    prompt: str | None = None
    mos_min: float | None = None
    loss_max: float | None = None
    jitter_max_ms: float | None = None
    delay_max_ms: float | None = None
    mark: Mark | None = None


SCHEMA = """
description: Expect the call's audio to arrive whole, and a prompt to sound as it should.
type: object
x-hint: "e.g. expect_quality: {prompt: main_menu, mos_min: 3.8, loss_max: 1%}"
additionalProperties: false
properties:
  call: {$ref: "#/$defs/call_ref", description: The call (default the most recent call placed); it must be up.}
  prompt:
    description: A prompt heard earlier on the call, scored with PESQ (ITU-T P.862) as it arrived.
    type: string
    minLength: 1
  mos_min:
    description: The lowest MOS-LQO the prompt may score (1 to 4.5; needs prompt).
    type: number
    minimum: 1
    maximum: 4.5
  loss_max:
    description: The largest share of the audio packets that may be lost, e.g. 1%.
    type: [string, number]
  jitter_max:
    $ref: "#/$defs/duration"
    description: The largest mean receive jitter allowed, e.g. 30ms.
  delay_max:
    $ref: "#/$defs/duration"
    description: >-
      The largest one-way delay allowed, e.g. 150ms: from a party's marker starting to play
      (play_marker earlier on the call) to its arrival at the other party's phone (an agent of
      the scenario's).
"""


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> ExpectQualityStep:
    """``expect_quality: {call, prompt, mos_min, loss_max, jitter_max}``."""
    fields = mapping(body)
    prompt, mos = ctx.get(fields, at, "prompt"), ctx.get(fields, at, "mos_min")
    if mos is not None and prompt is None:
        ctx.report(at + ("mos_min",), "mos_min scores a prompt: name it", "add prompt: <a prompt heard earlier>")
    loss = ctx.get(fields, at, "loss_max")
    share = None
    if loss is not None:
        try:
            share = parse_share(loss)
        except BadValue as bad:
            ctx.report(at + ("loss_max",), bad.message, bad.hint)
    jitter, delay = ctx.get(fields, at, "jitter_max"), ctx.get(fields, at, "delay_max")
    if prompt is None and mos is None and loss is None and jitter is None and delay is None:
        ctx.report(at, "nothing to judge", "give loss_max, jitter_max, delay_max, or prompt with mos_min")
    return ExpectQualityStep(
        call=ctx.call(at, fields),
        prompt=ctx.prompt(at + ("prompt",), prompt) if prompt is not None else None,
        mos_min=float(mos) if mos is not None else None,
        loss_max=share,
        jitter_max_ms=ctx.duration(at + ("jitter_max",), jitter) * 1000 if jitter is not None else None,
        delay_max_ms=ctx.duration(at + ("delay_max",), delay) * 1000 if delay is not None else None,
        mark=mark,
    )


def stream_counters(run: ScenarioRun, state: CallState) -> dict[str, Any]:
    """The caller's phone's counters for the call's audio stream, asked for now."""
    tl = state.timeline
    if tl.state != "CONFIRMED":
        raise HarnessError(f"expect_quality on call {tl}: the call is not up (its counters go with it; "
                           f"put the step before the hang-up)")
    before = len(tl.events)
    run.board.command(state.phone, "stats", handle=tl.handle)
    return dict(next(e.data for e in tl.events[before:] if e.kind == "stats"))


@dataclass(frozen=True)
class Score:
    """A prompt's PESQ MOS-LQO on the call, or why there is none."""

    mos: float | None
    why: str = ""
    as_played: float | None = None  # the score with the phone's slips left in, when they were taken out
    slips_out: str = ""  # the slips taken out: "+20 ms at 0.52 s, ..."


def score(run: ScenarioRun, state: CallState, prompt: str) -> Score:
    """PESQ MOS-LQO of ``prompt`` where it was heard on the call, or why there is none.

    The prompt is found as expect_prompt heard it, with the jitter buffer's slips, and
    scored once the capture holds its whole length from there: the file lags the call by
    up to FLUSH_ALLOWANCE, and this step often comes right after the prompt's end. Where
    the caller's phone reported slips, the prompt is also scored with them taken out
    (:mod:`harness.audio.unslip`), and the better of the two counts: taking out the
    phone's own slips undoes its damage, but the line-up can miss one: a slip the phone
    reported too late (the offset may move only from ``BEFORE_S`` before a report to
    ``AFTER_S`` after it), or one at the prompt's onset, where moving off the whole-prompt
    start costs more than a few quiet blocks gain. A line-up that went wrong must not lower
    a score."""
    from harness.audio.quality import mos_lqo
    from harness.audio.unslip import unslip
    from harness.audio.wav import read_wav

    assert run.prompts is not None
    reference, _ = read_wav(run.prompts.prompts[prompt].file)
    samples, found, slips = _located(state, reference)
    if not holds(samples, found, len(reference)):
        def whole() -> tuple[np.ndarray, PromptMatch | None, list[tuple[float, float]]] | None:
            got = _located(state, reference)
            return got if holds(got[0], got[1], len(reference)) else None

        try:
            samples, found, slips = run.board.wait(every(POLL, whole), run.budget(FLUSH_ALLOWANCE + POLL),
                                                   lambda: f"the capture to hold prompt {prompt!r}",
                                                   timeline=state.timeline)
        except WaitTimeout:
            samples, found, slips = _located(state, reference)  # scored on what there is, or not found
    if found is None or found.score < MATCHED:
        return Score(None, f"prompt '{prompt}' was not found on the call (best score "
                           f"{found.score if found else 0:.2f})")
    start = int(found.start_s * RATE)
    try:
        as_played = mos_lqo(reference, samples[start: start + len(reference)])
        straight = unslip(samples, reference, start, slips) if slips else None
        if straight is None or not straight.slips:
            return Score(as_played)
        mos = mos_lqo(reference, straight.heard)
    except AudioError as exc:
        return Score(None, str(exc))
    return Score(mos, "", as_played, straight.said()) if mos > as_played else Score(as_played)


def _located(state: CallState, reference: np.ndarray) \
        -> tuple[np.ndarray, PromptMatch | None, list[tuple[float, float]]]:
    """The call's capture so far, where the prompt fits it best (slips allowed for), and the
    jitter buffer's slips in it."""
    from harness.audio.prompt import match_prompt

    samples, t0 = capture(state)
    slips = state.timeline.slips_after(t0)
    return samples, match_prompt(samples, reference, slips=slips), slips


def holds(samples: np.ndarray, found: PromptMatch | None, length: int) -> bool:
    """Whether ``found`` is the prompt and the capture holds ``length`` samples from its start."""
    return found is not None and found.score >= MATCHED and len(samples) >= int(found.start_s * RATE) + length


def one_way_delay(run: ScenarioRun, state: CallState) -> tuple[float | None, str, str]:
    """``(ms, "caller -> agent", "")`` from the first marker played on the call that the other
    party's phone heard, or ``(None, "", why not)``. The marker's play start and the hearer's
    first captured sample are both times of this machine's monotonic clock, as the phones
    reported them."""
    if not state.markers:
        return None, "", "no marker was played on the call (put play_marker before this step)"
    why = ""
    for party, played in state.markers.items():
        other = "agent" if party == "caller" else "caller"
        hearer = state.agent_leg if party == "caller" else state.timeline
        if hearer is None or hearer.capture_path is None or hearer.capture_t0 is None:
            why = (f"the {party}'s marker was played, but no phone of this run heard the {other}'s side "
                   "(an agent of the scenario's must answer; a load run's agents are shared)")
            continue
        at = _arrival(run, hearer, played.marker, f"the {party}'s marker in the {other}'s capture")
        if at is None:
            why = f"the {other}'s phone did not hear the {party}'s marker"
            continue
        return (hearer.capture_t0 + at - played.t) * 1000, f"{party} -> {other}", ""
    return None, "", why


def _arrival(run: ScenarioRun, hearer: CallTimeline, marker: Marker, what: str) -> float | None:
    """Where ``marker`` begins in ``hearer``'s capture (seconds), looking while the file catches up."""
    from harness.audio.marker import scan
    from harness.audio.wav import read_wav

    path = hearer.capture_path
    assert path is not None

    def heard() -> float | None:
        try:
            samples, _ = read_wav(path)
        except (AudioError, OSError):
            return None
        hit = scan(samples, [marker])[marker.id]
        return hit.start_s if hit.found else None

    try:
        found: float = run.board.wait(every(POLL, heard), run.budget(FLUSH_ALLOWANCE + 0.5), lambda: what,
                                      timeline=hearer)
        return found
    except WaitTimeout:
        return None


def perform(run: ScenarioRun, step: ExpectQualityStep) -> Measurements:
    state = run.call(step.call)
    counters = stream_counters(run, state)
    scored = score(run, state, step.prompt) if step.prompt else Score(None)
    delay, path, no_delay = one_way_delay(run, state) if step.delay_max_ms is not None or state.markers \
        else (None, "", "")
    since = state.pressure.t if state.pressure is not None else run.started
    stall = run.board.worst_stall(since)
    seen = MediaSeen(int(counters["rx_packets"]), int(counters["rx_lost"]), counters.get("rx_jitter_ms"),
                     counters.get("rtt_ms"), scored.mos, step.prompt, scored.why, delay, path, no_delay,
                     host_busy=busy_share(state.pressure, pressure_now()),
                     stall_s=float(stall.data["seconds"]) if stall is not None else 0.0,
                     mos_as_played=scored.as_played, slips_out=scored.slips_out)
    verdict = quality_verdict(seen, QualityWanted(step.mos_min, step.loss_max, step.jitter_max_ms,
                                                  step.delay_max_ms))
    if not verdict.decided:
        raise HostBusy(str(verdict.problem))
    if verdict.problem is not None:
        raise NotConformant(run, "expect_quality", verdict.problem, verdict.figures)  # figures kept
    return verdict.figures


def say(spec: Mapping[str, Any]) -> Said:
    prompt, delay = spec.get("prompt"), spec.get("delay_max")
    heard = f"，提示音「{prompt}」音质达标" if prompt else ""
    late = f"，单向时延不超过 {delay}" if delay else ""
    return f"通话语音完整（丢包、抖动在限度内）{heard}{late}", "the call's audio arrives whole" + (
        f", prompt '{prompt}' sounds as it should" if prompt else "") + (
        f", the one-way delay stays within {delay}" if delay else "")


KIND = StepKind(
    name="expect_quality",
    model=ExpectQualityStep,
    description="The call's audio arrives whole (loss, jitter), a prompt scores a MOS (PESQ), and the "
                "one-way delay is within bounds.",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=always(Skips()),
    shot=None,
)
