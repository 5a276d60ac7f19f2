"""Parsers for the small languages inside scenario values: durations, DTMF, destinations.

Each parser returns the value or raises ``BadValue`` with a message and a
hint written for a telecom engineer; the loader places them on the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

MAX_DURATION = 3600.0
DTMF_DIGITS = "0123456789*#ABCD"

_DURATION = re.compile(r"^\s*(-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))\s*(ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
_USER_PART = re.compile(r"^[A-Za-z0-9._+*#-]+$")


@dataclass(frozen=True)
class Destination:
    """Where a call goes: ``did:NAME``, ``agent:NAME``, a ``sip:`` URI, or a bare user part."""

    kind: Literal["did", "agent", "uri", "user"]
    value: str


class BadValue(ValueError):
    """A value that does not parse: ``message`` says why, ``hint`` how to write it."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def parse_duration(value: str | float, allow_zero: bool = False) -> float:
    """``5s``, ``500ms``, ``1.5s``, ``2m``, ``1h`` or a bare number of seconds -> seconds.

    Must be more than 0 (or at least 0 with ``allow_zero``) and at most an hour.
    """
    text = str(value)
    if isinstance(value, bool):
        raise BadValue(f"{text.lower()} is not a duration", "write 5s, 500ms or 2m")
    match = _DURATION.match(text)
    if match is None:
        raise BadValue(f"'{text}' is not a duration", "write 5s, 500ms or 2m")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise BadValue(f"{text}: must be {'at least' if allow_zero else 'more than'} 0")
    if seconds > MAX_DURATION:
        raise BadValue(f"{text}: must be at most 1 hour")
    return seconds


_SHARE_HINT = "write a percentage such as 99% or 0.5%, or a number from 0 to 1"
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


def parse_share(value: Any) -> float:
    """``99%``, ``0.5 %`` or a number from 0 to 1 -> a share from 0 to 1."""
    if isinstance(value, bool):
        raise BadValue(f"{value} is not a share", _SHARE_HINT)
    if isinstance(value, (int, float)):
        share = float(value)
    else:
        match = _PERCENT.match(str(value))
        if match is None:
            raise BadValue(f"'{value}' is not a share", _SHARE_HINT)
        share = float(match.group(1)) / 100
    if not 0.0 <= share <= 1.0:
        raise BadValue(f"{value} is not between 0 and 100%", _SHARE_HINT)
    return share


def parse_digits(text: str) -> str:
    """Check a DTMF digit string: 0-9, ``*``, ``#`` and ``A``-``D`` (RFC 4733 events 0-15)."""
    if not text:
        raise BadValue("no digits", "use 0-9, *, #, A-D")
    bad = list(dict.fromkeys(c for c in text if c not in DTMF_DIGITS))
    if len(bad) == 1:
        raise BadValue(f"'{bad[0]}' is not a DTMF digit", "use 0-9, *, #, A-D")
    if bad:
        shown = ", ".join(f"'{c}'" for c in bad)
        raise BadValue(f"{shown} are not DTMF digits", "use 0-9, *, #, A-D")
    return text


def parse_destination(text: str) -> Destination:
    """``did:NAME``, ``agent:NAME``, a ``sip:``/``sips:`` URI, or a bare user part such as ``100``.

    Only the form is checked here; whether the DID or agent exists is the
    loader's business, as it knows the target and the scenario.
    """
    hint = 'write did:NAME, agent:NAME, a sip: URI, or a user part such as "100"'
    for kind in ("did", "agent"):
        if text.startswith(f"{kind}:"):
            name = text[len(kind) + 1 :]
            if not name:
                raise BadValue(f"'{text}' names no {kind}", hint)
            return Destination(kind, name)
    if text.startswith(("sip:", "sips:")):
        if text.endswith(":") or any(c.isspace() for c in text):
            raise BadValue(f"'{text}' is not a SIP URI", "write sip:user@host")
        return Destination("uri", text)
    if _USER_PART.match(text):
        return Destination("user", text)
    raise BadValue(f"'{text}' is not a destination", hint)
