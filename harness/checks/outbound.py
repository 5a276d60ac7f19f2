"""Outbound calls as the carrier saw them: the number dialled and the caller ID presented.

A call centre's outbound calls leave over a trunk; the harness's carrier plays
the PSTN side of it and keeps, for every INVITE it is offered, the request URI
and every header.  These verdicts read those observations alone.

Caller ID (主叫号码): MIIT's 2020 notice on call-centre management
(工信部信管〔2020〕81号) forbids changing or hiding the access number, and the
anti-telecom-fraud law (2022, arts. 13-14) asks that the real calling number be
transmitted.  So the number presented -- the ``From`` URI's user and every
``P-Asserted-Identity`` (RFC 3325) and ``Remote-Party-ID`` number -- must be the
company's registered number, not withheld (``Privacy: id``/``user``/``header``,
RFC 3323/3325; an anonymous ``From``; ``Remote-Party-ID;privacy=full``), not an
agent's extension, and the same on every call.  Numbers are compared as
written, so a profile names its number the way its platform sends it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from harness.checks.offer import uri_users, values
from harness.checks.verdict import Verdict, failed, passed

WITHHOLDING = ("id", "user", "header")  # Privacy values that hide who calls (RFC 3323 4.2, RFC 3325 9.3)
_ANONYMOUS = re.compile(r"(^|[<\s:\"])anonymous(@|\s*\"|$)|anonymous\.invalid", re.IGNORECASE)
_RPID_HIDDEN = re.compile(r";\s*privacy\s*=\s*\"?(full|uri|name)", re.IGNORECASE)


@dataclass(frozen=True)
class CarrierCall:
    """One INVITE the carrier was offered, as its phone recorded it."""

    leg: str  # e.g. "carrier/in2"
    number: str  # the request URI's user part: the number the platform dialled
    request_uri: str
    headers: tuple[tuple[str, str], ...]
    offered: float  # when the INVITE arrived (host monotonic clock)
    wall: float  # the same moment, UTC epoch seconds
    answered: float | None = None  # when the carrier answered it, if it did
    status: int | None = None  # its final status, once ended (200 if it was answered)


@dataclass(frozen=True)
class Presented:
    """Who the call says it is from, header by header."""

    from_user: str | None
    from_value: str | None
    pai: tuple[str, ...]  # the numbers of P-Asserted-Identity
    rpid: tuple[str, ...]  # the numbers of Remote-Party-ID
    privacy: tuple[str, ...]  # Privacy tokens, lower case

    def numbers(self) -> list[tuple[str, str]]:
        """``(header, number)`` for every number presented, From first."""
        found = [("From", self.from_user)] if self.from_user else []
        return found + [("P-Asserted-Identity", n) for n in self.pai] + [("Remote-Party-ID", n) for n in self.rpid]


def uri_user(uri: str) -> str:
    """The user part of a SIP or tel URI (``sip:9138@host;x`` -> ``9138``); "" if none."""
    users = uri_users(uri if "<" in uri or uri.startswith(("sip", "tel")) else f"sip:{uri}")
    return users[0] if users else ""


def presented(headers: Sequence[Sequence[str]]) -> Presented:
    """The identity headers of an INVITE, read as the checks compare them."""
    froms = values(headers, "From")
    from_users = uri_users(froms[0]) if froms else []
    privacy = tuple(token.strip().lower() for v in values(headers, "Privacy")
                    for token in v.split(";") if token.strip())
    return Presented(
        from_user=from_users[0] if from_users else None,
        from_value=froms[0] if froms else None,
        pai=tuple(u for v in values(headers, "P-Asserted-Identity") for u in uri_users(v)),
        rpid=tuple(u for v in values(headers, "Remote-Party-ID") for u in uri_users(v)),
        privacy=privacy,
    )


def withheld(p: Presented, headers: Sequence[Sequence[str]]) -> str | None:
    """How the call hides its caller ID, in words; None when it shows it."""
    hiding = [t for t in p.privacy if t in WITHHOLDING]
    if hiding:
        return f"Privacy: {'; '.join(p.privacy)} asks the network to withhold the caller's identity"
    if p.from_value is not None and _ANONYMOUS.search(p.from_value):
        return f"From is anonymous ({p.from_value})"
    hidden = [v for v in values(headers, "Remote-Party-ID") if _RPID_HIDDEN.search(v)]
    if hidden:
        return f"Remote-Party-ID asks for privacy ({hidden[0]})"
    if not p.numbers():
        return "no number is presented in From, P-Asserted-Identity or Remote-Party-ID"
    return None


def _when(wall: float) -> str:
    return datetime.fromtimestamp(wall, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def call_figures(call: CarrierCall, since: float) -> dict[str, object]:
    """What the carrier saw of ``call``, as the report lists it (``since``: when the attempt began)."""
    p = presented(call.headers)
    return {"leg": call.leg, "number": call.number, "request_uri": call.request_uri,
            "from": p.from_value, "pai": list(values(call.headers, "P-Asserted-Identity")),
            "rpid": list(values(call.headers, "Remote-Party-ID")), "privacy": list(values(call.headers, "Privacy")),
            "offered_utc": _when(call.wall), "offered_after_s": round(call.offered - since, 3),
            "answered": call.answered is not None, "status": call.status}


def first_call(calls: Iterable[CarrierCall], number: str, since: float) -> CarrierCall | None:
    """The first call offered to the carrier for ``number`` since ``since``."""
    return min((c for c in calls if c.number == number and c.offered >= since),
               key=lambda c: c.offered, default=None)


def arrival_verdict(calls: Sequence[CarrierCall], number: str, since: float, within: float,
                    what: str) -> Verdict:
    """Whether ``what`` (``agent1's call``) reached the carrier for ``number`` within ``within`` s.

    A miss names the numbers the carrier was called for instead (a dial prefix left on,
    a digit dropped), or that nothing came at all.
    """
    call = first_call(calls, number, since)
    if call is not None and call.offered - since <= within:
        return passed(call_figures(call, since))
    late = f"; it came {call.offered - since:.1f} s after" if call is not None else ""
    others = sorted({c.number for c in calls if c.offered >= since and c.number != number})
    instead = f"; the carrier was called for {', '.join(others)} instead" if others else \
        "; the carrier was offered no call at all" if call is None else ""
    return failed(f"{what} did not reach the carrier for {number} within {within:g}s{late}{instead}")


def answer_problem(call: CarrierCall, answered: bool | None) -> str | None:
    """Why the call's outcome at the carrier is not as asked (answered or not); None if it is."""
    if answered is None or (call.answered is not None) == answered:
        return None
    if answered:
        status = f" (it ended with {call.status})" if call.status else " (it was still ringing)"
        return f"the carrier's call {call.leg} was not answered{status}"
    return f"the carrier's call {call.leg} was answered, expected it not to be"


@dataclass(frozen=True)
class CallerIdRule:
    """What the presented caller ID must be: ``registered`` (None: only that it is shown)."""

    registered: str | None
    extensions: Mapping[str, str]  # an agent's (or other platform account's) number -> its name
    earlier: tuple[tuple[str, str], ...] = ()  # (leg, number presented) of the scenario's earlier calls


def caller_id_problems(call: CarrierCall, rule: CallerIdRule) -> list[str]:
    """Every way the caller ID of ``call`` breaks ``rule``, in the report's words."""
    p = presented(call.headers)
    hidden = withheld(p, call.headers)
    problems = [f"the caller ID is withheld: {hidden}"] if hidden else []
    for header, number in p.numbers():
        if number in rule.extensions:
            problems.append(f"{header} presents {number}, the extension of {rule.extensions[number]}, "
                            f"not the company's registered number"
                            + (f" {rule.registered}" if rule.registered else ""))
        elif rule.registered is not None and number != rule.registered and not hidden:
            problems.append(f"{header} presents {number}, not the registered number {rule.registered}")
    shown = presented_number(p)
    changed = [(leg, n) for leg, n in rule.earlier if shown is not None and n != shown]
    if changed and not hidden:
        leg, number = changed[0]
        problems.append(f"the number presented changed between calls: {shown} on {call.leg}, "
                        f"{number} on {leg}")
    return problems


def presented_number(p: Presented) -> str | None:
    """The number a called party's network shows: P-Asserted-Identity's, else From's."""
    return p.pai[0] if p.pai else p.from_user


def caller_id_verdict(call: CarrierCall, rule: CallerIdRule) -> Verdict:
    """Whether ``call`` presents the registered number, shown, not an extension, as on earlier calls."""
    problems = caller_id_problems(call, rule)
    p = presented(call.headers)
    figures = {"presented": presented_number(p), "registered": rule.registered,
               "from": p.from_value, "pai": list(p.pai), "rpid": list(p.rpid), "privacy": list(p.privacy),
               "earlier": [list(e) for e in rule.earlier],
               "rule": "主叫号码须为登记号码，不得隐藏、不得为分机号、不得逐次变换 "
                       "(工信部信管〔2020〕81号; 反电信网络诈骗法 第13-14条)"}
    if problems:
        return Verdict(f"the outbound call {call.leg} to {call.number} does not show the registered "
                       f"caller ID: {'; '.join(problems)}", figures)
    return passed(figures)
