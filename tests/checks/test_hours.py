"""Forbidden calling hours: the undertaking's rules as written, and the verdict on attempts (no call)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from harness.checks.hours import Attempt, HoursSeen, hours_verdict
from harness.spec.hours import BadRule, Window, moment, read_rules

CN = read_rules(["21:00-09:00"], "Asia/Shanghai", clause="每日21:00至次日09:00不外呼")


def at(text: str) -> datetime:
    """A moment written in China Standard Time."""
    return datetime.fromisoformat(text + "+08:00")


@pytest.mark.parametrize(("window", "inside", "outside"), [
    ("21:00-09:00", ["21:00", "23:59", "00:00", "08:59"], ["09:00", "12:00", "20:59"]),
    ("12:00-13:30", ["12:00", "13:29"], ["11:59", "13:30", "00:00"]),
    ("22:00-24:00", ["22:00", "23:59"], ["00:00", "21:59"]),
    ("0:00-8:00", ["00:00", "07:59"], ["08:00"]),
])
def test_a_window_holds_from_its_start_up_to_its_end_and_may_wrap_past_midnight(
        window: str, inside: list[str], outside: list[str]) -> None:
    w = Window.parse(window)
    assert all(w.holds(time.fromisoformat(t)) for t in inside), inside
    assert not any(w.holds(time.fromisoformat(t)) for t in outside), outside


@pytest.mark.parametrize(("words", "message"), [
    ("9-21", "is not a daily window like '21:00-09:00'"),
    ("21:00-21:00", "is empty"),
    ("25:00-09:00", "is not a daily window"),
])
def test_a_window_the_undertaking_cannot_mean_is_refused_with_its_words(words: str, message: str) -> None:
    with pytest.raises(BadRule, match=message):
        Window.parse(words)


def test_rules_read_the_called_party_s_time_zone_weekdays_and_holidays() -> None:
    rules = read_rules(["21:00-09:00"], "Asia/Shanghai", days=["sun"], holidays=["2026-10-01"])
    assert rules.forbidden(datetime(2026, 12, 4, 13, 30, tzinfo=UTC)) == "inside the daily window 21:00-09:00"
    assert rules.forbidden(datetime(2026, 12, 4, 2, 0, tzinfo=UTC)) is None  # 10:00 in Shanghai, a Friday
    assert rules.forbidden(at("2026-12-06T12:00")) == "no calls on sun"
    assert rules.forbidden(at("2026-10-01T12:00")) == "2026-10-01 is a holiday"
    assert date(2026, 10, 1) in rules.holidays
    with pytest.raises(BadRule, match="not a time zone"):
        read_rules([], "Mars/Olympus")
    with pytest.raises(BadRule, match="not a weekday"):
        read_rules([], "UTC", days=["someday"])


def test_a_moment_is_chosen_well_inside_its_side() -> None:
    now = at("2026-12-05T10:00")
    assert moment(CN, now, forbidden=True) == at("2026-12-05T21:05")
    assert moment(CN, now, forbidden=False) == now  # already well inside the allowed side
    assert moment(CN, at("2026-12-05T08:58"), forbidden=False) == at("2026-12-05T09:05")


def test_both_sides_shown_pass_with_what_each_call_did() -> None:
    seen = HoursSeen(CN, (
        Attempt(at("2026-12-05T21:05"), "the platform's rule clock set to 21:05", "13800138000", False,
                "403 Forbidden calling hours"),
        Attempt(at("2026-12-05T10:05"), "the platform's rule clock set to 10:05", "13800138000", True, "went out"),
    ), at("2026-12-05T10:00"))
    verdict = hours_verdict(seen)
    assert verdict.passed, verdict.problem
    assert verdict.figures["unexercised"] == []
    assert [a["side"] for a in verdict.figures["attempts"]] == ["forbidden", "allowed"]
    assert verdict.figures["clause"] == "每日21:00至次日09:00不外呼"


def test_a_call_put_through_inside_the_window_fails_citing_the_undertaking() -> None:
    seen = HoursSeen(CN, (Attempt(at("2026-12-05T21:05"), "the platform's rule clock set to 21:05", "13800138000",
                                  True, "the call went out"),), at("2026-12-05T10:00"))
    verdict = hours_verdict(seen)
    assert not verdict.passed and verdict.problem is not None
    assert ("a call to 13800138000 at Sat 2026-12-05 21:05 (Asia/Shanghai) (the platform's rule clock set to "
            "21:05), inside the daily window 21:00-09:00, reached the carrier") in verdict.problem
    assert "undertaking: 每日21:00至次日09:00不外呼" in verdict.problem


def test_a_permitted_call_that_never_went_out_fails_too() -> None:
    seen = HoursSeen(CN, (Attempt(at("2026-12-05T10:05"), "real time", "13800138000", False,
                                  "nothing reached the carrier within 10s"),), at("2026-12-05T10:05"))
    verdict = hours_verdict(seen)
    assert verdict.problem is not None and "outside every forbidden window, never reached the carrier" in \
        verdict.problem


def test_a_side_not_exercised_is_said_so_with_when_it_can_be_run_and_never_claimed() -> None:
    seen = HoursSeen(CN, (Attempt(at("2026-12-05T14:00"), "real time", "13800138000", True, "went out"),),
                     at("2026-12-05T14:00"))
    verdict = hours_verdict(seen)
    assert verdict.passed  # what was run passed ...
    assert verdict.figures["unexercised"] == [  # ... and the report names what was not
        "not exercised: a call inside a forbidden window (the call must be blocked); it can next be run from "
        "Sat 2026-12-05 21:05 (Asia/Shanghai): ccharness run --at 2026-12-05T21:05+08:00"]
