"""The media workers survive callers who hang up early and agents who refuse, round after round.

A caller gone while a prompt plays must not leave its player to the
interpreter's exit; agents who all refuse must not be rung again before the
queue's ``retry``, and whatever the ACD asks, a worker must not open agent
legs faster than PJSIP frees their sockets, nor lose a leg whose call id
PJSIP reused. Each test starts its own one-worker platform. A worker that
trips one of PJSIP's assertions aborts (and its supervisor stops the
platform), so every test ends by calling once more, stopping the platform
and looking for the assertion in the worker's log.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness.audio.prompt import PromptMatch
from harness.sip.config import Behaviour
from harness.sip.timeline import CallTimeline
from tests.reference.conftest import (
    Desk,
    RefPlatform,
    Until,
    best_match,
    every,
    heard,
    prompt_seconds,
)

pytestmark = [
    pytest.mark.sip,
    pytest.mark.kamailio,
    pytest.mark.skipif(shutil.which("kamailio") is None, reason="needs Debian's kamailio package"),
]

MAIN = "4000"  # the IVR: welcome, then the main menu
FEWESTCALLS = "4103"  # platform.yaml: join_empty refuse; empty -> play no_agents, hang up
LINEAR = "4101"  # 2001, 2002, 2003 in that order; retry not set: 5 s
THREE = ("2001", "2002", "2003")
RETRY = 5.0  # acd.config.QueueConfig.retry's default
DIAL_GAP = 0.25  # worker.conversation.DIAL_GAP: the least time between two agent legs
BUSY = Behaviour(mode="reject", code=486)


@pytest.fixture
def one_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., RefPlatform]]:
    """``one_worker(**overrides)``: a conformant one-worker platform, stopped after the test."""
    started: list[RefPlatform] = []

    def start(**overrides: Any) -> RefPlatform:
        ref = RefPlatform(tmp_path_factory.mktemp("stability"), workers=1, overrides=overrides)
        started.append(ref)
        return ref.start()

    yield start
    for ref in started:
        ref.stop()


def aborts(ref: RefPlatform) -> list[str]:
    """The lines of the media workers' logs where PJSIP aborted on a failed assertion."""
    return [
        f"{log.name}: {line}"
        for log in sorted((ref.state_dir / "workers").glob("worker*.log"))
        for line in log.read_text(errors="replace").splitlines()
        if "Assertion" in line
    ]


def until_playing(call: CallTimeline, name: str) -> Until:
    """The caller hears one of the first three half-seconds of prompt ``name``.

    Any one will do: on a busy host a jitter buffer may drop the first frames
    of a call, and the point here is only that the prompt is still playing.
    """
    starts = (0.0, 0.5, 1.0)

    def one_heard() -> PromptMatch | None:
        return next((m for s in starts if (m := heard(call, name, start=s, seconds=0.5))), None)

    return Until(every(0.4, one_heard), 8.5, f"a half-second of the first 1.5 s of {name!r}",
                 call, lambda: best_match(call, name, seconds=1.5))


def offered_in_turn(desk: Desk, since: float) -> list[str]:
    """The agents offered a call since ``since``, in the order the offers came."""
    return [a for _, a in sorted((o.t0, a) for a in THREE for o in desk.offers(a, since))]


def assert_survived(ref: RefPlatform, desk: Desk) -> None:
    """A new caller is still answered, and the worker stops without aborting."""
    call = desk.dial(MAIN)
    desk.get(desk.until_settled(call))
    assert call.state == "CONFIRMED", (
        f"the next caller got {call.final_status()}: {aborts(ref)}\n{ref.log_tail()}"
    )
    desk.get(desk.until_prompt(call, "welcome", seconds=0.5))
    desk.hang_up(call)
    ref.stop()
    assert aborts(ref) == [], ref.log_tail()


def test_a_caller_who_hangs_up_during_the_no_agents_prompt(
    one_worker: Callable[..., RefPlatform], desk_for: Callable[[RefPlatform], Desk]
) -> None:
    ref = one_worker()
    desk = desk_for(ref).start({})
    assert prompt_seconds("no_agents") > 2.0  # long enough to hang up in the middle of it
    call = desk.connect(FEWESTCALLS)
    desk.get(until_playing(call, "no_agents"))
    assert call.state == "CONFIRMED", f"the platform ended the call first: {call.summary()}"
    desk.hang_up(call)
    assert_survived(ref, desk)


def test_agents_who_all_reject_are_rung_again_only_after_retry(
    one_worker: Callable[..., RefPlatform], desk_for: Callable[[RefPlatform], Desk]
) -> None:
    ref = one_worker()
    desk = desk_for(ref).start(dict.fromkeys(THREE, BUSY))
    since = time.monotonic()
    call = desk.connect(LINEAR)
    again = Until(
        lambda: len(desk.offers("2001", since)) >= 2 or None,
        RETRY + 5.0,
        "2001 to be offered the call a second time (round 2)",
    )
    desk.get(again)
    who = offered_in_turn(desk, since)
    assert who[:4] == [*THREE, "2001"], f"offered in turn: {who}\n{aborts(ref)}"
    round_1_refused = desk.offers("2003", since)[0].t0  # 486 at once
    pause = desk.offers("2001", since)[1].t0 - round_1_refused
    assert pause >= RETRY - 0.5, (
        f"round 2 began {pause:.2f}s after round 1 was refused: {who}\n{aborts(ref)}"
    )
    desk.hang_up(call)
    assert_survived(ref, desk)


def test_a_worker_paces_its_agent_legs_whatever_the_acd_asks(
    one_worker: Callable[..., RefPlatform], desk_for: Callable[[RefPlatform], Desk]
) -> None:
    ref = one_worker(**{"queues.linear.retry": "10ms"})  # the ACD rings everyone again at once
    desk = desk_for(ref).start(dict.fromkeys(THREE, BUSY))
    since = time.monotonic()
    call = desk.connect(LINEAR)
    desk.pause(2.0)
    times = sorted(o.t0 for a in THREE for o in desk.offers(a, since))
    assert len(times) >= 6, f"not rung again and again: {len(times)} agent legs"
    spacing = (times[-1] - times[0]) / (len(times) - 1)  # an average: each t0 has its jitter
    assert spacing >= 0.8 * DIAL_GAP, (
        f"{len(times)} agent legs {spacing * 1000:.0f} ms apart\n{aborts(ref)}"
    )
    desk.hang_up(call)
    assert_survived(ref, desk)


def test_agents_who_never_answer_are_rung_round_after_round(
    one_worker: Callable[..., RefPlatform], desk_for: Callable[[RefPlatform], Desk]
) -> None:
    # A leg dialled as soon as its predecessor timed out may get the same call id
    # (PJSIP has 4 per worker, handed out round robin); destroying the old leg
    # then would hang up the new one and cut it off from its events.
    ref = one_worker(**{"queues.linear.ring_timeout": "1s", "queues.linear.retry": "1s"})
    desk = desk_for(ref).start(dict.fromkeys(THREE, Behaviour(mode="ring")))
    since = time.monotonic()
    call = desk.connect(LINEAR)
    two_rounds = Until(
        lambda: len(offered_in_turn(desk, since)) >= 6 or None, 15.0, "two rounds of offers"
    )
    desk.get(two_rounds)
    legs = sorted((leg for a in THREE for leg in desk.offers(a, since)), key=lambda o: o.t0)
    for leg in legs[:5]:
        desk.get(desk.until_ended(leg, 3.0))
        ended = leg.last("call", state="DISCONNECTED")
        assert ended is not None
        assert ended.t - leg.t0 >= 0.7, f"{leg} was cut after {ended.t - leg.t0:.2f}s"
    assert offered_in_turn(desk, since)[:6] == [*THREE, *THREE]
    desk.hang_up(call)
    assert_survived(ref, desk)
