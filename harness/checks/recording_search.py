"""Which recordings to scan for a call's audio markers, in what order, and what was left out.

When a platform cannot tie a recording to the call's SIP Call-ID, the recording
check downloads the recordings of the call's time window and scans them for
the call's markers.  A busy spool holds hundreds of them, so the order matters:
:func:`plan` puts first the recordings whose time evidence lies closest to the
call (the call's own recording started during it and was last written as it
ended), and last those that carry no time at all.  Each recording's time is the
best evidence there is, in this order:

1. the time its name carries (``${UNIQUEID}``, a ``{start}`` stamp);
2. the start time the platform keeps for it;
3. when it was last written or stored (file modification time, HTTP
   ``Last-Modified``, the platform's stored time).

A recording whose start time -- by its name or by the platform -- lies outside
the call's window, or that was last written before the window opened, cannot
be the call's and is skipped; so is one already scanned for the same markers.
What was scanned and what was skipped, and why, is kept in a
:class:`SearchReport`, which words the evidence.  Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

ALREADY_SCANNED = "already scanned for these markers"
OUTSIDE_BY_NAME = "outside the call's window by its name's time"
OUTSIDE_BY_PLATFORM = "outside the call's window by the platform's start time"
WRITTEN_BEFORE = "last written before the call's window opened"
TIED_ELSEWHERE = "tied by the platform to another Call-ID"
NOT_REACHED = "not reached before the deadline"
UNREADABLE = "not readable as audio"
NAMES_SHOWN = 5  # names listed in a message, per group

Key = tuple[str, Any]  # a recording as downloaded: (name, size) or (name, last written)


@dataclass(frozen=True)
class Candidate:
    """A recording of the window as plain data: its name and whatever dates it."""

    name: str
    size: int | None = None  # bytes, if the platform says
    named_utc: datetime | None = None  # the time its name carries
    named_resolution_s: float = 1.0  # how finely the name writes it (a date alone: a day)
    started_utc: datetime | None = None  # the start time the platform keeps
    written_utc: datetime | None = None  # last written or stored: mtime, Last-Modified
    call_id: str | None = None  # the Call-ID the platform ties it to, if any

    @property
    def key(self) -> Key:
        """What identifies the file downloaded: name and size, or name and last write."""
        return (self.name, self.size if self.size is not None else self.written_utc)

    @property
    def evidence(self) -> datetime | None:
        """The best time there is for it (see the module's docstring)."""
        return self.named_utc or self.started_utc or self.written_utc


@dataclass(frozen=True)
class CallWindow:
    """Where the call's recording may lie: it started within [since, until) (clock skew
    included), and the call itself ran from ``started`` to ``ended``."""

    since: datetime
    until: datetime
    started: datetime
    ended: datetime

    def distance(self, start: datetime, end: datetime | None = None) -> timedelta:
        """How far the moment ``start`` (or the span to ``end``) lies from the call: zero when
        they overlap."""
        if (end or start) < self.started:
            return self.started - (end or start)
        return max(timedelta(0), start - self.ended)


@dataclass(frozen=True)
class Skip:
    name: str
    reason: str


@dataclass(frozen=True)
class Plan:
    """The candidates to scan, best first, and those left out with the reason."""

    order: tuple[Candidate, ...]
    skipped: tuple[Skip, ...]


def _outside(c: Candidate, w: CallWindow) -> str | None:
    if c.named_utc is not None:
        inside = w.since < c.named_utc + timedelta(seconds=c.named_resolution_s) and \
            c.named_utc < w.until
        return None if inside else OUTSIDE_BY_NAME
    if c.started_utc is not None:
        return None if w.since <= c.started_utc < w.until else OUTSIDE_BY_PLATFORM
    if c.written_utc is not None and c.written_utc < w.since:
        return WRITTEN_BEFORE
    return None


def _rank(c: Candidate, w: CallWindow) -> tuple[bool, bool, timedelta, timedelta, float, str]:
    """Untied before tied to another call; timed before untimed; closest to the call by the
    best evidence, then (a name written to the minute ties many) by when it was last
    written; then the newer; then by name, so the order never depends on the listing's."""
    moment = c.evidence
    if moment is None:
        return (c.call_id is not None, True, timedelta(0), timedelta(0), 0.0, c.name)
    span = c.named_utc + timedelta(seconds=c.named_resolution_s) if c.named_utc else None
    written = w.distance(c.written_utc) if c.written_utc else timedelta.max
    return (c.call_id is not None, False, w.distance(moment, span), written, -moment.timestamp(),
            c.name)


def plan(candidates: Iterable[Candidate], window: CallWindow, done: Collection[Key] = (),
         others_too: bool = True) -> Plan:
    """The order to scan ``candidates`` in for a call in ``window``, closest to the call first.

    ``done`` holds the keys already scanned for the same markers; a recording
    tied to another Call-ID is scanned only with ``others_too`` (a platform
    that ties recordings to calls may still have been given a rewritten
    Call-ID).  A name listed twice is planned once.
    """
    order: dict[Key, Candidate] = {}
    skipped: list[Skip] = []
    for c in candidates:
        reason = _outside(c, window)
        if reason is None and c.key in done:
            reason = ALREADY_SCANNED
        if reason is None and c.call_id is not None and not others_too:
            reason = TIED_ELSEWHERE
        if reason is not None:
            skipped.append(Skip(c.name, reason))
        else:
            order.setdefault(c.key, c)
    ranked = sorted(order.values(), key=lambda c: _rank(c, window))
    return Plan(tuple(ranked), tuple(skipped))


@dataclass
class SearchReport:
    """What one marker search examined: names scanned in order, the rest with a reason."""

    scanned: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # name -> the latest reason
    listings: int = 0  # how many times the platform's recordings were listed
    seconds: float = 0.0  # how long it looked

    def note(self, skips: Iterable[Skip]) -> None:
        for skip in skips:
            self.skipped[skip.name] = skip.reason

    def left(self) -> dict[str, str]:
        """The recordings never scanned in this search, with why."""
        return {n: r for n, r in self.skipped.items() if n not in self.scanned}

    def summary(self) -> str:
        """``scanned 2 recording(s) (b, a) in 4.1s over 3 listings; skipped 3: 2 outside ...
        (c, d), 1 not reached before the deadline (e)``."""
        text = (f"scanned {len(self.scanned)} recording(s){_names(self.scanned)} in "
                f"{self.seconds:.1f}s over {self.listings} listing(s)")
        left = self.left()
        if not left:
            return text
        groups = Counter(left.values())
        parts = [f"{count} {reason}{_names([n for n, r in left.items() if r == reason])}"
                 for reason, count in groups.most_common()]
        return f"{text}; skipped {len(left)}: " + ", ".join(parts)

    def measurements(self) -> dict[str, Any]:
        left = self.left()
        return {"scanned": len(self.scanned), "scanned_names": self.scanned[:NAMES_SHOWN],
                "skipped": dict(Counter(left.values())), "listings": self.listings,
                "searched_s": round(self.seconds, 2)}


def _names(names: list[str]) -> str:
    if not names:
        return ""
    more = f", +{len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN else ""
    return f" ({', '.join(names[:NAMES_SHOWN])}{more})"


@dataclass
class Downloads:
    """What a scenario run has downloaded and scanned, so that each recording is downloaded
    once per run however many ``expect_recording`` steps look through the same spool."""

    files: dict[Key, Any] = field(default_factory=dict)  # key -> the local file (a Path)
    scanned: dict[tuple[str, ...], set[Key]] = field(default_factory=dict)  # marker ids -> keys

    def done(self, markers: tuple[str, ...]) -> set[Key]:
        """The keys already scanned for these markers without finding them."""
        return self.scanned.setdefault(markers, set())
