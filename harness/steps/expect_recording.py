"""``expect_recording``: after the call, the platform has a recording of it.

The recording must hold both parties' markers, last the bridged time, hash as the
platform says and be refused without credentials (``harness.checks.recording``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from harness.checks.recording import (
    Expectation,
    RecordingAnalysis,
    analyse,
    bridged,
    judge,
    measurements,
)
from harness.errors import HarnessError
from harness.runner.run import CallState, ScenarioRun
from harness.scenario.context import LoadContext
from harness.scenario.model import Party
from harness.scenario.recording import ENDS_CALL, earlier
from harness.spec.checker import mapping
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.kind import Measurements, Said, StepKind, Stops, always
from harness.steps.recorded import (
    FoundRecording,
    NotConformant,
    expected_offsets,
    keep_canary,
    locate,
    markers_of,
)
from harness.targets.adapter import Platform
from harness.targets.capability import Capability
from harness.targets.registry import adapter_for


@dataclass(frozen=True)
class ExpectRecordingStep:
    """After the call ended, the platform has a recording of it holding every listed party."""

    call: str
    within: float = 15.0  # after hang-up, for the recording to be findable
    parties: tuple[Party, ...] = ("caller", "agent")  # whose markers must be in it
    max_duration_error: float = 1.0  # seconds, against the bridged time
    require_auth: bool = True  # a download without credentials must be refused
    canary: bool = False  # keep it in the ledger, for later runs to re-verify
    mark: Mark | None = None


SCHEMA = """
description: >-
  Find the ended call's recording through the platform adapter (by SIP
  Call-ID, else by time and marker), download it, and check it.
type: [object, "null"]
x-hint: "e.g. expect_recording: {within: 15s, parties: [caller, agent]}"
additionalProperties: false
properties:
  call: {$ref: "#/$defs/call_ref", description: The call (default the most recent call placed).}
  within:
    $ref: "#/$defs/duration"
    description: "How long after the hang-up the recording may take to appear (default 15s)."
  parties:
    description: The parties whose markers the recording must hold (default [caller, agent]).
    type: array
    uniqueItems: true
    items: {$ref: "#/$defs/party", description: A party.}
  max_duration_error:
    description: How far the recording's length may be from the bridged time, agent answer to hang-up (default 1s).
    $ref: "#/$defs/duration"
  require_auth:
    description: "A download without credentials must be refused (default true)."
    type: boolean
  canary:
    description: >-
      Keep this recording in the ledger (reports/ledger.sqlite) for later runs to
      re-verify (default false).
    type: boolean
"""


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> ExpectRecordingStep:
    """``expect_recording: {call, within, parties, max_duration_error, require_auth, canary}``."""
    fields = mapping(body)
    call = ctx.call(at, fields)
    parties = tuple(ctx.get(fields, at, "parties") or ("caller", "agent"))
    played, done = earlier(ctx, at)
    if call and not any(call in done.get(kind, ()) for kind in ENDS_CALL):
        ctx.report(at, f"call '{call}' has not ended here: its recording is looked for after the "
                   "hang-up", f"put - hangup: {{call: {call}}} (or expect_hangup) before this step")
    for party in parties:
        if call and not {(call, party), (call, "*")} & played:
            ctx.report(at + ("parties",), f"no play_marker step plays the {party}'s marker on "
                       f"call '{call}' before this step",
                       f"add - play_marker: {{call: {call}, party: {party}}} while the call is up, "
                       "or leave the party out of parties")
    within, error = ctx.get(fields, at, "within"), ctx.get(fields, at, "max_duration_error")
    auth, canary = ctx.get(fields, at, "require_auth"), ctx.get(fields, at, "canary")
    return ExpectRecordingStep(
        call=call,
        within=15.0 if within is None else ctx.duration(at + ("within",), within),
        parties=cast(tuple[Party, ...], parties),
        max_duration_error=1.0 if error is None else ctx.duration(
            at + ("max_duration_error",), error, allow_zero=True),
        require_auth=True if auth is None else auth,
        canary=bool(canary),
        mark=mark,
    )


@dataclass(frozen=True)
class Examined:
    """A call's recording as found, downloaded and judged (``examine``)."""

    found: FoundRecording
    analysis: RecordingAnalysis
    platform: Platform
    figures: dict[str, Any]
    problems: list[str]


def examine(run: ScenarioRun, state: CallState, step: ExpectRecordingStep) -> Examined:
    """Find the ended call's recording, download it and judge it; raises ``NotConformant``
    when none is found within ``step.within`` (also for ``expect_seats``, call by call)."""
    markers = markers_of(state, step.parties)
    platform = adapter_for(run.target)
    folder = run.work_dir / "recordings"
    folder.mkdir(parents=True, exist_ok=True)
    rec, how = locate(run, platform, state, step, folder)
    path = platform.fetch(rec, folder)
    analysis = analyse(path, markers)
    status = platform.fetch_unauthenticated(rec) if step.require_auth else None
    answering = state.customer_leg if state.outbound else state.agent_leg
    expect = Expectation(step.parties, bridged(state.timeline, answering, state.agent_heard,
                                               "customer" if state.outbound else "agent"),
                         step.max_duration_error, rec.sha256, status)
    problems, notes = judge(analysis, expect)
    figures = {"name": rec.name, "found_by": how, "file": str(path), "platform": platform.description,
               "sip_call_id": state.timeline.sip_call_id, **measurements(analysis, expect),
               "expected_marker_at_s": expected_offsets(state, rec), "notes": notes}
    found = FoundRecording(rec, path, analysis.sha256, how, analysis.size, analysis.duration_s)
    return Examined(found, analysis, platform, figures, problems)


def perform(run: ScenarioRun, step: ExpectRecordingStep) -> Measurements:
    state = run.call(step.call)
    if state.timeline.state != "DISCONNECTED":
        raise HarnessError(f"expect_recording on call {state.timeline}: the call has not ended "
                           f"(hint: put hangup before this step)")
    seen = examine(run, state, step)
    rec, figures = seen.found.info, seen.figures
    if seen.problems:
        raise NotConformant(run, "expect_recording",
                            f"recording {rec.name} of call {step.call} " + "; ".join(seen.problems), figures)
    state.recording = seen.found
    if step.canary:
        figures["canary"] = keep_canary(run, seen.platform, rec, seen.analysis)
    return figures


def say(spec: Mapping[str, Any]) -> Said:
    return ("调取本次通话录音，核对双方声音与时长，未认证不得下载",
            "retrieve the call's recording: both parties, its length, refused without login")


KIND = StepKind(
    name="expect_recording",
    model=ExpectRecordingStep,
    description=("After the call, the platform has a recording of it holding both parties, of the right length, "
                 "behind authentication."),
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=always(Stops()),
    shot=(("录音查询页面：登录、按通话查找、下载并回放", "the recording search: log in, find by call, download, play"),
          ("回放中可听到双方声音", "both parties are heard in the playback")),
    needs=frozenset({Capability.RECORDINGS}),
    needs_if=(("require_auth", Capability.UNAUTHENTICATED_FETCH),),
)
