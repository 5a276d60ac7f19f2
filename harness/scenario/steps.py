"""The step types a scenario may use: one builder per type, in an explicit registry.

A builder gets the step's body (the value under the step type, already
shape-checked by the schema), checks what the schema cannot -- references,
durations, digits -- and returns the typed step.  Field paths (``at``) point
at the body, e.g. ``("steps", 2, "send_dtmf")``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from harness.scenario.context import LoadContext, mapping
from harness.scenario.model import (
    CallStep,
    Destination,
    ExpectAgentStep,
    ExpectAnswerStep,
    ExpectDistributionStep,
    ExpectDtmfStep,
    ExpectHangupStep,
    ExpectPromptStep,
    ExpectSilenceStep,
    HangupStep,
    Mark,
    PlayStep,
    SendDtmfStep,
    Step,
    WaitStep,
)
from harness.scenario.schema import closest
from harness.scenario.values import BadValue, parse_destination
from harness.scenario.yamlmarks import DataPath

Fields = Mapping[str, Any]
Builder = Callable[[LoadContext, DataPath, Any, Mark], Step]

_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")  # RFC 3261 token


def _call_id(ctx: LoadContext, at: DataPath, fields: Fields) -> str:
    ctx.calls_seen += 1
    given = ctx.get(fields, at, "id")
    call_id = str(given) if given is not None else f"c{ctx.calls_seen}"
    if call_id in ctx.placed:
        hint = "give each call its own id" if given is not None else "set id: on this call"
        ctx.report(at + ("id",), f"call id '{call_id}' is already used by an earlier call", hint)
    return call_id


def _caller(ctx: LoadContext, at: DataPath, fields: Fields) -> str:
    given = ctx.get(fields, at, "from")
    if given is None:
        return ctx.callers[0] if ctx.callers else ""
    if given not in ctx.callers:
        hint = f"{closest(given, ctx.callers)}callers declared: {', '.join(ctx.callers)}"
        ctx.report(at + ("from",), f"unknown caller '{given}'", hint)
    return str(given)


def _destination(ctx: LoadContext, at: DataPath, value: Any) -> Destination:
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


def build_call(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> Step:
    """``call: {to, from, id, headers}``: places a call and names it for later steps."""
    fields = mapping(body)
    call_id = _call_id(ctx, at, fields)
    step = CallStep(
        call=call_id,
        caller=_caller(ctx, at, fields),
        to=_destination(ctx, at + ("to",), ctx.get(fields, at, "to")),
        headers=_headers(ctx, at + ("headers",), ctx.get(fields, at, "headers")),
        mark=mark,
    )
    ctx.placed.append(call_id)
    return step


def place_unreadable_call(ctx: LoadContext) -> None:
    """A call step the schema rejected still places a call, so later steps don't cascade."""
    ctx.calls_seen += 1
    ctx.placed.append(f"c{ctx.calls_seen}")


def _within(ctx: LoadContext, at: DataPath, fields: Fields) -> float:
    return ctx.duration(at + ("within",), ctx.get(fields, at, "within"))


def build_expect_answer(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> Step:
    """``expect_answer: {call, within}``."""
    fields = mapping(body)
    return ExpectAnswerStep(ctx.call(at, fields), _within(ctx, at, fields), mark)


def build_expect_hangup(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> Step:
    """``expect_hangup: {call, within, status}``."""
    fields = mapping(body)
    status = ctx.get(fields, at, "status")
    return ExpectHangupStep(ctx.call(at, fields), _within(ctx, at, fields), status, mark)


def build_expect_prompt(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> Step:
    """``expect_prompt: {call, prompt, within, min_score}``."""
    fields = mapping(body)
    prompt = ctx.get(fields, at, "prompt")
    score = ctx.get(fields, at, "min_score")
    return ExpectPromptStep(
        call=ctx.call(at, fields),
        prompt=ctx.prompt(at + ("prompt",), prompt) if prompt is not None else "",
        within=_within(ctx, at, fields),
        min_score=0.8 if score is None else float(score),
        mark=mark,
    )


def build_expect_silence(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> Step:
    """``expect_silence: {call, duration, max_level_dbfs}``."""
    fields = mapping(body)
    level = ctx.get(fields, at, "max_level_dbfs")
    return ExpectSilenceStep(
        call=ctx.call(at, fields),
        duration=ctx.duration(at + ("duration",), ctx.get(fields, at, "duration")),
        max_level_dbfs=-45.0 if level is None else float(level),
        mark=mark,
    )


def build_send_dtmf(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> Step:
    """``send_dtmf: {call, digits, method}``; method defaults to the target's dtmf_method."""
    fields = mapping(body)
    method = ctx.get(fields, at, "method") or (ctx.target.dtmf_method if ctx.target else "rfc4733")
    digits = ctx.digits(at + ("digits",), ctx.get(fields, at, "digits"))
    return SendDtmfStep(ctx.call(at, fields), digits, method, mark)


def build_expect_dtmf(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> Step:
    """``expect_dtmf: {digits, within, call | agent}``: the caller's side unless an agent is named."""
    fields = mapping(body)
    agent = ctx.get(fields, at, "agent")
    if "agent" in fields and "call" in fields:
        ctx.report(
            at, "give call or agent, not both", "agent: the digits are expected at that agent"
        )
    return ExpectDtmfStep(
        digits=ctx.digits(at + ("digits",), ctx.get(fields, at, "digits")),
        within=_within(ctx, at, fields),
        call=None if "agent" in fields else ctx.call(at, fields),
        agent=ctx.agent(at + ("agent",), agent) if agent is not None else None,
        mark=mark,
    )


def build_expect_agent(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> Step:
    """``expect_agent: {call, agent | agents, within}``."""
    fields = mapping(body)
    if "agent" in fields and "agents" in fields:
        ctx.report(at, "give agent or agents, not both", "agents: [alice, bob] for any of several")
    elif "agent" not in fields and "agents" not in fields:
        ctx.report(
            at,
            "missing required field 'agent' (or 'agents')",
            "e.g. expect_agent: {agent: alice, within: 10s}",
        )
    one = ctx.get(fields, at, "agent")
    many = ctx.get(fields, at, "agents") or []
    names = [(at + ("agent",), one)] if one is not None else []
    names += [(at + ("agents", i), n) for i, n in enumerate(many)]
    agents = tuple(ctx.agent(where, name) for where, name in names)
    return ExpectAgentStep(ctx.call(at, fields), agents, _within(ctx, at, fields), mark)


def build_play(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> Step:
    """``play: {prompt | file | tone, loop, wait, call}``."""
    fields = mapping(body)
    wait = ctx.get(fields, at, "wait")
    return PlayStep(
        ctx.call(at, fields), ctx.audio(at, fields), True if wait is None else wait, mark
    )


def build_wait(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> Step:
    """``wait: 2s``."""
    return WaitStep(ctx.duration(at, body), mark)


def build_hangup(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> Step:
    """``hangup`` or ``hangup: {call}``."""
    return HangupStep(ctx.call(at, mapping(body)), mark)


def build_expect_distribution(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> Step:
    """``expect_distribution: {strategy, calls, agents}``."""
    fields = mapping(body)
    calls = ctx.get(fields, at, "calls") or []
    for i, call_id in enumerate(calls):
        ctx.call(at + ("calls", i), {"call": call_id})
    agents = ctx.get(fields, at, "agents") or []
    for i, name in enumerate(agents):
        ctx.agent(at + ("agents", i), name)
    if not calls and not ctx.placed:
        ctx.report(at, "no call has been placed yet", "put the calls to check before this step")
    return ExpectDistributionStep(ctx.get(fields, at, "strategy"), tuple(calls), tuple(agents), mark)


STEPS: dict[str, Builder] = {
    "call": build_call,
    "expect_answer": build_expect_answer,
    "expect_prompt": build_expect_prompt,
    "expect_silence": build_expect_silence,
    "send_dtmf": build_send_dtmf,
    "expect_dtmf": build_expect_dtmf,
    "expect_agent": build_expect_agent,
    "expect_distribution": build_expect_distribution,
    "expect_hangup": build_expect_hangup,
    "play": build_play,
    "wait": build_wait,
    "hangup": build_hangup,
}
