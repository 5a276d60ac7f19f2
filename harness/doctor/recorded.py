"""Check 8: a recorded test call, and which ``recording_name`` template names its recording.

The call goes to ``doctor.recorded_call``'s DID (default: the doctor's), answered by
its agent when one is named (one of the profile's accounts, run here as a softphone
that answers: a platform may record only what an agent takes), and held.  The
recordings the adapter lists for the call's time are then matched against the
call's identities -- its Call-ID, the caller's number, the number dialled, the
X- headers on the agent's INVITE -- by :func:`harness.doctor.naming.suggest`.  The
finding names the ``recording_name:`` line for the profile, or shows the names seen
beside the identities.  While a simpler template and a filtered one name the
recording alike (a Call-ID of letters and digits only cannot tell ``{call_id}`` from
``{call_id|alnum}``), another call is placed, up to :data:`MAX_CALLS`.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from harness.doctor.call import await_answer, caller_ready, dial, hang_up
from harness.doctor.checkup import Checkup
from harness.doctor.finding import Finding, fail, ok, skipped, warn
from harness.doctor.naming import CallSeen, Naming, suggest, undecided
from harness.errors import TargetError
from harness.runner.cast import phone_setup
from harness.sip.config import Behaviour
from harness.sip.controller import WaitTimeout
from harness.sip.timeline import CallTimeline
from harness.sip.trace import x_headers

NUMBER, CHECK = 8, "recname"
MAX_CALLS = 4
PROBE_CALL_ID = "aZ9.-"  # what our phones' Call-IDs are made of (PJSIP's GUID alphabet)
AGENT_TIMEOUT = 15.0  # from the caller's answer to the agent's
SETTLE = 2.0  # after the agent registers: a queue learns of it from the registrar a moment later
RECORDING_TIMEOUT = 20.0  # from the hang-up to the recording being listed
POLL = 1.0
BEFORE = timedelta(seconds=5)  # the window starts this much before the call


def recorded_call(c: Checkup) -> Iterator[Finding]:
    why = _not_ready(c)
    if why:
        yield skipped(NUMBER, CHECK, why)
        return
    from harness.targets.registry import adapter_for

    platform = adapter_for(c.target)
    calls: list[CallSeen] = []
    naming = Naming(None)
    while len(calls) < MAX_CALLS and (not calls or undecided(naming, PROBE_CALL_ID)):
        seen = yield from _one_call(c, platform)
        if seen is None:
            return
        calls.append(seen)
        naming = suggest(calls, _profile_template(c))
    yield _verdict(c, calls, naming, platform.description)


def _not_ready(c: Checkup) -> str:
    spec = c.target.doctor.recorded_call
    if "type" not in c.target.adapter:
        return "the profile has no adapter: section, so no recording can be listed"
    if not c.api_ok:
        return "the recording API did not answer (check 6)"
    why = caller_ready(c, spec.did or c.did)
    if why:
        return why
    if spec.agent and spec.agent not in c.target.accounts:
        return f"doctor.recorded_call.agent {spec.agent!r} is not one of the profile's accounts"
    return ""


def _profile_template(c: Checkup) -> str | None:
    adapter = c.target.adapter
    source = adapter.get("recordings")
    for spec in (adapter, source if isinstance(source, dict) else {}):
        if isinstance(spec.get("recording_name"), str):
            return str(spec["recording_name"])
    return None


def _one_call(c: Checkup, platform: Any) -> Generator[Finding, None, CallSeen | None]:
    spec = c.target.doctor.recorded_call
    did = spec.did or c.did
    agent = _agent_phone(c, spec.agent) if spec.agent else None
    if spec.agent and agent is None:
        yield fail(NUMBER, CHECK, f"agent {spec.agent} did not register for the recorded call",
                   f"check accounts.{spec.agent} in {c.target.path} (check 3 says more)")
        return None
    began = datetime.now(UTC)
    tl = dial(c, did)
    try:
        problem = await_answer(c, tl, NUMBER, did)
        if problem is not None:
            yield Finding(NUMBER, CHECK, problem.verdict, problem.detail, problem.hint)
            return None
        headers = _agent_answered(c, agent, tl) if agent else {}
        if headers is None:
            yield fail(NUMBER, CHECK, f"the call to did {did} never reached agent {spec.agent} "
                       f"({tl.summary()})", f"is {spec.agent} an agent of the queue "
                       f"dids.{did} leads to? set doctor.recorded_call in {c.target.path}")
            return None
        _hold(c, tl, spec.hold)
    finally:
        hang_up(c, tl)
    names = _recordings(c, platform, began)
    account = c.caller()
    identities = {"did": c.target.dids[did], **{f"header:{k}": v for k, v in headers.items()}}
    if account is not None and account.username:
        identities["caller"] = account.username
    return CallSeen(tl.sip_call_id or "", began, tuple(names), identities)


def _agent_phone(c: Checkup, name: str) -> str | None:
    """The agent's answering phone, started and registered once per run."""
    phone = f"doctor-answer-{name}"
    if phone not in c.board.phones:
        setup = phone_setup(phone, c.target, c.target.accounts[name], True, c.work / "phones",
                            Behaviour(mode="answer", answer_after=0.2))
        c.board.start([setup])
    p = c.board.phones[phone]
    try:
        reg = c.board.wait(lambda: p.registrations[-1] if p.registrations else None, 10.0,
                           lambda: f"the registration of agent {name}", phones=[p])
    except WaitTimeout:
        return None
    if int(reg.data["code"]) // 100 != 2:
        return None
    settled = reg.t + SETTLE  # the reference's ACD polls Kamailio's registrations every 0.5 s
    c.board.wait(lambda: time.monotonic() >= settled or None, SETTLE + 1.0,
                 lambda: f"agent {name}'s registration to settle", phones=[p])
    return phone


def _agent_answered(c: Checkup, phone: str, caller: CallTimeline) -> dict[str, str] | None:
    """The X- headers of the INVITE the agent answered; None if no call reached it in time."""
    def answered() -> CallTimeline | bool | None:
        legs = [t for t in c.board.calls_of(phone) if t.t0 >= caller.t0]
        leg = next((t for t in legs if t.state == "CONFIRMED"), None)
        return leg or (caller.state == "DISCONNECTED") or None

    try:
        leg = c.board.wait(answered, AGENT_TIMEOUT, lambda: "the agent's answer", timeline=caller)
    except WaitTimeout:
        return None
    if not isinstance(leg, CallTimeline):
        return None  # the platform ended the call first
    incoming = leg.last("incoming")
    if incoming is not None and isinstance(incoming.data.get("headers"), dict):
        return dict(incoming.data["headers"])
    invites = [e for e in c.board.sip_trace(leg) if e.data["dir"] == "RX"
               and str(e.data["first_line"]).startswith("INVITE ")]
    return x_headers(str(invites[0].data["text"])) if invites else {}


def _hold(c: Checkup, tl: CallTimeline, seconds: float) -> None:
    """Keep the call up ``seconds`` (so there is something to record), or until it ends."""
    try:
        c.board.wait(lambda: tl.state == "DISCONNECTED" or None, seconds,
                     lambda: "the held call to end", timeline=tl)
    except WaitTimeout:
        pass  # held the whole time: what was wanted


def _recordings(c: Checkup, platform: Any, began: datetime) -> list[str]:
    """The names the adapter lists for the call's window, once they stop changing."""
    last: list[list[str]] = []
    polled = [0.0]

    def settled() -> list[str] | None:
        if time.monotonic() - polled[0] < POLL:
            return None
        polled[0] = time.monotonic()
        try:
            now = datetime.now(UTC)
            names = sorted(r.name for r in platform.find_recordings(None, began - BEFORE, now))
        except TargetError:
            return None
        done = names if last and names and names == last[-1] else None
        last.append(names)
        return done

    try:
        return c.board.wait(settled, RECORDING_TIMEOUT, lambda: "the call's recording")
    except WaitTimeout:
        return last[-1] if last else []


def _verdict(c: Checkup, calls: list[CallSeen], naming: Naming, where: str) -> Finding:
    profile = _profile_template(c)
    ids = "; ".join(_identities(call) for call in calls)
    if not any(call.names for call in calls):
        return fail(NUMBER, CHECK, f"no recording appeared at {where} within "
                    f"{RECORDING_TIMEOUT:g}s of the test call ({ids})",
                    "does the platform record this DID? if it records only calls an agent "
                    "answers, set doctor.recorded_call: {did: ..., agent: ...} in "
                    f"{c.target.path}")
    if naming.template is None:
        seen = "; ".join(f"{', '.join(call.names)}" for call in calls)
        return fail(NUMBER, CHECK, f"no template names the call's recording: recordings seen "
                    f"{seen}; the call: {ids}",
                    "write adapter.recording_name from these, e.g. rec-{call_id|alnum} for "
                    "rec- and the Call-ID's letters and digits (see README, recording_name)")
    named = ", ".join(f"{name} (Call-ID {cid})" for cid, name in naming.recordings.items())
    left = undecided(naming, PROBE_CALL_ID)
    also = f"; {len(calls)} call(s) could not tell it from {', '.join(left)}" if left else ""
    detail = f"{naming.line()} names {named}{also}"
    if naming.profile_fits:
        return ok(NUMBER, CHECK, f"the profile's {detail}")
    if profile is not None:
        return fail(NUMBER, CHECK, f"the profile's recording_name \"{profile}\" names none of "
                    f"the test calls' recordings; {detail}",
                    _put(naming, c))
    if c.target.adapter.get("type") in ("reference", "http"):
        return ok(NUMBER, CHECK, f"{detail} (the {c.target.adapter['type']} adapter finds "
                                 f"recordings by Call-ID; recording_name is for asterisk, "
                                 f"directory, sftp and freeswitch)")
    return warn(NUMBER, CHECK, f"the profile has no recording_name; {detail}", _put(naming, c))


def _put(naming: Naming, c: Checkup) -> str:
    return (f"put {naming.line()} in {c.target.path} (under adapter:, or adapter.recordings: "
            f"for freeswitch)")


def _identities(call: CallSeen) -> str:
    return ", ".join(f"{k} {v}" for k, v in call.values().items())
