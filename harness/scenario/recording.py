"""The order checks the recording and retention step kinds of ``harness.steps`` share.

Besides the values, they check the order a recording check needs, which the
schema cannot: a party's marker is played on the call before the recording
is expected to hold it, and the call has ended before its recording is
looked for.
"""

from __future__ import annotations

from typing import Any

from harness.scenario.context import LoadContext
from harness.scenario.model import (
    RETENTION_DAYS,
)
from harness.spec.checker import mapping
from harness.spec.yamlmarks import DataPath

ENDS_CALL = ("hangup", "expect_hangup")
PLACES_CALL = ("call", "dial_out", "originate")  # the step kinds that place a call (numbered c1, c2... across both)


def earlier(ctx: LoadContext, at: DataPath) -> tuple[set[tuple[str, str]], dict[str, set[str]]]:
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
        if kind in PLACES_CALL:
            placed += 1
            last = str(fields.get("id") or f"c{placed}")
            continue
        call = str(fields.get("call") or last)
        done.setdefault(str(kind), set()).add(call)
        if kind == "play_marker":  # one the schema rejected counts for any party: said already
            clean = ctx.clean(("steps", index, kind))
            played.add((call, str(fields.get("party") or "caller") if clean else "*"))
    return played, done


def min_days(ctx: LoadContext, at: DataPath, fields: dict[str, Any]) -> int:
    days = ctx.get(fields, at, "min_days")
    return RETENTION_DAYS if days is None else int(days)


def after_recording(ctx: LoadContext, at: DataPath, call: str, what: str) -> None:
    if call and call not in earlier(ctx, at)[1].get("expect_recording", ()):
        ctx.report(at, f"no expect_recording step finds call '{call}'s recording before this step",
                   f"put - expect_recording: {{call: {call}}} before it: {what}")
