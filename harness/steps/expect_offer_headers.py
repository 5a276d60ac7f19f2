"""``expect_offer_headers``: the INVITE offering the call to an agent says who calls, and from where.

The screen pop: an agent's softphone learns the caller's number from the
offer's ``From`` or ``P-Asserted-Identity`` (RFC 3325), and the queue, the
recording's name or the caller's Call-ID from headers the platform's dialplan
adds (``X-Queue``, ``X-Recording-Name``...).  The step waits for the first
offer of the call (to one of ``agents``, default any agent of the scenario;
attributed as ``expect_agent`` attributes legs) and checks its headers; the
report lists every header the offer carried (credentials are never kept).
``{caller}`` in a pattern is the caller's number (its account's user name) and
``{call_id}`` the caller leg's SIP Call-ID, each matched literally.  The
verdict is ``harness.checks.offer.offer_headers_verdict``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from harness.checks.offer import HeaderRule, Offer, offer_headers_verdict
from harness.runner.legs import offers
from harness.runner.run import CallState, ScenarioRun
from harness.scenario.context import LoadContext
from harness.sip.controller import WaitTimeout
from harness.spec.checker import mapping
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.kind import Measurements, Said, Skips, StepKind, always, words
from harness.steps.recorded import NotConformant

DEFAULT_WITHIN = 10.0
PLACEHOLDERS = ("caller", "call_id")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")  # never a regex quantifier, which is digits
_TOKEN = re.compile(r"^[A-Za-z0-9.!%*_+`'~-]+$")  # RFC 3261 25.1: a header name is a token
_CREDENTIALS = ("authorization", "proxy-authorization")


@dataclass(frozen=True)
class ExpectOfferHeadersStep:
    """The first offer of ``call`` to one of ``agents`` (any, if empty) carries what ``rules`` expect."""

    call: str
    agents: tuple[str, ...]
    rules: tuple[HeaderRule, ...]  # patterns still hold {caller} and {call_id}
    within: float = DEFAULT_WITHIN
    mark: Mark | None = None


SCHEMA = """
description: >-
  Expect the INVITE offering the call to an agent to carry the caller's number
  (From, P-Asserted-Identity) and the platform's headers (X-Queue...).
type: object
x-hint: 'e.g. expect_offer_headers: {from_user: "{caller}", pai_user: "{caller}", headers: {X-Queue: "^sales$"}}'
additionalProperties: false
properties:
  call: {$ref: "#/$defs/call_ref", description: The caller's call (default the most recent call placed).}
  agent: {type: string, minLength: 1, description: The agent whose offer is checked.}
  agents:
    description: >-
      The agents any one of whose offers is checked (default any agent of the scenario);
      the first offered counts.
    type: array
    minItems: 1
    uniqueItems: true
    items: {type: string, minLength: 1, description: An agent's name.}
  within: {$ref: "#/$defs/duration", description: How long to wait for the offer (default 10s).}
  from_user:
    description: >-
      A regular expression the user part of the From URI must match whole; {caller} is the
      caller's number, e.g. "{caller}" or '(\\+86)?{caller}'.
    type: [string, integer]
  pai_user:
    description: >-
      A regular expression the user part of a P-Asserted-Identity URI (a tel: URI's number)
      must match whole; {caller} is the caller's number.
    type: [string, integer]
  headers:
    description: >-
      Header name (any case; compact forms such as f count) to a regular expression searched in
      its value ({caller} and {call_id} allowed), or null for a header that must be absent.
    type: object
    additionalProperties: {type: [string, integer, "null"], description: The pattern, or null for absent.}
"""


def _pattern(ctx: LoadContext, at: DataPath, value: Any) -> str | None:
    """A pattern as written, checked: known placeholders, and a regular expression once filled."""
    if value is None:
        return None
    text = ctx.text(at, value)
    unknown = [name for name in _PLACEHOLDER.findall(text) if name not in PLACEHOLDERS]
    if unknown:
        ctx.report(at, f"unknown placeholder {{{unknown[0]}}}",
                   f"known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}")
        return text
    try:
        re.compile(fill(text, {name: "x" for name in PLACEHOLDERS}))
    except re.error as exc:
        ctx.report(at, f"{text!r} is not a regular expression ({exc})", "e.g. ^sales$ or {caller}")
    return text


def _headers(ctx: LoadContext, at: DataPath, given: Any) -> list[HeaderRule]:
    rules = []
    for name, value in mapping(given).items():
        where = at + (name,)
        if not _TOKEN.match(str(name)):
            ctx.report(where, f"{name!r} is not a SIP header name", "e.g. X-Queue or P-Asserted-Identity")
        elif str(name).lower() in _CREDENTIALS:
            ctx.report(where, f"{name} is a credential: agent phones never keep it",
                       "check another header")
        rules.append(HeaderRule(str(name), _pattern(ctx, where, value)))
    return rules


def _agents(ctx: LoadContext, at: DataPath, fields: Mapping[str, Any]) -> tuple[str, ...]:
    if "agent" in fields and "agents" in fields:
        ctx.report(at, "give agent or agents, not both", "agents: [alice, bob] for any of several")
    one = ctx.get(fields, at, "agent")
    named = [(at + ("agent",), one)] if one is not None else []
    named += [(at + ("agents", i), n) for i, n in enumerate(ctx.get(fields, at, "agents") or [])]
    return tuple(ctx.agent(where, name) for where, name in named)


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> ExpectOfferHeadersStep:
    """``expect_offer_headers: {call, agent | agents, within, from_user, pai_user, headers}``."""
    fields = mapping(body)
    rules = [HeaderRule(header, _pattern(ctx, at + (key,), ctx.get(fields, at, key)), "user")
             for key, header in (("from_user", "From"), ("pai_user", "P-Asserted-Identity"))
             if ctx.get(fields, at, key) is not None]
    rules += _headers(ctx, at + ("headers",), ctx.get(fields, at, "headers"))
    if not rules and ctx.clean(at):
        ctx.report(at, "nothing to check: give from_user, pai_user or headers",
                   'e.g. expect_offer_headers: {from_user: "{caller}", headers: {X-Queue: "^sales$"}}')
    within = ctx.get(fields, at, "within")
    return ExpectOfferHeadersStep(
        call=ctx.call(at, fields), agents=_agents(ctx, at, fields), rules=tuple(rules),
        within=DEFAULT_WITHIN if within is None else ctx.duration(at + ("within",), within), mark=mark)


def fill(pattern: str, values: Mapping[str, str]) -> str:
    """``pattern`` with each ``{name}`` of ``values`` replaced by its value, matched literally."""
    return _PLACEHOLDER.sub(lambda m: re.escape(values[m[1]]) if m[1] in values else m[0], pattern)


def _values(run: ScenarioRun, state: CallState) -> dict[str, str]:
    caller = next(c for c in run.scenario.callers if c.name == state.caller)
    return {"caller": run.target.accounts[caller.account].username,
            "call_id": state.timeline.sip_call_id or ""}


def _first_offer(run: ScenarioRun, step: ExpectOfferHeadersStep, state: CallState) -> Offer:
    who = f"one of agents {list(step.agents)}" if step.agents else "an agent"

    def first() -> Offer | None:
        return next((o for o in offers(run, state.id) if not step.agents or o.agent in step.agents), None)

    try:
        return run.board.wait(first, run.budget(step.within), lambda: f"{who} to be offered the call",
                              timeline=state.timeline)
    except WaitTimeout as exc:
        raise run.fail("expect_offer_headers", f"no offer to compare: {exc}") from None


def perform(run: ScenarioRun, step: ExpectOfferHeadersStep) -> Measurements:
    state = run.call(step.call)
    offer = _first_offer(run, step, state)
    values = _values(run, state)
    rules = [replace(r, pattern=fill(r.pattern, values)) if r.pattern is not None else r for r in step.rules]
    verdict = offer_headers_verdict(offer, rules, state.timeline.t0)
    if verdict.problem is not None:
        raise NotConformant(run, "expect_offer_headers", verdict.problem, verdict.figures)
    return verdict.figures


def say(spec: Mapping[str, Any]) -> Said:
    rules = spec.get("rules") or ()
    checked = words([HeaderRule(**r).label() if isinstance(r, Mapping) else r.label() for r in rules])
    return (f"平台向坐席振铃的 INVITE 携带主叫号码及平台信息头（{checked}）",
            f"the INVITE offering the call to the agent carries the caller's number and platform headers ({checked})")


KIND = StepKind(
    name="expect_offer_headers",
    model=ExpectOfferHeadersStep,
    description="The INVITE offering the call to an agent carries the caller's number and the platform's headers.",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=always(Skips()),  # a capture runs no agents to be offered the call
    shot=(("坐席软电话来电弹屏：主叫号码与队列", "the agent softphone's screen pop: caller number and queue"),
          ("坐席来电显示主叫号码", "the agent sees who is calling")),
)
