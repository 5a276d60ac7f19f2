"""ACD leg attribution: which agent leg, if any, answered a caller's call.

An agent phone can hold legs that have nothing to do with the call being
judged: under ``ringall`` two agents may both answer, a retry or a
ring-no-answer failover offers the same call again, and a call placed earlier
in the scenario may still be up. A leg counts for a call only if

* it is not attributed to another of the scenario's calls already,
* the platform, where it names the caller's Call-ID on the agent's INVITE,
  named this call (a leg tagged for another call never counts; once some leg
  carries this call's tag, untagged legs do not count either),
* it was offered once the caller's call had started -- no negative offset:
  an INVITE that reached the agent before our caller dialled belongs to
  something else -- and, when the call has ended, not after its end.

Of those, the first to be answered is the call's. Every leg seen gets its
reason, so the evidence shows why each was taken or left.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

# A header that names a call by Call-ID: X-Caller-Call-ID, X-Original-CallID, X-CID-Call-Id, ...
_CALL_ID_HEADER = re.compile(r"call-?id", re.IGNORECASE)


@dataclass(frozen=True)
class LegSeen:
    """One agent leg as its phone saw it; times are readings of the host's monotonic clock."""

    name: str  # how the evidence names it, e.g. "agent2/in3"
    agent: str
    offered: float  # its INVITE reached the agent phone
    answered: float | None = None  # it was confirmed (200 OK and ACK), if ever
    tags: tuple[str, ...] = ()  # caller Call-IDs the platform named on its INVITE
    taken_by: str | None = None  # the scenario call it is already attributed to


@dataclass(frozen=True)
class Attribution:
    """The chosen leg (or None) and, for every leg seen, why it was chosen or left."""

    chosen: LegSeen | None
    reasons: tuple[tuple[LegSeen, str], ...]
    candidates: tuple[LegSeen, ...]  # legs offered in the call and not attributed elsewhere

    def evidence(self) -> dict[str, str]:
        """``{leg name: reason}`` for the step's measurements."""
        return {leg.name: reason for leg, reason in self.reasons}

    def describe(self) -> str:
        """``agent1/in1: offered 1.8 s before the call began; agent2/in2: ...`` or ``none``."""
        return "; ".join(f"{leg.name}: {reason}" for leg, reason in self.reasons) or "none"


def call_id_tags(headers: Mapping[str, str], known: Collection[str] = ()) -> tuple[str, ...]:
    """The caller Call-IDs an agent INVITE's X- headers name.

    A header whose name says Call-ID counts whatever its value; any other
    X- header counts where its value is the Call-ID of a ``known`` call.
    """
    tags = []
    for name, value in headers.items():
        value = value.strip()
        if value and (_CALL_ID_HEADER.search(name) or value in known) and value not in tags:
            tags.append(value)
    return tuple(tags)


def _rejection(leg: LegSeen, start: float, end: float, call_id: str | None) -> str | None:
    if leg.taken_by is not None:
        return f"already attributed to {leg.taken_by}"
    if leg.tags and call_id not in leg.tags:
        return f"tagged for another call (Call-ID {leg.tags[0]})"
    if leg.offered < start:
        return f"offered {_secs(start - leg.offered)} before the call began"
    if leg.offered > end:
        return f"offered {_secs(leg.offered - end)} after the call ended"
    return None


def _secs(dt: float) -> str:
    tenths = f"{dt:.1f}"
    return f"{dt:.2f} s" if tenths == "0.0" else f"{tenths} s"  # never "0.0 s before"


def _at(t: float, start: float) -> str:
    return f"+{_secs(t - start)}"


def attribute(start: float, call_id: str | None, legs: Iterable[LegSeen],
              end: float = math.inf) -> Attribution:
    """Which of ``legs`` answered the call that started at ``start`` (and ended at ``end``)."""
    seen = sorted(legs, key=lambda leg: (leg.offered, leg.name))
    reasons: dict[str, str] = {}
    open_legs = []
    for leg in seen:
        why = _rejection(leg, start, end, call_id)
        if why is None:
            open_legs.append(leg)
        else:
            reasons[leg.name] = why
    tagged = [leg for leg in open_legs if call_id is not None and call_id in leg.tags]
    if tagged:
        for leg in open_legs:
            if leg not in tagged:
                reasons[leg.name] = "untagged, while the platform tagged this call's offers"
        open_legs = tagged
    answered = sorted((leg for leg in open_legs if leg.answered is not None),
                      key=lambda leg: (leg.answered, leg.offered, leg.name))
    chosen = answered[0] if answered else None
    for leg in open_legs:
        if leg.answered is None:
            reasons[leg.name] = f"offered {_at(leg.offered, start)}, not answered"
        elif leg is chosen:
            reasons[leg.name] = (f"attributed: first answered after offer (offered "
                                 f"{_at(leg.offered, start)}, answered {_at(leg.answered, start)})")
        else:
            assert chosen is not None and leg.answered is not None
            reasons[leg.name] = (f"answered {_at(leg.answered, start)}, after {chosen.name} "
                                 "had answered")
    return Attribution(chosen, tuple((leg, reasons[leg.name]) for leg in seen), tuple(open_legs))
