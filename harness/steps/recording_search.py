"""The marker search of ``expect_recording``: the recordings of the call's time window,
listed again and again until the step's deadline, scanned for the call's markers.

The order and what is skipped are pure (``harness.checks.recording_search``);
this module lists, downloads (once per scenario run) and scans.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from harness.audio.recording import read_recording
from harness.checks.recording import marker_fits
from harness.checks.recording_search import (
    NOT_REACHED,
    UNREADABLE,
    CallWindow,
    Candidate,
    SearchReport,
    Skip,
    plan,
)
from harness.errors import AudioError
from harness.targets.adapter import Platform, RecordingInfo
from harness.targets.recording_name import names_from_profile

if TYPE_CHECKING:  # annotations only: the step modules import the run, not the other way
    from harness.runner.run import CallState, ScenarioRun

ROUND_S = 2.0  # a marker search lists the platform's recordings again after this long
CLOCK_SKEW = timedelta(minutes=10)  # how far the platform's clock may be from ours


def _utc(wall: float) -> datetime:
    return datetime.fromtimestamp(wall, UTC)


def _window(state: CallState) -> CallWindow:
    events = state.timeline.events
    first = events[0].wall if events else time.time()
    last = events[-1].wall if events else first
    return CallWindow(_utc(first) - CLOCK_SKEW, datetime.now(UTC) + CLOCK_SKEW, _utc(first),
                      _utc(last))


def identities_of(state: CallState) -> dict[str, str]:
    """What names the call besides its Call-ID: the caller's number, the number dialled, and the
    headers the platform put on the INVITE the agent answered (``header:X-Name``)."""
    out = dict(state.identities)
    offered = state.agent_leg.last("incoming") if state.agent_leg is not None else None
    headers = offered.data.get("headers") if offered is not None else None
    if isinstance(headers, dict):
        out.update({f"header:{k}": str(v) for k, v in headers.items()})
    return out


class MarkerSearch:
    """One step's search of the call's time window for a recording holding its markers.

    Rounds of at most ``ROUND_S``: list the window's recordings, order them
    (``harness.checks.recording_search.plan``: closest to the call first),
    scan them until the round's time is up; the next round lists again, so a
    recording filed late is seen.  Each file is downloaded once per scenario
    run (``run.downloads``) and scanned once for these markers.
    """

    def __init__(self, run: ScenarioRun, platform: Platform, state: CallState, folder: Path,
                 deadline: float) -> None:
        self.run, self.platform, self.state = run, platform, state
        self.folder, self.deadline = folder, deadline
        self.markers = {party: played.marker for party, played in state.markers.items()}
        self.ids = tuple(sorted(m.id for m in self.markers.values()))
        self.names = names_from_profile(run.target.adapter, f"target profile {run.target.path}")
        self.report = SearchReport()
        self.pending: list[str] = []  # planned but not yet scanned when the last round ended
        self.began = time.monotonic()

    def round(self, others_too: bool) -> RecordingInfo | None:
        """List, plan and scan until the round's time or the deadline is up; the recording
        found, or None.  ``others_too``: scan recordings tied to other Call-IDs as well."""
        window = _window(self.state)
        infos = {}
        # the call's identities narrow the listing where names carry them; once others are
        # scanned too, every name of the window is (a platform may spell a number otherwise)
        named = None if others_too else identities_of(self.state)
        for info in self.platform.find_recordings(None, window.since, window.until, named):
            infos[self._candidate(info)] = info
        self.report.listings += 1
        chosen = plan(infos, window, self.run.downloads.done(self.ids), others_too)
        self.report.note(chosen.skipped)
        end = min(self.deadline, time.monotonic() + ROUND_S)
        try:
            for i, candidate in enumerate(chosen.order):
                if time.monotonic() >= end:
                    self.pending = [c.name for c in chosen.order[i:]]
                    return None
                if self._holds_markers(candidate, infos[candidate]):
                    return infos[candidate]
            self.pending = []
            return None
        finally:
            self.report.seconds = time.monotonic() - self.began

    def _candidate(self, info: RecordingInfo) -> Candidate:
        named = self.names.read(info.name)
        return Candidate(info.name, info.size, named.started_utc if named else None,
                         named.resolution_s if named else 1.0, info.started_utc,
                         info.created_utc, info.call_id)

    def _holds_markers(self, candidate: Candidate, info: RecordingInfo) -> bool:
        downloads = self.run.downloads
        path = downloads.files.get(candidate.key)
        if path is None or not path.exists():
            path = downloads.files[candidate.key] = self.platform.fetch(info, self.folder)
        downloads.done(self.ids).add(candidate.key)
        self.run.board.pump(0)  # the phones' events while the scan holds the thread
        try:
            fits = marker_fits(read_recording(path), self.markers)
        except AudioError:
            self.report.note([Skip(candidate.name, UNREADABLE)])
            return False
        self.report.scanned.append(candidate.name)
        return any(hit.found for hits in fits.values() for hit in hits.values())

    def give_up(self) -> SearchReport:
        """The report, with what the deadline left unscanned."""
        self.report.note(Skip(name, NOT_REACHED) for name in self.pending)
        self.report.seconds = time.monotonic() - self.began
        return self.report
