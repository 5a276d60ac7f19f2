"""Abandoned and silent calls from a campaign (predictive dialling), as the customers heard them.

A campaign's customer who answers must be put through to an agent within two seconds
of answering; a call that is not is *abandoned*, and the customer must then hear an
information message within two seconds rather than silence (47 CFR 64.1200(a)(7):
abandoned calls at most 3 % of a campaign's answered calls per 30 days, each with a
recorded message within 2 s; Ofcom's persistent-misuse policy: an information message
within 2 s). Judged only from the customer's side -- what the harness's carrier heard on
each answered call: the agents' pilot tone when an agent came on, otherwise the first
spoken or musical sound (a tone is no message) -- so it holds for any platform.

Pure: one call's observations in, the campaign's verdict with its figures out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from harness.checks.verdict import Verdict

CONNECT_WITHIN = 2.0  # s from the answer to an agent on the line; later, the call was abandoned
MESSAGE_WITHIN = 2.0  # s from the answer to the information message of an abandoned call
ABANDON_RULE = "47 CFR 64.1200(a)(7); Ofcom persistent-misuse policy"


@dataclass(frozen=True)
class CustomerSeen:
    """One campaign call as the carrier saw it; times in seconds from its answer."""

    number: str
    leg: str  # the carrier's leg, e.g. carrier/in3
    answered: bool
    agent_s: float | None = None  # when the agents' pilot tone began; None: no agent was heard
    sound_s: float | None = None  # when something other than silence or a tone began (a message)
    heard: str = ""  # what the customer heard before the agent, or in all, e.g. "speech", "silence"
    lasted_s: float | None = None  # answer to hang-up
    ended_by: str = ""  # "platform", "customer" (the harness hung up after the agent), "" not ended


@dataclass(frozen=True)
class CampaignWanted:
    connect_within: float = CONNECT_WITHIN
    message_within: float | None = MESSAGE_WITHIN  # None: not judged
    abandoned_max: float | None = None  # a share of the answered calls, 0.03 = 3 %


def abandoned(call: CustomerSeen, wanted: CampaignWanted) -> bool:
    return call.answered and (call.agent_s is None or call.agent_s > wanted.connect_within)


def campaign_verdict(calls: list[CustomerSeen], numbers: int, wanted: CampaignWanted) -> Verdict:
    """Every abandoned call heard its message in time, and no more were abandoned than allowed."""
    answered = [c for c in calls if c.answered]
    dropped = [c for c in answered if abandoned(c, wanted)]
    figures = {"numbers": numbers, "dialled": len(calls), "answered": len(answered),
               "put_through": len(answered) - len(dropped), "abandoned": len(dropped),
               "abandoned_pct": round(100 * len(dropped) / len(answered), 1) if answered else None,
               "calls": [asdict(c) for c in calls], "rule": ABANDON_RULE,
               "message_unexercised": bool(wanted.message_within is not None and not dropped)}
    if not answered:
        return Verdict(f"the platform's dialler put none of the campaign's {numbers} calls through to the "
                       f"carrier ({len(calls)} offered, none answered)", figures)
    problems = []
    if wanted.message_within is not None:
        problems += [p for c in dropped if (p := _silent(c, wanted)) is not None]
    if wanted.abandoned_max is not None and len(dropped) / len(answered) > wanted.abandoned_max:
        problems.append(f"{len(dropped)} of the {len(answered)} answered calls ({figures['abandoned_pct']}%) "
                        f"were abandoned -- no agent on the line within {wanted.connect_within:g}s of the "
                        f"customer's answer; at most {wanted.abandoned_max * 100:g}% allowed ({ABANDON_RULE})")
    if len(calls) < numbers:
        problems.append(f"the dialler placed {len(calls)} of the campaign's {numbers} calls")
    return Verdict("; ".join(problems) if problems else None, figures)


def _silent(call: CustomerSeen, wanted: CampaignWanted) -> str | None:
    """Why an abandoned call breaks the message rule, or None if its message came in time."""
    assert wanted.message_within is not None
    if call.sound_s is not None and call.sound_s <= wanted.message_within:
        return None
    agent = "no agent came on" if call.agent_s is None else f"the agent came on only {call.agent_s:.1f}s after"
    if call.sound_s is None:
        lasted = f" for {call.lasted_s:.1f}s until the hang-up" if call.lasted_s is not None else ""
        return (f"the customer at {call.number} ({call.leg}) answered, {agent}, and heard {call.heard or 'silence'}"
                f"{lasted}: a silent abandoned call (an information message must begin within "
                f"{wanted.message_within:g}s of the answer; {ABANDON_RULE})")
    return (f"the customer at {call.number} ({call.leg}) answered, {agent}, and the information message "
            f"began {call.sound_s:.1f}s after the answer (within {wanted.message_within:g}s wanted; "
            f"{ABANDON_RULE})")
