"""The marker search of ``expect_recording`` on a busy spool, through the directory adapter.

A folder stands in for a platform's recording spool: real WAV files, named
as a platform names them when names carry no Call-ID, with modification
times set as the platform would have left them.  The call's recording is one
of many in the call's window; only its audio marker tells it apart.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from harness.audio.marker import marker_for
from harness.errors import ExpectationFailed
from harness.sip.timeline import CallTimeline, Event
from harness.steps.call import identities as call_identities
from harness.steps.recorded import PlayedMarker
from harness.steps.recorded import locate as locate_recording
from harness.steps.recording_search import identities_of
from harness.targets.adapter import Platform, RecordingInfo
from harness.targets.registry import adapter_for
from tests.targets.recording_check import NOW, check_found, step_run, target, written

CALL = "Qm9vay1jYWxsLTE@127.0.0.1"
MINUTE = "{start:%Y%m%d-%H%M}-{caller}"  # names written to the minute: a busy minute ties many




def minute(ago_s: float = 30) -> str:
    return f"{NOW - timedelta(seconds=ago_s):%Y%m%d-%H%M}"


def busy_spool(folder: Path, others: int) -> str:
    """``others`` recordings of other calls in the call's minute, written before the call's;
    the call's (caller 1001) sorts first by name.  Its name."""
    for i in range(others):
        written(folder / f"{minute()}-{2000 + i}.wav", 60 + i)
    written(folder / f"{minute()}-1001.wav", 25, CALL)  # written as the call ended
    return f"{minute()}-1001"


def test_the_calls_recording_is_found_among_more_than_twenty_that_sort_after_it(
        tmp_path: Path) -> None:
    name = busy_spool(tmp_path / "spool", 25)
    platform = adapter_for(target(tmp_path / "spool", recording_name=MINUTE))
    verdict = check_found(platform, CALL, tmp_path / "work", require_auth=False, now=NOW)
    assert (verdict.found_by, verdict.name) == ("time window and marker", name)
    assert verdict.problems == []


# -- through locate, with a run that spans several steps ---------------------------------------
class Spool:
    """The directory platform, counting downloads, and hiding ``late`` from the first
    ``hidden`` listings of the window (a recording the platform files after the hang-up)."""

    def __init__(self, platform: Platform, late: str | None = None, hidden: int = 0) -> None:
        self.platform, self.late, self.hidden = platform, late, hidden
        self.listings = 0
        self.fetched: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.platform, name)

    def find_recordings(self, call_id: str | None, since: datetime, until: datetime,
                        identities: Mapping[str, str] | None = None) -> list[RecordingInfo]:
        found = self.platform.find_recordings(call_id, since, until, identities)
        if call_id is None:
            self.listings += 1
            if self.listings <= self.hidden:
                return [r for r in found if r.name != self.late]
        return found

    def fetch(self, rec: RecordingInfo, dest: Path) -> Path:
        self.fetched.append(rec.name)
        return self.platform.fetch(rec, dest)


def locate(run: Any, spool: Spool, call_id: str, work: Path, within: float,
           identities: dict[str, str] | None = None) -> str:
    wall = NOW.timestamp()
    state = SimpleNamespace(
        timeline=SimpleNamespace(sip_call_id=call_id, events=[SimpleNamespace(wall=wall - 30)]),
        agent_leg=None, identities=identities or {},
        markers={"caller": PlayedMarker(marker_for(call_id, "caller"), 0.0, wall - 20)})
    step = SimpleNamespace(within=within, call="c1")
    work.mkdir(parents=True, exist_ok=True)
    rec, how = locate_recording(run, cast(Platform, spool), cast(Any, state), cast(Any, step), work)
    assert how == "time window and marker"
    return rec.name


def test_names_carrying_the_callers_number_are_the_only_ones_downloaded(tmp_path: Path) -> None:
    """With ``{caller}`` in recording_name and the caller's number known, the other callers'
    recordings of the same minute are not even downloaded (they were, one by one, before)."""
    name = busy_spool(tmp_path / "spool", 25)
    for caller in ("0998", "0999", "1000"):  # written with it, sorting first: they would go first
        written(tmp_path / "spool" / f"{minute()}-{caller}.wav", 25)
    profile = target(tmp_path / "spool", recording_name=MINUTE)
    spool = Spool(adapter_for(profile))
    assert locate(step_run(profile), spool, CALL, tmp_path / "work", 10.0, {"caller": "1001"}) == name
    assert spool.fetched == [name]
    told_nothing = Spool(adapter_for(profile))
    assert locate(step_run(profile), told_nothing, CALL, tmp_path / "work2", 10.0) == name
    assert len(told_nothing.fetched) > 1  # what the identities spared


def test_identities_of_a_call_are_its_numbers_and_the_answered_offers_headers() -> None:
    offered = CallTimeline("agent-alice", "in1", 0.0, "agent-alice <- sip:1001@127.0.0.1")
    offered.add(Event("incoming", "agent-alice", 0.1, 0.1, "in1",
                      {"headers": {"X-Queue": "sales", "X-Recording-Name": "rec-42"}}))
    state = SimpleNamespace(identities={"caller": "1001", "did": "4001"}, agent_leg=offered)
    assert identities_of(cast(Any, state)) == {
        "caller": "1001", "did": "4001", "header:X-Queue": "sales", "header:X-Recording-Name": "rec-42"}
    state.agent_leg = None
    assert identities_of(cast(Any, state)) == {"caller": "1001", "did": "4001"}


def test_a_call_knows_its_callers_number_and_the_number_it_dialled() -> None:
    run = SimpleNamespace(scenario=SimpleNamespace(callers=[SimpleNamespace(name="caller", account="c1")]),
                          target=SimpleNamespace(accounts={"c1": SimpleNamespace(username="1001")}))
    step = SimpleNamespace(caller="caller")
    assert call_identities(cast(Any, run), cast(Any, step), "sip:4001@127.0.0.1:5160;transport=udp") == {
        "caller": "1001", "did": "4001"}
    assert call_identities(cast(Any, run), cast(Any, SimpleNamespace(caller="other")), "sip:4000@pbx") == {
        "did": "4000"}


def test_a_recording_filed_late_is_found_by_listing_again_until_the_deadline(
        tmp_path: Path) -> None:
    name = busy_spool(tmp_path / "spool", 5)
    profile = target(tmp_path / "spool", recording_name=MINUTE)
    spool = Spool(adapter_for(profile), late=name, hidden=2)
    assert locate(step_run(profile), spool, CALL, tmp_path / "work", within=10.0) == name
    assert spool.listings == 3 and spool.fetched.count(name) == 1
    assert sorted(spool.fetched[:5]) == [f"{minute()}-{2000 + i}" for i in range(5)]  # once each


def test_each_recording_is_downloaded_once_per_run_across_steps(tmp_path: Path) -> None:
    busy_spool(tmp_path / "spool", 8)
    second = written(tmp_path / "spool" / f"{minute()}-1002.wav", 70, "second-call").stem
    profile = target(tmp_path / "spool", recording_name=MINUTE)
    spool, run = Spool(adapter_for(profile)), step_run(profile)
    locate(run, spool, CALL, tmp_path / "work", within=5.0)
    assert locate(run, spool, "second-call", tmp_path / "work", within=5.0) == second
    assert len(spool.fetched) == len(set(spool.fetched))  # the second step reused the files


def test_a_search_that_finds_nothing_looks_until_the_deadline_and_says_what_it_examined(
        tmp_path: Path) -> None:
    for i in range(30):
        written(tmp_path / "spool" / f"{minute()}-{2000 + i}.wav", 60 + i)
    profile = target(tmp_path / "spool", recording_name=MINUTE)
    began = time.monotonic()
    with pytest.raises(ExpectationFailed) as failed:
        locate(step_run(profile), Spool(adapter_for(profile)), CALL, tmp_path / "work", within=1.5)
    assert time.monotonic() - began >= 1.5
    message = failed.value.detail
    assert "none under its Call-ID, and none of the recordings listed for the call's time (" in message
    assert f"holds its markers (scanned 30 recording(s) ({minute()}-2000, {minute()}-2001, " \
        in message, message
    assert "+25 more) in 1." in message and " listing(s))" in message, message
    assert "found through the recording folder" in message and "s of looking (within 1.5s" \
        in message, message
    figures = cast(Any, failed.value).measurements
    assert figures["marker_search"]["scanned"] == 30 and figures["looked_s"] >= 1.5
