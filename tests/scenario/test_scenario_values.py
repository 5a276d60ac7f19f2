"""The small languages inside scenario values: durations, DTMF digits, destinations."""

from __future__ import annotations

import pytest

from harness.spec.values import BadValue, Destination, parse_destination, parse_digits, parse_duration


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        ("5s", 5.0),
        ("500ms", 0.5),
        ("1.5s", 1.5),
        ("2m", 120.0),
        ("1h", 3600.0),
        (3, 3.0),
        (0.25, 0.25),
        (".5s", 0.5),
    ],
)
def test_duration(written: str | float, seconds: float) -> None:
    assert parse_duration(written) == seconds


@pytest.mark.parametrize(
    ("written", "message", "hint"),
    [
        ("5 sec", "'5 sec' is not a duration", "write 5s, 500ms or 2m"),
        ("fast", "'fast' is not a duration", "write 5s, 500ms or 2m"),
        ("-1s", "-1s: must be more than 0", ""),
        (0, "0: must be more than 0", ""),
        ("61m", "61m: must be at most 1 hour", ""),
    ],
)
def test_bad_duration(written: str | float, message: str, hint: str) -> None:
    with pytest.raises(BadValue) as err:
        parse_duration(written)
    assert (err.value.message, err.value.hint) == (message, hint)


def test_zero_duration_where_allowed() -> None:
    assert parse_duration("0s", allow_zero=True) == 0.0
    with pytest.raises(BadValue, match="must be at least 0"):
        parse_duration("-0.5", allow_zero=True)


def test_digits() -> None:
    assert parse_digits("0123456789*#ABCD") == "0123456789*#ABCD"


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("1x", "'x' is not a DTMF digit"),
        ("12ab", "'a', 'b' are not DTMF digits"),
        ("", "no digits"),
    ],
)
def test_bad_digits(written: str, message: str) -> None:
    with pytest.raises(BadValue) as err:
        parse_digits(written)
    assert (err.value.message, err.value.hint) == (message, "use 0-9, *, #, A-D")


@pytest.mark.parametrize(
    ("written", "destination"),
    [
        ("did:main", Destination("did", "main")),
        ("agent:alice", Destination("agent", "alice")),
        ("sip:100@127.0.0.1:5070", Destination("uri", "sip:100@127.0.0.1:5070")),
        ("sips:queue@cc.example.org", Destination("uri", "sips:queue@cc.example.org")),
        ("100", Destination("user", "100")),
        ("*97", Destination("user", "*97")),
        ("sales.queue", Destination("user", "sales.queue")),
    ],
)
def test_destination(written: str, destination: Destination) -> None:
    assert parse_destination(written) == destination


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("did:", "'did:' names no did"),
        ("agent:", "'agent:' names no agent"),
        ("sip:", "'sip:' is not a SIP URI"),
        ("sip:a b", "'sip:a b' is not a SIP URI"),
        ("tel:+4420", "'tel:+4420' is not a destination"),
        ("call me", "'call me' is not a destination"),
    ],
)
def test_bad_destination(written: str, message: str) -> None:
    with pytest.raises(BadValue) as err:
        parse_destination(written)
    assert err.value.message == message
