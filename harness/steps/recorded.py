"""What the recording and retention step kinds share at run time (``harness.steps``).

The markers a call played, the recording expect_recording found (``FoundRecording``,
for the retention and storage steps after it), how it is located -- by Call-ID, else
by the markers -- the ledger of canaries, and the failure that keeps its figures.
The platform is reached only through its adapter (``harness.targets.adapter``); the
verdicts are ``harness.checks.recording`` and ``harness.checks.retention``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from harness.audio.marker import Marker
from harness.checks.recording import (
    RECORDED,
    RecordingAnalysis,
)
from harness.checks.recording_search import SearchReport
from harness.errors import ExpectationFailed, HarnessError, TargetError
from harness.evidence.ledger import Canary, Ledger
from harness.runner.carrier import PHONE as CARRIER_PHONE
from harness.runner.run import CallState, ScenarioRun
from harness.sip.timeline import CallTimeline
from harness.steps.media import idle
from harness.steps.recording_search import MarkerSearch, _window, identities_of
from harness.targets.adapter import (
    Platform,
    RecordingInfo,
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


class Wanted(Protocol):
    """What locating a recording needs of its step (``harness.steps.expect_recording``)."""

    @property
    def call(self) -> str: ...
    @property
    def within(self) -> float: ...


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


def run_id(run: ScenarioRun) -> str:
    return run.work_dir.parent.name


def ledger(run: ScenarioRun) -> Ledger:
    return Ledger(reports_dir(run) / "ledger.sqlite")


def utc(wall: float) -> datetime:
    return datetime.fromtimestamp(wall, UTC)


# -- play_marker -------------------------------------------------------------------------
def player(run: ScenarioRun, state: CallState, party: str) -> tuple[str, CallTimeline]:
    if state.outbound:
        return _outbound_player(state, party)
    if party == "customer":
        raise HarnessError(f"play_marker {{party: customer}} on call {state.id}: a customer is a party "
                           f"of an outbound call (dial_out); this call's parties are caller and agent")
    if party == "caller":
        return state.phone, state.timeline
    if state.agent_leg is None or state.agent is None:
        raise HarnessError(f"play_marker {{party: agent}} on call {state.id}: no agent has answered "
                           f"it yet (hint: put expect_agent before this step)")
    return run.agent_phone[state.agent], state.agent_leg


def _outbound_player(state: CallState, party: str) -> tuple[str, CallTimeline]:
    if party == "agent":
        return state.phone, state.timeline
    if party == "caller":
        raise HarnessError(f"play_marker {{party: caller}} on call {state.id}: an outbound call's "
                           f"parties are agent (who dialled) and customer")
    if state.customer_leg is None:
        raise HarnessError(f"play_marker {{party: customer}} on call {state.id}: the customer has not "
                           f"answered (hint: put expect_carrier_call {{answered: true}} before this step)")
    return CARRIER_PHONE, state.customer_leg


# -- expect_recording --------------------------------------------------------------------
def by_call_id(platform: Platform, state: CallState) -> tuple[list[RecordingInfo], bool]:
    """The recordings the platform ties to the call's Call-ID; and whether it listed any it
    could not tie to a call (Asterisk's names may not say), which only the markers can sort."""
    call_id = state.timeline.sip_call_id
    window = _window(state)
    found = platform.find_recordings(call_id, window.since, window.until, identities_of(state))
    return [r for r in found if r.call_id == call_id], any(r.call_id is None for r in found)


def locate(run: ScenarioRun, platform: Platform, state: CallState, step: Wanted,
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
        found, untied = by_call_id(platform, state)
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
    raise not_found(run, platform, state, step, search.give_up() if search else None, began)


def not_found(run: ScenarioRun, platform: Platform, state: CallState, step: Wanted,
               report: SearchReport | None, began: float) -> NotConformant:
    window = _window(state)
    looked = time.monotonic() - began
    how = ("no marker was played, so no recording without its Call-ID could be examined"
           if report is None else f"none of the recordings listed for the call's time "
           f"({window.since:%H:%M:%S} to {window.until:%H:%M:%S} UTC, or with no time the name or "
           f"the platform tells) holds its markers ({report.summary()})")
    figures = {"sip_call_id": state.timeline.sip_call_id, "looked_s": round(looked, 2),
               **({"marker_search": report.measurements()} if report else {})}
    return NotConformant(run, "expect_recording", (
        f"no recording of call {step.call} (SIP Call-ID {state.timeline.sip_call_id}) was found "
        f"through the {platform.description} in {looked:.1f}s of looking (within "
        f"{step.within:g}s of the hang-up): none under its Call-ID, and {how}; the call was not "
        f"recorded ({RECORDED})"), figures)


def markers_of(state: CallState, parties: tuple[str, ...]) -> dict[str, Marker]:
    missing = [p for p in parties if p not in state.markers]
    if missing:
        raise HarnessError(f"expect_recording on call {state.id}: no marker was played for "
                           f"{', '.join(missing)} (hint: add play_marker steps while the call is up)")
    return {p: state.markers[p].marker for p in parties}


def expected_offsets(state: CallState, rec: RecordingInfo) -> dict[str, float]:
    """Where each marker should sit in the recording, from when it was played."""
    if rec.started_utc is None:
        return {}
    return {p: round(m.wall - rec.started_utc.timestamp(), 2) for p, m in state.markers.items()}


def keep_canary(run: ScenarioRun, platform: Platform, rec: RecordingInfo,
                 analysis: RecordingAnalysis) -> str:
    made = rec.created_utc or rec.started_utc or datetime.now(UTC)
    book = ledger(run)
    book.add_canary(Canary(platform.description, rec.name, rec.call_id, analysis.sha256,
                             analysis.size, made, run_id(run), run.scenario.name))
    return str(book.path)


# -- retention -----------------------------------------------------------------------------
def declared_days(run: ScenarioRun, platform: Platform) -> tuple[int, str]:
    days = platform.retention_days()
    if days is not None:
        return days, platform.description
    days = profile_retention_days(run.target)
    if days is None:
        raise TargetError(f"the {platform.description} does not say how long it keeps recordings, "
                          f"and target profile {run.target.path} declares no adapter.retention_days")
    return days, f"adapter.retention_days in {run.target.path}"
