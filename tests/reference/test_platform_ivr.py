"""The reference IVR over real calls: every route of ``main``, invalid keys, no input, max tries.

Each journey is one call from account 1001 to DID 4000 through Kamailio.
Prompts are proven by finding the platform's own prompt WAVs in what the
caller's phone captured (``find_prompt``); keys are RFC 4733 DTMF. Queue
routes are proven by who is offered the call: 2001 is only in ``sales``
(key 1), 2004 only in ``support`` (key 2).

The journeys take 10 to 40 seconds each, most of it prompts, so they run
side by side on one module platform (at most five calls at once, within its
six conversations) and each test asserts on its own journey.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.audio.prompt import PromptMatch, find_prompt
from harness.sip.config import Behaviour
from harness.sip.timeline import CallTimeline
from tests.reference.conftest import (
    MAIN,
    OPENING,
    PROMPTS,
    SLIP,
    Desk,
    Outcome,
    RefPlatform,
    Script,
    heard,
    prompt,
    prompt_seconds,
    run_scripts,
    to_menu,
)

pytestmark = [
    pytest.mark.sip,
    pytest.mark.kamailio,
    pytest.mark.skipif(shutil.which("kamailio") is None, reason="needs Debian's kamailio package"),
]

PROMPT_GAP = 1.0  # one prompt follows another (or a key) within this
DIGIT_TIMEOUT = 5.0  # platform.yaml: ivr.main.digit_timeout
INVALID_KEY = "7"  # no action in main
# The platform hangs up when its playback timer ends, so the last tens of ms of a
# prompt still in the jitter buffer are lost with the BYE: prompts followed by a
# hang-up are matched without their last half second.
CLIPPED = 0.5


def last_words(name: str) -> dict[str, float]:
    return {"seconds": prompt_seconds(name) - CLIPPED}


def press(desk: Desk, call: CallTimeline, key: str) -> float:
    return desk.dtmf(call, key)


# -- journeys ---------------------------------------------------------------------------------
def queue_route(key: str, delay: float) -> Callable[[Desk, str], Script]:
    def journey(desk: Desk, phone: str) -> Script:
        yield desk.until_time(delay)
        call = desk.dial(MAIN, phone)
        welcome, menu = yield from to_menu(desk, call)
        since = time.monotonic()
        key_at = press(desk, call, key)
        agent, leg = yield desk.until_offer(since, agents=("2001", "2004"))
        assert call.capture_t0 is not None
        desk.drop(call)
        yield desk.until_ended(call, 5.0)
        return {"welcome": welcome, "menu": menu, "key_at": key_at, "agent": agent,
                "offered_at": leg.t0 - call.capture_t0}
    return journey


def service_and_back(desk: Desk, phone: str) -> Script:
    call = desk.dial(MAIN, phone)
    _, menu = yield from to_menu(desk, call)
    key3 = press(desk, call, "3")
    service = yield desk.until_prompt(call, "service_menu", after=key3, seconds=OPENING)
    key0 = press(desk, call, "0")
    back = yield desk.until_prompt(call, "main_menu", after=key0, seconds=OPENING)
    desk.drop(call)
    yield desk.until_ended(call, 5.0)
    return {"menu": menu, "key3": key3, "service": service, "key0": key0, "back": back}


def opening_hours(desk: Desk, phone: str) -> Script:
    call = desk.dial(MAIN, phone)
    yield from to_menu(desk, call)
    key9 = press(desk, call, "9")
    hours = yield desk.until_prompt(call, "opening_hours", after=key9, **last_words("opening_hours"))
    yield desk.until_ended(call, 5.0)
    assert call.capture_t0 is not None
    ended = call.last("call", state="DISCONNECTED")
    assert ended is not None
    return {"key9": key9, "hours": hours, "ended_at": ended.t - call.capture_t0,
            "by_platform": desk.ended_by_platform(call)}


def repeat(desk: Desk, phone: str) -> Script:
    yield desk.until_time(19.0)
    call = desk.dial(MAIN, phone)
    yield from to_menu(desk, call)
    star = press(desk, call, "*")
    again = yield desk.until_prompt(call, "main_menu", after=star, seconds=OPENING)
    desk.drop(call)
    yield desk.until_ended(call, 5.0)
    return {"star": star, "again": again}


def invalid_key(desk: Desk, phone: str) -> Script:
    call = desk.dial(MAIN, phone)
    yield from to_menu(desk, call)
    key = press(desk, call, INVALID_KEY)
    invalid = yield desk.until_prompt(call, "invalid_option", after=key)
    again = yield desk.until_prompt(call, "main_menu", after=invalid.end_s - 0.2, seconds=OPENING)
    desk.drop(call)
    yield desk.until_ended(call, 5.0)
    return {"key": key, "invalid": invalid, "again": again}


def no_input(desk: Desk, phone: str) -> Script:
    call = desk.dial(MAIN, phone)
    yield desk.until_answered(call)
    welcome = yield desk.until_prompt(call, "welcome")
    menu = yield desk.until_prompt(call, "main_menu", after=welcome.end_s - 0.2)
    reprompt = yield desk.until_prompt(call, "no_input", after=menu.end_s - 0.2)
    again = yield desk.until_prompt(call, "main_menu", after=reprompt.end_s - 0.2, seconds=OPENING)
    desk.drop(call)
    yield desk.until_ended(call, 5.0)
    return {"menu": menu, "no_input": reprompt, "again": again}


def max_tries(desk: Desk, phone: str) -> Script:
    call = desk.dial(MAIN, phone)
    _, menu = yield from to_menu(desk, call)
    keys, invalids, menus = [], [], [menu]
    for _ in range(2):
        keys.append(press(desk, call, INVALID_KEY))
        invalids.append((yield desk.until_prompt(call, "invalid_option", after=keys[-1])))
        menus.append((yield desk.until_prompt(call, "main_menu", after=invalids[-1].end_s - 0.2,
                                              seconds=OPENING)))
    keys.append(press(desk, call, INVALID_KEY))
    goodbye = yield desk.until_prompt(call, "goodbye", after=keys[-1], **last_words("goodbye"))
    yield desk.until_ended(call, 5.0)
    assert call.capture_t0 is not None
    ended = call.last("call", state="DISCONNECTED")
    assert ended is not None
    return {"keys": keys, "invalids": invalids, "menus": menus, "goodbye": goodbye,
            "ended_at": ended.t - call.capture_t0, "by_platform": desk.ended_by_platform(call),
            "invalid_after_last_key": heard(call, "invalid_option", after=keys[-1])}


# (journey, delay is inside it) -> caller phone; at most five calls at once,
# at most three per caller phone.
JOURNEYS: dict[str, tuple[Callable[[Desk, str], Script], str]] = {
    "no_input": (no_input, "caller"),
    "max_tries": (max_tries, "caller1"),
    "opening_hours": (opening_hours, "caller"),
    "invalid_key": (invalid_key, "caller1"),
    "service_and_back": (service_and_back, "caller"),
    "repeat": (repeat, "caller1"),
    "key_1": (queue_route("1", 19.0), "caller"),
    "key_2": (queue_route("2", 23.0), "caller1"),  # offered after key_1's: no mix-up
}


@pytest.fixture(scope="module")
def journeys(platform: RefPlatform, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    desk = Desk(platform, tmp_path_factory.mktemp("ivr-phones"))
    try:
        desk.start({"2001": Behaviour(), "2004": Behaviour()}, callers=2)
        return run_scripts({name: (desk, fn(desk, phone)) for name, (fn, phone) in JOURNEYS.items()})
    finally:
        desk.close()


def journey(journeys: dict[str, Outcome], name: str, platform: RefPlatform) -> dict[str, Any]:
    outcome = journeys[name]
    if outcome.error is not None:
        raise AssertionError(f"journey {name!r} failed: {outcome.error}\n{platform.log_tail()}") \
            from outcome.error
    return dict(outcome.value)


def follows(later: PromptMatch, earlier_end: float, gap: float = PROMPT_GAP) -> bool:
    return earlier_end - 0.3 <= later.start_s <= earlier_end + gap


# -- the tests ----------------------------------------------------------------------------------
@pytest.mark.parametrize("key, agent", [("1", "2001"), ("2", "2004")])
def test_keys_1_and_2_offer_the_call_to_their_queues_agent(
    journeys: dict[str, Outcome], platform: RefPlatform, key: str, agent: str
) -> None:
    seen = journey(journeys, f"key_{key}", platform)
    assert seen["welcome"] is not None and seen["welcome"].start_s < 1.0, "no greeting first"
    assert follows(seen["menu"], seen["welcome"].end_s), "the menu did not follow the greeting"
    assert seen["agent"] == agent, f"key {key} reached {seen['agent']}, not the queue with {agent}"
    assert 0 <= seen["offered_at"] - seen["key_at"] < 3.0


def test_key_3_plays_the_service_menu_and_0_goes_back_to_the_main_menu(
    journeys: dict[str, Outcome], platform: RefPlatform
) -> None:
    seen = journey(journeys, "service_and_back", platform)
    assert follows(seen["service"], seen["key3"]), "service menu not played on key 3"
    assert follows(seen["back"], seen["key0"]), "main menu not played again on key 0"


def test_key_9_plays_the_opening_hours_then_the_platform_hangs_up(
    journeys: dict[str, Outcome], platform: RefPlatform
) -> None:
    seen = journey(journeys, "opening_hours", platform)
    assert follows(seen["hours"], seen["key9"])
    assert seen["by_platform"], "the caller hung up, not the platform"
    assert seen["hours"].end_s <= seen["ended_at"] <= seen["hours"].end_s + CLIPPED + 1.5


def test_star_plays_the_menu_again(journeys: dict[str, Outcome], platform: RefPlatform) -> None:
    seen = journey(journeys, "repeat", platform)
    assert follows(seen["again"], seen["star"])


def test_an_invalid_key_plays_invalid_option_then_the_menu(
    journeys: dict[str, Outcome], platform: RefPlatform
) -> None:
    seen = journey(journeys, "invalid_key", platform)
    assert follows(seen["invalid"], seen["key"])
    assert follows(seen["again"], seen["invalid"].end_s)


def test_no_input_plays_no_input_after_the_digit_timeout_then_the_menu(
    journeys: dict[str, Outcome], platform: RefPlatform
) -> None:
    seen = journey(journeys, "no_input", platform)
    waited = seen["no_input"].start_s - seen["menu"].end_s
    assert DIGIT_TIMEOUT - 0.5 <= waited <= DIGIT_TIMEOUT + 1.0, f"no input after {waited:.2f}s"
    assert follows(seen["again"], seen["no_input"].end_s)


def test_after_max_tries_goodbye_then_the_platform_hangs_up(
    journeys: dict[str, Outcome], platform: RefPlatform
) -> None:
    seen = journey(journeys, "max_tries", platform)
    for key, invalid, menu in zip(seen["keys"], seen["invalids"], seen["menus"][1:]):
        assert follows(invalid, key) and follows(menu, invalid.end_s)
    assert follows(seen["goodbye"], seen["keys"][-1]), "goodbye did not follow the third failure"
    assert seen["invalid_after_last_key"] is None, "invalid_option played before goodbye"
    assert seen["by_platform"], "the caller hung up, not the platform"
    assert seen["goodbye"].end_s <= seen["ended_at"] <= seen["goodbye"].end_s + CLIPPED + 1.5
    assert len(seen["menus"]) == 3  # the menu played max_tries times


def test_prompts_are_the_platforms_own_and_distinct() -> None:
    """The prompts matched above are different recordings, so one cannot pass for another."""
    names = sorted(p.stem for p in Path(PROMPTS).glob("*.wav"))
    assert {"welcome", "main_menu", "service_menu", "invalid_option", "no_input", "goodbye",
            "opening_hours"} <= set(names)
    for name in ("welcome", "main_menu", "service_menu", "invalid_option", "no_input", "goodbye",
                 "opening_hours"):
        for other in names:
            if other != name and prompt_seconds(other) >= OPENING:
                opening = prompt(name, 0, OPENING)
                assert find_prompt(prompt(other), opening, max_slip_s=SLIP) is None, (name, other)
