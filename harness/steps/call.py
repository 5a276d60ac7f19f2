"""``call``: place a call from a caller to a destination."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.checks.outbound import uri_user
from harness.runner.cast import request_uri
from harness.runner.run import CallState, ScenarioRun
from harness.scenario.context import LoadContext
from harness.spec.checker import mapping
from harness.spec.schema import closest
from harness.spec.values import BadValue, Destination, parse_destination
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.kind import Measurements, PlacesCall, Replayed, Said, StepKind, Stops, words

Fields = Mapping[str, Any]
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")  # RFC 3261 token


def _caller(ctx: LoadContext, at: DataPath, fields: Fields) -> str:
    given = ctx.get(fields, at, "from")
    if given is None:
        return ctx.callers[0] if ctx.callers else ""
    if given not in ctx.callers:
        hint = f"{closest(given, ctx.callers)}callers declared: {', '.join(ctx.callers)}"
        ctx.report(at + ("from",), f"unknown caller '{given}'", hint)
    return str(given)


def destination(ctx: LoadContext, at: DataPath, value: Any) -> Destination:
    """A step's ``to:``: an agent must be the scenario's, a DID the target's (with the closest named)."""
    if value is None:
        return Destination("user", "")
    try:
        to = parse_destination(ctx.text(at, value))
    except BadValue as bad:
        ctx.report(at, bad.message, bad.hint)
        return Destination("user", "")
    if to.kind == "agent":
        ctx.agent(at, to.value)
    elif to.kind == "did" and ctx.target is not None and to.value not in ctx.target.dids:
        known = list(ctx.target.dids)
        hint = f"{closest(to.value, known)}DIDs in {ctx.target.path}: {', '.join(known) or 'none'}"
        ctx.report(at, f"unknown DID '{to.value}'", hint)
    return to


def _headers(ctx: LoadContext, at: DataPath, headers: Any) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for name, value in (headers or {}).items():
        if not _HEADER_NAME.match(name):
            ctx.report(at + (name,), f"'{name}' is not a SIP header name", "e.g. X-Test-Case")
        info = ctx.doc.nodes.get(at + (name,))
        out.append((name, info.raw if info and info.raw is not None else str(value)))
    return tuple(out)



@dataclass(frozen=True)
class CallStep:
    call: str  # the id later steps refer to
    caller: str
    to: Destination
    headers: tuple[tuple[str, str], ...] = ()
    mark: Mark | None = None


SCHEMA = """
description: Place a call.
type: object
x-hint: "e.g. call: {to: did:main}"
required: [to]
additionalProperties: false
properties:
  to:
    description: 'The destination - did:NAME, agent:NAME, a sip: or sips: URI, or a user part such as "100".'
    type: [string, integer]
  from:
    description: The caller that places it, a name under callers (default the first caller).
    type: string
    minLength: 1
  id:
    description: The call's id for later steps (default c1, c2, ... in the order calls are placed).
    $ref: "#/$defs/name"
  headers:
    description: Extra SIP headers for the INVITE, name -> value.
    type: object
    additionalProperties:
      description: A header value.
      type: [string, number]
"""


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> CallStep:
    """``call: {to, from, id, headers}``: places a call and names it for later steps."""
    fields = mapping(body)
    call_id = ctx.new_call(at, fields)
    step = CallStep(
        call=call_id,
        caller=_caller(ctx, at, fields),
        to=destination(ctx, at + ("to",), ctx.get(fields, at, "to")),
        headers=_headers(ctx, at + ("headers",), ctx.get(fields, at, "headers")),
        mark=mark,
    )
    ctx.placed.append(call_id)
    return step


def perform(run: ScenarioRun, step: CallStep) -> Measurements:
    phone = run.caller_phone[step.caller]
    addresses = {n: run.board.phones[p].address or "" for n, p in run.agent_phone.items()}
    users = {a.name: run.target.accounts[a.account].username for a in run.scenario.agents}
    uri = request_uri(step.to, run.target, addresses, users)
    timeline = run.board.open_call(phone, step.call, uri, dict(step.headers))
    run.calls[step.call] = CallState(step.call, step.caller, phone, timeline,
                                     identities=identities(run, step, uri))
    run.last_call = step.call
    return {"uri": uri, "phone": phone}


def identities(run: ScenarioRun, step: CallStep, uri: str) -> dict[str, str]:
    """The call's names a platform may write into a recording's name: the caller's number (its
    account's user) and the number dialled (the request URI's user part)."""
    out = {"did": uri_user(uri)}
    account = next((c.account for c in run.scenario.callers if c.name == step.caller), None)
    if account is not None and account in run.target.accounts:
        out["caller"] = run.target.accounts[account].username
    return out


def say(spec: Mapping[str, Any]) -> Said:
    to, caller = words(spec["to"]), spec.get("caller", "caller")
    return f"{caller} 拨打 {to}", f"{caller} dials {to}"


def replayed(step: CallStep) -> Replayed:
    """A capture places calls to the platform's numbers only: it runs no agents."""
    if step.to.kind == "agent":
        return Stops(f"call to agent {step.to.value}: capture places calls to the platform's "
                     "numbers only, it runs no agents")
    return PlacesCall(step.call, step.to)


KIND = StepKind(
    name="call",
    model=CallStep,
    description="Place a call from a caller to a destination.",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=replayed,
    shot=(("主叫软电话拨号界面与平台实时话务监控",
           "the caller softphone dialling, and the platform's live call monitor"),
          ("主叫显示呼叫中", "the caller shows the call in progress")),
)
