"""``originate``: a click-to-call or campaign request through the platform's API.

The harness asks the platform's API (the target's adapter, ``Capability.ORIGINATE``)
to call agent ``agent`` and then the customer's ``number``, as a CRM's
click-to-call button or a campaign does; the agent's softphone is rung (it
answers as its ``agents:`` entry says) and the platform's trunk should put the
customer's leg out to the harness's carrier, treated as ``carrier:`` asks.
``expect_carrier_call`` judges what reached the carrier.

The step waits for the agent's phone to ring (``AGENT_RINGS_WITHIN``): that leg is the
scenario's call (``id``), an outbound call whose parties are the agent and, once the
carrier has answered, the customer -- for ``play_marker``, ``hangup`` and
``expect_recording`` as on an agent's own outbound call (``dial_out``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.errors import TargetError
from harness.runner import carrier
from harness.runner.rule_clock import allowed_now
from harness.runner.run import CallState, ScenarioRun
from harness.scenario.context import LoadContext
from harness.sip.controller import WaitTimeout
from harness.sip.timeline import CallTimeline
from harness.spec.checker import mapping
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.kind import Measurements, Said, Skips, StepKind, always
from harness.steps.outbound_call import (
    CARRIER_DEFAULT,
    CARRIER_SCHEMA,
    NUMBER_SCHEMA,
    CarrierAnswer,
    behaviour,
    carrier_answer,
    needs_outbound,
    number,
    said,
)
from harness.steps.recorded import NotConformant
from harness.targets.adapter import Originating
from harness.targets.capability import Capability
from harness.targets.registry import adapter_for

AGENT_RINGS_WITHIN = 10.0  # seconds from the API's answer to the agent's phone ringing


@dataclass(frozen=True)
class OriginateStep:
    """The platform's API is asked to ring ``agent``, then call ``number`` for them."""

    agent: str
    number: str
    call: str = "c1"
    carrier: CarrierAnswer = CARRIER_DEFAULT
    mark: Mark | None = None


SCHEMA = f"""
description: >-
  Ask the platform's API to call an agent and then a customer's number (click-to-call, a
  campaign); the customer's leg goes out over the trunk to the carrier.
type: object
x-hint: 'e.g. originate: {{agent: agent1, number: "13800138000"}}'
required: [agent, number]
additionalProperties: false
properties:
  agent: {{type: string, minLength: 1, description: The agent the platform rings first (an agent of this scenario).}}
  number:{NUMBER_SCHEMA}
  id:
    description: >-
      The call's id for later steps - the agent's leg, once the platform rang it (default c1, c2,
      ... in the order calls are placed).
    $ref: "#/$defs/name"
  carrier:{CARRIER_SCHEMA}
"""


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> OriginateStep:
    """``originate: {agent, number, id, carrier}``."""
    fields = mapping(body)
    needs_outbound(ctx, at)
    agent = ctx.get(fields, at, "agent")
    step = OriginateStep(
        agent=ctx.agent(at + ("agent",), str(agent)) if agent is not None else "",
        number=number(ctx, at + ("number",), ctx.get(fields, at, "number")),
        call=ctx.new_call(at, fields),
        carrier=carrier_answer(ctx, at + ("carrier",), ctx.get(fields, at, "carrier")),
        mark=mark,
    )
    ctx.placed.append(step.call)
    return step


def perform(run: ScenarioRun, step: OriginateStep) -> Measurements:
    platform = adapter_for(run.target)
    if not isinstance(platform, Originating):
        raise TargetError(f"{platform.description} cannot start an outbound call through its API")
    clock = allowed_now(run)  # a compliant platform refuses calls in its forbidden hours
    carrier.behave(run, behaviour(run, step.carrier))
    account = next(a.account for a in run.scenario.agents if a.name == step.agent)
    extension = run.target.accounts[account].username
    phone = run.agent_phone[step.agent]
    before = {leg.handle for leg in run.board.calls_of(phone)}
    made = carrier.attempt(run, step.number, f"the API's call for {step.agent} ({extension})", step.call)
    request = platform.originate(extension, step.number)
    timeline = _agent_rung(run, step, phone, before, made.started, request)
    run.calls[step.call] = CallState(step.call, step.agent, phone, timeline, outbound=True,
                                     identities={"did": step.number, "caller": extension})
    run.last_call = step.call
    return {"agent": step.agent, "extension": extension, "number": step.number, "request": request,
            "api": platform.description, "agent_rung_after_s": round(timeline.t0 - made.started, 3), **clock}


def _agent_rung(run: ScenarioRun, step: OriginateStep, phone: str, before: set[str], asked: float,
                request: Any) -> CallTimeline:
    """The agent's phone's new incoming leg, once the platform has rung it."""
    def rung() -> CallTimeline | None:
        return next((leg for leg in run.board.calls_of(phone) if leg.handle not in before
                     and leg.events and leg.events[0].kind == "incoming"), None)
    try:
        leg: CallTimeline = run.board.wait(rung, run.budget(AGENT_RINGS_WITHIN),
                                           lambda: f"the platform to ring {step.agent}")
        return leg
    except WaitTimeout:
        raise NotConformant(run, "originate", (
            f"the platform's API took the call for {step.agent} (request {request}) but did not ring "
            f"{step.agent}'s phone within {AGENT_RINGS_WITHIN:g}s: a click-to-call rings the agent first"),
            {"request": request, "waited_s": round(time.monotonic() - asked, 2)}) from None


def say(spec: Mapping[str, Any]) -> Said:
    agent, to = spec.get("agent", "agent"), spec.get("number", "")
    zh, en = said(spec.get("carrier"))
    return (f"通过平台接口（点击拨号/外呼任务）先呼坐席 {agent}，再外呼 {to}；{zh}",
            f"through the platform's API (click-to-call, a campaign), agent {agent} is rung, then {to} "
            f"is called; {en}")


KIND = StepKind(
    name="originate",
    model=OriginateStep,
    description="The platform's API calls an agent, then a customer's number (click-to-call, a campaign).",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=always(Skips()),
    shot=(("CRM 点击拨号或外呼任务界面、坐席来电，以及运营商侧（测试线路）来电",
           "the CRM's click-to-call or campaign screen, the agent's phone ringing, and the carrier's line"),
          ("坐席接起后客户侧来电", "once the agent answers, the customer's line rings")),
    needs=frozenset({Capability.ORIGINATE}),
    instead="use dial_out (an agent dialling with the platform's prefix) on this target, or a "
            "target whose adapter can originate (the reference platform's can; an http adapter with "
            "adapter.originate: {url, body} can)",
)
