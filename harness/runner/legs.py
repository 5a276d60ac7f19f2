"""The scenario's agent legs as plain observations, for the attribution verdict.

Each leg an agent phone was offered becomes a ``LegSeen``: when its INVITE
arrived, when it was answered, the caller Call-IDs its X- headers name, and
the scenario call it is already attributed to (by an ``expect_agent`` step,
or earlier in the same judgement).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

from harness.checks.attribution import LegSeen, attribute, call_id_tags
from harness.checks.offer import Offer

if TYPE_CHECKING:
    from harness.runner.run import ScenarioRun
    from harness.sip.timeline import CallTimeline


def attributed(run: ScenarioRun, besides: str | None = None) -> dict[int, str]:
    """``{id(agent leg): call id}`` for each call whose agent leg is known, except ``besides``."""
    return {id(c.agent_leg): c.id for c in run.calls.values()
            if c.agent_leg is not None and c.id != besides}


def observe(run: ScenarioRun, taken: Mapping[int, str]) -> list[tuple[LegSeen, CallTimeline]]:
    """Every leg the agent phones were offered, with the timeline it was read from."""
    known = {c.timeline.sip_call_id for c in run.calls.values() if c.timeline.sip_call_id}
    seen = []
    for agent, phone in run.agent_phone.items():
        for leg in run.board.calls_of(phone):
            if not leg.events:
                continue
            offer = leg.events[0]
            answered = next((e.t for e in leg.events
                             if e.kind == "call" and e.data.get("state") == "CONFIRMED"), None)
            tags = call_id_tags(dict(offer.data.get("headers") or {}), known)
            seen.append((LegSeen(f"{agent}/{leg.handle}", agent, offer.t, answered, tags,
                                 taken.get(id(leg))), leg))
    return seen


def offer_headers(leg: CallTimeline) -> tuple[tuple[str, str], ...]:
    """Every header of the INVITE that offered ``leg`` to its agent phone, as recorded."""
    offer = leg.events[0] if leg.events else None
    listed = (offer.data.get("offer") or []) if offer is not None and offer.kind == "incoming" else []
    return tuple((str(name), str(value)) for name, value in listed)


def offers(run: ScenarioRun, call_id: str) -> list[Offer]:
    """The agent legs offered for ``call_id`` so far, first offered first.

    A leg counts as attribution counts it (``harness.checks.attribution``): offered once
    the call began and before it ended, not another call's, not tagged for another call.
    """
    tl = run.call(call_id).timeline
    seen = observe(run, attributed(run, besides=call_id))
    ended = tl.last("call", state="DISCONNECTED")
    judged = attribute(tl.t0, tl.sip_call_id, [leg for leg, _ in seen],
                       ended.t if ended is not None else math.inf)
    timelines = {leg.name: timeline for leg, timeline in seen}
    return [Offer(leg.name, leg.agent, leg.offered, offer_headers(timelines[leg.name]))
            for leg in judged.candidates]
