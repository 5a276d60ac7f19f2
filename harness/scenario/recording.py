"""Builders of the recording and retention steps (registered in ``steps.STEPS``), and the
order checks the recording step kinds of ``harness.steps`` share.

Besides the values, they check the order a recording check needs, which the
schema cannot: a party's marker is played on the call before the recording
is expected to hold it, and the call has ended before its recording is
looked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from harness.scenario.context import LoadContext, mapping
from harness.scenario.model import (
    RETENTION_CLAUSE,
    RETENTION_DAYS,
    ExpectRecordingStep,
    ExpectRetentionProofStep,
    ExpectRetentionStep,
    Mark,
    Party,
    PlayMarkerStep,
    Step,
    VerifyCanariesStep,
)
from harness.scenario.yamlmarks import DataPath

_ENDS_CALL = ("hangup", "expect_hangup")


def _earlier(ctx: LoadContext, at: DataPath) -> tuple[set[tuple[str, str]], dict[str, set[str]]]:
    """Before step ``at``: the (call, party) markers played, and step kind -> the calls it acted on.

    Replays the call ids as the loader gives them (``id:``, else c1, c2, ...)
    so that a step without ``call:`` means the most recent call, as it does
    when it runs.
    """
    steps = ctx.doc.data.get("steps", []) if isinstance(ctx.doc.data, dict) else []
    played: set[tuple[str, str]] = set()
    done: dict[str, set[str]] = {}
    placed, last = 0, ""
    for index, item in enumerate(steps[: int(at[1])]):
        if not isinstance(item, dict) or len(item) != 1:
            continue
        kind, body = next(iter(item.items()))
        fields = mapping(body)
        if kind == "call":
            placed += 1
            last = str(fields.get("id") or f"c{placed}")
            continue
        call = str(fields.get("call") or last)
        done.setdefault(str(kind), set()).add(call)
        if kind == "play_marker":  # one the schema rejected counts for any party: said already
            clean = ctx.clean(("steps", index, kind))
            played.add((call, str(fields.get("party") or "caller") if clean else "*"))
    return played, done


def build_play_marker(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> Step:
    """``play_marker: {call, party, wait}``: the party's per-call marker, into the call."""
    fields = mapping(body)
    wait = ctx.get(fields, at, "wait")
    party = cast(Party, ctx.get(fields, at, "party") or "caller")
    return PlayMarkerStep(ctx.call(at, fields), party, True if wait is None else wait, mark)


def build_expect_recording(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> Step:
    """``expect_recording: {call, within, parties, max_duration_error, require_auth, canary}``."""
    fields = mapping(body)
    call = ctx.call(at, fields)
    parties = tuple(ctx.get(fields, at, "parties") or ("caller", "agent"))
    played, done = _earlier(ctx, at)
    if call and not any(call in done.get(kind, ()) for kind in _ENDS_CALL):
        ctx.report(at, f"call '{call}' has not ended here: its recording is looked for after the "
                   "hang-up", f"put - hangup: {{call: {call}}} (or expect_hangup) before this step")
    for party in parties:
        if call and not {(call, party), (call, "*")} & played:
            ctx.report(at + ("parties",), f"no play_marker step plays the {party}'s marker on "
                       f"call '{call}' before this step",
                       f"add - play_marker: {{call: {call}, party: {party}}} while the call is up, "
                       "or leave the party out of parties")
    within, error = ctx.get(fields, at, "within"), ctx.get(fields, at, "max_duration_error")
    auth, canary = ctx.get(fields, at, "require_auth"), ctx.get(fields, at, "canary")
    return ExpectRecordingStep(
        call=call,
        within=15.0 if within is None else ctx.duration(at + ("within",), within),
        parties=cast(tuple[Party, ...], parties),
        max_duration_error=1.0 if error is None else ctx.duration(
            at + ("max_duration_error",), error, allow_zero=True),
        require_auth=True if auth is None else auth,
        canary=bool(canary),
        mark=mark,
    )


def min_days(ctx: LoadContext, at: DataPath, fields: dict[str, Any]) -> int:
    days = ctx.get(fields, at, "min_days")
    return RETENTION_DAYS if days is None else int(days)


def build_expect_retention(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> Step:
    """``expect_retention: {min_days, clause}``."""
    fields = mapping(body)
    clause = ctx.get(fields, at, "clause")
    return ExpectRetentionStep(min_days(ctx, at, fields), clause or RETENTION_CLAUSE, mark)


def build_expect_retention_proof(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> Step:
    """``expect_retention_proof: {call, min_days, ages}``."""
    fields = mapping(body)
    call = ctx.call(at, fields)
    after_recording(ctx, at, call, "the proof ages that recording")
    ages = tuple(float(a) for a in ctx.get(fields, at, "ages") or ())
    return ExpectRetentionProofStep(call, min_days(ctx, at, fields), ages, mark)


def after_recording(ctx: LoadContext, at: DataPath, call: str, what: str) -> None:
    if call and call not in _earlier(ctx, at)[1].get("expect_recording", ()):
        ctx.report(at, f"no expect_recording step finds call '{call}'s recording before this step",
                   f"put - expect_recording: {{call: {call}}} before it: {what}")


def build_verify_canaries(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> Step:
    """``verify_canaries`` or ``verify_canaries: {min_days}``."""
    return VerifyCanariesStep(min_days(ctx, at, mapping(body)), mark)


STEPS: dict[str, Callable[[LoadContext, DataPath, Any, Mark], Step]] = {
    "play_marker": build_play_marker,
    "expect_recording": build_expect_recording,
    "expect_retention": build_expect_retention,
    "expect_retention_proof": build_expect_retention_proof,
    "verify_canaries": build_verify_canaries,
}
