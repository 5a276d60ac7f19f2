"""``expect_agent``: one of the named agents answers the call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.checks.attribution import Attribution, attribute
from harness.checks.signalling import agent_verdict, unanswered_end
from harness.runner.legs import attributed, observe
from harness.runner.run import ScenarioRun
from harness.scenario.context import LoadContext
from harness.sip.controller import WaitTimeout
from harness.sip.timeline import CallTimeline
from harness.spec.checker import mapping
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.kind import Measurements, Said, StepKind, Stops, always, words


@dataclass(frozen=True)
class ExpectAgentStep:
    """The call is answered by one of ``agents`` within the deadline."""

    call: str
    agents: tuple[str, ...]
    within: float
    mark: Mark | None = None


SCHEMA = """
description: Expect the call to be answered by one of the named agents.
type: object
x-hint: "e.g. expect_agent: {agent: alice, within: 10s}"
required: [within]
additionalProperties: false
properties:
  call: {$ref: "#/$defs/call_ref", description: The call (default the most recent call placed).}
  agent: {type: string, minLength: 1, description: The one agent expected to answer.}
  agents:
    description: The agents any one of which may answer.
    type: array
    minItems: 1
    uniqueItems: true
    items: {type: string, minLength: 1, description: An agent's name.}
  within: {$ref: "#/$defs/duration", description: How long to wait for an agent to answer.}
"""


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> ExpectAgentStep:
    """``expect_agent: {call, agent | agents, within}``."""
    fields = mapping(body)
    if "agent" in fields and "agents" in fields:
        ctx.report(at, "give agent or agents, not both", "agents: [alice, bob] for any of several")
    elif "agent" not in fields and "agents" not in fields:
        ctx.report(
            at,
            "missing required field 'agent' (or 'agents')",
            "e.g. expect_agent: {agent: alice, within: 10s}",
        )
    one = ctx.get(fields, at, "agent")
    many = ctx.get(fields, at, "agents") or []
    names = [(at + ("agent",), one)] if one is not None else []
    names += [(at + ("agents", i), n) for i, n in enumerate(many)]
    agents = tuple(ctx.agent(where, name) for where, name in names)
    return ExpectAgentStep(ctx.call(at, fields), agents, ctx.within(at, fields), mark)


def _attribution(run: ScenarioRun, call_id: str) -> tuple[Attribution, dict[str, CallTimeline]]:
    """Which agent leg is this call's, among every leg the agent phones were offered."""
    tl = run.call(call_id).timeline
    seen = observe(run, attributed(run, besides=call_id))
    verdict = attribute(tl.t0, tl.sip_call_id, [leg for leg, _ in seen])
    return verdict, {leg.name: timeline for leg, timeline in seen}


def perform(run: ScenarioRun, step: ExpectAgentStep) -> Measurements:
    state = run.call(step.call)
    tl = state.timeline

    def answered() -> tuple[Attribution, CallTimeline] | None:
        verdict, legs = _attribution(run, state.id)
        ended = unanswered_end(tl, verdict)
        if ended is not None:
            raise run.fail("expect_agent", ended)
        if verdict.chosen is None or tl.state != "CONFIRMED":
            return None
        return verdict, legs[verdict.chosen.name]

    try:
        seen, leg = run.board.wait(answered, run.budget(step.within),
                                   lambda: f"one of agents {list(step.agents)} to answer",
                                   timeline=tl)
    except WaitTimeout as exc:
        verdict = agent_verdict(tl, step.agents, _attribution(run, state.id)[0], None, str(exc))
    else:
        assert seen.chosen is not None
        state.agent_leg, state.agent = leg, seen.chosen.agent
        verdict = agent_verdict(tl, step.agents, seen, leg)
    if verdict.problem is not None:
        raise run.fail("expect_agent", verdict.problem)
    return verdict.figures


def say(spec: Mapping[str, Any]) -> Said:
    agents = words(spec["agents"])
    return f"坐席（{agents} 之一）接听", f"an agent ({agents}) answers"


KIND = StepKind(
    name="expect_agent",
    model=ExpectAgentStep,
    description="One of the named agents answers the call.",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=always(Stops()),
    shot=(("坐席软电话振铃并接听；ACD队列监控", "the agent softphone ringing and answering; the ACD queue monitor"),
          ("坐席振铃、接通", "the agent rings, then talks")),
)
