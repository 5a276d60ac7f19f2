"""The platform's outbound rule clock during a run (issue 16): moved to a side of the forbidden
hours where the adapter can move it, and always put back when the scenario ends.

A platform that enforces the undertaking's forbidden calling hours refuses an
outbound call placed inside them, whatever else the call was to show. So every
outbound step first asks ``allowed_now``: at a forbidden moment it moves the
platform's rule clock to the next allowed one when the adapter can (and the
profile lets it: ``outbound.move_clock``), and otherwise stops with "cannot
decide" and the time the scenario can be run instead.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from harness.errors import HarnessError
from harness.runner.run import ScenarioRun
from harness.spec.hours import CallingRules, moment
from harness.targets.adapter import OutboundClock
from harness.targets.capability import Capability
from harness.targets.registry import adapter_for, capabilities


def rules_of(run: ScenarioRun) -> CallingRules | None:
    outbound = run.target.outbound
    return outbound.forbidden_hours if outbound is not None else None


def clock_of(run: ScenarioRun) -> OutboundClock | None:
    """The adapter, if it can move the rule clock and the profile lets the harness move it."""
    outbound = run.target.outbound
    if outbound is None or not outbound.move_clock or Capability.OUTBOUND_CLOCK not in capabilities(run.target):
        return None  # by the adapter's declared capabilities: an adapter built on another may inherit the method
    platform = adapter_for(run.target)
    return platform if isinstance(platform, OutboundClock) else None


def platform_now(run: ScenarioRun) -> datetime:
    """The moment the platform's rule clock shows now."""
    return datetime.now(UTC) + timedelta(seconds=run.rule_clock_s)


def move_to(run: ScenarioRun, clock: OutboundClock, when: datetime) -> None:
    """Set the platform's rule clock to ``when`` (it runs on from there); put back at the end."""
    offset = round((when - datetime.now(UTC)).total_seconds())
    if run.rule_clock_s == 0 and offset:
        run.cleanups.append(lambda: reset(run, clock))
    clock.set_outbound_clock(offset)
    run.rule_clock_s = offset


def reset(run: ScenarioRun, clock: OutboundClock) -> None:
    if run.rule_clock_s:
        clock.set_outbound_clock(0)
        run.rule_clock_s = 0


def allowed_now(run: ScenarioRun) -> dict[str, str]:
    """Make sure an outbound call placed now falls outside the forbidden hours; what was done, for
    the step's measurements. Raises "cannot decide" when it is inside them and cannot be moved."""
    rules = rules_of(run)
    if rules is None:
        return {}
    now = platform_now(run)
    why = rules.forbidden(now)
    if why is None:
        return {}
    local = now.astimezone(rules.tz)
    clock = clock_of(run)
    target = moment(rules, now, forbidden=False)
    if clock is None or target is None:
        later = f" (ccharness run --at {target.astimezone(rules.tz).isoformat(timespec='minutes')})" if target else ""
        raise HarnessError(
            f"cannot decide: it is {local:%H:%M} ({rules.tz.key}), {why} of the profile's forbidden calling "
            f"hours, so a compliant platform refuses this outbound call; run the scenario outside them{later}")
    move_to(run, clock, target)
    return {"rule_clock": f"moved from {local:%a %H:%M} ({why}) to {target.astimezone(rules.tz):%a %H:%M} "
                          f"{rules.tz.key}, outside the forbidden hours"}
