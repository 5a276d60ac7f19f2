"""The ACD distribution judgement on call histories as agent phones see them.

The real-call proof (a conformant platform passes, each ACD fault fails) is
tests/faults; these pin the edge the real calls only hit by chance: an agent
whose call ended a moment before the next offer ("settling") may still be busy
in the platform's eyes, so either choice is right -- but only for a moment.
"""

from __future__ import annotations

import pytest

from harness.checks.acd import SETTLE, Served, judge
from harness.errors import HarnessError

ORDER = ["agent1", "agent2", "agent3"]
ALL = set(ORDER)


def call(name: str, start: float, agent: str, length: float = 2.0, offers: dict[str, float] | None = None) -> Served:
    """A call offered 0.1 s after it started, answered 0.4 s later, both legs ending together."""
    offered = offers or {agent: start + 0.1}
    end = start + 0.5 + length
    return Served(name, start, end, offered, agent, start + 0.5, end)


def sequence(agents: list[str], gap: float) -> list[Served]:
    """Calls one after another, each placed ``gap`` seconds after the previous one ended."""
    served, t = [], 0.0
    for i, agent in enumerate(agents, 1):
        served.append(call(f"c{i}", t, agent))
        t = served[-1].end + gap
    return served


def test_linear_accepts_the_next_agent_while_the_first_may_still_be_settling() -> None:
    problems, _ = judge("linear", sequence(["agent1", "agent1", "agent2"], gap=0.05), ORDER, ALL)
    assert problems == []


def test_linear_fails_when_the_first_agent_had_long_been_free() -> None:
    problems, _ = judge("linear", sequence(["agent1", "agent1", "agent2"], gap=SETTLE + 0.5), ORDER, ALL)
    assert problems == ["c3: went to agent2; linear order gives the first free agent, agent1"]


def test_linear_never_accepts_an_agent_behind_a_surely_free_one() -> None:
    problems, _ = judge("linear", sequence(["agent1", "agent3"], gap=0.05), ORDER, ALL)
    assert problems == ["c2: went to agent3; linear order gives the first free agent, agent1 or agent2"]


def test_round_robin_accepts_either_turn_around_a_settling_agent() -> None:
    # after agent3, the turn is agent1's; agent1's call just ended, so agent2 is right too
    served = [call("c1", 0.0, "agent1", length=6.0), call("c2", 1.0, "agent2"), call("c3", 4.0, "agent3", length=2.55)]
    served.append(call("c4", served[0].agent_end + 0.05, "agent2"))  # type: ignore[operator]
    assert judge("rrmemory", served, ORDER, ALL)[0] == []
    late = served[:3] + [call("c4", served[0].agent_end + SETTLE + 0.5, "agent2")]  # type: ignore[operator]
    assert judge("rrmemory", late, ORDER, ALL)[0] == [
        "c4: went to agent2; round robin after agent3 gives agent1"]


def test_ringall_need_not_ring_a_settling_agent_but_must_ring_a_free_one() -> None:
    first = call("c1", 0.0, "agent1", offers={a: 0.1 for a in ORDER})
    soon = first.end + 0.05
    second = call("c2", soon, "agent2", offers={"agent2": soon + 0.1, "agent3": soon + 0.1})
    assert judge("ringall", [first, second], ORDER, ALL)[0] == []
    late = first.end + SETTLE + 0.5
    second = call("c2", late, "agent2", offers={"agent2": late + 0.1, "agent3": late + 0.1})
    assert judge("ringall", [first, second], ORDER, ALL)[0] == [
        "c2: agents ['agent1'] were free but not rung (rung: ['agent2', 'agent3'])"]


@pytest.mark.parametrize(("fifth", "problems"), [
    ("agent1", []),
    ("agent3", ["c5: went to agent3 (2 calls taken); an agent with 1 was free"]),
])
def test_fewestcalls_judges_once_every_free_agent_has_a_count(fifth: str, problems: list[str]) -> None:
    served = sequence(["agent1", "agent2", "agent3", "agent3", fifth], gap=SETTLE + 0.5)
    got, note = judge("fewestcalls", served, ORDER, ALL)
    assert got == problems
    assert note.startswith("2 of 5 calls judged")


def test_leastrecent_names_the_agent_idle_longest() -> None:
    served = sequence(["agent1", "agent2", "agent3", "agent2"], gap=SETTLE + 0.5)
    assert judge("leastrecent", served, ORDER, ALL)[0] == ["c4: went to agent2; agent1 had been idle longest"]
    served = sequence(["agent1", "agent2", "agent3", "agent1"], gap=SETTLE + 0.5)
    problems, note = judge("leastrecent", served, ORDER, ALL)
    assert problems == [] and note == "1 of 4 calls decidable from the scenario's own history"


def test_fewestcalls_counts_from_the_platforms_history_when_it_is_known() -> None:
    before = {"agent1": 2, "agent2": 0, "agent3": 0}
    fair = sequence(["agent2", "agent3", "agent2"], gap=SETTLE + 0.5)
    problems, note = judge("fewestcalls", fair, ORDER, ALL, before)
    assert problems == [] and note.startswith("3 of 3 calls judged")
    unfair = sequence(["agent1", "agent2", "agent3"], gap=SETTLE + 0.5)
    assert judge("fewestcalls", unfair, ORDER, ALL, before)[0] == [
        "c1: went to agent1 (2 calls taken); an agent with 0 was free"]


def test_random_needs_enough_calls_and_fails_when_one_agent_takes_all() -> None:
    with pytest.raises(HarnessError, match="judge at least 10 answered calls"):
        judge("random", sequence(["agent1"] * 5, gap=0.5), ORDER, ALL)
    problems, note = judge("random", sequence(["agent1"] * 10, gap=0.5), ORDER, ALL)
    assert problems == ["all 10 calls went to agent1: not random"] and note.startswith("random:")
    assert judge("random", sequence(["agent1", "agent3"] * 5, gap=0.5), ORDER, ALL)[0] == []


def test_an_agent_never_offered_over_more_calls_than_agents_is_a_problem_for_round_robin_only() -> None:
    served = sequence(["agent1", "agent2", "agent1", "agent2"], gap=SETTLE + 0.5)
    assert "agent agent3 was logged in and free but was never offered any of the 4 calls" in \
        judge("rrmemory", served, ORDER, ALL)[0]
    assert judge("linear", served, ORDER, ALL)[0] == [
        "c2: went to agent2; linear order gives the first free agent, agent1",
        "c4: went to agent2; linear order gives the first free agent, agent1"]
