"""The recording and retention verdicts on synthetic files and an in-memory platform.

The platform here is a small class that keeps recordings in a dict and
applies a retention policy under a movable clock, as the reference does; it
stands in for the adapter only (the checks' logic), never for SIP.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.audio.marker import marker_for, render
from harness.audio.wav import write_wav
from harness.checks.recording import Bridged, Expectation, analyse, bridged, judge, sha256_of
from harness.checks.retention import (
    policy_problem,
    prove_retention,
    storage_problem,
    verify_canaries,
)
from harness.evidence.ledger import Canary, Ledger
from harness.sip.timeline import CallTimeline, Event
from harness.targets.adapter import Platform, RecordingInfo, StorageDeclared

CALL = "call-1@127.0.0.1"
RATE = 8000


def recording(path: Path, seconds: float, parties: tuple[str, ...]) -> Path:
    track = np.zeros(int(seconds * RATE), np.float32)
    for i, party in enumerate(parties):
        tone = render(marker_for(CALL, party))
        at = int((0.3 + i) * RATE)
        track[at : at + tone.size] += tone
    write_wav(path, track)
    return path


def expectation(bridged_s: float = 4.0, sha: str | None = None, status: int | None = 401) -> Expectation:
    return Expectation(("caller", "agent"), Bridged(10.0, 10.0 + bridged_s, "agent answer to hang-up"),
                       1.0, sha, status)


MARKERS = {p: marker_for(CALL, p) for p in ("caller", "agent")}


def test_a_good_recording_has_no_problem(tmp_path: Path) -> None:
    path = recording(tmp_path / "r.wav", 4.3, ("caller", "agent"))
    a = analyse(path, MARKERS)
    assert judge(a, expectation(sha=sha256_of(path))) == ([], [])
    assert a.markers["agent"].start_s == pytest.approx(1.3, abs=0.005)


def test_each_problem_in_a_reviewers_words(tmp_path: Path) -> None:
    path = recording(tmp_path / "r.wav", 2.0, ("caller",))
    problems, _ = judge(analyse(path, MARKERS), expectation(sha="ab" * 32, status=200))
    assert problems == [
        "holds only the caller's marker: the agent's audio is missing (录音需包含双方)",
        ("lasts 2.0s but the call was bridged for 4.0s (agent answer to hang-up): the last 2.0s of "
        "the conversation are not recorded (allowed ±1s; 录音需完整)"),
        (f"differs from what the platform stored: the file downloaded hashes to SHA-256 "
        f"{sha256_of(path)[:16]}..., the platform recorded abababababababab... (录音不得被篡改)"),
        ("can be downloaded without credentials (HTTP 200): anyone who can reach the API can fetch "
        "it (录音调取须经身份认证)"),
    ]


def test_silence_and_no_markers(tmp_path: Path) -> None:
    path = tmp_path / "quiet.wav"
    write_wav(path, np.zeros(4 * RATE, np.float32), 16000)
    problems, notes = judge(analyse(path, MARKERS), expectation(bridged_s=2.0))
    assert problems[0].startswith("is silent: only 0.00s above -45 dBFS")
    assert problems[1] == ("holds neither the caller's nor the agent's marker: it does not hold "
                           "this call's audio (录音需包含双方)")
    assert notes == ["recorded as PCM 16-bit, 16000 Hz, 1 channel(s), not 8 kHz mono"]


def timeline(*states: tuple[str, float]) -> CallTimeline:
    tl = CallTimeline("p", "h", 0.0, "d")
    for state, t in states:
        tl.add(Event("call", "p", t, 1000 + t, "h", {"state": state}))
    return tl


def test_bridged_time_is_agent_answer_to_the_first_hang_up() -> None:
    caller = timeline(("CONFIRMED", 0.1), ("DISCONNECTED", 9.0))
    agent = timeline(("CONFIRMED", 3.0), ("DISCONNECTED", 8.5))
    assert bridged(caller, agent) == Bridged(3.0, 8.5, "agent answer to hang-up")
    assert bridged(caller, None) == Bridged(0.1, 9.0, "platform answer to hang-up (no agent leg known)")
    assert bridged(timeline(("CONFIRMED", 0.1)), None) is None
    heard = bridged(caller, None, 2.9)  # a load run: the caller heard an agent it has no leg of
    assert heard == Bridged(2.9, 9.0, "agent first heard to hang-up (no agent leg known)")


def test_policy_and_storage_verdicts() -> None:
    assert policy_problem(190, 183, "c") is None
    assert policy_problem(90, 183, "录音存储≥6个月") == (
        "the platform keeps recordings 90 days, fewer than the 183 days required (录音存储≥6个月)")
    declared = StorageDeclared(1000, 2000, 3)
    assert storage_problem(960_000, declared, 183) == (
        "keeping 183 days of recordings needs 1,054 GB (0.96 MB per recorded minute x 3 min x 2000 "
        "calls a day x 183 days), more than the 1000 GB of storage declared (录音存储≥6个月)")
    assert storage_problem(960_000, StorageDeclared(1100, 2000, 3), 183) is None


class MemoryPlatform:
    """Recordings in a dict, purged by age under a movable clock (policy + 1 days, as the reference)."""

    description = "memory platform"

    def __init__(self, folder: Path, policy: int, purge_after: int | None = None) -> None:
        self.folder, self.policy = folder, policy
        self.purge_after = policy if purge_after is None else purge_after
        self.offset = 0.0
        self.offsets: list[float] = []
        self.recs: dict[str, tuple[RecordingInfo, bytes]] = {}

    def add(self, name: str, data: bytes, age_days: float = 0.0) -> RecordingInfo:
        made = datetime.now(UTC) - timedelta(days=age_days)
        info = RecordingInfo(name, None, made, 1.0, None, len(data), "wav", made)
        self.recs[name] = (info, data)
        return info

    def find_recordings(self, call_id: str | None, since: datetime, until: datetime,
                        identities: object = None) -> list[RecordingInfo]:
        return [info for info, _ in self.recs.values()]

    def get_recording(self, name: str) -> RecordingInfo | None:
        return self.recs[name][0] if name in self.recs else None

    def fetch(self, rec: RecordingInfo, dest: Path) -> Path:
        path = dest / f"{rec.name}.wav"
        path.write_bytes(self.recs[rec.name][1])
        return path

    def fetch_unauthenticated(self, rec: RecordingInfo) -> int:
        return 401

    def retention_days(self) -> int | None:
        return self.policy

    def set_clock_offset(self, days: float) -> None:
        self.offset = days
        self.offsets.append(days)

    def purge(self) -> list[str]:
        now = datetime.now(UTC) + timedelta(days=self.offset)
        old = [n for n, (i, _) in self.recs.items()
               if i.created_utc and now - i.created_utc >= timedelta(days=self.purge_after + 1)]
        for name in old:
            del self.recs[name]
        return old

    def queue_state(self) -> dict[str, Any] | None:
        return None


def test_the_memory_platform_is_a_platform(tmp_path: Path) -> None:
    assert isinstance(MemoryPlatform(tmp_path, 190), Platform)


def test_a_proof_on_a_conformant_platform(tmp_path: Path) -> None:
    platform = MemoryPlatform(tmp_path, 190)
    rec = platform.add("rec-1", b"RIFF-one")
    proof = prove_retention(platform, rec, sha256_of(platform.fetch(rec, tmp_path)), tmp_path, 190, 183)
    assert [(a.age_days, a.present) for a in proof.ages] == [(182.0, True), (190.0, True)]
    assert proof.purged_past_policy is True and proof.problems() == [] and proof.notes() == []
    assert platform.offsets[-1] == 0


def test_a_proof_names_an_early_purge_and_sets_the_clock_back(tmp_path: Path) -> None:
    platform = MemoryPlatform(tmp_path, 190, purge_after=30)
    rec = platform.add("rec-1", b"RIFF-one")
    proof = prove_retention(platform, rec, "x" * 64, tmp_path, 190, 183)
    assert proof.problems() == [("recording rec-1 was purged when 182 days old, although 183 days "
                                "are required and the platform declares 190 (录音存储≥6个月)")]
    assert platform.offset == 0


def test_the_clock_is_set_back_when_the_proof_breaks(tmp_path: Path) -> None:
    platform = MemoryPlatform(tmp_path, 190)
    rec = platform.add("rec-1", b"RIFF-one")

    def broken(r: RecordingInfo, dest: Path) -> Path:
        raise RuntimeError("network gone")

    platform.fetch = broken  # type: ignore[method-assign,assignment]
    with pytest.raises(RuntimeError):
        prove_retention(platform, rec, "x" * 64, tmp_path, 190, 183)
    assert platform.offset == 0


def test_canaries_verified_lost_changed_retired_and_too_old(tmp_path: Path) -> None:
    platform = MemoryPlatform(tmp_path, 190)
    ledger = Ledger(tmp_path / "reports" / "ledger.sqlite")
    now = datetime.now(UTC)

    def canary(name: str, age: float, data: bytes | None, run: str = "old-run") -> None:
        if data is not None:
            platform.add(name, data, age)
        sha = sha256_of(platform.fetch(platform.recs[name][0], tmp_path)) if data else "0" * 64
        ledger.add_canary(Canary("memory platform", name, None, sha, 8, now - timedelta(days=age),
                                 run, "s"))

    canary("kept", 100.0, b"RIFF-kept")
    canary("this-run", 0.0, b"RIFF-new", run="run-2")
    canary("lost", 50.0, None)
    canary("changed", 10.0, b"RIFF-changed")
    platform.recs["changed"] = (platform.recs["changed"][0], b"RIFF-edited")
    canary("expired", 200.0, None)
    report = verify_canaries(platform, ledger, "memory platform", "run-2", 183, tmp_path / "c")
    assert [c.name for c, _ in report.verified] == ["kept"]
    assert report.measurements()["oldest_verified_age_days"] == pytest.approx(100.0, abs=0.01)
    assert report.too_old == 1 and report.retired == []
    assert report.problems[0].startswith("canary lost (run old-run, 50.0 days old) is no longer "
                                         "retrievable, though recordings must be kept 183 days")
    assert report.problems[1].startswith("canary changed (run old-run, 10.0 days old) has changed")

    ledger.note_clock_proof("memory platform", "run-2", now)  # a proof purged what was older
    again = verify_canaries(platform, ledger, "memory platform", "run-3", 183, tmp_path / "c")
    assert [c.name for c in again.retired] == ["lost"]
    assert len(again.problems) == 1  # "changed" is still there, and still changed
    assert ledger.checks("memory platform", "lost") == [("run-2", "missing", ""),
                                                         ("run-3", "retired", ("purged by a later "
                                                          "clock-offset proof"))]


def test_a_canary_is_kept_once(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite")
    first = Canary("t", "n", "c", "a" * 64, 1, datetime(2026, 1, 1, tzinfo=UTC), "r1", "s")
    ledger.add_canary(first)
    ledger.add_canary(Canary("t", "n", "c", "b" * 64, 1, datetime(2026, 2, 1, tzinfo=UTC), "r2", "s"))
    assert ledger.canaries("t") == [first]
