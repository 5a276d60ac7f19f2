"""ACD distribution verdicts: did each call go to the agent the queue's strategy names?

Pure functions of what the agent phones saw -- when each agent was offered each
call (its INVITE arrived), who answered and when that leg ended -- never of what
the platform reports.  Strategies follow Asterisk app_queue.  Where the
platform's history before the scenario matters (leastrecent, fewestcalls), only
the calls that the scenario's own history decides are judged, and the note says
so.  The runner (``harness/steps/expect_distribution.py``) gathers the observations.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.errors import HarnessError

RINGALL_SPREAD = 0.5  # seconds within which all offers of one ring-all call must arrive
# An agent whose call ended less than this before an offer may still be busy in the
# platform's eyes: the BYE that reached the agent phone and the ACD's release of the agent
# race the next INVITE.  Such an agent is "settling": neither required nor barred.
SETTLE = 1.0
RANDOM_MIN_CALLS = 10
UNDECIDED = "undecided: no call could be judged; place more calls than agents"


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
        offered = sorted(self.offers.items(), key=lambda x: x[1])
        return {
            "call": self.call, "agent": self.agent,
            "offered": {a: round(t - self.start, 3) for a, t in offered},
            "answered_after_s": round(self.answered - self.start, 3) if self.answered else None,
        }


@dataclass(frozen=True)
class Queue:
    """The queue as the scenario declares it: members in configured order, who answers."""

    order: list[str]
    answering: set[str]
    before: dict[str, int] | None = None  # calls taken before the scenario, if the platform says


Verdict = tuple[list[str], str]  # (problems, note)


def judge(strategy: str, served: list[Served], order: list[str], answering: set[str],
          before: dict[str, int] | None = None) -> Verdict:
    """The problems with ``served`` under ``strategy`` (none: conformant), and a note."""
    problems, note = _STRATEGIES[strategy](served, Queue(order, answering, before))
    return problems + never_offered(strategy, served, answering), note


def never_offered(strategy: str, served: list[Served], answering: set[str]) -> list[str]:
    """Round robin, ring-all and least-recent reach each logged-in agent over enough calls.

    Not linear (it never needs to), random (no guarantee), nor fewestcalls: an
    agent with many calls from before the scenario may rightly wait a long time.
    """
    if strategy in ("linear", "random", "fewestcalls") or len(served) <= len(answering):
        return []
    offered = {a for s in served for a in s.offers}
    return [f"agent {a} was logged in and free but was never offered any of the {len(served)} calls"
            for a in sorted(answering - offered)]


# -- who was free ------------------------------------------------------------------------
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


def _free_in_order(served: list[Served], s: Served, q: Queue) -> list[str]:
    """The answering agents, in configured order, not on another call when ``s`` was offered."""
    busy = _busy(served, served.index(s), s.offered_at)
    return [a for a in q.order if a in q.answering and a not in busy]


def _free_sets(served: list[Served], s: Served, q: Queue) -> list[list[str]]:
    """The free agents when ``s`` was offered: one set, or two when a settling agent may count."""
    free = _free_in_order(served, s, q)
    settling = _settling(served, served.index(s), s.offered_at)
    settled = [a for a in free if a not in settling]
    return [f for f in (free, settled) if f] if settled != free else ([free] if free else [])


# -- one function a strategy ---------------------------------------------------------------
def _ringall(served: list[Served], q: Queue) -> Verdict:
    problems = []
    for i, s in enumerate(served):
        idle = q.answering - _busy(served, i, s.offered_at) - _settling(served, i, s.offered_at)
        missing = sorted(idle - s.offers.keys()) if s.offers else []
        spread = max(s.offers.values()) - min(s.offers.values()) if s.offers else 0.0
        if missing:
            problems.append(f"{s.call}: agents {missing} were free but not rung (rung: {sorted(s.offers)})")
        elif spread > RINGALL_SPREAD:
            problems.append(f"{s.call}: offers were spread over {spread:.1f}s, not rung at once")
    return problems, ""


def _rrmemory(served: list[Served], q: Queue) -> Verdict:
    problems = []
    for prev, cur in itertools.pairwise([s for s in served if s.agent]):
        i = served.index(cur)
        eligible = q.answering - _busy(served, i, cur.offered_at)
        settled = eligible - _settling(served, i, cur.offered_at)
        wants = {_cyclic_next(q.order, prev.agent or "", e | {prev.agent or ""}) for e in (eligible, settled)}
        if cur.agent not in wants:
            want = " or ".join(sorted(w or "nobody" for w in wants))
            problems.append(f"{cur.call}: went to {cur.agent}; round robin after {prev.agent} gives {want}")
        if len(cur.offers) > 1 and min(cur.offers.values()) + RINGALL_SPREAD > sorted(cur.offers.values())[1]:
            problems.append(f"{cur.call}: {sorted(cur.offers)} were rung at once, not in turn")
    return problems, ""


def _linear(served: list[Served], q: Queue) -> Verdict:
    problems = []
    for s in (s for s in served if s.agent):
        free = _free_in_order(served, s, q)
        settling = _settling(served, served.index(s), s.offered_at)
        # the first free agent that is surely free, or any settling agent ahead of it
        allowed = list(itertools.takewhile(settling.__contains__, free))
        allowed += [a for a in free if a not in settling][:1]
        if allowed and s.agent not in allowed:
            problems.append(f"{s.call}: went to {s.agent}; linear order gives the first free agent, "
                            + " or ".join(allowed))
    return problems, ""


def _leastrecent(served: list[Served], q: Queue) -> Verdict:
    problems: list[str] = []
    last_end: dict[str, float] = {}
    answered = [s for s in served if s.agent]
    judged = 0
    for s in answered:
        frees = _free_sets(served, s, q)
        if frees and all(a in last_end for f in frees for a in f):
            judged += 1
            idlest = {min(f, key=lambda a: last_end[a]) for f in frees}
            if s.agent not in idlest:
                problems.append(f"{s.call}: went to {s.agent}; {' or '.join(sorted(idlest))} had been idle longest")
        last_end[s.agent or ""] = s.agent_end or s.end
    note = f"{judged} of {len(answered)} calls decidable from the scenario's own history"
    return problems, note if judged else UNDECIDED


def _fewestcalls(served: list[Served], q: Queue) -> Verdict:
    problems: list[str] = []
    taken: dict[str, int] = dict(q.before or {})
    answered = [s for s in served if s.agent]
    judged = 0
    for s in answered:
        frees = _free_sets(served, s, q)
        if frees and all(a in taken for f in frees for a in f):
            judged += 1
            fewest = {min(taken[a] for a in f) for f in frees}
            if taken[s.agent or ""] not in fewest:
                problems.append(f"{s.call}: went to {s.agent} ({taken[s.agent or '']} calls taken); "
                                f"an agent with {min(fewest)} was free")
        taken[s.agent or ""] = taken.get(s.agent or "", 0) + 1
    note = (f"{judged} of {len(answered)} calls judged on calls taken, counted from the platform's own "
            f"counts before the scenario ({q.before})" if q.before else
            f"{judged} of {len(answered)} calls judged on calls taken in this scenario "
            "(the platform's earlier counts are not visible over SIP)")
    return problems, note if judged else UNDECIDED


def _random(served: list[Served], q: Queue) -> Verdict:
    answered = [s for s in served if s.agent]
    if len(answered) < RANDOM_MIN_CALLS:
        raise HarnessError(f"random: judge at least {RANDOM_MIN_CALLS} answered calls")
    problems = []
    if len({s.agent for s in answered}) < 2:
        problems.append(f"all {len(answered)} calls went to {answered[0].agent}: not random")
    return problems, "random: judged only as not always the same agent"


_STRATEGIES: dict[str, Callable[[list[Served], Queue], Verdict]] = {
    "ringall": _ringall, "rrmemory": _rrmemory, "linear": _linear,
    "leastrecent": _leastrecent, "fewestcalls": _fewestcalls, "random": _random,
}
