"""``dial_out``: an agent dials a customer's number through the platform, with its dial prefix.

The agent's softphone calls ``dial_prefix`` + ``number`` (the prefix from the
profile's ``outbound:`` unless the step gives one) through the platform, as an
agent dials out from a seat; the platform's outbound trunk should put it out to
the harness's carrier, which treats it as ``carrier:`` asks.  The call gets an
id like a ``call`` step's, so ``expect_answer``, ``play``, ``wait`` and
``hangup`` act on the agent's side of it; ``expect_carrier_call`` judges what
reached the carrier.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.runner import carrier
from harness.runner.cast import request_uri
from harness.runner.rule_clock import allowed_now
from harness.runner.run import CallState, ScenarioRun
from harness.scenario.context import LoadContext
from harness.spec.checker import mapping
from harness.spec.values import Destination
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


@dataclass(frozen=True)
class DialOutStep:
    """``agent`` dials ``prefix`` + ``number``; the carrier treats the call as ``carrier`` says."""

    call: str
    agent: str
    number: str
    prefix: str | None = None  # None: the profile's outbound.dial_prefix
    carrier: CarrierAnswer = CARRIER_DEFAULT
    mark: Mark | None = None


SCHEMA = f"""
description: An agent dials a customer's number through the platform (with its dial prefix), out to the carrier.
type: object
x-hint: 'e.g. dial_out: {{agent: agent1, number: "13800138000", carrier: {{answer_after: 1s}}}}'
required: [agent, number]
additionalProperties: false
properties:
  agent: {{type: string, minLength: 1, description: The agent whose softphone dials.}}
  number:{NUMBER_SCHEMA}
  prefix:
    description: What is dialled before the number (default the profile's outbound.dial_prefix).
    type: [string, integer]
  id:
    description: The call's id for later steps (default c1, c2, ... in the order calls are placed).
    $ref: "#/$defs/name"
  carrier:{CARRIER_SCHEMA}
"""


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> DialOutStep:
    """``dial_out: {agent, number, prefix, id, carrier}``."""
    fields = mapping(body)
    needs_outbound(ctx, at)
    agent = ctx.get(fields, at, "agent")
    prefix = ctx.get(fields, at, "prefix")
    step = DialOutStep(
        call=ctx.new_call(at, fields),
        agent=ctx.agent(at + ("agent",), str(agent)) if agent is not None else "",
        number=number(ctx, at + ("number",), ctx.get(fields, at, "number")),
        prefix=ctx.text(at + ("prefix",), prefix) if prefix is not None else None,
        carrier=carrier_answer(ctx, at + ("carrier",), ctx.get(fields, at, "carrier")),
        mark=mark,
    )
    ctx.placed.append(step.call)
    return step


def perform(run: ScenarioRun, step: DialOutStep) -> Measurements:
    outbound = carrier.outbound_of(run.target)
    clock = allowed_now(run)  # a compliant platform refuses calls in its forbidden hours
    prefix = outbound.dial_prefix if step.prefix is None else step.prefix
    carrier.behave(run, behaviour(run, step.carrier))
    phone = run.agent_phone[step.agent]
    uri = request_uri(Destination("user", prefix + step.number), run.target, {}, {})
    carrier.attempt(run, step.number, f"{step.agent} dialled {prefix}{step.number}", step.call)
    timeline = run.board.open_call(phone, step.call, uri, {})
    account = next(a.account for a in run.scenario.agents if a.name == step.agent)
    run.calls[step.call] = CallState(step.call, step.agent, phone, timeline, identities={
        "did": step.number, "caller": run.target.accounts[account].username}, outbound=True)
    run.last_call = step.call
    return {"uri": uri, "phone": phone, "number": step.number, "prefix": prefix, **clock}


def say(spec: Mapping[str, Any]) -> Said:
    agent, to = spec.get("agent", "agent"), spec.get("number", "")
    zh, en = said(spec.get("carrier"))
    return (f"坐席 {agent} 经平台外呼 {to}（拨号前缀加号码，经中继到达运营商侧）；{zh}",
            f"agent {agent} dials {to} out through the platform (dial prefix and number, over the "
            f"trunk to the carrier); {en}")


KIND = StepKind(
    name="dial_out",
    model=DialOutStep,
    description="An agent dials a customer's number through the platform, out over its trunk to the carrier.",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=always(Skips()),  # an outbound call: a capture listens to the platform's inbound prompts
    shot=(("坐席软电话拨号外呼界面，以及运营商侧（测试线路）来电",
           "the agent softphone dialling out, and the call arriving on the carrier's (test line's) side"),
          ("客户侧来电", "the customer's line rings")),
)
