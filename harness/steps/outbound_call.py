"""What the steps that start an outbound call share (``dial_out``, ``originate``): the customer's
number, the agent, and how the harness's carrier treats the call (``harness.runner.carrier``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.runner.carrier import CarrierBehaviour
from harness.runner.run import ScenarioRun
from harness.scenario.context import LoadContext
from harness.scenario.model import Audio
from harness.spec.checker import mapping
from harness.spec.yamlmarks import DataPath

_NUMBER = re.compile(r"^\+?[0-9]{3,20}$")
DEFAULT_ANSWER_AFTER = 0.5

CARRIER_SCHEMA = """
    description: >-
      How the harness's carrier (the PSTN side of the trunk) treats the call - answer (after
      answer_after, playing the customer's voice if play is given), ring (never answers) or
      reject with code; default answer after 0.5s.
    type: object
    additionalProperties: false
    properties:
      behaviour: {enum: [answer, ring, reject], description: "What the customer's line does (default answer)."}
      answer_after: {$ref: "#/$defs/duration", description: How long it rings before answering (default 0.5s).}
      code: {type: integer, minimum: 400, maximum: 699, description: "The status it rejects with (default 486)."}
      play: {$ref: "#/$defs/audio", description: "The customer's voice once answered - {prompt}, {file} or {tone}."}
"""
NUMBER_SCHEMA = """
    description: 'The customer''s number, as a PSTN gateway would be asked for it, e.g. "13800138000".'
    type: [string, integer]
"""


@dataclass(frozen=True)
class CarrierAnswer:
    """``carrier:`` of an outbound step, as written (the audio is resolved at run time)."""

    behaviour: str = "answer"
    answer_after: float = DEFAULT_ANSWER_AFTER
    code: int = 486
    play: Audio | None = None


CARRIER_DEFAULT = CarrierAnswer()


def number(ctx: LoadContext, at: DataPath, value: Any) -> str:
    """The customer's number: digits, a leading + allowed."""
    if value is None:
        return ""
    text = ctx.text(at, value)
    if not _NUMBER.match(text):
        ctx.report(at, f"'{text}' is not a telephone number", 'digits only, e.g. "13800138000"')
    return text


def needs_outbound(ctx: LoadContext, at: DataPath, part: tuple[str, str, str] | None = None) -> None:
    """Report a target profile (when known) that says nothing of outbound calls, or, given ``part``
    (a field of ``outbound:``, what its absence means, the hint), nothing of that."""
    if ctx.target is None:
        return
    outbound = ctx.target.outbound
    if outbound is None:
        ctx.report(at, f"the target '{ctx.target.name}' (profile {ctx.target.path}) has no outbound: "
                   "section: the harness does not know where its trunk points",
                   'add outbound: {trunk: {listen: "127.0.0.1:5190"}, caller_id: "...", dial_prefix: "9"}')
    elif part is not None and getattr(outbound, part[0]) is None:
        ctx.report(at, f"the target '{ctx.target.name}' {part[1]}", part[2])


def carrier_answer(ctx: LoadContext, at: DataPath, given: Any) -> CarrierAnswer:
    fields = mapping(given)
    after = ctx.get(fields, at, "answer_after")
    play = mapping(ctx.get(fields, at, "play"))
    return CarrierAnswer(
        behaviour=ctx.get(fields, at, "behaviour") or "answer",
        answer_after=DEFAULT_ANSWER_AFTER if after is None else ctx.duration(at + ("answer_after",), after, True),
        code=ctx.get(fields, at, "code") or 486,
        play=ctx.audio(at + ("play",), play) if play else None)


def behaviour(run: ScenarioRun, answer: CarrierAnswer) -> CarrierBehaviour:
    """The carrier's behaviour for ``answer``, its audio made a file."""
    play = run.audio_file(answer.play) if answer.play is not None else None
    return CarrierBehaviour(answer.behaviour, answer.answer_after, answer.code, play)


def said(answer: Mapping[str, Any] | CarrierAnswer | None) -> tuple[str, str]:
    """How the customer's line behaves, in the report's words (Chinese, English)."""
    if isinstance(answer, CarrierAnswer):
        mode = answer.behaviour
    else:
        mode = str((answer or {}).get("behaviour", "answer"))
    return {"ring": ("客户振铃不接", "the customer's line rings, unanswered"),
            "reject": ("客户线路拒接", "the customer's line rejects the call")}.get(
        mode, ("客户接听", "the customer answers"))
