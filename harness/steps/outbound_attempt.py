"""Placing one outbound call to see what the platform does with it (``expect_forbidden_hours``,
``expect_do_not_call``): an agent dialling out or the platform's API, then whether the call
reached the carrier or what the originator saw instead, within a deadline."""

from __future__ import annotations

import time

from harness.checks.outbound import first_call
from harness.errors import TargetError
from harness.runner import carrier
from harness.runner.carrier import CarrierBehaviour
from harness.runner.cast import request_uri
from harness.runner.run import ScenarioRun
from harness.sip.controller import WaitTimeout
from harness.sip.timeline import CallTimeline
from harness.spec.values import Destination
from harness.targets.adapter import Originating
from harness.targets.registry import adapter_for

ANSWER = CarrierBehaviour("answer", 0.5)  # the customer's line answers after half a second


def place(run: ScenarioRun, agent: str, number: str, via: str, handle: str,
          answer: CarrierBehaviour = ANSWER) -> tuple[float, CallTimeline | None]:
    """Start one outbound call; (when it started, the agent's own leg when the agent dialled)."""
    outbound = carrier.outbound_of(run.target)
    account = next(a.account for a in run.scenario.agents if a.name == agent)
    extension = run.target.accounts[account].username
    carrier.behave(run, answer)
    started = time.monotonic()
    if via == "originate":
        platform = adapter_for(run.target)
        if not isinstance(platform, Originating):
            raise TargetError(f"{platform.description} cannot start an outbound call through its API")
        carrier.attempt(run, number, f"the API's call for {agent} ({extension})")
        platform.originate(extension, number)
        return started, None
    uri = request_uri(Destination("user", outbound.dial_prefix + number), run.target, {}, {})
    carrier.attempt(run, number, f"{agent} dialled {outbound.dial_prefix}{number}")
    return started, run.board.open_call(run.agent_phone[agent], handle, uri, {})


def outcome(run: ScenarioRun, agent: str, number: str, started: float, leg: CallTimeline | None,
            within: float, hang_up: bool = True) -> tuple[bool, str]:
    """(reached the carrier, what the originator saw), waiting until one is known or ``within``;
    the agent's legs are hung up afterwards unless ``hang_up`` is false."""
    agent_phone = run.agent_phone[agent]

    def agent_legs() -> list[CallTimeline]:
        return [leg] if leg is not None else [t for t in run.board.calls_of(agent_phone) if t.t0 >= started]

    def settled() -> tuple[bool, str] | None:
        if first_call(carrier.calls(run), number, started) is not None:
            return True, "the call went out"
        for own in agent_legs():
            if own.state == "DISCONNECTED":
                status = own.final_status()
                return False, f"{status[0]} {status[1]}" if status else "the call ended"
        return None

    try:
        return run.board.wait(settled, run.budget(within), lambda: "the call to reach the carrier or end")
    except WaitTimeout:
        return False, f"nothing reached the carrier within {within:g}s"
    finally:
        for own in agent_legs() if hang_up else ():  # never leave a call up: the next one starts clean
            if own.state != "DISCONNECTED":
                run.board.command(agent_phone, "hangup", handle=own.handle)


def clear(run: ScenarioRun, agent: str, grace: float = 0.0) -> None:
    """End what is still up on the carrier and the agent's phone -- after letting the platform end
    it by itself for up to ``grace`` seconds -- and wait (briefly) for the end."""
    legs = [(carrier.PHONE, t) for t in run.board.calls_of(carrier.PHONE)]
    legs += [(run.agent_phone[agent], t) for t in run.board.calls_of(run.agent_phone[agent])]

    def ended(live: list[tuple[str, CallTimeline]], seconds: float, what: str) -> bool:
        try:
            run.board.wait(lambda: all(t.state == "DISCONNECTED" for _, t in live) or None, run.budget(seconds),
                           lambda: what)
            return True
        except WaitTimeout:
            return False

    if grace and ended(legs, grace, "the platform to end the call"):
        return
    live = [(phone, t) for phone, t in legs if t.state != "DISCONNECTED"]
    for phone, t in live:
        run.board.command(phone, "hangup", handle=t.handle)
    ended(live, 5.0, "the outbound call's legs to end")  # a leg the platform keeps up ends with the phones
