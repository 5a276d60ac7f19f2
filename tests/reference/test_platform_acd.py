"""The reference ACD over real calls: each strategy's distribution, and who is skipped.

Every call goes from account 1001 through Kamailio to a queue DID; agents
are phones registered as 2001..2004 that answer (or ring, or reject) as the
test says. Who was offered a call is what each agent phone saw on the wire.
Queues (platform.yaml): 4001 sales=rrmemory and 4101 linear, 4102
leastrecent, 4103 fewestcalls, 4104 random, all with 2001..2003; 4002
support=ringall with 2002..2004. Agents are shared by every queue, as in
app_queue, so the history-based strategies start from the ACD's own
counters (``GET /reference/queues``) and the test's own calls move them.
"""

from __future__ import annotations

import itertools
import shutil
import time

import pytest

from harness.sip.config import Behaviour
from tests.reference.conftest import Desk, RefPlatform, Until, prompt_seconds, sent_by_platform

pytestmark = [
    pytest.mark.sip,
    pytest.mark.kamailio,
    pytest.mark.skipif(shutil.which("kamailio") is None, reason="needs Debian's kamailio package"),
]

SALES, SUPPORT = "4001", "4002"
LINEAR, LEASTRECENT, FEWESTCALLS, RANDOM = "4101", "4102", "4103", "4104"
THREE = ("2001", "2002", "2003")
RING_TIMEOUT_LINEAR = 4.0  # platform.yaml: queues.linear.ring_timeout


def answering(agents: tuple[str, ...] = THREE, **special: Behaviour) -> dict[str, Behaviour]:
    """Phones for ``agents`` that answer at once, except ``special`` ones (``a2001=...``)."""
    return {a: special.get(f"a{a}", Behaviour()) for a in agents}


def one_call(desk: Desk, did: str) -> tuple[str, tuple[str, ...]]:
    """One call answered and ended: (who answered, who was offered it)."""
    since = time.monotonic()
    call, agent, leg = desk.queue_call(did)
    desk.finish(call, leg)
    return agent, tuple(sorted(desk.offered(since)))


def calls(desk: Desk, did: str, n: int) -> list[str]:
    """``n`` calls one after another; each must have been offered to its answerer only."""
    picks = []
    for _ in range(n):
        agent, offered = one_call(desk, did)
        assert offered == (agent,), f"call answered by {agent} was offered to {offered}"
        picks.append(agent)
    return picks


def test_rrmemory_rotates_through_the_agents_from_where_it_left_off(
    platform: RefPlatform, desk: Desk
) -> None:
    desk.start(answering())
    first = platform.queues()["sales"]["rotation"]["next"]
    picks = calls(desk, SALES, 6)
    start = THREE.index(first)
    assert picks == [THREE[(start + i) % 3] for i in range(6)]
    assert platform.queues()["sales"]["rotation"]["last_answered"] == picks[-1]


def test_linear_always_offers_the_first_agent_when_free(desk: Desk) -> None:
    desk.start(answering())
    assert calls(desk, LINEAR, 4) == ["2001"] * 4


def test_ringall_offers_every_registered_agent_at_once_and_cancels_the_others(
    desk: Desk,
) -> None:
    late = Behaviour(answer_after=2.0)  # still ringing when 2003 answers
    desk.start({"2001": Behaviour(), "2002": late, "2003": Behaviour(answer_after=0.2),
                "2004": late})
    for _ in range(3):
        since = time.monotonic()
        call, agent, leg = desk.queue_call(SUPPORT)
        offered = desk.offered(since)
        assert sorted(offered) == ["2002", "2003", "2004"], "2001 is not in support"
        times = [o.t0 for o in offered.values()]
        assert max(times) - min(times) < 0.5, "the agents were not rung at the same time"
        assert agent == "2003"
        for loser in ("2002", "2004"):
            desk.get(desk.until_ended(offered[loser], 5.0))
            assert sent_by_platform(offered[loser], desk.board, "CANCEL"), f"{loser} not cancelled"
            assert offered[loser].final_status() == (487, "Request Terminated")
        desk.finish(call, leg)


class History:
    """The ACD's shared agent history, as the test follows it from a snapshot."""

    def __init__(self, platform: RefPlatform) -> None:
        state = platform.agents()
        # last_call is the ACD's monotonic time; only its order matters here
        self.ended = {a: state[a]["last_call"] for a in THREE}
        self.taken = {a: int(state[a]["calls_taken"]) for a in THREE}
        self._clock = itertools.count(1)

    def leastrecent(self, free: tuple[str, ...] = THREE) -> str:
        def key(a: str) -> tuple[float, int]:
            ended = self.ended[a]
            return (float("-inf") if ended is None else ended, THREE.index(a))
        return min(free, key=key)

    def fewestcalls(self, free: tuple[str, ...] = THREE) -> str:
        return min(free, key=lambda a: (self.taken[a], THREE.index(a)))

    def call_ended(self, agent: str) -> None:
        self.ended[agent] = 1e12 + next(self._clock)  # after anything the snapshot held
        self.taken[agent] += 1


def test_leastrecent_offers_the_agent_whose_last_call_ended_longest_ago(
    platform: RefPlatform, desk: Desk
) -> None:
    desk.start(answering())
    history = History(platform)
    for _ in range(3):
        expected = history.leastrecent()
        agent, _ = one_call(desk, LEASTRECENT)
        assert agent == expected
        history.call_ended(agent)
    # Two calls at once, the second ending first: the order of endings now
    # differs from the order of answers, which round robin would follow.
    first, a, a_leg = desk.queue_call(LEASTRECENT)
    assert a == history.leastrecent()
    second, b, b_leg = desk.queue_call(LEASTRECENT)
    assert b == history.leastrecent(tuple(x for x in THREE if x != a)), "busy agent or wrong pick"
    desk.finish(second, b_leg)
    history.call_ended(b)
    desk.finish(first, a_leg)
    history.call_ended(a)
    for _ in range(3):
        expected = history.leastrecent()
        agent, _ = one_call(desk, LEASTRECENT)
        assert agent == expected
        history.call_ended(agent)


def test_fewestcalls_offers_the_agent_with_fewest_completed_calls(
    platform: RefPlatform, desk: Desk
) -> None:
    desk.start(answering())
    history = History(platform)
    for _ in range(2):  # linear gives 2001 two more calls than it would otherwise have
        agent, _ = one_call(desk, LINEAR)
        assert agent == "2001"
        history.call_ended(agent)
    picks, expected = [], []
    for _ in range(6):
        expected.append(history.fewestcalls())
        agent, _ = one_call(desk, FEWESTCALLS)
        picks.append(agent)
        history.call_ended(agent)
    assert picks == expected
    counted = {a: s["calls_taken"] for a, s in platform.agents().items() if a in THREE}
    assert counted == history.taken


def test_random_reaches_every_agent_over_enough_calls(desk: Desk) -> None:
    desk.start(answering())
    picks = calls(desk, RANDOM, 24)  # P(an agent never drawn) = 3 * (2/3)**24 < 0.02 %
    assert set(picks) == set(THREE), f"random drew only {sorted(set(picks))}: {picks}"


def test_an_agent_on_a_call_is_not_offered_another(desk: Desk) -> None:
    desk.start(answering())
    first, agent, leg = desk.queue_call(LINEAR)
    assert agent == "2001"
    since = time.monotonic()
    second, other, other_leg = desk.queue_call(LINEAR)
    assert other == "2002"
    assert "2001" not in desk.offered(since), "2001 was offered a second call while busy"
    desk.finish(second, other_leg)
    desk.finish(first, leg)


def test_an_unregistered_agent_is_skipped_until_it_registers_again(desk: Desk) -> None:
    desk.start(answering())
    desk.register("2001", False)
    desk.get(desk.until_registered({"2002", "2003"}))
    since = time.monotonic()
    assert one_call(desk, LINEAR) == ("2002", ("2002",))
    assert not desk.offers("2001", since)
    desk.register("2001", True)
    desk.get(desk.until_registered(set(THREE)))
    assert one_call(desk, LINEAR) == ("2001", ("2001",))


def test_an_agent_who_does_not_answer_is_given_up_after_ring_timeout(desk: Desk) -> None:
    desk.start(answering(a2001=Behaviour(mode="ring")))
    since = time.monotonic()
    call, agent, leg = desk.queue_call(LINEAR)
    assert agent == "2002"
    offered = desk.offered(since)
    ringing = offered["2001"]
    waited = offered["2002"].t0 - ringing.t0
    assert RING_TIMEOUT_LINEAR - 0.5 <= waited <= RING_TIMEOUT_LINEAR + 1.5, f"moved on after {waited:.2f}s"
    # 2002's phone may have answered before 2001's phone has told the controller of the CANCEL it got
    # (one event loop each): wait for it, with a deadline, rather than look once
    desk.get(Until(lambda: True if sent_by_platform(ringing, desk.board, "CANCEL") and ringing.final_status()
                   else None, 5.0, "agent 2001's phone to receive the platform's CANCEL", ringing))
    assert ringing.final_status() == (487, "Request Terminated")
    desk.finish(call, leg)


def test_an_agent_who_rejects_is_skipped_at_once(desk: Desk) -> None:
    desk.start(answering(a2001=Behaviour(mode="reject", code=486)))
    since = time.monotonic()
    call, agent, leg = desk.queue_call(LINEAR)
    assert agent == "2002"
    offered = desk.offered(since)
    assert offered["2001"].final_status() == (486, "Busy Here")
    assert offered["2002"].t0 - offered["2001"].t0 < 1.5
    desk.finish(call, leg)


@pytest.mark.parametrize("did", [SALES, SUPPORT])
def test_with_no_agent_registered_the_caller_hears_no_agents_and_is_hung_up(
    desk: Desk, did: str
) -> None:
    desk.start({})
    call = desk.connect(did)
    clipped = prompt_seconds("no_agents") - 0.5  # the BYE follows the playback timer
    found = desk.get(desk.until_prompt(call, "no_agents", seconds=clipped))
    assert found.start_s < 1.0
    desk.get(desk.until_ended(call, 5.0))
    assert desk.ended_by_platform(call)
