"""What a target can do beyond SIP, known from its profile alone: the adapter's capabilities.

A step kind declares the capabilities it needs (``StepKind.needs``); each
adapter class declares those it has (``capabilities(target)``, answered from
the profile without reaching the platform), and the profile adds what it
declares itself (``adapter.retention_days``, ``adapter.storage``).  A scenario
whose step needs what its target lacks is refused when it is loaded -- by
``ccharness validate`` and at collection -- with what is missing and the fix,
instead of ending in an ERROR half-way through a run.
"""

from __future__ import annotations

from enum import StrEnum


class Capability(StrEnum):
    """One thing a target's adapter may or may not be able to do."""

    RECORDINGS = "recordings"  # find, read and download call recordings (an adapter: section)
    UNAUTHENTICATED_FETCH = "unauthenticated_fetch"  # ask for a recording without credentials
    RETENTION_POLICY = "retention_policy"  # the platform says its policy, or the profile declares it
    CLOCK = "clock"  # move the platform's clock ahead
    PURGE = "purge"  # apply the retention policy on demand
    QUEUE_STATE = "queue_state"  # report queues and agents (optional to every step)
    STORAGE = "storage"  # the profile declares adapter.storage
    ORIGINATE = "originate"  # start an outbound call through the platform's API (click-to-call)
    OUTBOUND_CLOCK = "outbound_clock"  # move the clock the platform's forbidden-hours rule reads
    DNC_LIST = "dnc_list"  # put a number on the platform's do-not-call list
    CAMPAIGN = "campaign"  # start a dialling campaign (predictive dialler) through the platform's API


LACKS: dict[Capability, str] = {
    Capability.RECORDINGS: "has no adapter: section to reach its recordings through",
    Capability.UNAUTHENTICATED_FETCH: "cannot show that a recording is refused without credentials",
    Capability.RETENTION_POLICY: "does not say how long it keeps recordings and its profile "
                                 "declares no adapter.retention_days",
    Capability.CLOCK: "cannot move its clock",
    Capability.PURGE: "cannot apply its retention policy on demand",
    Capability.QUEUE_STATE: "cannot report its queues and agents",
    Capability.STORAGE: "declares no adapter.storage",
    Capability.ORIGINATE: "cannot start an outbound call through its API (click-to-call, a campaign)",
    Capability.OUTBOUND_CLOCK: "cannot move the clock its forbidden calling hours are judged by",
    Capability.DNC_LIST: "cannot put a number on its do-not-call list through its API",
    Capability.CAMPAIGN: "cannot start a dialling campaign (its predictive dialler) through its API",
}
"""What a target lacking the capability cannot do, after "the target 'NAME' (profile PATH)"."""

FIXES: dict[Capability, str] = {
    Capability.RECORDINGS: "add an adapter: section to the profile (type reference, asterisk, "
                           "freeswitch, http, directory or sftp)",
    Capability.UNAUTHENTICATED_FETCH: "set require_auth: false on this step and show the "
                                      "reviewer the recordings' access control separately",
    Capability.RETENTION_POLICY: "set adapter.retention_days in the profile to the policy the "
                                 "platform is configured with",
    Capability.STORAGE: "add adapter.storage: {capacity_gb, calls_per_day, minutes_per_call} to "
                        "the profile",
}
"""How to give the target the capability, where the profile or the step can; none for the
clock or a purge on demand, which only another platform has."""

ELSEWHERE = "run this step against a target whose adapter can (the reference platform can)"


def lacking(name: str, profile: str, missing: frozenset[Capability], instead: str = "") -> tuple[str, str]:
    """The problem and its fix when a step needs ``missing`` of the target ``name``.

    ``instead`` is what the step kind suggests when no profile setting can help.
    """
    ordered = [c for c in Capability if c in missing]
    said = [LACKS[c] for c in ordered]
    lacks = said[0] if len(said) == 1 else ", ".join(said[:-1]) + " and " + said[-1]
    message = f"the target '{name}' (profile {profile}) {lacks}, so this step cannot run there"
    if any(c not in FIXES for c in ordered):
        return message, instead or ELSEWHERE
    return message, "; ".join(FIXES[c] for c in ordered)
