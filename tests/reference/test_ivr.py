"""The reference IVR routes every key of the shipped flows, re-prompts, ends, and each fault shows.

Pure state machine on a fake clock: no SIP. :func:`walk` plays a caller
through the flows the way a media worker drives a session; each fault is
walked with and without it, so a test shows the conformant and the faulty way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pytest

from fixtures.reference.config import Flow, MenuAction, QueueAction, load_config
from fixtures.reference.ivr import (
    DEAD_AIR,
    DEAD_AIR_SECONDS,
    IGNORES_DTMF,
    MAX_TRIES,
    NO_INPUT,
    NO_MENU,
    NO_REPROMPT,
    PLAYED,
    STITCH_GAP_SECONDS,
    STITCHED,
    WRONG_ROUTE,
    Action,
    Hangup,
    IvrSession,
    Play,
    Silence,
    StopPlayback,
    ToQueue,
)

FLOWS = load_config().flows
PROMPT_S = 2.0  # every prompt plays this long in a walk
MENU = Play("main_menu", barge_in=True)
SERVICE = Play("service_menu", barge_in=True)
WELCOME = Play("welcome", barge_in=False)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def session(
    start: str = "main", faults: Iterable[str] = (), flows: dict[str, Flow] = FLOWS
) -> tuple[IvrSession, FakeClock]:
    clock = FakeClock()
    return IvrSession(flows, start, clock, frozenset(faults)), clock


def walk(
    keys: Sequence[str | None],
    start: str = "main",
    faults: Iterable[str] = (),
    barge_in: bool = False,
    flows: dict[str, Flow] = FLOWS,
) -> list[Action]:
    """Every action of a call whose caller answers each menu with the next of ``keys``.

    ``None`` says nothing (the digit timeout runs out). With ``barge_in`` the
    key is pressed while the menu plays, else in the silence after it.
    """
    s, clock = session(start, faults, flows)
    todo, log = list(keys), []
    out = s.start()
    for _ in range(200):
        log += out
        if s.finished:
            return log
        playing = out[-1] if out and isinstance(out[-1], Play | Silence) else None
        menu = isinstance(playing, Play) and playing.barge_in
        key = todo[0] if todo else None
        if menu and barge_in and key is not None:
            todo.pop(0)
            out = s.digit(key)
            if out:
                continue
        clock.advance(playing.seconds if isinstance(playing, Silence) else PROMPT_S)
        out = s.playback_done()
        if menu and not out:
            out = answer(s, clock, todo.pop(0) if todo else None, s.flow)
    raise AssertionError(f"the call did not end: {log}")


def answer(s: IvrSession, clock: FakeClock, key: str | None, flow: str) -> list[Action]:
    """Press ``key`` after the menu ended, or let the digit timeout run out."""
    out = s.digit(key) if key is not None else []
    if not out:
        clock.advance(FLOWS[flow].digit_timeout if flow in FLOWS else 5.0)
        out = s.tick()
    return out


def heard(log: list[Action]) -> list[str]:
    return [a.prompt for a in log if isinstance(a, Play)]


# -- every route of the shipped flows ------------------------------------------
ROUTES = [  # keys pressed, prompts heard, how the IVR ends
    (["1"], ["welcome", "main_menu"], ToQueue("sales")),
    (["2"], ["welcome", "main_menu"], ToQueue("support")),
    (["9"], ["welcome", "main_menu", "opening_hours"], Hangup(PLAYED)),
    (["*", "1"], ["welcome", "main_menu", "main_menu"], ToQueue("sales")),
    (["3", "1"], ["welcome", "main_menu", "service_menu"], ToQueue("support")),
    (["3", "0", "2"], ["welcome", "main_menu", "service_menu", "main_menu"], ToQueue("support")),
]


@pytest.mark.parametrize("barge_in", [False, True], ids=["after_menu", "barge_in"])
@pytest.mark.parametrize(("keys", "prompts", "end"), ROUTES, ids=["+".join(r[0]) for r in ROUTES])
def test_every_key_of_the_shipped_flows(
    keys: list[str], prompts: list[str], end: Action, barge_in: bool
) -> None:
    log = walk(keys, barge_in=barge_in)
    assert heard(log) == prompts
    assert log[-1] == end
    assert (StopPlayback() in log) == barge_in


# the second IVR (DID 4010), ccharness discover's proof: three levels, a loop back, a key to a queue
DEEP_ROUTES = [
    (["2"], ["deep_menu"], ToQueue("sales")),
    (["1", "0", "2"], ["deep_menu", "deep_two_menu", "deep_menu"], ToQueue("sales")),
    (["1", "1", "9"], ["deep_menu", "deep_two_menu", "deep_three_menu", "opening_hours"], Hangup(PLAYED)),
    (["1", "1", "0", "2"], ["deep_menu", "deep_two_menu", "deep_three_menu", "deep_menu"], ToQueue("sales")),
]


@pytest.mark.parametrize(("keys", "prompts", "end"), DEEP_ROUTES, ids=["+".join(r[0]) for r in DEEP_ROUTES])
def test_every_key_of_the_deep_ivr(keys: list[str], prompts: list[str], end: Action) -> None:
    log = walk(keys, start="deep")
    assert heard(log) == prompts
    assert log[-1] == end


def test_the_deep_ivr_s_last_menu_repeats_twice_without_input_then_says_goodbye() -> None:
    log = walk(["1", "1", None, None, None], start="deep")
    assert heard(log)[2:] == ["deep_three_menu", "no_input", "deep_three_menu", "no_input", "deep_three_menu",
                              "goodbye"]
    assert isinstance(log[-1], Hangup)


def test_the_routes_cover_every_configured_key() -> None:
    flow_keys = {(name, k) for name, flow in FLOWS.items() for k in flow.keys}
    covered = {("main", keys[0]) for keys, _, _ in ROUTES} | {("service", "1"), ("service", "0")}
    covered |= {("deep", "2"), ("deep", "1"), ("deep_two", "0"), ("deep_two", "1"), ("deep_three", "9"),
                ("deep_three", "0")}  # DEEP_ROUTES
    assert covered == flow_keys


def test_a_direct_flow_goes_straight_to_its_queue() -> None:
    s, _ = session("direct_sales")
    assert s.start() == [ToQueue("sales")]
    assert s.finished
    assert s.digit("1") == s.tick() == s.playback_done() == []


def test_the_exact_actions_of_a_call() -> None:
    s, clock = session()
    assert s.start() == [WELCOME]
    assert (s.phase, s.flow) == ("greeting", "main")
    clock.advance(6.0)
    assert s.playback_done() == [MENU]
    assert s.playback_done() == []
    assert s.phase == "waiting"
    assert s.next_deadline() == clock.now + 5.0
    assert s.digit("1") == [ToQueue("sales")]
    assert s.finished and s.next_deadline() is None


# -- invalid keys, no input, tries -----------------------------------------------------
def test_an_invalid_key_reprompts_then_the_menu_again() -> None:
    log = walk(["7", "1"])
    assert log == [WELCOME, MENU, Play("invalid_option", False), MENU, ToQueue("sales")]


def test_no_input_reprompts_then_ends_after_max_tries() -> None:
    log = walk([None, None, None])
    assert heard(log) == [
        "welcome", "main_menu", "no_input", "main_menu", "no_input", "main_menu", "goodbye"
    ]  # fmt: skip
    assert log[-1] == Hangup(MAX_TRIES)


def test_invalid_keys_and_no_input_count_as_tries_together() -> None:
    log = walk(["7", None, "#"])
    assert heard(log) == [
        "welcome", "main_menu", "invalid_option", "main_menu", "no_input", "main_menu", "goodbye"
    ]  # fmt: skip
    assert log[-1] == Hangup(MAX_TRIES)


def test_the_digit_timeout_runs_from_the_end_of_the_menu() -> None:
    s, clock = session()
    s.start()
    s.playback_done()
    clock.advance(30.0)  # a long menu: no timeout while it plays
    assert s.tick() == []
    assert s.playback_done() == []
    clock.advance(4.999)
    assert s.tick() == []
    clock.advance(0.001)
    assert s.tick() == [Play("no_input", False)]
    assert s.tick() == []


def test_repeat_does_not_count_a_try() -> None:
    log = walk(["*", "*", "*", None, None, None])
    assert heard(log).count("main_menu") == 6
    assert heard(log)[-1] == "goodbye"


def test_a_sub_menu_has_its_own_tries_and_leads_back() -> None:
    assert heard(walk([None, "3", None, None])) == [
        "welcome", "main_menu", "no_input", "main_menu",
        "service_menu", "no_input", "service_menu", "goodbye",
    ]  # fmt: skip
    log = walk(["7", "7", "3", "0", "7", "7", "1"])  # back in main: tries start again
    assert heard(log).count("invalid_option") == 4
    assert log[-1] == ToQueue("sales")


def test_a_flow_without_reprompt_or_end_prompts_skips_them() -> None:
    bare = Flow("bare", None, "main_menu", 3.0, 2, None, None, None, {"1": QueueAction("q")}, None)
    log = walk(["7", None], start="bare", flows={"bare": bare})
    assert log == [MENU, MENU, Hangup(MAX_TRIES)]


def test_a_flow_with_neither_menu_nor_direct_hangs_up() -> None:
    empty = Flow("empty", "welcome", None, 5.0, 3, None, None, None, {}, None)
    assert walk([], start="empty", flows={"empty": empty}) == [WELCOME, Hangup(NO_MENU)]


def test_a_menu_key_into_a_direct_flow_goes_to_its_queue() -> None:
    flows = {
        "main": Flow("main", None, "main_menu", 5.0, 3, None, None, None,
                     {"5": MenuAction("direct")}, None),
        "direct": Flow("direct", None, None, 5.0, 3, None, None, None, {}, QueueAction("q")),
    }  # fmt: skip
    assert walk(["5"], flows=flows) == [MENU, ToQueue("q")]


# -- when keys count -------------------------------------------------------------------
def test_barge_in_stops_the_menu() -> None:
    s, _ = session()
    s.start()
    s.playback_done()
    assert s.digit("2") == [StopPlayback(), ToQueue("support")]


def test_an_invalid_key_during_the_menu_stops_it_and_reprompts() -> None:
    s, _ = session()
    s.start()
    s.playback_done()
    assert s.digit("5") == [StopPlayback(), Play("invalid_option", False)]
    assert s.digit("1") == []  # not during the re-prompt
    assert s.playback_done() == [MENU]


def test_digits_during_the_greeting_are_ignored() -> None:
    s, _ = session()
    s.start()
    assert s.digit("1") == []
    assert s.playback_done() == [MENU]
    assert s.digit("2") == [StopPlayback(), ToQueue("support")]


def test_digits_while_the_end_prompt_plays_are_ignored() -> None:
    s, _ = session()
    s.start()
    s.playback_done()
    assert s.digit("9") == [StopPlayback(), Play("opening_hours", False)]
    assert s.digit("1") == []
    assert s.playback_done() == [Hangup(PLAYED)]


def test_events_before_start_do_nothing_and_start_runs_once() -> None:
    s, _ = session()
    assert s.digit("1") == s.tick() == s.playback_done() == []
    assert s.start() == [WELCOME]
    assert s.start() == []


def test_an_unknown_start_flow_is_refused() -> None:
    with pytest.raises(KeyError, match="unknown IVR flow 'nope'"):
        session("nope")


# -- faults: each one with and without ---------------------------------------------------
@pytest.mark.parametrize(
    ("keys", "right", "wrong"),
    [
        (["1"], ToQueue("sales"), ToQueue("support")),
        (["2"], ToQueue("support"), ToQueue("sales")),
        (["9"], Hangup(PLAYED), Hangup(PLAYED)),
        (["3", "2", "2"], Hangup(MAX_TRIES), ToQueue("support")),  # service has no key 2
    ],
)
def test_fault_wrong_route_swaps_keys_1_and_2(
    keys: list[str], right: Action, wrong: Action
) -> None:
    assert walk(keys)[-1] == right
    assert walk(keys, faults=[WRONG_ROUTE])[-1] == wrong


def test_fault_wrong_route_in_the_sub_menu() -> None:
    assert heard(walk(["3", "1"]))[-1] == "service_menu"
    faulty = walk(["3", "1", "2"], faults=[WRONG_ROUTE])  # its 1 now does what 2 does: nothing
    assert heard(faulty)[-3:] == ["service_menu", "invalid_option", "service_menu"]
    assert faulty[-1] == ToQueue("support")


def test_fault_no_reprompt_hangs_up_on_no_input() -> None:
    assert heard(walk([None, "1"])) == ["welcome", "main_menu", "no_input", "main_menu"]
    faulty = walk([None, "1"], faults=[NO_REPROMPT])
    assert faulty == [WELCOME, MENU, Hangup(NO_INPUT)]
    assert walk(["7", "1"], faults=[NO_REPROMPT])[-1] == ToQueue("sales")  # invalid still fine


def test_fault_dead_air_before_the_greeting() -> None:
    assert walk(["1"])[0] == WELCOME
    faulty = walk(["1"], faults=[DEAD_AIR])
    assert faulty == [Silence(DEAD_AIR_SECONDS), WELCOME, MENU, ToQueue("sales")]
    assert DEAD_AIR_SECONDS == 4.0
    assert walk([], start="direct_sales", faults=[DEAD_AIR]) == [Silence(4.0), ToQueue("sales")]


def test_quirk_prompts_stitched_leaves_0_16_s_between_greeting_and_menu() -> None:
    faulty = walk(["1"], faults=[STITCHED])
    assert faulty == [WELCOME, Silence(STITCH_GAP_SECONDS), MENU, ToQueue("sales")]
    assert STITCH_GAP_SECONDS == 0.16
    assert walk(["1", "0"], faults=[STITCHED])[-1] == ToQueue("sales")  # the menu is as ever
    assert walk([None, "1"], faults=[STITCHED]).count(Silence(0.16)) == 1  # after the greeting only


def test_fault_ignores_dtmf_so_the_menu_times_out() -> None:
    assert walk(["1"])[-1] == ToQueue("sales")
    faulty = walk(["1", "1", "1"], faults=[IGNORES_DTMF], barge_in=True)
    assert StopPlayback() not in faulty
    assert heard(faulty) == [
        "welcome", "main_menu", "no_input", "main_menu", "no_input", "main_menu", "goodbye"
    ]  # fmt: skip
    assert faulty[-1] == Hangup(MAX_TRIES)


def test_faults_of_other_parts_change_nothing() -> None:
    for keys in (["1"], [None, None, None], ["3", "0", "9"]):
        assert walk(keys, faults=["acd_skips_agent", "recording_missing"]) == walk(keys)
