"""The offer an agent is sent for a caller's call: what its INVITE carries, and how soon it came.

A call centre tells the agent's softphone who is calling (the caller's number
in ``From`` and/or ``P-Asserted-Identity``, RFC 3325: the screen pop) and,
often, which queue the call came from (``X-Queue`` and the like, set by the
dialplan).  The harness's agent phones keep every header of each INVITE they
are offered (credentials never); these verdicts read them.

Header names are compared as SIP compares them: without regard to case, and
with the compact forms of RFC 3261 7.3.3 (``f`` is ``From``).  A ``*_user``
expectation is a regular expression the URI's user part must match whole (a
``tel:`` URI's number counts as its user); a header expectation is searched in
the header's value (anchor it with ``^...$``), and ``None`` means the header
must be absent.  Several headers of one name pass when any of them matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from harness.checks.verdict import Verdict, failed, passed

# RFC 3261 7.3.3 and later RFCs' compact forms (IANA's SIP header registry).
COMPACT = {"a": "accept-contact", "b": "referred-by", "c": "content-type", "d": "request-disposition",
           "e": "content-encoding", "f": "from", "i": "call-id", "j": "reject-contact", "k": "supported",
           "l": "content-length", "m": "contact", "o": "event", "r": "refer-to", "s": "subject",
           "t": "to", "u": "allow-events", "v": "via", "x": "session-expires", "y": "identity"}
_URI_USER = re.compile(r"(?:sips?:([^@;>?\s]+)@|tel:([^;>?,\s]+))", re.IGNORECASE)
Headers = Sequence[Sequence[str]]  # [(name, value), ...] as the phone recorded them
Part = Literal["value", "user"]


def canonical(name: str) -> str:
    """A header name as SIP compares it: lower case, a compact form spelled out."""
    lowered = name.strip().lower()
    return COMPACT.get(lowered, lowered)


def values(headers: Headers, name: str) -> list[str]:
    """Every value of header ``name`` (any case, compact or not), in the order sent."""
    wanted = canonical(name)
    return [value for header, value in headers if canonical(header) == wanted]


def uri_users(value: str) -> list[str]:
    """The user parts of the URIs in a header value (a ``tel:`` URI's number), in order."""
    return [m[1] or m[2] for m in _URI_USER.finditer(value)]


@dataclass(frozen=True)
class HeaderRule:
    """One expectation on the offer: a header's value, or its URI's user, matches ``pattern``."""

    header: str  # as the scenario names it: From, P-Asserted-Identity, X-Queue
    pattern: str | None  # a regular expression; None: the header must be absent
    part: Part = "value"  # "user": the URI user part, matched whole

    def label(self) -> str:
        return f"{self.header} user" if self.part == "user" else self.header


@dataclass(frozen=True)
class Offer:
    """One agent leg offered for the call, as its phone saw it."""

    leg: str  # e.g. "agent1/in2"
    agent: str
    offered: float  # when its INVITE reached the agent phone (host monotonic clock)
    headers: tuple[tuple[str, str], ...]


def _said(seen: list[str]) -> str:
    return " / ".join(repr(s) for s in seen) if seen else "absent"


def rule_problem(rule: HeaderRule, headers: Headers) -> str | None:
    """Why the offer's headers fail ``rule``: the header, what was expected and what came; or None."""
    found = values(headers, rule.header)
    if rule.pattern is None:
        return None if not found else f"{rule.header}: expected absent, came {_said(found)}"
    if rule.part == "value":
        if any(re.search(rule.pattern, value) for value in found):
            return None
        return f"{rule.header}: expected to match {rule.pattern!r}, came {_said(found)}"
    users = [user for value in found for user in uri_users(value)]
    if any(re.fullmatch(rule.pattern, user) for user in users):
        return None
    came = _said(users) if users or not found else f"no URI in {_said(found)}"
    return f"{rule.label()}: expected to be {rule.pattern!r}, came {came}"


def shown(headers: Headers) -> list[str]:
    """The offer's headers as the report lists them: ``Name: value`` (credentials were never kept)."""
    return [f"{name}: {value}" for name, value in headers]


def offer_headers_verdict(offer: Offer, rules: Iterable[HeaderRule], since: float) -> Verdict:
    """Whether the INVITE of ``offer`` carries what ``rules`` expect; every miss at once.

    ``since``: when the caller's call began, for the offer's time in the figures.
    """
    rules = tuple(rules)
    problems = [p for p in (rule_problem(rule, offer.headers) for rule in rules) if p]
    figures = {"agent": offer.agent, "leg": offer.leg, "offered_after_s": round(offer.offered - since, 3),
               "checked": [rule.label() for rule in rules], "headers": shown(offer.headers)}
    if problems:  # the headers seen go with a fail too, in the figures: the reader sees what came
        return Verdict(f"the offer to {offer.agent} ({offer.leg}) does not carry what was expected: "
                       f"{'; '.join(problems)}", figures)
    return passed(figures)


def _secs(dt: float) -> str:
    return f"{dt:.1f} s" if abs(dt) >= 0.05 else f"{dt:.2f} s"


def queue_entered_verdict(since: float, since_what: str, offers: Sequence[Offer], within: float,
                          queue: str | None = None, queue_header: str = "X-Queue") -> Verdict:
    """Whether an agent was offered the call within ``within`` seconds of ``since``, from ``queue``.

    ``since_what`` names the moment (``the key press``, ``the answer``); ``offers``
    are the call's offers seen so far.  The queue is checked against ``queue_header``
    of the first offer where the platform sends one (compared without regard to case).
    """
    after = sorted((o for o in offers if o.offered >= since), key=lambda o: (o.offered, o.leg))
    first = after[0] if after else None
    if first is None or first.offered - since > within:
        late = f"; the first came {_secs(first.offered - since)} after it ({first.leg})" if first else ""
        earlier = [o.leg for o in offers if o.offered < since]
        before = f"; offered before it: {', '.join(earlier)}" if earlier else ""
        return failed(f"no agent was offered the call within {within:g}s of {since_what}{late}{before}")
    named = values(first.headers, queue_header)
    if queue is not None and named and not any(v.strip().lower() == queue.lower() for v in named):
        return failed(f"the call was offered to {first.agent} ({first.leg}) from queue "
                      f"{_said(named)} ({queue_header} on its INVITE), expected {queue!r}")
    return passed({"from": since_what, "delay_s": round(first.offered - since, 3), "within_s": within,
                   "agent": first.agent, "leg": first.leg, "queue_expected": queue,
                   "queue_named": named[0] if named else None, "queue_header": queue_header})
