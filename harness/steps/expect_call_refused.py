"""``expect_call_refused``: a call the account may not place is refused, never answered.

Toll-fraud control: an agent's seat must not reach an international number
(``00...``), and a number the platform does not know must not ring anywhere.
The call is placed from a party of the scenario (a caller or an agent, whose
registration proved its credentials) or from a profile account on a phone of
its own (not registering), and must end with one of ``status``.  If the
platform answers, the harness hangs up at once and the step fails; no final
response within ``within`` leaves the run undecided (an error).  The verdict
is ``harness.checks.refusal.call_refusal_problem``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from harness.checks.refusal import call_refusal_problem, statuses_words
from harness.errors import TargetError
from harness.runner.cast import phone_setup, request_uri
from harness.runner.run import ScenarioRun
from harness.scenario.context import LoadContext
from harness.sip.controller import WaitTimeout
from harness.sip.timeline import CallTimeline
from harness.spec.checker import mapping
from harness.spec.schema import closest
from harness.spec.values import Destination
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.call import destination
from harness.steps.kind import Measurements, Said, Skips, StepKind, always, words
from harness.steps.recorded import NotConformant
from harness.steps.signalling import HANGUP_TIMEOUT, unreachable, wait_state

DEFAULT_WITHIN = 10.0
Source = Literal["caller", "agent", "account"]


@dataclass(frozen=True)
class ExpectCallRefusedStep:
    """A call from ``source`` to ``to`` ends with one of ``statuses`` and is never answered."""

    source: str  # a caller, an agent, or an account of the target profile
    source_kind: Source
    to: Destination
    statuses: tuple[int, ...]
    within: float = DEFAULT_WITHIN
    mark: Mark | None = None


SCHEMA = """
description: >-
  Expect a call the account may not place (an international prefix, an unknown
  number) to be refused with one of the given statuses and never answered.
type: object
x-hint: 'e.g. expect_call_refused: {from: agent1, to: "0044201234567", status: [403, 404]}'
required: [to, status]
additionalProperties: false
properties:
  from:
    description: >-
      Who dials - a caller or an agent of this scenario, or an account of the target
      profile (dialling from a phone of its own, unregistered); default the first caller.
    type: string
    minLength: 1
  to:
    description: 'The number dialled, e.g. "00441632960000" (also did:NAME, agent:NAME or a sip: URI).'
    type: [string, integer]
  status:
    description: The final status the platform must refuse the call with, or a list of those it may use.
    type: [integer, array]
    minItems: 1
    uniqueItems: true
    items: {type: integer, description: "A SIP final status of 400 or more, e.g. 403 or 404."}
  within:
    $ref: "#/$defs/duration"
    description: How long the platform has to give its final response (default 10s); none is an error.
"""


def _source(ctx: LoadContext, at: DataPath, given: Any) -> tuple[str, Source]:
    if given is None:
        return (ctx.callers[0] if ctx.callers else "caller"), "caller"
    name = str(given)
    if name in ctx.callers:
        return name, "caller"
    if name in ctx.agents:
        return name, "agent"
    accounts = list(ctx.target.accounts) if ctx.target is not None else []
    if ctx.target is not None and name not in accounts:
        known = ctx.callers + ctx.agents + accounts
        ctx.report(at, f"'{name}' is no caller, agent or account",
                   f"{closest(name, known)}callers: {', '.join(ctx.callers) or 'none'}; agents: "
                   f"{', '.join(ctx.agents) or 'none'}; accounts in {ctx.target.path}: {', '.join(accounts)}")
    return name, "account"


def _statuses(ctx: LoadContext, at: DataPath, value: Any) -> tuple[int, ...]:
    listed = value if isinstance(value, list) else [] if value is None else [value]
    for i, code in enumerate(listed):
        if not 400 <= code <= 699:
            where = at + ((i,) if isinstance(value, list) else ())
            ctx.report(where, f"{code} is not a refusal", "a final status of 400-699, e.g. 403 or 404")
    return tuple(listed)


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> ExpectCallRefusedStep:
    """``expect_call_refused: {from, to, status, within}``."""
    fields = mapping(body)
    source, kind = _source(ctx, at + ("from",), ctx.get(fields, at, "from"))
    within = ctx.get(fields, at, "within")
    return ExpectCallRefusedStep(
        source=source,
        source_kind=kind,
        to=destination(ctx, at + ("to",), ctx.get(fields, at, "to")),
        statuses=_statuses(ctx, at + ("status",), ctx.get(fields, at, "status")),
        within=DEFAULT_WITHIN if within is None else ctx.duration(at + ("within",), within),
        mark=mark,
    )


def _phone(run: ScenarioRun, step: ExpectCallRefusedStep) -> str:
    if step.source_kind == "caller":
        return run.caller_phone[step.source]
    if step.source_kind == "agent":
        return run.agent_phone[step.source]
    name = f"dialler-{step.source}"
    if name not in run.board.phones:
        account = run.target.accounts.get(step.source)
        if account is None:
            raise TargetError(f"target profile {run.target.path} has no account {step.source!r}")
        run.board.start([phone_setup(name, run.target, account, False, run.work_dir)])
    return name


def _dial(run: ScenarioRun, step: ExpectCallRefusedStep) -> CallTimeline:
    phone = _phone(run, step)
    addresses = {n: run.board.phones[p].address or "" for n, p in run.agent_phone.items()}
    users = {a.name: run.target.accounts[a.account].username for a in run.scenario.agents}
    uri = request_uri(step.to, run.target, addresses, users)
    handle = f"refused{len(run.board.calls_of(phone)) + 1}"
    return run.board.open_call(phone, handle, uri, {})


def _end(run: ScenarioRun, tl: CallTimeline) -> None:
    """Hang up (or CANCEL) a call the platform should have refused, and see it end."""
    run.board.command(tl.phone, "hangup", handle=tl.handle)
    try:
        wait_state(run, tl, ("DISCONNECTED",), HANGUP_TIMEOUT, "the call to end after our hang-up")
    except WaitTimeout:
        pass  # the phone hangs it up again when it shuts down


def perform(run: ScenarioRun, step: ExpectCallRefusedStep) -> Measurements:
    tl = _dial(run, step)
    expected = f"a final response refusing it ({statuses_words(step.statuses)})"
    try:
        state = wait_state(run, tl, ("CONFIRMED", "DISCONNECTED"), step.within, expected)
    except WaitTimeout as exc:
        _end(run, tl)
        raise unreachable(run, tl) or TargetError(f"cannot decide: {exc}") from None
    answered = state == "CONFIRMED"
    if answered:
        _end(run, tl)
    elif (gone := unreachable(run, tl)) is not None:
        raise gone
    code, reason = tl.final_status() or (0, "")
    ended = tl.last("call", state=state)
    figures = {"from": step.source, "uri": tl.description.split(" -> ", 1)[-1], "answered": answered,
               "status": code, "reason": reason, "expected": list(step.statuses),
               "after_s": round(ended.t - tl.t0, 3) if ended else None, "sip_call_id": tl.sip_call_id}
    problem = call_refusal_problem(f"call {tl}", step.statuses, answered, code, reason)
    if problem:
        raise NotConformant(run, "expect_call_refused", f"{problem}; timeline: {tl.summary()}", figures)
    return figures


def say(spec: Mapping[str, Any]) -> Said:
    who, to = spec.get("source", "caller"), words(spec.get("to", ""))
    refused = tuple(spec.get("statuses") or ())
    return (f"{who} 拨打 {to}，平台应拒绝接续（{statuses_words(refused, '或')}），不得接通",
            f"{who} dials {to} and the platform refuses the call ({statuses_words(refused)}), never answering")


KIND = StepKind(
    name="expect_call_refused",
    model=ExpectCallRefusedStep,
    description="A call the account may not place (international, unknown number) is refused, never answered.",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=always(Skips()),  # its own call: a capture places none
    shot=(("拨号软电话（坐席或主叫）拨打受限号码，屏幕显示平台拒绝的SIP状态码",
           "the dialling softphone (agent or caller) calling a barred number, the refusal's SIP status on screen"),
          ("呼叫被拒绝，未接通", "the call is refused, never connected")),
)
