"""工位数量: the platform serves as many seats at once as the application declares.

Pure functions of what the phones saw when N callers called the seat queue
together and N agent seats stood ready (``harness/steps/expect_seats.py``):

* every call was answered by an agent (its attributed leg), each by a
  *distinct* agent -- N calls on fewer seats are not N seats;
* no agent was offered a call while another of its legs rang or talked (a seat
  booked twice, which a person with one headset cannot take);
* all N conversations were up together for at least ``hold`` seconds: the
  window from the last agent answer to the first end;
* every call's recording was found with both parties' markers (the step judges
  each recording with ``harness.checks.recording`` and hands the problems in).

When fewer than N were served at once, the problem says how many were, which
callers waited, how long, and what they heard meanwhile.  Times are readings
of the host's monotonic clock; the evidence gives them from the step's start.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from harness.checks.offer import Headers, uri_users, values
from harness.checks.verdict import Verdict, failed, passed


@dataclass(frozen=True)
class SeatCall:
    """One caller's call to the seat queue, and the agent leg attributed to it (if any)."""

    call: str  # the step's id for it: s1, s2, ...
    caller: str  # the caller's SIP user
    started: float  # the INVITE left
    answered: float | None = None  # the platform answered the caller (queue, hold music)
    ended: float | None = None  # the caller's call ended
    agent: str | None = None  # the seat whose leg is the call's
    agent_answered: float | None = None  # that leg was confirmed
    agent_ended: float | None = None  # that leg ended
    heard: str = ""  # what the caller heard while no agent had answered, e.g. "music 93 %"

    @property
    def talk_end(self) -> float:
        """When the conversation ended (either side), or never (``inf``) while up."""
        ends = [t for t in (self.ended, self.agent_ended) if t is not None]
        return min(ends) if ends else math.inf


@dataclass(frozen=True)
class SeatOffer:
    """One INVITE an agent seat's phone was offered."""

    agent: str
    leg: str  # e.g. "seat2/in1"
    offered: float
    answered: float | None = None
    ended: float | None = None


@dataclass(frozen=True)
class SeatsWanted:
    seats: int  # N: licence.seats, or the step's seats:
    hold: float  # how long all N must be up together, seconds
    start: float  # the step's first INVITE: the evidence's zero


def presented_call(headers: Headers, calls_by_caller: Mapping[str, str]) -> str | None:
    """The seat call (its Call-ID) whose caller an agent's offer presents -- the user of
    P-Asserted-Identity, else of From (every seat caller has its own number) -- or None."""
    for name in ("P-Asserted-Identity", "From"):
        for value in values(headers, name):
            found = next((calls_by_caller[u] for u in uri_users(value) if u in calls_by_caller), None)
            if found is not None:
                return found
    return None


def _secs(t: float | None, start: float) -> float | None:
    return None if t is None or math.isinf(t) else round(t - start, 3)


def most_at_once(calls: Sequence[SeatCall]) -> tuple[int, float]:
    """The most agent conversations up at the same moment, and the first moment it happened."""
    edges = sorted([(c.agent_answered, 1) for c in calls if c.agent_answered is not None]
                   + [(c.talk_end, -1) for c in calls if c.agent_answered is not None],
                   key=lambda e: (e[0], e[1]))  # an end before a start at the same instant
    best, at, now = 0, math.inf, 0
    for t, step in edges:
        now += step
        if now > best:
            best, at = now, t
    return best, at


def together(calls: Sequence[SeatCall]) -> tuple[float, float] | None:
    """The window when every call talked to its agent: last agent answer to first end."""
    if not calls or any(c.agent_answered is None for c in calls):
        return None
    begin = max(c.agent_answered for c in calls if c.agent_answered is not None)
    end = min(c.talk_end for c in calls)
    return (begin, end) if end > begin else None


def double_booked(offers: Sequence[SeatOffer]) -> list[tuple[SeatOffer, SeatOffer]]:
    """(the leg already there, the leg offered on top of it) for each seat booked twice."""
    found = []
    for later in offers:
        busy = next((o for o in offers if o is not later and o.agent == later.agent
                     and o.offered <= later.offered < (o.ended if o.ended is not None else math.inf)
                     and (o.offered, o.leg) < (later.offered, later.leg)), None)
        if busy is not None:
            found.append((busy, later))
    return found


def _shared_seats(calls: Sequence[SeatCall]) -> list[str]:
    by_agent: dict[str, list[str]] = {}
    for c in calls:
        if c.agent is not None and c.agent_answered is not None:
            by_agent.setdefault(c.agent, []).append(c.call)
    return [f"agent {a} answered {len(cs)} calls ({', '.join(cs)})" for a, cs in by_agent.items() if len(cs) > 1]


def _waited(calls: Sequence[SeatCall], start: float, until: float) -> list[str]:
    out = []
    for c in calls:
        if c.agent_answered is not None:
            continue
        since = c.answered if c.answered is not None else c.started
        heard = f", hearing {c.heard}" if c.heard else ""
        state = "the platform never answered it" if c.answered is None else f"waited {until - since:.1f} s " \
            f"for an agent{heard}, never answered by one"
        out.append(f"{c.call} from {c.caller} (dialled at +{c.started - start:.1f} s) {state}")
    return out


def _short(want: SeatsWanted, calls: Sequence[SeatCall], until: float) -> str | None:
    served, _ = most_at_once(calls)
    if served >= want.seats:
        return None
    waited = _waited(calls, want.start, until)
    return (f"the platform served {served} of the {want.seats} declared seats at once (工位数量): "
            f"{served} calls talked to agents together, " + ("; ".join(waited) or "the others one after another"))


def _booked(offers: Sequence[SeatOffer], start: float) -> str | None:
    twice = double_booked(offers)
    if not twice:
        return None
    said = [f"{later.leg} was offered at +{later.offered - start:.1f} s while {busy.leg} "
            f"{'talked' if busy.answered is not None and busy.answered <= later.offered else 'rang'}"
            for busy, later in twice]
    return "an agent seat was offered a second call while busy (a seat booked twice): " + "; ".join(said)


def _window(want: SeatsWanted, calls: Sequence[SeatCall]) -> str | None:
    window = together(calls)
    if window is None and all(c.agent_answered is not None for c in calls):
        return f"the {want.seats} conversations were never up at the same moment"
    if window is not None and window[1] - window[0] < want.hold:
        return (f"all {want.seats} conversations were up together for {window[1] - window[0]:.1f} s "
                f"(+{window[0] - want.start:.1f} s to +{window[1] - want.start:.1f} s), expected at "
                f"least {want.hold:g} s")
    return None


def timeline(calls: Sequence[SeatCall], start: float) -> list[dict[str, object]]:
    """One row per seat call: when it was dialled, answered, talked and ended, from ``start``."""
    return [{"call": c.call, "caller": c.caller, "agent": c.agent, "dialled_s": _secs(c.started, start),
             "queued_s": _secs(c.answered, start), "agent_answered_s": _secs(c.agent_answered, start),
             "ended_s": _secs(c.talk_end, start), **({"heard": c.heard} if c.heard else {})}
            for c in calls]


def seats_verdict(want: SeatsWanted, calls: Sequence[SeatCall], offers: Sequence[SeatOffer],
                  recordings: Mapping[str, str | None], until: float) -> Verdict:
    """Every problem with N seats served at once, or the figures of a pass.

    ``recordings`` is each call's recording problem (None: found, both markers); a call
    missing from it was not looked for.  ``until`` is when the step stopped waiting."""
    problems = [p for p in (_short(want, calls, until), *_shared_seats(calls), _booked(offers, want.start),
                            _window(want, calls)) if p]
    problems += [f"recording of {call}: {why}" for call, why in recordings.items() if why]
    if problems:
        return failed("; ".join(problems))
    return passed(figures(want, calls, offers, recordings))


def figures(want: SeatsWanted, calls: Sequence[SeatCall], offers: Sequence[SeatOffer],
            recordings: Mapping[str, str | None]) -> dict[str, object]:
    """The evidence of the step, pass or fail: the N conversations on one timeline."""
    window = together(calls)
    served, _ = most_at_once(calls)
    return {
        "seats": want.seats, "hold_s": want.hold, "served_at_once": served,
        "agents": sorted({c.agent for c in calls if c.agent and c.agent_answered is not None}),
        "together_s": None if window is None else [_secs(window[0], want.start), _secs(window[1], want.start)],
        "together_for_s": None if window is None or math.isinf(window[1]) else round(window[1] - window[0], 3),
        "offers": len(offers), "recordings_found": sum(1 for why in recordings.values() if why is None),
        "timeline": timeline(calls, want.start),
    }
