"""``expect_distribution``: the answered calls were shared among the agents as the queue strategy says."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.checks.acd import Served, judge
from harness.checks.attribution import attribute
from harness.errors import HarnessError
from harness.runner.legs import attributed, observe
from harness.runner.run import ScenarioRun
from harness.scenario.context import LoadContext
from harness.scenario.model import Strategy
from harness.sip.timeline import CallTimeline
from harness.spec.checker import mapping
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.kind import Measurements, Said, StepKind, Stops, always

SETTLE_WAIT = 5.0  # for the agent legs to end before the platform's counts are read


def _end(tl: CallTimeline, default: float) -> float:
    ev = tl.last("call", state="DISCONNECTED")
    return ev.t if ev else default


def _served(run: ScenarioRun, call_id: str, until: float, taken: dict[int, str]) -> Served:
    """The call as the agents saw it: the legs offered while it lasted, not taken by another call.

    Its answering leg is the one ``expect_agent`` attributed to it, else the first answered;
    that leg is added to ``taken`` so no later call counts it again.
    """
    state = run.call(call_id)
    tl = state.timeline
    s = Served(call_id, tl.t0, _end(tl, until))
    seen = observe(run, {k: c for k, c in taken.items() if c != call_id})
    timelines = {leg.name: timeline for leg, timeline in seen}
    verdict = attribute(s.start, tl.sip_call_id, [leg for leg, _ in seen], s.end)
    for leg in verdict.candidates:
        s.offers[leg.agent] = min(leg.offered, s.offers.get(leg.agent, leg.offered))
    chosen = next((leg for leg, timeline in seen if timeline is state.agent_leg), verdict.chosen)
    if chosen is not None and chosen.answered is not None:
        timeline = timelines[chosen.name]
        s.agent, s.answered, s.agent_end = chosen.agent, chosen.answered, _end(timeline, until)
        taken[id(timeline)] = call_id
    return s


def _counts_before(run: ScenarioRun, served: list[Served], order: list[str]) -> dict[str, int] | None:
    """Each agent's calls before the scenario: the platform's count now, less the calls seen here.

    Fewestcalls weighs history SIP cannot show. Where the adapter reports
    per-agent counts (``queue_state``), the history is taken from it -- and
    only the history: every call of the scenario is still judged from what the
    agent phones saw. None when the platform cannot say, or its count is below
    what the phones saw (then it is not to be trusted).
    """
    from harness.targets.registry import adapter_for

    legs = [c.agent_leg for c in run.calls.values() if c.agent_leg is not None]
    try:  # the platform counts a call when it frees the agent, before the agent's BYE goes out
        run.board.wait(lambda: all(leg.state == "DISCONNECTED" for leg in legs) or None,
                       run.budget(SETTLE_WAIT), lambda: "the agent legs to end")
        state = adapter_for(run.target).queue_state()
    except HarnessError:  # a WaitTimeout too: then the counts may not be final
        return None
    agents = (state or {}).get("agents")
    if not isinstance(agents, dict):
        return None
    seen = {a: sum(1 for s in served if s.agent == a) for a in order}
    before = {}
    for name in order:
        account = run.target.accounts.get(next((a.account for a in run.scenario.agents if a.name == name), name))
        reported = (agents.get(account.username) or {}).get("calls_taken") if account else None
        if not isinstance(reported, int) or reported < seen[name]:
            return None
        before[name] = reported - seen[name]
    return before


@dataclass(frozen=True)
class ExpectDistributionStep:
    """The answered calls were distributed to the agents the way ``strategy`` says."""

    strategy: Strategy
    calls: tuple[str, ...] = ()  # empty: every call placed before this step
    agents: tuple[str, ...] = ()  # the queue's members in configured order; empty: all agents
    mark: Mark | None = None


SCHEMA = """
description: >-
  Check which agent got each call against a queue strategy, from what the
  agent phones saw (offers and answers), not from what the platform says.
type: object
x-hint: "e.g. expect_distribution: {strategy: rrmemory, calls: [c1, c2, c3, c4]}"
required: [strategy]
additionalProperties: false
properties:
  strategy:
    description: The queue's strategy, named as in Asterisk app_queue.
    enum: [ringall, rrmemory, leastrecent, fewestcalls, linear, random]
  calls:
    description: The calls to judge, in the order placed (default every call placed so far).
    type: array
    minItems: 1
    items: {$ref: "#/$defs/call_ref", description: A call id.}
  agents:
    description: The queue's agents in their configured order (default every declared agent, in order).
    type: array
    minItems: 1
    uniqueItems: true
    items: {type: string, minLength: 1, description: An agent's name.}
"""


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> ExpectDistributionStep:
    """``expect_distribution: {strategy, calls, agents}``."""
    fields = mapping(body)
    calls = ctx.get(fields, at, "calls") or []
    for i, call_id in enumerate(calls):
        ctx.call(at + ("calls", i), {"call": call_id})
    agents = ctx.get(fields, at, "agents") or []
    for i, name in enumerate(agents):
        ctx.agent(at + ("agents", i), name)
    if not calls and not ctx.placed:
        ctx.report(at, "no call has been placed yet", "put the calls to check before this step")
    return ExpectDistributionStep(ctx.get(fields, at, "strategy"), tuple(calls), tuple(agents), mark)


def perform(run: ScenarioRun, step: ExpectDistributionStep) -> Measurements:
    import time

    order = list(step.agents) or [a.name for a in run.scenario.agents]
    answering = {a.name for a in run.scenario.agents if a.behaviour == "answer" and a.name in order}
    call_ids = list(step.calls) or list(run.calls)
    now, taken = time.monotonic(), attributed(run)
    served = [_served(run, c, now, taken) for c in call_ids]
    unanswered = [s.call for s in served if s.agent is None]
    before = _counts_before(run, served, order) if step.strategy == "fewestcalls" else None
    problems, note = judge(step.strategy, served, order, answering, before)
    if not problems and note.startswith("undecided"):
        raise HarnessError(f"{step.strategy}: {note}")
    if unanswered and step.strategy != "ringall":
        problems.append(f"calls {unanswered} were not answered by any agent")
    table = [s.row() for s in served]
    if problems:
        shown = "; ".join(problems[:6])
        pairs = ", ".join(f"{s.call}->{s.agent}" for s in served)
        raise run.fail("expect_distribution", (
            f"calls were not distributed as {step.strategy} (ACD智能分配): {shown}; "
            f"caller -> agent: {pairs}"))
    return {"strategy": step.strategy, "agents": order, "table": table, "note": note}


STRATEGIES: dict[str, str] = {
    "ringall": "同时振铃", "rrmemory": "轮询", "linear": "顺序", "leastrecent": "最久空闲优先",
    "fewestcalls": "最少通话优先", "random": "随机",
}


def say(spec: Mapping[str, Any]) -> Said:
    name = spec["strategy"]
    return (f"核对来电按「{STRATEGIES.get(name, name)}」策略分配给坐席",
            f"check the calls went to agents by the {name} strategy")


KIND = StepKind(
    name="expect_distribution",
    model=ExpectDistributionStep,
    description="The answered calls were shared among the agents as the queue strategy says.",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=always(Stops()),
    shot=(("ACD报表：每通电话分配给哪位坐席", "the ACD report: which agent took each call"),
          ("分配顺序符合策略", "the order follows the strategy")),
)
