"""The ACD distribution judgement on call histories as agent phones see them.

The real-call proof (a conformant platform passes, each ACD fault fails) is
tests/faults; these pin the edge the real calls only hit by chance: an agent
whose call ended a moment before the next offer ("settling") may still be busy
in the platform's eyes, so either choice is right -- but only for a moment.
"""

from __future__ import annotations

import pytest

from harness.runner.steps.acd import SETTLE, Served, _judge

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
    problems, _ = _judge("linear", sequence(["agent1", "agent1", "agent2"], gap=0.05), ORDER, ALL)
    assert problems == []


def test_linear_fails_when_the_first_agent_had_long_been_free() -> None:
    problems, _ = _judge("linear", sequence(["agent1", "agent1", "agent2"], gap=SETTLE + 0.5), ORDER, ALL)
    assert problems == ["c3: went to agent2; linear order gives the first free agent, agent1"]


def test_linear_never_accepts_an_agent_behind_a_surely_free_one() -> None:
    problems, _ = _judge("linear", sequence(["agent1", "agent3"], gap=0.05), ORDER, ALL)
    assert problems == ["c2: went to agent3; linear order gives the first free agent, agent1 or agent2"]


def test_round_robin_accepts_either_turn_around_a_settling_agent() -> None:
    # after agent3, the turn is agent1's; agent1's call just ended, so agent2 is right too
    served = [call("c1", 0.0, "agent1", length=6.0), call("c2", 1.0, "agent2"), call("c3", 4.0, "agent3", length=2.55)]
    served.append(call("c4", served[0].agent_end + 0.05, "agent2"))  # type: ignore[operator]
    assert _judge("rrmemory", served, ORDER, ALL)[0] == []
    late = served[:3] + [call("c4", served[0].agent_end + SETTLE + 0.5, "agent2")]  # type: ignore[operator]
    assert _judge("rrmemory", late, ORDER, ALL)[0] == [
        "c4: went to agent2; round robin after agent3 gives agent1"]


def test_ringall_need_not_ring_a_settling_agent_but_must_ring_a_free_one() -> None:
    first = call("c1", 0.0, "agent1", offers={a: 0.1 for a in ORDER})
    soon = first.end + 0.05
    second = call("c2", soon, "agent2", offers={"agent2": soon + 0.1, "agent3": soon + 0.1})
    assert _judge("ringall", [first, second], ORDER, ALL)[0] == []
    late = first.end + SETTLE + 0.5
    second = call("c2", late, "agent2", offers={"agent2": late + 0.1, "agent3": late + 0.1})
    assert _judge("ringall", [first, second], ORDER, ALL)[0] == [
        "c2: agents ['agent1'] were free but not rung (rung: ['agent2', 'agent3'])"]


@pytest.mark.parametrize(("fifth", "problems"), [
    ("agent1", []),
    ("agent3", ["c5: went to agent3 (2 calls taken); an agent with 1 was free"]),
])
def test_fewestcalls_judges_once_every_free_agent_has_a_count(fifth: str, problems: list[str]) -> None:
    served = sequence(["agent1", "agent2", "agent3", "agent3", fifth], gap=SETTLE + 0.5)
    got, note = _judge("fewestcalls", served, ORDER, ALL)
    assert got == problems
    assert note.startswith("2 of 5 calls judged")


def test_leastrecent_names_the_agent_idle_longest() -> None:
    served = sequence(["agent1", "agent2", "agent3", "agent2"], gap=SETTLE + 0.5)
    assert _judge("leastrecent", served, ORDER, ALL)[0] == ["c4: went to agent2; agent1 had been idle longest"]
    served = sequence(["agent1", "agent2", "agent3", "agent1"], gap=SETTLE + 0.5)
    problems, note = _judge("leastrecent", served, ORDER, ALL)
    assert problems == [] and note == "1 of 4 calls decidable from the scenario's own history"


def test_fewestcalls_counts_from_the_platforms_history_when_it_is_known() -> None:
    before = {"agent1": 2, "agent2": 0, "agent3": 0}
    fair = sequence(["agent2", "agent3", "agent2"], gap=SETTLE + 0.5)
    problems, note = _judge("fewestcalls", fair, ORDER, ALL, before)
    assert problems == [] and note.startswith("3 of 3 calls judged")
    unfair = sequence(["agent1", "agent2", "agent3"], gap=SETTLE + 0.5)
    assert _judge("fewestcalls", unfair, ORDER, ALL, before)[0] == [
        "c1: went to agent1 (2 calls taken); an agent with 0 was free"]
