"""Do-not-call and refusals (防骚扰·拒接不再呼): what reached the carrier, judged (no call).

A number on the platform's do-not-call list must never be dialled, and a
customer who refused further calls -- pressed the refusal key, or hung up in
the first seconds -- must not be called again for the profile's period (the
2013 telesales rule's six months is the figure most often cited; the profile
states the platform's). The observations are the calls the harness placed and
whether each reached the carrier (the harness plays the PSTN side of the trunk).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.checks.verdict import Verdict, passed


@dataclass(frozen=True)
class DncAttempt:
    purpose: str  # "listed": to a number on the list; "refusing": the call the customer refuses; "again"
    number: str
    reached_carrier: bool
    saw: str  # what the originator saw instead ("403 Number on the do-not-call list"), or "the call went out"
    after_refusal_s: float | None = None  # "again": seconds after the refusal


@dataclass(frozen=True)
class DncSeen:
    attempts: tuple[DncAttempt, ...]
    refusal: str = ""  # how the customer refused: "pressed 9", "hung up 1.0 s after answering"
    period_days: float = 180.0
    clause: str = ""


def undecided(seen: DncSeen) -> str | None:
    """Why the refusal could not be shown (the customer's first call never reached the carrier)."""
    for a in seen.attempts:
        if a.purpose == "refusing" and not a.reached_carrier:
            return (f"cannot decide: the call to {a.number} that the customer was to refuse never reached the "
                    f"carrier ({a.saw}), so no refusal could be made (is the trunk pointed at the harness?)")
        if a.purpose == "refusing" and not seen.refusal:
            return (f"cannot decide: the call to {a.number} reached the carrier, but the customer could not "
                    f"refuse it ({a.saw})")
    return None


def dnc_verdict(seen: DncSeen) -> Verdict:
    """No call to a listed number, and none again to a customer who refused, reached the carrier."""
    figures: dict[str, object] = {
        "attempts": [{"purpose": a.purpose, "number": a.number, "reached_carrier": a.reached_carrier,
                      "originator_saw": a.saw, "after_refusal_s": a.after_refusal_s} for a in seen.attempts],
        "refusal": seen.refusal or None, "period_days": seen.period_days, "clause": seen.clause or None,
    }
    problems = []
    for a in seen.attempts:
        if a.purpose == "listed" and a.reached_carrier:
            problems.append(f"a call to {a.number}, a number on the platform's do-not-call list, reached the carrier")
        if a.purpose == "again" and a.reached_carrier:
            after = f" {a.after_refusal_s:.1f}s" if a.after_refusal_s is not None else ""
            problems.append(f"a call to {a.number} reached the carrier again{after} after the customer refused "
                            f"further calls ({seen.refusal}); a refusal holds {seen.period_days:g} days")
    if problems:
        cite = f" (undertaking: {seen.clause})" if seen.clause else ""
        return Verdict("; ".join(problems) + cite, figures)
    return passed(figures)
