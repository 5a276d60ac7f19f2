"""``expect_seats``: the platform serves the declared number of seats (工位数量) at once.

N is the profile's ``licence.seats`` unless the step gives ``seats:``.  The step
starts N agent seats (phones of their own, answering after ``answer_after``)
with the accounts of ``seat_accounts`` (``harness.targets.seats``: listed ones,
then a template), waits for every registration, and has N callers dial the
seat queue's DID together.  Each offer is tied to its call by the caller the
platform presents (P-Asserted-Identity or From: every seat caller has its own
number), else as ``expect_agent`` ties legs.  Once every call talks to an agent,
each caller and each agent plays its call's marker, all N are held up together
for ``hold``, hung up, and each call's recording is looked for with both markers
(``recording: false`` leaves that out).  The verdict is
``harness.checks.seats.seats_verdict``; its figures are the N conversations on
one timeline.  Every wait has a deadline; the phones stop with the run.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from harness.audio.marker import Marker, marker_for, render
from harness.checks.attribution import LegSeen, attribute, call_id_tags
from harness.checks.seats import (
    SeatCall,
    SeatOffer,
    SeatsWanted,
    figures,
    presented_call,
    seats_verdict,
)
from harness.errors import ExpectationFailed, HarnessError, TargetError
from harness.runner.cast import phone_setup, request_uri
from harness.runner.legs import offer_headers
from harness.runner.run import REGISTER_TIMEOUT, CallState, ScenarioRun
from harness.scenario.context import LoadContext
from harness.sip.config import Behaviour
from harness.sip.controller import Phone, WaitTimeout
from harness.sip.timeline import CallTimeline
from harness.spec.checker import mapping
from harness.spec.values import Destination
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.call import destination
from harness.steps.expect_recording import ExpectRecordingStep, examine
from harness.steps.kind import Measurements, Said, Skips, StepKind, always, words
from harness.steps.media import idle
from harness.steps.recorded import PLAY_START_TIMEOUT, NotConformant, PlayedMarker
from harness.steps.signalling import HANGUP_TIMEOUT
from harness.targets.capability import Capability
from harness.targets.seats import seat_account, seats_available

SETTLE = 1.0  # after the seats register, before the first call: the platform's ACD notices them
RECORDING_WITHIN = 15.0
# The last seat's recording starts as its agent answers: the markers wait this long, so every
# recording holds them whole (played at once, the last call's lost its first tones).
MARK_AFTER = 1.0


@dataclass(frozen=True)
class ExpectSeatsStep:
    """N callers dialling ``to`` together are answered by N distinct agents, all up for ``hold``."""

    to: Destination
    seats: int | None = None  # None: the target profile's licence.seats
    hold: float = 5.0
    within: float = 20.0  # for every call to be answered by an agent
    answer_after: float = 0.5  # each seat rings this long before it answers
    recording: bool = True
    mark: Mark | None = None


SCHEMA = """
description: >-
  Expect the platform to serve the declared number of seats at once - N agent seats
  register, N callers dial the seat queue together, each is answered by a different
  agent, all N talk at the same moment for a while, and every call is recorded.
type: object
x-hint: 'e.g. expect_seats: {to: "did:seats", hold: 5s, within: 20s}'
required: [to]
additionalProperties: false
properties:
  to:
    description: The seat queue's number, whose agents are the seats - did:NAME, a sip URI or a number.
    type: [string, integer]
  seats:
    description: How many seats (default the target profile's licence.seats).
    type: integer
    minimum: 1
  hold:
    $ref: "#/$defs/duration"
    description: How long all N conversations must be up together (default 5s).
  within:
    $ref: "#/$defs/duration"
    description: How long, from the first call, every call has to be answered by an agent (default 20s).
  answer_after:
    $ref: "#/$defs/duration"
    description: How long each seat's phone rings before answering (default 0.5s).
  recording:
    description: Each call's recording must be found holding both parties' markers (default true).
    type: boolean
"""


def _seats(ctx: LoadContext, at: DataPath, given: Any) -> int | None:
    """``seats:``, or None for the profile's licence.seats; either must have accounts enough."""
    target = ctx.target
    if target is None:
        return None if given is None else int(given)
    if given is None and target.licence.seats is None:
        ctx.report(at, f"target profile {target.path} declares no licence.seats",
                   "give seats: N here, or licence: {seats: N} in the profile")
    n = int(given) if given is not None else target.licence.seats
    for side in ("agents", "callers"):
        have = seats_available(target, side)
        if n is not None and have is not None and have < n:
            ctx.report(at, f"{n} seats need {n} {side}; target profile {target.path} gives {have} "
                       "and no template for more",
                       f'seat_accounts: {{{side}: {{more: {{username: "...{{n}}", password: '
                       f'"${{ENV:...{{n}}}}"}}}}}} makes the rest')
    return None if given is None else int(given)


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> ExpectSeatsStep:
    """``expect_seats: {to, seats, hold, within, answer_after, recording}``."""
    fields = mapping(body)
    got = {k: ctx.get(fields, at, k) for k in ("hold", "within", "answer_after", "recording")}
    return ExpectSeatsStep(
        to=destination(ctx, at + ("to",), ctx.get(fields, at, "to")),
        seats=_seats(ctx, at + ("seats",) if "seats" in fields else at, ctx.get(fields, at, "seats")),
        hold=5.0 if got["hold"] is None else ctx.duration(at + ("hold",), got["hold"]),
        within=20.0 if got["within"] is None else ctx.duration(at + ("within",), got["within"]),
        answer_after=0.5 if got["answer_after"] is None else ctx.duration(
            at + ("answer_after",), got["answer_after"], allow_zero=True),
        recording=True if got["recording"] is None else bool(got["recording"]),
        mark=mark,
    )


# -- the seats and their callers -------------------------------------------------------------
def _start(run: ScenarioRun, step: ExpectSeatsStep, n: int) -> list[tuple[str, str]]:
    """Start the N agent seats and the callers not already running: ``[(caller phone, agent phone)]``."""
    target, work = run.target, run.work_dir
    behaviour = Behaviour(mode="answer", answer_after=step.answer_after)
    running = {c.account: run.caller_phone[c.name] for c in run.scenario.callers}
    setups, pairs = [], []
    for k in range(1, n + 1):
        agent, caller = seat_account(target, "agents", k), seat_account(target, "callers", k)
        setups.append(phone_setup(f"seat-agent{k}", target, agent, True, work, behaviour))
        phone = running.get(caller.name)
        if phone is None:
            phone = f"seat-caller{k}"
            setups.append(phone_setup(phone, target, caller, True, work))
            run.caller_phone[f"seat{k}"] = phone
        run.agent_phone[f"seat{k}"] = f"seat-agent{k}"
        pairs.append((phone, f"seat-agent{k}"))
    _registered(run, run.board.start(setups))
    return pairs


def _registered(run: ScenarioRun, phones: list[Phone]) -> None:
    """Every new phone that registers has, within REGISTER_TIMEOUT; a refusal is the profile's."""
    waiting = [p for p in phones if p.setup.account and p.setup.account.registrar]
    run.board.wait(lambda: all(p.registrations for p in waiting) or None, run.budget(REGISTER_TIMEOUT),
                   lambda: "registration of " + ", ".join(p.name for p in waiting if not p.registrations),
                   phones=waiting)
    for p in waiting:
        code = int(p.registrations[-1].data["code"])
        if code // 100 != 2:
            assert p.setup.account is not None
            raise TargetError(f"seat account {p.setup.account.id_uri} (phone {p.name}) could not register: "
                              f"{code} {p.registrations[-1].data['reason']} (hint: check seat_accounts and "
                              f"the passwords' environment variables in {run.target.path})")


def _dial(run: ScenarioRun, step: ExpectSeatsStep, pairs: list[tuple[str, str]]) -> list[CallState]:
    """Every caller dials the seat queue, one right after another: calls s1..sN."""
    uri = request_uri(step.to, run.target, {}, {})
    clash = [f"s{k}" for k in range(1, len(pairs) + 1) if f"s{k}" in run.calls]
    if clash:
        raise HarnessError(f"expect_seats names its calls s1..s{len(pairs)}, and {clash[0]} is already "
                           "a call of the scenario (hint: give that call another id)")
    states = [CallState(f"s{k}", f"seat{k}", phone, run.board.open_call(phone, f"s{k}", uri, {}))
              for k, (phone, _) in enumerate(pairs, 1)]
    run.calls.update({s.id: s for s in states})
    return states


# -- which agent leg is whose call ---------------------------------------------------------------
def _caller_user(run: ScenarioRun, state: CallState) -> str:
    setup = run.board.phones[state.phone].setup
    return setup.account.id_uri.split(":", 1)[1].split("@", 1)[0] if setup.account else ""


def _legs(run: ScenarioRun, states: list[CallState]) -> list[tuple[LegSeen, CallTimeline]]:
    """Every leg the seats were offered, tagged with the seat call whose caller it presents."""
    by_user = {_caller_user(run, s): s.timeline.sip_call_id for s in states if s.timeline.sip_call_id}
    taken = {id(s.agent_leg): s.id for s in states if s.agent_leg is not None}
    seen = []
    for k in range(1, len(states) + 1):
        for leg in run.board.calls_of(f"seat-agent{k}"):
            if not leg.events:
                continue
            presented = presented_call(offer_headers(leg), by_user)
            named = call_id_tags(dict(leg.events[0].data.get("headers") or {}))
            tags = tuple(dict.fromkeys(([presented] if presented else []) + list(named)))
            answered = leg.last("call", state="CONFIRMED")
            seen.append((LegSeen(f"seat{k}/{leg.handle}", f"seat{k}", leg.events[0].t,
                                 answered.t if answered else None, tags, taken.get(id(leg))), leg))
    return seen


def _attribute(run: ScenarioRun, states: list[CallState]) -> None:
    """Tie each answered call still without its agent leg to the leg that answered it."""
    seen = _legs(run, states)
    timelines = {leg.name: tl for leg, tl in seen}
    legs = [leg for leg, _ in seen]
    for state in states:
        if state.agent_leg is not None or state.timeline.sip_call_id is None:
            continue
        chosen = attribute(state.timeline.t0, state.timeline.sip_call_id, legs).chosen
        if chosen is not None:
            state.agent_leg, state.agent = timelines[chosen.name], chosen.agent
            legs = [replace(leg, taken_by=state.id) if leg is chosen else leg for leg in legs]


def _wait_answered(run: ScenarioRun, step: ExpectSeatsStep, states: list[CallState]) -> float:
    """Wait until every call talks to an agent (or one ended); returns when the wait stopped."""
    def all_up() -> bool | None:
        _attribute(run, states)
        gone = any(s.timeline.state == "DISCONNECTED" for s in states)
        return gone or all(s.agent_leg is not None and s.timeline.state == "CONFIRMED" for s in states) or None

    try:
        run.board.wait(all_up, run.budget(step.within), lambda: "every seat call answered by an agent")
    except WaitTimeout:
        pass  # the verdict says how many were served, and who waited
    return time.monotonic()


# -- what was seen, as the verdict takes it ----------------------------------------------------------
def _at(tl: CallTimeline | None, state: str) -> float | None:
    event = tl.last("call", state=state) if tl is not None else None
    return event.t if event is not None else None


def _heard(state: CallState, until: float) -> str:
    """What the caller heard from the platform's answer until ``until`` (no agent yet)."""
    from harness.audio.kind import classify, shares
    from harness.checks.audio_kind import proportions
    from harness.steps.media import RATE, capture

    answered = _at(state.timeline, "CONFIRMED")
    if answered is None or state.agent_leg is not None:
        return ""
    samples, t0 = capture(state)
    piece = samples[int(max(0.0, answered - t0) * RATE):int(max(0.0, until - t0) * RATE)]
    return proportions(shares(classify(piece))) if piece.size else ""


def _observed(run: ScenarioRun, states: list[CallState], until: float) -> tuple[list[SeatCall], list[SeatOffer]]:
    calls = [SeatCall(s.id, _caller_user(run, s), s.timeline.t0, _at(s.timeline, "CONFIRMED"),
                      _at(s.timeline, "DISCONNECTED"), s.agent, _at(s.agent_leg, "CONFIRMED"),
                      _at(s.agent_leg, "DISCONNECTED"), _heard(s, until)) for s in states]
    offers = [SeatOffer(leg.agent, leg.name, leg.offered, leg.answered, _at(tl, "DISCONNECTED"))
              for leg, tl in _legs(run, states)]
    return calls, offers


# -- holding, marking, hanging up, recordings ----------------------------------------------------------
def _mark(run: ScenarioRun, states: list[CallState]) -> None:
    """Every caller plays its call's marker, all at once; once they have played out, every agent.

    One party after the other, as play_marker steps do: two markers sounding together in a
    mixed recording cannot be told apart."""
    for party in ("caller", "agent"):
        playing = [_play(run, state, party) for state in states]
        for state, marker, leg, before in playing:
            event = run.board.wait(lambda: _started(leg, before, party), PLAY_START_TIMEOUT,  # noqa: B023
                                   lambda: f"the {party}'s marker to start on {state.id}", timeline=leg)  # noqa: B023
            state.markers[party] = PlayedMarker(marker, event.t, event.wall)
        idle(run, run.budget(max(m.duration for _, m, _, _ in playing) + 0.1))


def _play(run: ScenarioRun, state: CallState, party: str) -> tuple[CallState, Marker, CallTimeline, int]:
    leg = state.timeline if party == "caller" else state.agent_leg
    assert leg is not None and state.timeline.sip_call_id is not None
    marker = marker_for(state.timeline.sip_call_id, party)
    path = run.write_generated(f"{state.id}-marker-{party}", render(marker))
    before = len(leg.events)
    run.board.command(leg.phone, "play", handle=leg.handle, path=path, loop=False, name=f"marker-{party}")
    return state, marker, leg, before


def _started(leg: CallTimeline, before: int, party: str) -> Any:
    return next((e for e in leg.events[before:] if e.kind == "play" and e.data.get("name") == f"marker-{party}"
                 and e.data.get("state") == "started"), None)


def _hang_up(run: ScenarioRun, states: list[CallState]) -> None:
    """The callers hang up every call still up, and the step sees them end (or gives up)."""
    for s in states:
        if s.timeline.state != "DISCONNECTED":
            run.board.command(s.phone, "hangup", handle=s.timeline.handle)
    try:
        run.board.wait(lambda: all(s.timeline.state == "DISCONNECTED" for s in states) or None,
                       HANGUP_TIMEOUT, lambda: "every seat call to end after our BYE")
    except WaitTimeout:
        pass  # the phones hang up again when they stop


def _recordings(run: ScenarioRun, states: list[CallState]) -> tuple[dict[str, str | None], dict[str, Any]]:
    """Each call's recording problem (None: found with both markers), and what was found."""
    problems: dict[str, str | None] = {}
    found: dict[str, Any] = {}
    for s in states:
        wanted = ExpectRecordingStep(call=s.id, within=RECORDING_WITHIN, require_auth=False)
        try:
            seen = examine(run, s, wanted)
        except ExpectationFailed as exc:
            problems[s.id] = str(getattr(exc, "detail", exc))
            continue
        problems[s.id] = "; ".join(seen.problems) or None
        s.recording = seen.found
        found[s.id] = {k: seen.figures.get(k) for k in ("name", "found_by", "duration_s", "markers", "sha256")}
    return problems, found


def perform(run: ScenarioRun, step: ExpectSeatsStep) -> Measurements:
    n = step.seats or run.target.licence.seats
    if not n:
        raise HarnessError(f"expect_seats: target profile {run.target.path} declares no licence.seats")
    pairs = _start(run, step, n)
    idle(run, run.budget(SETTLE))
    states = _dial(run, step, pairs)
    want = SeatsWanted(n, step.hold, states[0].timeline.t0)
    try:
        until = _wait_answered(run, step, states)
        calls, offers = _observed(run, states, until)
        early = seats_verdict(want, calls, offers, {}, until)
        if early.passed:
            idle(run, run.budget(MARK_AFTER))
            _mark(run, states)
            idle(run, run.budget(max(0.0, until + step.hold - time.monotonic())))
    finally:
        _hang_up(run, states)
    calls, offers = _observed(run, states, until)
    checked, found = _recordings(run, states) if step.recording and early.passed else ({}, {})
    verdict = seats_verdict(want, calls, offers, checked, until)
    shown = {**figures(want, calls, offers, checked), "accounts": _accounts(run, pairs), "recordings": found}
    if verdict.problem is not None:
        raise NotConformant(run, "expect_seats", verdict.problem, shown)
    return shown


def _accounts(run: ScenarioRun, pairs: list[tuple[str, str]]) -> dict[str, str]:
    """``{seat1: "2001 <- 1001", ...}``: each seat's agent and caller users."""
    def user(phone: str) -> str:
        account = run.board.phones[phone].setup.account
        return account.id_uri.split(":", 1)[1].split("@", 1)[0] if account else phone
    return {f"seat{k}": f"{user(a)} <- {user(c)}" for k, (c, a) in enumerate(pairs, 1)}


def say(spec: Mapping[str, Any]) -> Said:
    n = spec.get("seats") or "申报的"
    to = words(spec.get("to", ""))
    n_en = spec.get("seats") or "the declared number of"
    return (f"{n} 个坐席同时登录，{n} 路来电同时拨打 {to}，分别由不同坐席接听、同时通话并全部录音",
            f"{n_en} seats log in, as many callers dial {to} at once: each answered by a different "
            "agent, all talking at the same moment, every call recorded")


KIND = StepKind(
    name="expect_seats",
    model=ExpectSeatsStep,
    description="The platform serves the declared number of seats at once: N callers, N distinct agents, all recorded.",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=always(Skips()),  # its own seats and calls: a capture runs none
    shot=(("坐席监控墙：全部坐席同时通话，来电与坐席一一对应；工位现场",
           "the agent wallboard: every seat talking at once, one caller per agent; the seats on site"),
          ("所有坐席同时处于通话状态", "every seat shows a call in progress at the same moment")),
    needs_if=(("recording", Capability.RECORDINGS),),
)
