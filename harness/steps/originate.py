"""``originate``: a click-to-call or campaign request through the platform's API.

The harness asks the platform's API (the target's adapter, ``Capability.ORIGINATE``)
to call agent ``agent`` and then the customer's ``number``, as a CRM's
click-to-call button or a campaign does; the agent's softphone is rung (it
answers as its ``agents:`` entry says) and the platform's trunk should put the
customer's leg out to the harness's carrier, treated as ``carrier:`` asks.
``expect_carrier_call`` judges what reached the carrier.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.errors import TargetError
from harness.runner import carrier
from harness.runner.rule_clock import allowed_now
from harness.runner.run import ScenarioRun
from harness.scenario.context import LoadContext
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
from harness.targets.adapter import Originating
from harness.targets.capability import Capability
from harness.targets.registry import adapter_for


@dataclass(frozen=True)
class OriginateStep:
    """The platform's API is asked to ring ``agent``, then call ``number`` for them."""

    agent: str
    number: str
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
  carrier:{CARRIER_SCHEMA}
"""


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> OriginateStep:
    """``originate: {agent, number, carrier}``."""
    fields = mapping(body)
    needs_outbound(ctx, at)
    agent = ctx.get(fields, at, "agent")
    return OriginateStep(
        agent=ctx.agent(at + ("agent",), str(agent)) if agent is not None else "",
        number=number(ctx, at + ("number",), ctx.get(fields, at, "number")),
        carrier=carrier_answer(ctx, at + ("carrier",), ctx.get(fields, at, "carrier")),
        mark=mark,
    )


def perform(run: ScenarioRun, step: OriginateStep) -> Measurements:
    platform = adapter_for(run.target)
    if not isinstance(platform, Originating):
        raise TargetError(f"{platform.description} cannot start an outbound call through its API")
    clock = allowed_now(run)  # a compliant platform refuses calls in its forbidden hours
    carrier.behave(run, behaviour(run, step.carrier))
    account = next(a.account for a in run.scenario.agents if a.name == step.agent)
    extension = run.target.accounts[account].username
    carrier.attempt(run, step.number, f"the API's call for {step.agent} ({extension})")
    request = platform.originate(extension, step.number)
    return {"agent": step.agent, "extension": extension, "number": step.number, "request": request,
            "api": platform.description, **clock}


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
