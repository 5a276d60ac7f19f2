"""Forbidden calling hours (禁呼时段): were outbound calls refused inside them and put through outside?

The rules are the undertaking's, as the profile writes them (``harness.spec.hours``).
The verdict reads attempts made on either side of the rule -- inside a
forbidden window (the call must never reach the carrier) and outside every one
(it must) -- and says of a side that was not exercised that it was not, with
the moment it can next be run; it never claims it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from harness.checks.verdict import Verdict, passed
from harness.spec.hours import CallingRules, moment


@dataclass(frozen=True)
class Attempt:
    """One outbound call placed to judge the rule: what the platform's clock said, what happened."""

    when: datetime  # the moment as the platform's rule saw it (its clock, offset or real)
    how: str  # "the platform's clock set to ..." or "real time"
    number: str
    reached_carrier: bool
    agent_heard: str = ""  # what the originator saw: "403 Forbidden", "answered", ...


@dataclass(frozen=True)
class HoursSeen:
    rules: CallingRules
    attempts: tuple[Attempt, ...]
    now: datetime  # real time at the run, for the side left unexercised


def _local(rules: CallingRules, when: datetime) -> str:
    return f"{when.astimezone(rules.tz):%a %Y-%m-%d %H:%M} ({rules.tz.key})"


def unexercised(seen: HoursSeen) -> list[str]:
    """The sides of the rule no attempt exercised, in plain words with when they can be run."""
    sides = {seen.rules.forbidden(a.when) is not None for a in seen.attempts}
    out = []
    for inside, words in ((True, "inside a forbidden window (the call must be blocked)"),
                          (False, "outside the forbidden hours (the call must go through)")):
        if inside in sides:
            continue
        nxt = moment(seen.rules, seen.now, forbidden=inside)
        when = (f"; it can next be run from {_local(seen.rules, nxt)}: ccharness run --at "
                f"{nxt.astimezone(seen.rules.tz).isoformat(timespec='minutes')}") if nxt else ""
        out.append(f"not exercised: a call {words}{when}")
    return out


def hours_verdict(seen: HoursSeen) -> Verdict:
    """Blocked inside, through outside; the sides not exercised said so, never claimed."""
    rules = seen.rules
    figures: dict[str, object] = {
        "rules": rules.describe(), "clause": rules.clause or None,
        "attempts": [{"at": _local(rules, a.when), "how": a.how, "number": a.number,
                      "side": "forbidden" if rules.forbidden(a.when) else "allowed",
                      "rule": rules.forbidden(a.when) or "no rule forbids it",
                      "reached_carrier": a.reached_carrier, "originator_saw": a.agent_heard}
                     for a in seen.attempts],
        "unexercised": unexercised(seen),
    }
    problems = []
    for a in seen.attempts:
        why = rules.forbidden(a.when)
        if why is not None and a.reached_carrier:
            problems.append(f"a call to {a.number} at {_local(rules, a.when)} ({a.how}), {why}, reached the "
                            f"carrier: the platform does not enforce its forbidden hours")
        elif why is None and not a.reached_carrier:
            problems.append(f"a call to {a.number} at {_local(rules, a.when)} ({a.how}), outside every forbidden "
                            f"window, never reached the carrier ({a.agent_heard or 'nothing heard'}): the rule "
                            "was not shown to let permitted calls through")
    if problems:
        cite = f" (undertaking: {rules.clause})" if rules.clause else ""
        return Verdict("; ".join(problems) + cite, figures)
    return passed(figures)
