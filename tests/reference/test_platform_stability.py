"""The media workers survive callers who hang up early.

A caller gone while a prompt plays must not leave its player to the
interpreter's exit. Each test starts its own one-worker platform. A worker
that trips one of PJSIP's assertions aborts (and its supervisor stops the
platform), so every test ends by calling once more, stopping the platform
and looking for the assertion in the worker's log.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.reference.conftest import Desk, RefPlatform, prompt_seconds

pytestmark = [
    pytest.mark.sip,
    pytest.mark.kamailio,
    pytest.mark.skipif(shutil.which("kamailio") is None, reason="needs Debian's kamailio package"),
]

MAIN = "4000"  # the IVR: welcome, then the main menu
FEWESTCALLS = "4103"  # platform.yaml: join_empty refuse; empty -> play no_agents, hang up


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
    desk.get(desk.until_prompt(call, "no_agents", seconds=0.5))
    desk.hang_up(call)
    assert_survived(ref, desk)
