"""ACD distribution: did each call go to the agent the queue's strategy names?

Judged from what the agent phones saw -- when each was offered a call (its
INVITE arrived) and who answered -- never from what the platform reports.
Strategies follow Asterisk app_queue.  Where the platform's history before
the scenario matters (leastrecent, fewestcalls), only the calls that the
scenario's own history decides are judged, and the verdict says so.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from harness.checks.attribution import attribute
from harness.errors import HarnessError
from harness.runner.legs import attributed, observe
from harness.runner.run import ScenarioRun
from harness.runner.steps import handles
from harness.scenario.model import ExpectDistributionStep
from harness.sip.timeline import CallTimeline

RINGALL_SPREAD = 0.5  # seconds within which all offers of one ring-all call must arrive
# An agent whose call ended less than this before an offer may still be busy in the
# platform's eyes: the BYE that reached the agent phone and the ACD's release of the agent
# race the next INVITE.  Such an agent is "settling": neither required nor barred.
SETTLE = 1.0
SETTLE_WAIT = 5.0  # for the agent legs to end before the platform's counts are read
RANDOM_MIN_CALLS = 10


@dataclass
class Served:
    """One caller's call as the agents saw it."""

    call: str
    start: float
    end: float
    offers: dict[str, float] = field(default_factory=dict)  # agent -> first offer time
    agent: str | None = None
    answered: float | None = None
    agent_end: float | None = None

    @property
    def offered_at(self) -> float:
        """When the platform first offered the call: busy-ness is judged at that moment."""
        return min(self.offers.values()) if self.offers else self.start

    def row(self) -> dict[str, Any]:
        return {
            "call": self.call, "agent": self.agent,
            "offered": {a: round(t - self.start, 3) for a, t in sorted(self.offers.items(), key=lambda x: x[1])},
            "answered_after_s": round(self.answered - self.start, 3) if self.answered else None,
        }


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


def _cyclic_next(order: list[str], after: str, eligible: set[str]) -> str | None:
    i = order.index(after)
    for step in range(1, len(order) + 1):
        candidate = order[(i + step) % len(order)]
        if candidate in eligible:
            return candidate
    return None


def _busy(served: list[Served], upto: int, at: float) -> set[str]:
    """Agents on another scenario call at time ``at``."""
    return {s.agent for s in served[:upto] if s.agent and s.answered and s.answered <= at < (s.agent_end or 0)}


def _settling(served: list[Served], upto: int, at: float) -> set[str]:
    """Agents whose scenario call ended less than ``SETTLE`` before ``at``."""
    return {s.agent for s in served[:upto]
            if s.agent and s.agent_end is not None and at - SETTLE < s.agent_end <= at}


def _free_in_order(served: list[Served], s: Served, order: list[str], answering: set[str]) -> list[str]:
    """The answering agents, in configured order, not on another call when ``s`` was offered."""
    busy = _busy(served, served.index(s), s.offered_at)
    return [a for a in order if a in answering and a not in busy]


def _free_sets(served: list[Served], s: Served, order: list[str], answering: set[str]) -> list[list[str]]:
    """The free agents when ``s`` was offered: one set, or two when a settling agent may count."""
    free = _free_in_order(served, s, order, answering)
    settling = _settling(served, served.index(s), s.offered_at)
    settled = [a for a in free if a not in settling]
    return [f for f in (free, settled) if f] if settled != free else ([free] if free else [])


def _judge(strategy: str, served: list[Served], order: list[str], answering: set[str],
           before: dict[str, int] | None = None) -> tuple[list[str], str]:
    problems: list[str] = []
    note = ""
    answered = [s for s in served if s.agent]
    if strategy == "ringall":
        for s in served:
            i = served.index(s)
            idle = answering - _busy(served, i, s.offered_at) - _settling(served, i, s.offered_at)
            missing = sorted(idle - s.offers.keys()) if s.offers else []
            spread = max(s.offers.values()) - min(s.offers.values()) if s.offers else 0.0
            if missing:
                problems.append(f"{s.call}: agents {missing} were free but not rung (rung: {sorted(s.offers)})")
            elif spread > RINGALL_SPREAD:
                problems.append(f"{s.call}: offers were spread over {spread:.1f}s, not rung at once")
    elif strategy == "rrmemory":
        for prev, cur in itertools.pairwise(answered):
            i = served.index(cur)
            eligible = answering - _busy(served, i, cur.offered_at)
            settled = eligible - _settling(served, i, cur.offered_at)
            wants = {_cyclic_next(order, prev.agent or "", e | {prev.agent or ""}) for e in (eligible, settled)}
            if cur.agent not in wants:
                want = " or ".join(sorted(w or "nobody" for w in wants))
                problems.append(f"{cur.call}: went to {cur.agent}; round robin after {prev.agent} gives {want}")
            if len(cur.offers) > 1 and min(cur.offers.values()) + RINGALL_SPREAD > sorted(cur.offers.values())[1]:
                problems.append(f"{cur.call}: {sorted(cur.offers)} were rung at once, not in turn")
    elif strategy == "linear":
        for s in answered:
            free = _free_in_order(served, s, order, answering)
            settling = _settling(served, served.index(s), s.offered_at)
            # the first free agent that is surely free, or any settling agent ahead of it
            allowed = list(itertools.takewhile(settling.__contains__, free))
            allowed += [a for a in free if a not in settling][:1]
            if allowed and s.agent not in allowed:
                problems.append(f"{s.call}: went to {s.agent}; linear order gives the first free agent, "
                                + " or ".join(allowed))
    elif strategy == "leastrecent":
        last_end: dict[str, float] = {}
        judged = 0
        for s in answered:
            frees = _free_sets(served, s, order, answering)
            if frees and all(a in last_end for f in frees for a in f):
                judged += 1
                idlest = {min(f, key=lambda a: last_end[a]) for f in frees}
                if s.agent not in idlest:
                    problems.append(f"{s.call}: went to {s.agent}; {' or '.join(sorted(idlest))} "
                                    "had been idle longest")
            last_end[s.agent or ""] = s.agent_end or s.end
        note = f"{judged} of {len(answered)} calls decidable from the scenario's own history"
        if judged == 0:
            note = "undecided: no call could be judged; place more calls than agents"
    elif strategy == "fewestcalls":
        taken: dict[str, int] = dict(before or {})
        judged = 0
        for s in answered:
            frees = _free_sets(served, s, order, answering)
            if frees and all(a in taken for f in frees for a in f):
                judged += 1
                fewest = {min(taken[a] for a in f) for f in frees}
                if taken[s.agent or ""] not in fewest:
                    problems.append(f"{s.call}: went to {s.agent} ({taken[s.agent or '']} calls taken); "
                                    f"an agent with {min(fewest)} was free")
            taken[s.agent or ""] = taken.get(s.agent or "", 0) + 1
        note = (f"{judged} of {len(answered)} calls judged on calls taken, counted from the platform's own "
                f"counts before the scenario ({before})" if before else
                f"{judged} of {len(answered)} calls judged on calls taken in this scenario "
                "(the platform's earlier counts are not visible over SIP)")
        if judged == 0:
            note = "undecided: no call could be judged; place more calls than agents"
    elif strategy == "random":
        if len(answered) < RANDOM_MIN_CALLS:
            raise HarnessError(f"random: judge at least {RANDOM_MIN_CALLS} answered calls")
        if len({s.agent for s in answered}) < 2:
            problems.append(f"all {len(answered)} calls went to {answered[0].agent}: not random")
        note = "random: judged only as not always the same agent"
    return problems, note


def _never_offered(strategy: str, served: list[Served], answering: set[str]) -> list[str]:
    """Round robin, ring-all and least-recent reach each logged-in agent over enough calls.

    Not linear (it never needs to), random (no guarantee), nor fewestcalls: an
    agent with many calls from before the scenario may rightly wait a long time.
    """
    if strategy in ("linear", "random", "fewestcalls") or len(served) <= len(answering):
        return []
    offered = {a for s in served for a in s.offers}
    return [f"agent {a} was logged in and free but was never offered any of the {len(served)} calls"
            for a in sorted(answering - offered)]


def _counts_before(run: ScenarioRun, served: list[Served], order: list[str]) -> dict[str, int] | None:
    """Each agent's calls before the scenario: the platform's count now, less the calls seen here.

    Fewestcalls weighs history SIP cannot show. Where the adapter reports
    per-agent counts (``queue_state``), the history is taken from it -- and
    only the history: every call of the scenario is still judged from what the
    agent phones saw. None when the platform cannot say, or its count is below
    what the phones saw (then it is not to be trusted).
    """
    from harness.targets.adapter import adapter_for

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


@handles(ExpectDistributionStep)
def expect_distribution(run: ScenarioRun, step: ExpectDistributionStep) -> dict[str, Any]:
    import time

    order = list(step.agents) or [a.name for a in run.scenario.agents]
    answering = {a.name for a in run.scenario.agents if a.behaviour == "answer" and a.name in order}
    call_ids = list(step.calls) or list(run.calls)
    now, taken = time.monotonic(), attributed(run)
    served = [_served(run, c, now, taken) for c in call_ids]
    unanswered = [s.call for s in served if s.agent is None]
    before = _counts_before(run, served, order) if step.strategy == "fewestcalls" else None
    problems, note = _judge(step.strategy, served, order, answering, before)
    problems += _never_offered(step.strategy, served, answering)
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
