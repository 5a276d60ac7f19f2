"""The order the marker search scans a window's recordings in, and what it leaves out and why.

Pure data in, pure data out: no files, no platform, no clock.  The call ran
from 12:00:00 to 12:01:00 UTC; its window (clock skew included) is 11:50 to
12:11.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from harness.checks.recording_search import (
    ALREADY_SCANNED,
    NOT_REACHED,
    OUTSIDE_BY_NAME,
    OUTSIDE_BY_PLATFORM,
    TIED_ELSEWHERE,
    WRITTEN_BEFORE,
    CallWindow,
    Candidate,
    Downloads,
    SearchReport,
    Skip,
    plan,
)

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
WINDOW = CallWindow(T0 - timedelta(minutes=10), T0 + timedelta(minutes=11), T0,
                    T0 + timedelta(minutes=1))


def at(seconds: float) -> datetime:
    """``seconds`` after the call started."""
    return T0 + timedelta(seconds=seconds)


def names(candidates: tuple[Candidate, ...]) -> list[str]:
    return [c.name for c in candidates]


ORDERS = [
    pytest.param([Candidate("z-call", written_utc=at(61))] +
                 [Candidate(f"a-{i:02d}", written_utc=at(-300 + i)) for i in range(25)],
                 ["z-call", "a-24", "a-23"], id="closest-to-the-call-first-not-by-name"),
    pytest.param([Candidate("during", started_utc=at(5)), Candidate("before", started_utc=at(-60)),
                  Candidate("after", started_utc=at(300))],
                 ["during", "before", "after"], id="start-time-nearest-the-call"),
    pytest.param([Candidate("untimed-a"), Candidate("timed-far", written_utc=at(-500)),
                  Candidate("untimed-b")],
                 ["timed-far", "untimed-a", "untimed-b"], id="no-time-evidence-goes-last"),
    pytest.param([Candidate("by-mtime", written_utc=at(60)),
                  Candidate("by-name", named_utc=at(400), started_utc=at(1), written_utc=at(60))],
                 ["by-mtime", "by-name"], id="the-names-time-outranks-the-platforms"),
    pytest.param([Candidate("minute-older", named_utc=at(0), named_resolution_s=60,
                            written_utc=at(-30)),
                  Candidate("minute-call", named_utc=at(0), named_resolution_s=60,
                            written_utc=at(61)),
                  Candidate("minute-later", named_utc=at(0), named_resolution_s=60,
                            written_utc=at(400))],
                 ["minute-call", "minute-older", "minute-later"],
                 id="same-minute-names-tie-broken-by-last-write"),
    pytest.param([Candidate("other", call_id="someone-else", written_utc=at(61)),
                  Candidate("untied-far", written_utc=at(-500))],
                 ["untied-far", "other"], id="tied-to-another-call-after-the-untied"),
    pytest.param([Candidate("b", size=10, written_utc=at(61)),
                  Candidate("b", size=10, written_utc=at(61)), Candidate("a", written_utc=at(61))],
                 ["a", "b"], id="listed-twice-planned-once-ties-by-name"),
]


@pytest.mark.parametrize(("candidates", "first"), ORDERS)
def test_the_order(candidates: list[Candidate], first: list[str]) -> None:
    chosen = plan(candidates, WINDOW)
    assert names(chosen.order)[:len(first)] == first and chosen.skipped == ()


SKIPS = [
    pytest.param(Candidate("old-name", named_utc=at(-3600)), OUTSIDE_BY_NAME, id="name-too-early"),
    pytest.param(Candidate("new-name", named_utc=at(3600)), OUTSIDE_BY_NAME, id="name-too-late"),
    pytest.param(Candidate("meta", started_utc=at(-3600), written_utc=at(30)), OUTSIDE_BY_PLATFORM,
                 id="platform-start-outside"),
    pytest.param(Candidate("stale", written_utc=at(-3600)), WRITTEN_BEFORE, id="written-before"),
    pytest.param(Candidate("scanned", size=5, written_utc=at(61)), ALREADY_SCANNED,
                 id="already-scanned"),
    pytest.param(Candidate("tied", call_id="x", written_utc=at(61)), TIED_ELSEWHERE,
                 id="tied-elsewhere-while-others-wait"),
]


@pytest.mark.parametrize(("candidate", "reason"), SKIPS)
def test_what_is_skipped_and_why(candidate: Candidate, reason: str) -> None:
    chosen = plan([candidate], WINDOW, done={("scanned", 5)}, others_too=False)
    assert chosen.order == () and chosen.skipped == (Skip(candidate.name, reason),)


KEPT = [
    pytest.param(Candidate("day", named_utc=T0.replace(hour=0), named_resolution_s=86400),
                 id="a-date-alone-covers-its-day"),
    pytest.param(Candidate("started-before-written-within", started_utc=at(-5),
                           written_utc=at(-3600)), id="the-start-time-decides-not-the-write"),
    pytest.param(Candidate("scanned", size=6), id="same-name-other-size-is-another-file"),
    pytest.param(Candidate("tied", call_id="x"), id="tied-scanned-once-others-too"),
]


@pytest.mark.parametrize("candidate", KEPT)
def test_what_is_kept(candidate: Candidate) -> None:
    chosen = plan([candidate], WINDOW, done={("scanned", 5)}, others_too=True)
    assert names(chosen.order) == [candidate.name] and chosen.skipped == ()


@pytest.mark.parametrize(("candidate", "key"), [
    (Candidate("a", size=10, written_utc=at(1)), ("a", 10)),
    (Candidate("a", written_utc=at(1)), ("a", at(1))),
    (Candidate("a"), ("a", None)),
])
def test_a_file_is_known_by_name_and_size_else_name_and_last_write(candidate: Candidate,
                                                                   key: tuple[str, object]) -> None:
    assert candidate.key == key


def test_the_report_says_what_was_scanned_skipped_and_how_long() -> None:
    report = SearchReport(scanned=["c1", "c2"], listings=3, seconds=4.96)
    report.note([Skip(f"old-{i}", OUTSIDE_BY_NAME) for i in range(7)] +
                [Skip("c1", NOT_REACHED), Skip("late", NOT_REACHED)])
    assert report.summary() == (
        "scanned 2 recording(s) (c1, c2) in 5.0s over 3 listing(s); skipped 8: 7 outside the "
        "call's window by its name's time (old-0, old-1, old-2, old-3, old-4, +2 more), 1 not "
        "reached before the deadline (late)")
    assert report.measurements() == {
        "scanned": 2, "scanned_names": ["c1", "c2"], "listings": 3, "searched_s": 4.96,
        "skipped": {OUTSIDE_BY_NAME: 7, NOT_REACHED: 1}}


def test_nothing_listed_is_said_so() -> None:
    assert SearchReport(listings=2, seconds=1.0).summary() == \
        "scanned 0 recording(s) in 1.0s over 2 listing(s)"


def test_downloads_remember_scans_per_set_of_markers() -> None:
    downloads = Downloads()
    downloads.done(("caller@1",)).add(("a", 10))
    assert downloads.done(("caller@1",)) == {("a", 10)} and downloads.done(("caller@2",)) == set()
