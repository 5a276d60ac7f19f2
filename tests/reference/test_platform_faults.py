"""Every switchable fault, shown by its behaviour on the wire.

Each test starts a fresh platform with one fault (one media worker: two
conversations are all a probe needs) and runs the same probe, at the same
time, against the module's conformant platform: the conformant result must
be what the licence expects and the faulty one must differ as the fault is
named. The platform never confesses a fault (``GET /reference/faults`` is
not consulted): only calls, audio and the API's answers count.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.errors import ExpectationFailed
from harness.runner.run import ScenarioRun
from harness.sip.config import Behaviour
from harness.sip.controller import WaitTimeout
from tests.reference.conftest import (
    AGENT_TONE,
    CALLER_TONE,
    MAIN,
    PROJECT,
    SALES,
    TONE_SECONDS,
    Desk,
    RefPlatform,
    Script,
    Until,
    best_match,
    capture,
    every,
    heard,
    prompt_seconds,
    purge_at,
    recorded,
    reset_clock,
    run_scripts,
    to_menu,
    tone_agent,
)
from tests.reference.scenario_run import run_scenario

pytestmark = [
    pytest.mark.sip,
    pytest.mark.kamailio,
    pytest.mark.skipif(shutil.which("kamailio") is None, reason="needs Debian's kamailio package"),
]

LINEAR = "4101"
THREE = ("2001", "2002", "2003")
DIGIT_TIMEOUT = 5.0


def _listed() -> list[tuple[str, bool]]:
    """Every name --list-faults prints, and whether it is a quirk (no licence failure)."""
    done = subprocess.run([sys.executable, "-m", "fixtures.reference", "--list-faults"],
                          cwd=PROJECT, capture_output=True, text=True, timeout=30, check=True)
    return [(line.split()[0], "(a quirk" in line) for line in done.stdout.splitlines() if line.strip()]


def listed_faults() -> list[str]:
    """The faults: each one way a platform fails a licence review, proven here."""
    return [name for name, quirk in _listed() if not quirk]


Probe = Callable[[Desk], Script]


class Pair:
    """The module's conformant platform and a fresh faulty one, with phones on both."""

    def __init__(self, ok: Desk, bad: Desk) -> None:
        self.ok, self.bad = ok, bad

    def run(self, **probes: Probe) -> tuple[dict[str, Any], dict[str, Any]]:
        """Run each probe on both platforms at once: (conformant results, faulty results)."""
        scripts = {f"{side}:{name}": (desk, probe(desk)) for name, probe in probes.items()
                   for side, desk in (("ok", self.ok), ("bad", self.bad))}
        outcomes = run_scripts(scripts)
        for key, outcome in outcomes.items():
            if outcome.error is not None:
                desk = scripts[key][0]
                raise AssertionError(f"probe {key} failed: {outcome.error}\n"
                                     f"{desk.ref.log_tail()}") from outcome.error
        results: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
        for key, outcome in outcomes.items():
            side, name = key.split(":")
            results[side == "bad"][name] = outcome.value
        return results


@pytest.fixture
def pair(platform: RefPlatform, start_platform: Callable[..., RefPlatform],
         desk_for: Callable[[RefPlatform], Desk], request: pytest.FixtureRequest) -> Callable[..., Pair]:
    """``pair(agents, callers=1)``: phones on the conformant platform and on a fresh one
    with the fault the test is named after (``test_<fault>``)."""
    fault = request.node.name.removeprefix("test_").split("[")[0]

    def make(agents: dict[str, Behaviour], callers: int = 1) -> Pair:
        faulty = start_platform(fault, wait=False)
        ok = desk_for(platform).start(agents, callers)  # while the faulty one starts
        return Pair(ok, desk_for(faulty.ready()).start(agents, callers))

    return make


def test_every_listed_fault_has_a_test_here() -> None:
    """A test named after it here, or a row of the scenario-level fault matrix (which runs the
    conformant platform's scenarios too, so the fault is shown failing and its absence passing)."""
    from tests.faults.test_ivr_acd_fault_matrix import MATRIX

    tested = {name.removeprefix("test_") for name in globals() if name.startswith("test_")} | set(MATRIX)
    missing = [f for f in listed_faults() if f not in tested]
    assert not missing, f"faults without a test: {missing}"


def test_every_listed_quirk_is_used_by_a_test() -> None:
    """Quirks (a real PBX's habits that fail nothing) are proven where they matter (doctor, capture)."""
    tests = "".join(p.read_text(encoding="utf-8") for p in (PROJECT / "tests").rglob("test_*.py"))
    quirks = [name for name, quirk in _listed() if quirk]
    assert quirks, "--list-faults lists no quirk"
    assert [q for q in quirks if f'"{q}"' not in tests and f"'{q}'" not in tests] == []


# -- IVR ----------------------------------------------------------------------------------------
def key_route(key: str, delay: float = 0.0) -> Probe:
    """Press ``key`` in the main menu: which agent (2001 sales, 2004 support) is offered."""
    def probe(desk: Desk) -> Script:
        yield desk.until_time(delay)
        call = desk.dial(MAIN, "caller" if key == "1" else "caller1")
        yield from to_menu(desk, call)
        since = time.monotonic()
        desk.dtmf(call, key)
        try:
            agent, _ = yield desk.until_offer(since, ("2001", "2004"), timeout=5.0)
        except WaitTimeout:
            agent = None
        desk.drop(call)
        yield desk.until_ended(call, 5.0)
        return agent
    return probe


def test_ivr_wrong_route(pair: Callable[..., Pair]) -> None:
    ok, bad = pair({"2001": Behaviour(), "2004": Behaviour()}, callers=2).run(
        key1=key_route("1"), key2=key_route("2", delay=4.0))  # offers 4 s apart: no mix-up
    assert (ok["key1"], ok["key2"]) == ("2001", "2004")
    assert (bad["key1"], bad["key2"]) == ("2004", "2001"), "keys 1 and 2 are not swapped"


def after_the_menu(desk: Desk) -> Script:
    """Stay silent after the whole main menu: what comes first, no_input or the end?"""
    call = desk.dial(MAIN)
    yield desk.until_answered(call)
    menu = yield desk.until_prompt(call, "main_menu",
                                   timeout=prompt_seconds("welcome") + prompt_seconds("main_menu") + 10)
    reprompted = every(0.4, lambda: heard(call, "no_input", after=menu.end_s - 0.2))

    def next_thing() -> tuple[str, float] | None:
        if call.state == "DISCONNECTED":
            assert call.capture_t0 is not None
            ended = call.last("call", state="DISCONNECTED")
            return ("hung_up_by_platform" if desk.ended_by_platform(call) else "hung_up",
                    ended.t - call.capture_t0 if ended else 0.0)
        found = reprompted()
        return ("no_input", found.start_s) if found else None

    what, at = yield Until(next_thing, DIGIT_TIMEOUT + prompt_seconds("no_input") + 8.0,
                           "no_input or the end of the call", call)
    desk.drop(call)
    yield desk.until_ended(call, 5.0)
    return what, at - menu.end_s


def test_ivr_no_reprompt(pair: Callable[..., Pair]) -> None:
    ok, bad = pair({}).run(silent=after_the_menu)
    what, after = ok["silent"]
    assert what == "no_input" and abs(after - DIGIT_TIMEOUT) < 1.0, ok
    what, after = bad["silent"]
    assert what == "hung_up_by_platform", f"the faulty platform re-prompted: {bad}"
    assert abs(after - DIGIT_TIMEOUT) < 1.5, f"hung up {after:.1f}s after the menu"


def greeting(desk: Desk) -> Script:
    """When the greeting starts after the answer, and how loud the line is before it."""
    call = desk.dial(MAIN)
    yield desk.until_answered(call)
    welcome = yield desk.until_prompt(call, "welcome", timeout=20.0)
    before = capture(call)[: int(welcome.start_s * 8000)]
    desk.drop(call)
    yield desk.until_ended(call, 5.0)
    rms = float(np.sqrt(np.mean(before**2))) if before.size else 0.0
    return welcome.start_s, rms


def test_ivr_dead_air(pair: Callable[..., Pair]) -> None:
    ok, bad = pair({}).run(greeting=greeting)
    assert ok["greeting"][0] < 1.0, ok
    start, rms = bad["greeting"]
    assert start >= 3.0, f"the greeting began {start:.2f}s after the answer"
    assert rms < 0.003, f"not silence before the greeting (rms {rms:.4f})"


def media_counts(desk: Desk) -> Script:
    """6 s of the greeting and menu (about 300 packets), then the caller's RTP counters."""
    call = desk.dial(MAIN)
    yield desk.until_answered(call)
    yield desk.until_time(6.0)
    before = len(call.events)
    desk.board.command(call.phone, "stats", handle=call.handle)
    stats = next(e.data for e in call.events[before:] if e.kind == "stats")
    desk.drop(call)
    yield desk.until_ended(call, 5.0)
    return stats


def test_media_lossy(pair: Callable[..., Pair]) -> None:
    ok, bad = pair({}).run(media=media_counts)
    assert ok["media"]["rx_packets"] >= 200 and ok["media"]["rx_lost"] <= 1, ok
    # 5 % of about 300: 15 expected; fewer than 5 has a chance of about 2 in 1,000
    assert bad["media"]["rx_lost"] >= 5, bad
    assert bad["media"]["rx_lost"] / (bad["media"]["rx_packets"] + bad["media"]["rx_lost"]) < 0.15, bad


def key_in_menu(desk: Desk) -> Script:
    """Press 1 in the main menu: is an agent offered, or does the menu play on?"""
    call = desk.dial(MAIN)
    _, menu = yield from to_menu(desk, call)
    since = time.monotonic()
    key_at = desk.dtmf(call, "1")
    try:
        agent, _ = yield desk.until_offer(since, ("2001",), timeout=4.0)
    except WaitTimeout:
        agent = None
    into_menu = key_at - menu.start_s + 0.5  # where the menu was just after the key
    # Up to 3 s of what was left of the menu: a busy host may have pressed the key late.
    rest = min(3.0, prompt_seconds("main_menu") - into_menu - 0.2)
    assert rest >= 1.0, f"the key went {key_at - menu.start_s:.1f}s into the menu: too late to tell"
    try:
        went_on = yield Until(every(0.4, lambda: heard(call, "main_menu", after=key_at,
                                                       start=into_menu, seconds=rest)),
                              4.5, "the rest of the menu", call)
        seen = ""
    except WaitTimeout:
        went_on = None
        seen = (f"after the key at {key_at:.2f}s, menu {into_menu:.2f}s..+{rest:.1f}s: "
                f"{best_match(call, 'main_menu', key_at, into_menu, rest)}; {call.summary()}")
    desk.drop(call)
    yield desk.until_ended(call, 5.0)
    return agent, bool(went_on), seen


def test_ivr_ignores_dtmf(pair: Callable[..., Pair]) -> None:
    ok, bad = pair({"2001": Behaviour()}).run(key=key_in_menu)
    assert ok["key"][:2] == ("2001", False), "conformant: key 1 stops the menu and queues the call"
    assert bad["key"][:2] == (None, True), (
        f"faulty: the menu played on as if no key was pressed, yet: {bad['key']}")


# -- ACD -------------------------------------------------------------------------------------------
def answering() -> dict[str, Behaviour]:
    return {a: Behaviour() for a in THREE}


def one_sales_call(desk: Desk) -> Script:
    """Who is offered one sales (rrmemory) call, and how far apart their INVITEs came."""
    since = time.monotonic()
    call = desk.dial(SALES)
    yield desk.until_answered(call)
    _, leg = yield desk.until_bridged(since)
    yield desk.until_time(0.5)  # every INVITE of a fork has arrived by now
    offered = desk.offered(since)
    desk.drop(call)
    yield desk.until_ended(call, 5.0)
    yield desk.until_ended(leg, 5.0)
    times = [o.t0 for o in offered.values()]
    return sorted(offered), max(times) - min(times)


def test_acd_ringall_not_roundrobin(pair: Callable[..., Pair]) -> None:
    ok, bad = pair(answering()).run(call=one_sales_call)
    assert len(ok["call"][0]) == 1, f"conformant rrmemory rang {ok['call'][0]}"
    agents, spread = bad["call"]
    assert agents == list(THREE) and spread < 0.5, f"faulty rang {agents} within {spread:.2f}s"


def sequential_calls(did: str, n: int) -> Probe:
    def probe(desk: Desk) -> Script:
        answered = []
        since = time.monotonic()
        for _ in range(n):
            t = time.monotonic()
            call = desk.dial(did)
            yield desk.until_answered(call)
            agent, leg = yield desk.until_bridged(t)
            answered.append(agent)
            desk.drop(call)
            yield desk.until_ended(call, 5.0)
            yield desk.until_ended(leg, 5.0)
        return answered, sorted(desk.offered(since))
    return probe


def test_acd_skips_agent(pair: Callable[..., Pair]) -> None:
    ok, bad = pair(answering()).run(calls=sequential_calls(SALES, 4))
    assert set(ok["calls"][0]) == set(THREE), ok
    answered, offered = bad["calls"]
    assert "2003" not in offered, f"the last agent was offered a call: {answered}"
    assert set(answered) == {"2001", "2002"}


def busy_then_another(desk: Desk) -> Script:
    """Two linear calls at once: who answers the second while 2001 holds the first?"""
    t = time.monotonic()
    first = desk.dial(LINEAR)
    yield desk.until_answered(first)
    agent, leg = yield desk.until_bridged(t)
    t = time.monotonic()
    second = desk.dial(LINEAR)
    yield desk.until_answered(second)
    other, other_leg = yield desk.until_bridged(t)
    for call, agent_leg in ((second, other_leg), (first, leg)):
        desk.drop(call)
        yield desk.until_ended(call, 5.0)
        yield desk.until_ended(agent_leg, 5.0)
    return agent, other


def test_acd_offers_busy_agent(pair: Callable[..., Pair]) -> None:
    ok, bad = pair(answering()).run(calls=busy_then_another)
    assert ok["calls"] == ("2001", "2002")
    assert bad["calls"] == ("2001", "2001"), "faulty: 2001 got a second call while on one"


def unanswered(desk: Desk) -> Script:
    """2001 rings without answering: who is offered the call over 9 s?"""
    since = time.monotonic()
    call = desk.dial(LINEAR)
    yield desk.until_answered(call)
    try:
        agent, _ = yield desk.until_bridged(since, timeout=9.0)
    except WaitTimeout:
        agent = None
    offers = sorted((o.t0, a) for a in THREE for o in desk.offers(a, since))
    desk.drop(call)
    yield desk.until_ended(call, 5.0)
    for a in THREE:
        for leg in desk.offers(a, since):
            yield desk.until_ended(leg, 5.0)
    return agent, [a for _, a in offers]


def test_acd_no_rna_failover(pair: Callable[..., Pair]) -> None:
    agents = {**answering(), "2001": Behaviour(mode="ring")}
    ok, bad = pair(agents).run(call=unanswered)
    assert ok["call"] == ("2002", ["2001", "2002"]), ok
    agent, offers = bad["call"]
    assert agent is None and set(offers) == {"2001"} and len(offers) >= 2, (
        f"faulty: expected 2001 offered again and again, got {offers} (answered by {agent})")


# -- ACD offers: the screen pop and the time to the first offer, by the suite's own scenario --------
SCREEN_POP = PROJECT / "scenarios" / "acd" / "offer_names_caller_and_queue.scenario.yaml"


def offer_verdicts(platform: RefPlatform, faulty: RefPlatform, tmp_path: Path,
                   monkeypatch: pytest.MonkeyPatch) -> tuple[ScenarioRun, ExpectationFailed]:
    """The screen-pop scenario on the conformant platform (it must pass) and the faulty one's failure."""
    ok = run_scenario(platform, SCREEN_POP, tmp_path / "ok", monkeypatch)
    with pytest.raises(ExpectationFailed) as failed:
        run_scenario(faulty.ready(), SCREEN_POP, tmp_path / "bad", monkeypatch)
    return ok, failed.value


def measured(run: ScenarioRun, kind: str) -> dict[str, Any]:
    return next(r.measurements for r in run.records if r.kind == kind)


def test_acd_offer_without_caller_id(platform: RefPlatform, start_platform: Callable[..., RefPlatform],
                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    faulty = start_platform("acd_offer_without_caller_id", wait=False)
    ok, bad = offer_verdicts(platform, faulty, tmp_path, monkeypatch)
    seen = measured(ok, "expect_offer_headers")["headers"]
    assert any(h.startswith('From: "1001" <sip:1001@127.0.0.1>') for h in seen), seen
    assert {"P-Asserted-Identity: <sip:1001@127.0.0.1>", "X-Queue: sales"} <= set(seen), seen
    assert not [h for h in seen if h.lower().startswith(("authorization", "proxy-authorization"))]
    assert measured(ok, "expect_queue_entered")["queue_named"] == "sales"
    assert bad.step == "expect_offer_headers", bad
    assert re.search(r"From user: expected to be '1001', came 'worker\d+'; P-Asserted-Identity user: "
                     r"expected to be '1001', came absent; "
                     r"X-Queue: expected to match '\^sales\$', came absent$", bad.detail), bad
    assert any(h.startswith("From: sip:worker") for h in bad.measurements["headers"]), bad.measurements


def test_acd_queue_offer_delayed(platform: RefPlatform, start_platform: Callable[..., RefPlatform],
                                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    faulty = start_platform("acd_queue_offer_delayed", wait=False)
    ok, bad = offer_verdicts(platform, faulty, tmp_path, monkeypatch)
    entered = measured(ok, "expect_queue_entered")
    assert entered["from"] == "the key press" and 0 < entered["delay_s"] < 5.0, entered
    assert bad.step == "expect_queue_entered", bad
    assert bad.detail == "no agent was offered the call within 5s of the key press", bad


# -- recording ---------------------------------------------------------------------------------------
@pytest.fixture
def recording_pair(pair: Callable[..., Pair], tmp_path: Any) -> Pair:
    agent = tone_agent(tmp_path / "tones")
    return pair({a: agent for a in THREE})


def test_rec_missing(recording_pair: Pair) -> None:
    ok, bad = recording_pair.run(rec=recorded)
    assert len(ok["rec"][1].rows) == 1
    assert bad["rec"][1].rows == [], "faulty: a recording was stored"


def test_rec_one_party(recording_pair: Pair) -> None:
    ok, bad = recording_pair.run(rec=recorded)
    both = {f: ok["rec"][1].tone_seconds(f) for f in (CALLER_TONE, AGENT_TONE)}
    assert all(s > TONE_SECONDS - 0.3 for s in both.values()), both
    one = {f: bad["rec"][1].tone_seconds(f) for f in (CALLER_TONE, AGENT_TONE)}
    assert one[CALLER_TONE] > TONE_SECONDS - 0.3 and one[AGENT_TONE] == 0.0, one


def test_rec_truncated(recording_pair: Pair) -> None:
    ok, bad = recording_pair.run(rec=recorded)
    call, stored = ok["rec"]
    assert abs(stored.seconds - call.bridged_s) <= 1.0
    call, stored = bad["rec"]
    assert stored.seconds < call.bridged_s - 2.0, (
        f"faulty: {stored.seconds:.1f}s recorded of {call.bridged_s:.1f}s bridged")
    assert stored.tone_seconds(CALLER_TONE) == 0.0  # the caller's tone came after the cut


def test_rec_unauthenticated(recording_pair: Pair) -> None:
    ok, bad = recording_pair.run(rec=recorded)
    assert ok["rec"][1].anonymous_status == 401
    stored = bad["rec"][1]
    assert stored.anonymous_status == 200
    anonymous = recording_pair.bad.ref.api(
        "GET", f"/ari/recordings/stored/{stored.row['name']}/file", auth=None)
    assert anonymous.content == stored.data, "faulty: not the same file without credentials"
    listing = recording_pair.bad.ref.api("GET", "/ari/recordings/stored", auth=None)
    assert listing.status_code == 200 and stored.row["name"] in listing.text


def test_rec_altered(recording_pair: Pair) -> None:
    ok, bad = recording_pair.run(rec=recorded)
    assert ok["rec"][1].sha256 == ok["rec"][1].row["sha256"]
    stored = bad["rec"][1]
    assert stored.sha256 != stored.row["sha256"], "faulty: the file still matches its row"


# -- retention -----------------------------------------------------------------------------------------
def kept_at(pair: Pair, day: float) -> tuple[dict[str, Any], bool, dict[str, Any], bool]:
    """Record on both, then purge both at ``day``: (ok policy, ok kept, bad policy, bad kept)."""
    ok, bad = pair.run(rec=recorded)
    answers = []
    for desk, result in ((pair.ok, ok), (pair.bad, bad)):
        name = result["rec"][1].row["name"]
        policy = desk.ref.api("GET", "/reference/retention").json()
        try:
            purged = purge_at(desk.ref, day)
        finally:
            reset_clock(desk.ref)
        answers += [policy, name not in purged]
    return answers[0], answers[1], answers[2], answers[3]


def test_retention_short(recording_pair: Pair) -> None:
    ok_policy, ok_kept, bad_policy, bad_kept = kept_at(recording_pair, 91)
    assert ok_policy["days"] == 190 and ok_kept
    assert bad_policy["days"] == 90 and not bad_kept, (bad_policy, bad_kept)


def test_retention_purges_early(recording_pair: Pair) -> None:
    ok_policy, ok_kept, bad_policy, bad_kept = kept_at(recording_pair, 31)
    assert ok_policy["days"] == 190 and ok_kept
    assert bad_policy["days"] == 190, "faulty: the policy itself should still read 190"
    assert not bad_kept, "faulty: the recording survived day 31"


# -- toll fraud: the suite's own scenarios, run by the harness on both platforms ------------------
SECURITY = PROJECT / "scenarios" / "security"
WRONG = "Wr0ng-pass-word"  # what expect_register tries, known here to look for it in the run's files


def verdicts(platform: RefPlatform, faulty: RefPlatform, scenario: str, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> tuple[ScenarioRun, ExpectationFailed]:
    """The conformant platform's run (it must pass) and the faulty one's failure."""
    ok = run_scenario(platform, SECURITY / scenario, tmp_path / "ok", monkeypatch)
    with pytest.raises(ExpectationFailed) as failed:
        run_scenario(faulty.ready(), SECURITY / scenario, tmp_path / "bad", monkeypatch)
    return ok, failed.value


def test_auth_accepts_any_password(platform: RefPlatform, start_platform: Callable[..., RefPlatform],
                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    faulty = start_platform("auth_accepts_any_password", wait=False)
    monkeypatch.setattr("harness.steps.expect_register._wrong_password", lambda right: WRONG)
    ok, bad = verdicts(platform, faulty, "wrong_password_refused.scenario.yaml", tmp_path, monkeypatch)
    refused = ok.records[0].measurements
    assert (refused["status"], refused["responses"]) == (403, ["SIP/2.0 401 Unauthorized", "SIP/2.0 403 Forbidden"])
    assert bad.step == "expect_register"
    assert bad.detail.startswith("the platform accepted account agent1 with a wrong password (200 OK"), bad
    written = [p for p in tmp_path.rglob("*") if p.is_file() and WRONG in p.read_text(errors="replace")]
    assert written == [], "the wrong password was written"


def test_dialplan_open_international(platform: RefPlatform, start_platform: Callable[..., RefPlatform],
                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    faulty = start_platform("dialplan_open_international", wait=False)
    ok, bad = verdicts(platform, faulty, "barred_numbers_refused.scenario.yaml", tmp_path, monkeypatch)
    abroad, unknown = (r.measurements for r in ok.records)
    assert (abroad["status"], abroad["reason"], abroad["answered"]) == (403, "International calls barred", False)
    assert (unknown["status"], unknown["answered"]) == (404, False)
    assert bad.step == "expect_call_refused"
    assert "the platform answered call refused1 (agent-agent1 -> sip:00441632960000@" in bad.detail, bad
    assert "instead of refusing it with 403; the harness hung it up at once" in bad.detail, bad


# -- what a queued caller hears: the suite's own scenario, run by the harness on both platforms -----
HOLD_MUSIC = PROJECT / "scenarios" / "acd" / "hold_music_while_queued.scenario.yaml"


def test_acd_queue_dead_air(platform: RefPlatform, start_platform: Callable[..., RefPlatform],
                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    faulty = start_platform("acd_queue_dead_air", wait=False)
    ok = run_scenario(platform, HOLD_MUSIC, tmp_path / "ok", monkeypatch)
    heard = next(r.measurements for r in ok.records if r.kind == "expect_audio")
    assert heard["kind"] == "music" and heard["shares"]["music"] >= 0.8, heard
    with pytest.raises(ExpectationFailed) as failed:
        run_scenario(faulty.ready(), HOLD_MUSIC, tmp_path / "bad", monkeypatch)
    assert failed.value.step == "expect_audio", failed.value
    assert failed.value.detail.startswith("heard 5.0 s: silence 100 %, expected music"), failed.value


# -- the declared seats at once (工位数量): the suite's own scenario, on both platforms ------------
SEATS = PROJECT / "scenarios" / "acd" / "seats.scenario.yaml"


def seat_verdicts(platform: RefPlatform, faulty: RefPlatform, tmp_path: Path,
                  monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], ExpectationFailed]:
    """The seat scenario's figures on the conformant platform (it must pass) and the faulty one's failure."""
    ok = run_scenario(platform, SEATS, tmp_path / "ok", monkeypatch)
    with pytest.raises(ExpectationFailed) as failed:
        run_scenario(faulty.ready(), SEATS, tmp_path / "bad", monkeypatch)
    assert failed.value.step == "expect_seats", failed.value
    return measured(ok, "expect_seats"), failed.value


def test_seats_short(platform: RefPlatform, start_platform: Callable[..., RefPlatform],
                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    faulty = start_platform("seats_short", workers=3, wait=False)  # four calls need two workers
    ok, bad = seat_verdicts(platform, faulty, tmp_path, monkeypatch)
    assert (ok["served_at_once"], ok["recordings_found"]) == (4, 4), ok
    assert re.match(r"the platform served 3 of the 4 declared seats at once \(工位数量\): 3 calls talked "
                    r"to agents together, s\d from 100\d \(dialled at \+0\.\d s\) waited \d+\.\d s for an "
                    r"agent, hearing music \d+ %", bad.detail), bad.detail
    assert bad.measurements["served_at_once"] == 3, bad.measurements


def test_seat_double_booked(platform: RefPlatform, start_platform: Callable[..., RefPlatform],
                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    faulty = start_platform("seat_double_booked", workers=3, wait=False)
    ok, bad = seat_verdicts(platform, faulty, tmp_path, monkeypatch)
    assert ok["offers"] == 4 and len(ok["agents"]) == 4, ok
    assert re.match(r"agent seat1 answered [234] calls \(s1, s2", bad.detail), bad.detail
    assert re.search(r"an agent seat was offered a second call while busy \(a seat booked twice\): "
                     r"seat1/in2 was offered at \+0\.\d s while seat1/in1 rang", bad.detail), bad.detail


# -- outbound caller ID (issue 16): the suite's own scenario, on both platforms ----------------------
DIAL_OUT = PROJECT / "scenarios" / "outbound" / "agent_dial_out_caller_id.scenario.yaml"


def caller_id_verdicts(platform: RefPlatform, faulty: RefPlatform, tmp_path: Path,
                       monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], ExpectationFailed]:
    """The carrier's view of an agent's outbound call on the conformant platform (it must pass)
    and the faulty one's failure."""
    ok = run_scenario(platform, DIAL_OUT, tmp_path / "ok", monkeypatch)
    with pytest.raises(ExpectationFailed) as failed:
        run_scenario(faulty.ready(), DIAL_OUT, tmp_path / "bad", monkeypatch)
    assert failed.value.step == "expect_carrier_call", failed.value
    return measured(ok, "expect_carrier_call"), failed.value


def test_outbound_hides_caller_id(platform: RefPlatform, start_platform: Callable[..., RefPlatform],
                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    faulty = start_platform("outbound_hides_caller_id", wait=False)
    ok, bad = caller_id_verdicts(platform, faulty, tmp_path, monkeypatch)
    assert ok["number"] == "13800138000" and ok["caller_id"]["presented"] == "01062345678", ok
    assert ok["privacy"] == [] and ok["answered"], ok
    assert re.search(r"the outbound call carrier/in1 to 13800138000 does not show the registered caller "
                     r"ID: the caller ID is withheld: Privacy: id asks the network to withhold", bad.detail), bad
    assert bad.measurements["privacy"] == ["id"], bad.measurements


def test_outbound_wrong_caller_id(platform: RefPlatform, start_platform: Callable[..., RefPlatform],
                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    faulty = start_platform("outbound_wrong_caller_id", wait=False)
    ok, bad = caller_id_verdicts(platform, faulty, tmp_path, monkeypatch)
    assert ok["caller_id"]["pai"] == ["01062345678"], ok
    assert "From presents 2001, the extension of agent agent1, not the company's registered number " \
           "01062345678" in bad.detail, bad
    assert bad.measurements["caller_id"]["presented"] == "2001", bad.measurements
