"""Steps about recording and retention: play_marker, expect_recording, expect_retention,
expect_retention_proof, verify_canaries.

The platform is reached only through its adapter (``harness.targets.adapter``);
the verdicts are ``harness.checks.recording`` and ``harness.checks.retention``.
Everything downloaded goes under the scenario's work folder, and every
verdict -- pass or fail -- carries its measurements.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.audio.marker import Marker, marker_for, render
from harness.checks.recording import (
    RECORDED,
    Expectation,
    RecordingAnalysis,
    analyse,
    bridged,
    judge,
    measurements,
)
from harness.checks.recording_search import SearchReport
from harness.checks.retention import (
    policy_problem,
    prove_retention,
    verify_canaries,
)
from harness.errors import ExpectationFailed, HarnessError, TargetError
from harness.evidence.ledger import Canary, Ledger
from harness.runner.run import CallState, ScenarioRun
from harness.runner.steps import handles
from harness.runner.steps.media import idle
from harness.runner.steps.recording_search import MarkerSearch, _window
from harness.scenario.model import (
    ExpectRecordingStep,
    ExpectRetentionProofStep,
    ExpectRetentionStep,
    PlayMarkerStep,
    VerifyCanariesStep,
)
from harness.sip.timeline import CallTimeline
from harness.targets.adapter import (
    NotSupported,
    Platform,
    RecordingInfo,
    adapter_for,
    profile_retention_days,
)

POLL = 0.5  # seconds between searches while the platform files the recording
OTHERS_AFTER = 0.5  # share of the wait before recordings tied to other Call-IDs are scanned
PLAY_START_TIMEOUT = 5.0


class NotConformant(ExpectationFailed):
    """A failed check that keeps its measurements for the step's record."""

    def __init__(self, run: ScenarioRun, step: str, message: str, figures: dict[str, Any]) -> None:
        super().__init__(run.scenario.path, step, message)
        self.measurements = figures


@dataclass(frozen=True)
class PlayedMarker:
    """A marker as played: which, by whom, and when (phone clock and UTC)."""

    marker: Marker
    t: float
    wall: float


@dataclass(frozen=True)
class FoundRecording:
    """The recording expect_recording found for a call, as downloaded."""

    info: RecordingInfo
    path: Path
    sha256: str
    found_by: str
    size: int
    duration_s: float


def reports_dir(run: ScenarioRun) -> Path:
    """``reports/``: the run folder is ``reports/<run-id>/<scenario>/``."""
    return run.work_dir.parent.parent


def _run_id(run: ScenarioRun) -> str:
    return run.work_dir.parent.name


def _ledger(run: ScenarioRun) -> Ledger:
    return Ledger(reports_dir(run) / "ledger.sqlite")


def _utc(wall: float) -> datetime:
    return datetime.fromtimestamp(wall, UTC)


# -- play_marker -------------------------------------------------------------------------
def _player(run: ScenarioRun, state: CallState, party: str) -> tuple[str, CallTimeline]:
    if party == "caller":
        return state.phone, state.timeline
    if state.agent_leg is None or state.agent is None:
        raise HarnessError(f"play_marker {{party: agent}} on call {state.id}: no agent has answered "
                           f"it yet (hint: put expect_agent before this step)")
    return run.agent_phone[state.agent], state.agent_leg


@handles(PlayMarkerStep)
def play_marker(run: ScenarioRun, step: PlayMarkerStep) -> dict[str, Any]:
    state = run.call(step.call)
    call_id = state.timeline.sip_call_id
    if call_id is None or state.timeline.state != "CONFIRMED":
        raise HarnessError(f"play_marker on call {state.timeline}: the call is not up "
                           f"(timeline: {state.timeline.summary()})")
    phone, leg = _player(run, state, step.party)
    marker = marker_for(call_id, step.party)
    path = run.write_generated(f"marker-{step.party}", render(marker))
    before, name = len(leg.events), f"marker-{step.party}"
    run.board.command(phone, "play", handle=leg.handle, path=path, loop=False, name=name)
    started = run.board.wait(  # by name: the agent's greeting may end meanwhile
        lambda: next((e for e in leg.events[before:] if e.kind == "play"
                      and e.data.get("name") == name and e.data.get("state") == "started"), None),
        PLAY_START_TIMEOUT, lambda: f"the {step.party}'s marker to start playing", timeline=leg)
    state.markers[step.party] = PlayedMarker(marker, started.t, started.wall)
    if step.wait:
        idle(run, run.budget(marker.duration + 0.1))
    return {"party": step.party, "marker": marker.id, "tones_hz": list(marker.freqs),
            "played_at_s": round(started.t - state.timeline.t0, 3),
            "played_utc": _utc(started.wall).isoformat(timespec="milliseconds"), "file": path}


# -- expect_recording --------------------------------------------------------------------
def _by_call_id(platform: Platform, state: CallState) -> tuple[list[RecordingInfo], bool]:
    """The recordings the platform ties to the call's Call-ID; and whether it listed any it
    could not tie to a call (Asterisk's names may not say), which only the markers can sort."""
    call_id = state.timeline.sip_call_id
    window = _window(state)
    found = platform.find_recordings(call_id, window.since, window.until)
    return [r for r in found if r.call_id == call_id], any(r.call_id is None for r in found)


def _locate(run: ScenarioRun, platform: Platform, state: CallState, step: ExpectRecordingStep,
            folder: Path) -> tuple[RecordingInfo, str]:
    """The call's recording by its Call-ID, else by its markers, looking until ``within`` ends.

    Recordings the platform could not tie to a call are scanned from the
    start; those it tied to other Call-IDs only after ``OTHERS_AFTER`` of the
    wait (a platform that ties recordings files the call's under its Call-ID
    well within that, unless something on the way rewrote the Call-ID).
    """
    began = time.monotonic()
    budget = run.budget(step.within)
    deadline = began + budget
    search = MarkerSearch(run, platform, state, folder / "candidates", deadline) \
        if state.markers else None
    while True:
        found, untied = _by_call_id(platform, state)
        if found:
            return found[0], "SIP Call-ID"
        others_too = time.monotonic() - began >= OTHERS_AFTER * budget
        if search is not None and (untied or others_too):
            (folder / "candidates").mkdir(parents=True, exist_ok=True)
            rec = search.round(others_too)
            if rec is not None:
                return rec, "time window and marker"
        if time.monotonic() >= deadline:
            break
        if search is None or not search.pending:
            idle(run, min(POLL, max(0.0, deadline - time.monotonic())))
    raise _not_found(run, platform, state, step, search.give_up() if search else None, began)


def _not_found(run: ScenarioRun, platform: Platform, state: CallState, step: ExpectRecordingStep,
               report: SearchReport | None, began: float) -> NotConformant:
    window = _window(state)
    looked = time.monotonic() - began
    how = ("no marker was played, so no recording without its Call-ID could be examined"
           if report is None else f"none of the recordings started between {window.since:%H:%M:%S} "
           f"and {window.until:%H:%M:%S} UTC holds its markers ({report.summary()})")
    figures = {"sip_call_id": state.timeline.sip_call_id, "looked_s": round(looked, 2),
               **({"marker_search": report.measurements()} if report else {})}
    return NotConformant(run, "expect_recording", (
        f"no recording of call {step.call} (SIP Call-ID {state.timeline.sip_call_id}) was found "
        f"through the {platform.description} in {looked:.1f}s of looking (within "
        f"{step.within:g}s of the hang-up): none under its Call-ID, and {how}; the call was not "
        f"recorded ({RECORDED})"), figures)


def _markers(state: CallState, parties: tuple[str, ...]) -> dict[str, Marker]:
    missing = [p for p in parties if p not in state.markers]
    if missing:
        raise HarnessError(f"expect_recording on call {state.id}: no marker was played for "
                           f"{', '.join(missing)} (hint: add play_marker steps while the call is up)")
    return {p: state.markers[p].marker for p in parties}


def _expected_offsets(state: CallState, rec: RecordingInfo) -> dict[str, float]:
    """Where each marker should sit in the recording, from when it was played."""
    if rec.started_utc is None:
        return {}
    return {p: round(m.wall - rec.started_utc.timestamp(), 2) for p, m in state.markers.items()}


@handles(ExpectRecordingStep)
def expect_recording(run: ScenarioRun, step: ExpectRecordingStep) -> dict[str, Any]:
    state = run.call(step.call)
    if state.timeline.state != "DISCONNECTED":
        raise HarnessError(f"expect_recording on call {state.timeline}: the call has not ended "
                           f"(hint: put hangup before this step)")
    markers = _markers(state, step.parties)
    platform = adapter_for(run.target)
    folder = run.work_dir / "recordings"
    folder.mkdir(parents=True, exist_ok=True)
    rec, how = _locate(run, platform, state, step, folder)
    path = platform.fetch(rec, folder)
    analysis = analyse(path, markers)
    status = platform.fetch_unauthenticated(rec) if step.require_auth else None
    expect = Expectation(step.parties, bridged(state.timeline, state.agent_leg),
                         step.max_duration_error, rec.sha256, status)
    problems, notes = judge(analysis, expect)
    figures = {"name": rec.name, "found_by": how, "file": str(path), "platform": platform.description,
               "sip_call_id": state.timeline.sip_call_id, **measurements(analysis, expect),
               "expected_marker_at_s": _expected_offsets(state, rec), "notes": notes}
    if problems:
        raise NotConformant(run, "expect_recording",
                            f"recording {rec.name} of call {step.call} " + "; ".join(problems), figures)
    state.recording = FoundRecording(rec, path, analysis.sha256, how, analysis.size,
                                     analysis.duration_s)
    if step.canary:
        figures["canary"] = _keep_canary(run, platform, rec, analysis)
    return figures


def _keep_canary(run: ScenarioRun, platform: Platform, rec: RecordingInfo,
                 analysis: RecordingAnalysis) -> str:
    made = rec.created_utc or rec.started_utc or datetime.now(UTC)
    ledger = _ledger(run)
    ledger.add_canary(Canary(platform.description, rec.name, rec.call_id, analysis.sha256,
                             analysis.size, made, _run_id(run), run.scenario.name))
    return str(ledger.path)


# -- retention -----------------------------------------------------------------------------
def _declared_days(run: ScenarioRun, platform: Platform) -> tuple[int, str]:
    days = platform.retention_days()
    if days is not None:
        return days, platform.description
    days = profile_retention_days(run.target)
    if days is None:
        raise TargetError(f"the {platform.description} does not say how long it keeps recordings, "
                          f"and target profile {run.target.path} declares no adapter.retention_days")
    return days, f"adapter.retention_days in {run.target.path}"


@handles(ExpectRetentionStep)
def expect_retention(run: ScenarioRun, step: ExpectRetentionStep) -> dict[str, Any]:
    platform = adapter_for(run.target)
    days, source = _declared_days(run, platform)
    figures = {"declared_days": days, "declared_by": source, "min_days": step.min_days,
               "clause": step.clause}
    problem = policy_problem(days, step.min_days, step.clause)
    if problem:
        raise NotConformant(run, "expect_retention", problem, figures)
    return figures


@handles(ExpectRetentionProofStep)
def expect_retention_proof(run: ScenarioRun, step: ExpectRetentionProofStep) -> dict[str, Any]:
    state = run.call(step.call)
    found = state.recording
    if not isinstance(found, FoundRecording):
        raise HarnessError(f"expect_retention_proof on call {step.call}: its recording was not "
                           f"found (hint: a passing expect_recording must come first)")
    platform = adapter_for(run.target)
    days, _ = _declared_days(run, platform)
    started = datetime.now(UTC)
    moved = True  # purging under a moved clock removes older recordings: retire their canaries
    try:
        proof = prove_retention(platform, found.info, found.sha256, run.work_dir / "retention",
                                days, step.min_days, step.ages)
    except NotSupported:
        moved = False  # the platform cannot move its clock: nothing was purged
        raise
    finally:
        if moved:
            _ledger(run).note_clock_proof(platform.description, _run_id(run), started)
    figures = {**proof.measurements(), "notes": proof.notes()}
    if proof.problems():
        raise NotConformant(run, "expect_retention_proof", "; ".join(proof.problems()), figures)
    return figures


@handles(VerifyCanariesStep)
def verify_canaries_step(run: ScenarioRun, step: VerifyCanariesStep) -> dict[str, Any]:
    platform = adapter_for(run.target)
    ledger = _ledger(run)
    report = verify_canaries(platform, ledger, platform.description, _run_id(run), step.min_days,
                             run.work_dir / "canaries")
    figures = {"ledger": str(ledger.path), **report.measurements()}
    if report.problems:
        raise NotConformant(run, "verify_canaries", "; ".join(report.problems), figures)
    return figures
