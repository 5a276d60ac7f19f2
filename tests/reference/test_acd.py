"""The reference ACD coordinator decides like Asterisk app_queue, and each fault shows.

Pure decision logic on a fake clock: no SIP here. Every strategy is run
over a sequence of calls with three agents; every fault is run twice, with
and without it, so a test shows both the conformant and the faulty way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

import pytest

from fixtures.reference.acd import (
    AcdError,
    Coordinator,
    Decision,
    Offer,
    Overflow,
    QueueConfig,
    Refuse,
    Wait,
)

AGENTS = ("a", "b", "c")


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make(
    strategy: str = "linear",
    agents: tuple[str, ...] = AGENTS,
    faults: Iterable[str] = (),
    register: Iterable[str] | None = None,
    **options: Any,
) -> tuple[Coordinator, FakeClock]:
    """One queue ``q`` with ``agents``, all registered unless ``register`` says who."""
    clock = FakeClock()
    cfg = QueueConfig("q", strategy, agents, **options)  # type: ignore[arg-type]
    acd = Coordinator([cfg], clock, frozenset(faults))
    for agent in agents if register is None else register:
        acd.agent_registered(agent, True)
    return acd, clock


def offered(decision: Decision) -> tuple[str, ...]:
    assert isinstance(decision, Offer), f"expected an Offer, got {decision}"
    return decision.agents


def take_call(acd: Coordinator, clock: FakeClock, call_id: str, talk: float = 5.0) -> str:
    """Enqueue, let the first offered agent answer, talk, hang up; who answered."""
    (agent, *_) = offered(acd.enqueue(call_id, "q"))
    acd.offer_result(call_id, agent, "answered")
    clock.advance(talk)
    acd.call_ended(call_id)
    clock.advance(1.0)
    return agent


def answer(acd: Coordinator, call_id: str) -> str:
    """Enqueue and let the (single) offered agent answer; the call stays up."""
    (agent,) = offered(acd.enqueue(call_id, "q"))
    acd.offer_result(call_id, agent, "answered")
    return agent


# -- strategies ---------------------------------------------------------------
def test_rrmemory_rotates_over_six_calls() -> None:
    acd, clock = make("rrmemory")
    assert [take_call(acd, clock, f"c{i}") for i in range(6)] == list("abcabc")
    assert acd.snapshot()["queues"]["q"]["rotation"] == {"last_answered": "c", "next": "a"}


def test_rrmemory_starts_after_the_agent_that_answered() -> None:
    acd, clock = make("rrmemory")
    assert offered(acd.enqueue("c1", "q")) == ("a",)
    acd.offer_result("c1", "a", "no_answer")
    assert offered(acd.next_offer("c1")) == ("b",)
    acd.offer_result("c1", "b", "answered")
    acd.call_ended("c1")
    assert take_call(acd, clock, "c2") == "c"


def test_linear_always_offers_the_first_free_agent() -> None:
    acd, clock = make("linear")
    assert [take_call(acd, clock, f"c{i}") for i in range(4)] == list("aaaa")
    assert answer(acd, "c5") == "a"
    assert answer(acd, "c6") == "b"
    assert answer(acd, "c7") == "c"


def test_leastrecent_prefers_never_called_then_longest_since_hangup() -> None:
    acd, clock = make("leastrecent", agents=("a", "b", "c", "d"))
    for call_id in ("c1", "c2", "c3"):
        answer(acd, call_id)  # a, b, c in configured order: none has a last call yet
    for call_id in ("c3", "c1", "c2"):  # c hangs up first, then a, then b
        clock.advance(10)
        acd.call_ended(call_id)
    assert [answer(acd, f"n{i}") for i in range(4)] == ["d", "c", "a", "b"]


def test_fewestcalls_prefers_the_agent_with_fewest_completed_calls() -> None:
    acd, clock = make("fewestcalls", register=())
    history = {"a": 3, "b": 1, "c": 2}
    for agent, count in history.items():  # only ``agent`` logged in while its calls come
        acd.agent_registered(agent, True)
        for i in range(count):
            assert take_call(acd, clock, f"{agent}{i}") == agent
        acd.agent_registered(agent, False)
    for agent in AGENTS:
        acd.agent_registered(agent, True)
    taken = {a: v["calls_taken"] for a, v in acd.snapshot()["agents"].items()}
    assert taken == history
    assert [answer(acd, f"n{i}") for i in range(3)] == ["b", "c", "a"]


def test_fewestcalls_ties_go_to_configured_order() -> None:
    acd, clock = make("fewestcalls")
    assert [take_call(acd, clock, f"c{i}") for i in range(6)] == list("abcabc")


def test_ringall_offers_every_available_agent_and_first_answer_wins() -> None:
    acd, _ = make("ringall", agents=("a", "b", "c", "d"))
    assert offered(acd.enqueue("c0", "q")) == ("a", "b", "c", "d")
    acd.offer_result("c0", "d", "answered")  # d is now busy
    assert offered(acd.enqueue("c1", "q")) == ("a", "b", "c")
    acd.offer_result("c1", "b", "answered")
    agents = acd.snapshot()["agents"]
    assert [agents[a]["ringing_for"] for a in "abcd"] == [None, None, None, None]
    assert offered(acd.enqueue("c2", "q")) == ("a", "c")


def test_ringall_timeout_of_every_leg_starts_a_new_round_after_retry() -> None:
    acd, clock = make("ringall", retry=5.0)
    assert offered(acd.enqueue("c1", "q")) == AGENTS
    acd.offer_result("c1", "b", "busy")  # one leg fails early, the others keep ringing
    assert offered(acd.next_offer("c1")) == ("a", "c")
    clock.advance(15)
    acd.offer_result("c1", None, "no_answer")
    wait = acd.next_offer("c1")
    assert isinstance(wait, Wait) and wait.reason == "retry" and wait.recheck_at == 20.0
    clock.advance(5)
    decision = acd.next_offer("c1")
    assert isinstance(decision, Offer) and decision.agents == AGENTS and decision.round == 2


def test_random_is_reproducible_with_a_seed_and_covers_every_agent() -> None:
    def run(seed: int) -> list[str]:
        acd, clock = make("random", random_seed=seed)
        return [take_call(acd, clock, f"c{i}") for i in range(30)]

    first = run(7)
    assert first == run(7)
    assert set(first) == set(AGENTS)
    assert first != run(8)


# -- who is available ---------------------------------------------------------------
def test_unregistered_busy_and_wrapup_agents_are_skipped() -> None:
    acd, clock = make("linear", register=("b", "c"), wrapup=10.0)
    assert answer(acd, "c1") == "b"  # a never registered
    assert answer(acd, "c2") == "c"  # b busy
    wait = acd.enqueue("c3", "q")
    assert isinstance(wait, Wait) and wait.reason == "no_agent"
    clock.advance(3)
    acd.call_ended("c1")  # b into wrap-up until t=13
    assert acd.due() == ()
    assert isinstance(acd.next_offer("c3"), Wait)
    assert acd.next_deadline() == 13.0
    acd.agent_registered("a", True)
    assert acd.due() == ("c3",)
    assert offered(acd.next_offer("c3")) == ("a",)


def test_wrapup_ends_and_the_agent_is_offered_again() -> None:
    acd, clock = make("linear", agents=("a",), wrapup=10.0)
    answer(acd, "c1")
    acd.call_ended("c1")
    wait = acd.enqueue("c2", "q")
    assert isinstance(wait, Wait) and wait.recheck_at == 10.0
    snap = acd.snapshot()["agents"]["a"]
    assert snap["wrapup"] and snap["calls_taken"] == 1 and snap["last_call"] == 0.0
    clock.advance(10)
    assert acd.due() == ("c2",)
    assert offered(acd.next_offer("c2")) == ("a",)


def test_an_agent_ringing_for_one_call_is_not_offered_another() -> None:
    acd, _ = make("linear")
    assert offered(acd.enqueue("c1", "q")) == ("a",)
    assert offered(acd.enqueue("c2", "q")) == ("b",)  # autofill: c2 need not wait for c1
    assert acd.snapshot()["agents"]["a"]["ringing_for"] == "c1"


def test_agents_are_shared_between_queues() -> None:
    clock = FakeClock()
    queues = [QueueConfig("q1", "linear", ("a", "b")), QueueConfig("q2", "linear", ("a", "c"))]
    acd = Coordinator(queues, clock)
    for agent in "abc":
        acd.agent_registered(agent, True)
    assert offered(acd.enqueue("x", "q1")) == ("a",)
    assert offered(acd.enqueue("y", "q2")) == ("c",)


# -- failing offers ---------------------------------------------------------------
@pytest.mark.parametrize("outcome", ["no_answer", "busy", "unavailable"])
def test_a_failed_offer_moves_to_the_next_agent(outcome: str) -> None:
    acd, _ = make("linear")
    assert offered(acd.enqueue("c1", "q")) == ("a",)
    acd.offer_result("c1", "a", outcome)  # type: ignore[arg-type]
    assert offered(acd.next_offer("c1")) == ("b",)
    acd.offer_result("c1", "b", outcome)  # type: ignore[arg-type]
    assert offered(acd.next_offer("c1")) == ("c",)


def test_when_everyone_was_tried_the_next_round_waits_for_retry() -> None:
    acd, clock = make("linear", retry=4.0)
    acd.enqueue("c1", "q")
    for agent in AGENTS:
        clock.advance(15)
        acd.offer_result("c1", agent, "no_answer")
        decision = acd.next_offer("c1")
    assert isinstance(decision, Wait) and decision.reason == "retry"
    assert acd.due() == ()
    clock.advance(4)
    assert acd.due() == ("c1",)
    decision = acd.next_offer("c1")
    assert isinstance(decision, Offer) and decision.agents == ("a",) and decision.round == 2


@pytest.mark.parametrize("outcome", ["busy", "unavailable"])
def test_agents_who_all_reject_are_rung_again_only_after_the_default_retry(
    outcome: str,
) -> None:
    acd, clock = make("linear")  # retry not set: app_queue's 5 s
    assert offered(acd.enqueue("c1", "q")) == ("a",)
    for agent, then in (("a", "b"), ("b", "c")):  # each refusal moves on at once
        acd.offer_result("c1", agent, outcome)  # type: ignore[arg-type]
        assert offered(acd.next_offer("c1")) == (then,)
    acd.offer_result("c1", "c", outcome)  # type: ignore[arg-type]
    for _ in range(3):  # however often the worker asks, nobody is rung before retry
        decision = acd.next_offer("c1")
        assert isinstance(decision, Wait) and decision.reason == "retry", decision
        assert decision.recheck_at == 5.0
    clock.advance(4.9)
    assert acd.due() == () and acd.next_deadline() == 5.0
    assert isinstance(acd.next_offer("c1"), Wait)
    clock.advance(0.1)
    assert acd.due() == ("c1",)
    decision = acd.next_offer("c1")
    assert isinstance(decision, Offer) and decision.agents == ("a",) and decision.round == 2


def test_ringall_rejected_by_every_leg_waits_for_retry() -> None:
    acd, clock = make("ringall", retry=2.0)
    assert offered(acd.enqueue("c1", "q")) == AGENTS
    acd.offer_result("c1", None, "busy")  # the forked INVITE's final 486
    decision = acd.next_offer("c1")
    assert isinstance(decision, Wait) and decision.reason == "retry" and decision.recheck_at == 2.0
    clock.advance(2.0)
    assert offered(acd.next_offer("c1")) == AGENTS


def test_retry_must_be_longer_than_zero() -> None:
    with pytest.raises(AcdError, match="retry must be > 0, got 0"):
        QueueConfig("q", "linear", AGENTS, retry=0)


def test_ring_time_is_cut_at_max_wait_then_the_call_overflows() -> None:
    acd, clock = make("linear", ring_timeout=15.0, max_wait=20.0)
    acd.enqueue("c1", "q")
    clock.advance(15)
    acd.offer_result("c1", "a", "no_answer")
    decision = acd.next_offer("c1")
    assert isinstance(decision, Offer) and decision.ring_timeout == 5.0
    clock.advance(5)
    acd.offer_result("c1", "b", "no_answer")
    overflow = acd.next_offer("c1")
    assert overflow == Overflow("c1", "q", "timeout", 20.0)
    assert acd.snapshot()["agents"]["b"]["ringing_for"] is None


def test_asking_while_ringing_returns_the_outstanding_offer() -> None:
    acd, clock = make("linear")
    acd.enqueue("c1", "q")
    clock.advance(4)
    decision = acd.next_offer("c1")
    assert isinstance(decision, Offer) and decision.agents == ("a",)
    assert decision.ring_timeout == 11.0


# -- queueing -------------------------------------------------------------------------
def test_calls_wait_in_fifo_order_with_positions() -> None:
    acd, clock = make("linear", agents=("a",), retry=1.0)
    assert offered(acd.enqueue("c1", "q")) == ("a",)
    waits = [acd.enqueue(c, "q") for c in ("c2", "c3")]
    assert [(w.position, w.reason) for w in waits if isinstance(w, Wait)] == [
        (2, "no_agent"),
        (3, "no_agent"),
    ]
    acd.offer_result("c1", "a", "no_answer")
    assert isinstance(acd.next_offer("c1"), Wait)  # its round is over: retry
    clock.advance(1.0)
    assert isinstance(acd.next_offer("c2"), Wait)  # the head goes first
    assert offered(acd.next_offer("c1")) == ("a",)
    acd.offer_result("c1", "a", "answered")
    assert [acd.position(c) for c in ("c1", "c2", "c3")] == [0, 1, 2]
    acd.call_ended("c1")
    assert acd.due() == ("c2",)
    assert offered(acd.next_offer("c2")) == ("a",)
    assert isinstance(acd.next_offer("c3"), Wait)


def test_a_caller_who_hangs_up_leaves_the_queue_and_frees_the_agent() -> None:
    acd, _ = make("linear", agents=("a",))
    acd.enqueue("c1", "q")
    acd.enqueue("c2", "q")
    acd.enqueue("c3", "q")
    acd.offer_result("c2", None, "caller_gone")
    assert acd.position("c3") == 2
    acd.offer_result("c1", None, "caller_gone")
    assert acd.snapshot()["agents"]["a"]["ringing_for"] is None
    assert acd.due() == ("c3",)
    assert offered(acd.next_offer("c3")) == ("a",)
    with pytest.raises(AcdError, match="'c1' is not"):
        acd.position("c1")


def test_position_is_announced_every_interval() -> None:
    acd, clock = make("linear", register=(), announce_position_every=30.0)
    first = acd.enqueue("c1", "q")
    assert isinstance(first, Wait) and first.announce_position and first.recheck_at == 30.0
    clock.advance(10)
    assert acd.due() == ()
    later = acd.next_offer("c1")
    assert isinstance(later, Wait) and not later.announce_position
    clock.advance(20)
    assert acd.due() == ("c1",)
    again = acd.next_offer("c1")
    assert isinstance(again, Wait) and again.announce_position and again.position == 1


def test_max_wait_overflows_a_waiting_call() -> None:
    acd, clock = make("linear", register=(), max_wait=60.0)
    wait = acd.enqueue("c1", "q")
    assert isinstance(wait, Wait) and wait.recheck_at == 60.0
    clock.advance(59.9)
    assert acd.due() == ()
    clock.advance(0.1)
    assert acd.due() == ("c1",)
    assert acd.next_offer("c1") == Overflow("c1", "q", "timeout", 60.0)
    assert acd.snapshot()["queues"]["q"]["waiting"] == []


@pytest.mark.parametrize("join_empty", ["join", "refuse"])
def test_join_empty_with_no_registered_agent(join_empty: str) -> None:
    acd, _ = make("linear", register=(), join_empty=join_empty)
    decision = acd.enqueue("c1", "q")
    if join_empty == "refuse":
        assert decision == Refuse("c1", "q", "no_agents")
        assert acd.snapshot()["queues"]["q"]["waiting"] == []
    else:
        assert isinstance(decision, Wait) and decision.reason == "no_agent"


def test_join_empty_refuse_still_admits_when_agents_are_registered_but_busy() -> None:
    acd, _ = make("linear", agents=("a",), join_empty="refuse")
    answer(acd, "c1")
    assert isinstance(acd.enqueue("c2", "q"), Wait)


def test_max_len_refuses_when_full_and_leave_when_empty_overflows() -> None:
    acd, _ = make("linear", agents=("a",), register=(), max_len=1, leave_when_empty=False)
    assert isinstance(acd.enqueue("c1", "q"), Wait)
    assert acd.enqueue("c2", "q") == Refuse("c2", "q", "full")
    acd2, _ = make("linear", agents=("a",), leave_when_empty=True)
    answer(acd2, "c1")
    assert isinstance(acd2.enqueue("c2", "q"), Wait)
    acd2.agent_registered("a", False)
    assert acd2.due() == ("c2",)
    assert acd2.next_offer("c2") == Overflow("c2", "q", "empty", 0.0)


# -- faults ----------------------------------------------------------------------------
@pytest.mark.parametrize("faulty", [False, True], ids=["conformant", "faulty"])
def test_fault_ringall_not_roundrobin(faulty: bool) -> None:
    acd, _ = make("rrmemory", faults={"acd_ringall_not_roundrobin"} if faulty else ())
    assert offered(acd.enqueue("c1", "q")) == (AGENTS if faulty else ("a",))
    assert acd.snapshot()["queues"]["q"]["strategy"] == "rrmemory"  # the config still says so


@pytest.mark.parametrize("faulty", [False, True], ids=["conformant", "faulty"])
def test_fault_skips_agent(faulty: bool) -> None:
    acd, clock = make("rrmemory", faults={"acd_skips_agent"} if faulty else ())
    got = [take_call(acd, clock, f"c{i}") for i in range(6)]
    assert got == (list("ababab") if faulty else list("abcabc"))
    answer(acd, "d1")
    answer(acd, "d2")
    third = acd.enqueue("d3", "q")  # a and b busy: only c is left
    if faulty:
        assert isinstance(third, Wait) and third.reason == "no_agent"
    else:
        assert offered(third) == ("c",)


@pytest.mark.parametrize("faulty", [False, True], ids=["conformant", "faulty"])
def test_fault_offers_busy_agent(faulty: bool) -> None:
    acd, _ = make("linear", faults={"acd_offers_busy_agent"} if faulty else ())
    answer(acd, "c1")
    assert offered(acd.enqueue("c2", "q")) == (("a",) if faulty else ("b",))


@pytest.mark.parametrize("faulty", [False, True], ids=["conformant", "faulty"])
def test_fault_seats_short(faulty: bool) -> None:
    acd, _ = make("linear", faults={"seats_short"} if faulty else ())
    assert [answer(acd, f"c{i}") for i in (1, 2)] == ["a", "b"]
    third = acd.enqueue("c3", "q")  # c is free, but the faulty platform serves only two at once
    if faulty:
        assert isinstance(third, Wait) and third.reason == "no_agent"
    else:
        assert offered(third) == ("c",)


@pytest.mark.parametrize("faulty", [False, True], ids=["conformant", "faulty"])
def test_fault_seat_double_booked(faulty: bool) -> None:
    acd, _ = make("linear", faults={"seat_double_booked"} if faulty else ())
    assert offered(acd.enqueue("c1", "q")) == ("a",)
    assert offered(acd.enqueue("c2", "q")) == (("a",) if faulty else ("b",))  # a still rings for c1
    acd.offer_result("c1", "a", "answered")
    acd.offer_result("c2", "a" if faulty else "b", "answered")
    assert acd.snapshot()["agents"]["a"]["calls"] == (["c1", "c2"] if faulty else ["c1"])


def test_ring_in_use_is_the_configured_form_of_offering_busy_agents() -> None:
    acd, _ = make("linear", ring_in_use=True)
    answer(acd, "c1")
    assert answer(acd, "c2") == "a"
    assert acd.snapshot()["agents"]["a"]["calls"] == ["c1", "c2"]


@pytest.mark.parametrize("faulty", [False, True], ids=["conformant", "faulty"])
def test_fault_no_rna_failover(faulty: bool) -> None:
    acd, clock = make("linear", max_wait=45.0, faults={"acd_no_rna_failover"} if faulty else ())
    offers = [offered(acd.enqueue("c1", "q"))]
    for _ in range(2):
        clock.advance(15)
        acd.offer_result("c1", offers[-1][0], "no_answer")
        offers.append(offered(acd.next_offer("c1")))
    assert offers == ([("a",)] * 3 if faulty else [("a",), ("b",), ("c",)])
    clock.advance(15)
    acd.offer_result("c1", None, "no_answer")
    assert isinstance(acd.next_offer("c1"), Overflow)


def test_no_rna_failover_fault_leaves_busy_failover_alone() -> None:
    acd, _ = make("linear", faults={"acd_no_rna_failover"})
    acd.enqueue("c1", "q")
    acd.offer_result("c1", "a", "busy")
    assert offered(acd.next_offer("c1")) == ("b",)


def test_no_rna_failover_fault_does_not_re_ring_an_agent_who_then_rejects() -> None:
    acd, _ = make("linear", faults={"acd_no_rna_failover"})
    acd.enqueue("c1", "q")
    acd.offer_result("c1", "a", "no_answer")
    assert offered(acd.next_offer("c1")) == ("a",)  # the fault: the non-answerer again
    acd.offer_result("c1", "a", "busy")
    assert offered(acd.next_offer("c1")) == ("b",)


def test_faults_of_other_parts_are_ignored() -> None:
    acd, clock = make("rrmemory", faults={"recording_missing", "ivr_wrong_route"})
    assert [take_call(acd, clock, f"c{i}") for i in range(3)] == list("abc")


# -- surface -------------------------------------------------------------------------
def test_snapshot_reports_agents_and_queues() -> None:
    acd, clock = make("rrmemory", register=("a", "b"), wrapup=30.0)
    take_call(acd, clock, "c1")
    acd.enqueue("c2", "q")
    snap = acd.snapshot()
    assert snap["agents"]["a"] == {
        "registered": True,
        "busy": False,
        "calls": [],
        "ringing_for": None,
        "wrapup": True,
        "wrapup_until": 35.0,
        "calls_taken": 1,
        "last_call": 5.0,
    }
    assert snap["agents"]["c"]["registered"] is False
    queue = snap["queues"]["q"]
    assert queue["strategy"] == "rrmemory" and queue["agents"] == list(AGENTS)
    assert queue["waiting"] == [{"call_id": "c2", "position": 1, "waited": 0.0, "ringing": ["b"]}]
    assert queue["rotation"] == {"last_answered": "a", "next": "b"}


def test_decisions_serialise_with_their_kind() -> None:
    acd, _ = make("linear")
    assert asdict(acd.enqueue("c1", "q")) == {
        "call_id": "c1",
        "queue": "q",
        "agents": ("a",),
        "ring_timeout": 15.0,
        "round": 1,
        "kind": "offer",
    }


def test_contract_breaches_are_named() -> None:
    acd, _ = make("linear")
    with pytest.raises(AcdError, match="queue 'nope' is not configured"):
        acd.enqueue("c1", "nope")
    acd.enqueue("c1", "q")
    with pytest.raises(AcdError, match="already in queue 'q'"):
        acd.enqueue("c1", "q")
    with pytest.raises(AcdError, match="agent 'b' was not offered"):
        acd.offer_result("c1", "b", "answered")
    with pytest.raises(AcdError, match="must name the agent"):
        acd.offer_result("c1", None, "answered")
    with pytest.raises(AcdError, match="outcome 'maybe'"):
        acd.offer_result("c1", "a", "maybe")  # type: ignore[arg-type]
    acd.offer_result("c1", "a", "answered")
    with pytest.raises(AcdError, match="already answered by 'a'"):
        acd.next_offer("c1")


def test_bad_queue_config_lists_every_problem() -> None:
    with pytest.raises(AcdError) as caught:
        QueueConfig("q", "roundrobin", ("a", "a"), ring_timeout=0)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "strategy 'roundrobin'" in message
    assert "distinct" in message
    assert "ring_timeout must be > 0" in message
