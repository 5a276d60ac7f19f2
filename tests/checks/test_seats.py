"""The seat-count verdict (工位数量) on hand-made observations: no call, no phone.

Times are seconds on the host's monotonic clock; the step's first INVITE is at 0.
"""

from __future__ import annotations

import pytest

from harness.checks.seats import (
    SeatCall,
    SeatOffer,
    SeatsWanted,
    double_booked,
    most_at_once,
    presented_call,
    seats_verdict,
    together,
)

WANT = SeatsWanted(seats=3, hold=3.0, start=0.0)


def call(n: int, agent: str | None, answered: float | None, ended: float | None = 10.0,
         heard: str = "") -> SeatCall:
    """Call s<n> from 100<n>, dialled at 0.1 n, queued 0.1 s later, answered by ``agent``."""
    return SeatCall(f"s{n}", f"100{n}", 0.1 * n, 0.1 * n + 0.1, ended, agent, answered, ended, heard)


def offer(agent: str, n: int, offered: float, answered: float | None, ended: float | None = 10.0) -> SeatOffer:
    return SeatOffer(agent, f"{agent}/in{n}", offered, answered, ended)


THREE = [call(1, "seat1", 1.0), call(2, "seat2", 1.2), call(3, "seat3", 1.5)]
THREE_OFFERS = [offer("seat1", 1, 0.5, 1.0), offer("seat2", 1, 0.7, 1.2), offer("seat3", 1, 0.9, 1.5)]
FOUND = {"s1": None, "s2": None, "s3": None}

CASES: list[tuple[str, list[SeatCall], list[SeatOffer], dict[str, str | None], str | None]] = [
    ("three seats, three agents, up together 8.5 s", THREE, THREE_OFFERS, FOUND, None),
    ("one seat short: the third caller waits on hold music",
     [call(1, "seat1", 1.0), call(2, "seat2", 1.2), call(3, None, None, None, "music 96 %")],
     THREE_OFFERS[:2], FOUND,
     "the platform served 2 of the 3 declared seats at once (工位数量): 2 calls talked to agents "
     "together, s3 from 1003 (dialled at +0.3 s) waited 11.5 s for an agent, hearing music 96 %, "
     "never answered by one"),
    ("served one after another: never three at once",
     [call(1, "seat1", 1.0, 3.0), call(2, "seat2", 1.2, 3.0), call(3, "seat3", 3.5)],
     THREE_OFFERS, FOUND,
     "the platform served 2 of the 3 declared seats at once (工位数量): 2 calls talked to agents "
     "together, the others one after another; the 3 conversations were never up at the same moment"),
    ("two calls on one seat, offered while it rang",
     [call(1, "seat1", 1.0), call(2, "seat1", 1.1), call(3, "seat3", 1.5)],
     [offer("seat1", 1, 0.5, 1.0), offer("seat1", 2, 0.6, 1.1), offer("seat3", 1, 0.9, 1.5)], FOUND,
     "agent seat1 answered 2 calls (s1, s2); an agent seat was offered a second call while busy "
     "(a seat booked twice): seat1/in2 was offered at +0.6 s while seat1/in1 rang"),
    ("a seat offered a second call while it talked, which it rejected",
     THREE, [*THREE_OFFERS, offer("seat2", 2, 2.0, None, 2.1)], FOUND,
     "an agent seat was offered a second call while busy (a seat booked twice): seat2/in2 was "
     "offered at +2.0 s while seat2/in1 talked"),
    ("up together too briefly",
     [call(1, "seat1", 1.0), call(2, "seat2", 1.2, 3.0), call(3, "seat3", 1.5)], THREE_OFFERS, FOUND,
     "all 3 conversations were up together for 1.5 s (+1.5 s to +3.0 s), expected at least 3 s"),
    ("a recording without the agent's marker",
     THREE, THREE_OFFERS, {**FOUND, "s2": "holds no marker of the agent"},
     "recording of s2: holds no marker of the agent"),
    ("a seat that rang, was left, and then took another call is not booked twice",
     THREE, [offer("seat1", 0, 0.2, None, 0.4), *THREE_OFFERS], FOUND, None),
]


@pytest.mark.parametrize(("calls", "offers", "recordings", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_seats_verdict(calls: list[SeatCall], offers: list[SeatOffer], recordings: dict[str, str | None],
                       expected: str | None) -> None:
    verdict = seats_verdict(WANT, calls, offers, recordings, until=11.9)
    assert verdict.problem == expected


def test_a_pass_carries_the_timeline_of_every_seat() -> None:
    figures = seats_verdict(WANT, THREE, THREE_OFFERS, FOUND, until=11.9).figures
    assert figures["timeline"][1] == {"call": "s2", "caller": "1002", "agent": "seat2", "dialled_s": 0.2,
                                      "queued_s": 0.3, "agent_answered_s": 1.2, "ended_s": 10.0}
    assert (figures["served_at_once"], figures["together_s"], figures["together_for_s"]) == (3, [1.5, 10.0], 8.5)
    assert (figures["agents"], figures["recordings_found"], figures["offers"]) == (["seat1", "seat2", "seat3"], 3, 3)


def test_most_at_once_counts_an_end_before_a_start_at_the_same_instant() -> None:
    assert most_at_once([call(1, "a", 1.0, 2.0), call(2, "b", 2.0, 3.0)]) == (1, 1.0)
    assert most_at_once([call(1, "a", 1.0, 2.5), call(2, "b", 2.0, 3.0)]) == (2, 2.0)


def test_together_needs_every_call_answered_by_an_agent() -> None:
    assert together([call(1, "a", 1.0), call(2, None, None)]) is None
    assert together([call(1, "a", 1.0, None), call(2, "b", 2.0, None)]) == (2.0, float("inf"))


def test_double_booked_names_the_leg_already_there_first() -> None:
    first, second = offer("a", 1, 1.0, 1.2, 5.0), offer("a", 2, 3.0, 3.1, 6.0)
    assert double_booked([second, first]) == [(first, second)]
    assert double_booked([offer("a", 1, 1.0, 1.2, 2.0), offer("a", 2, 2.0, 2.1)]) == []


BY_CALLER = {"1001": "callid-1", "1002": "callid-2"}


@pytest.mark.parametrize(("headers", "expected"), [
    ([("From", '"1002" <sip:1002@127.0.0.1>;tag=x'), ("P-Asserted-Identity", "<sip:1002@127.0.0.1>")], "callid-2"),
    ([("f", "<sip:worker0@127.0.0.1>"), ("P-Asserted-Identity", "<tel:1001>")], "callid-1"),  # PAI first
    ([("From", "<sip:1001@127.0.0.1>")], "callid-1"),
    ([("From", "<sip:worker0@127.0.0.1>")], None),  # no caller presented: attributed as expect_agent does
], ids=["From and PAI", "PAI over a worker's From", "From only", "none"])
def test_an_offer_is_tied_to_the_seat_call_whose_caller_it_presents(
        headers: list[tuple[str, str]], expected: str | None) -> None:
    assert presented_call(headers, BY_CALLER) == expected
