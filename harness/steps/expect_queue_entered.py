"""``expect_queue_entered``: the call reaches an agent's phone soon after the caller chose the queue.

Without a view into the platform's ACD (no AMI), a call has entered a queue
when the ACD offers it to an agent: the step measures from the caller's last
key press on the call (its last ``send_dtmf`` step), or from the answer, to
the first INVITE that reached any agent phone of the scenario for this call
(attributed as ``expect_agent`` attributes legs), and checks ``queue`` against
the header the platform names its queue in (``X-Queue`` by default) where the
offer carries one.  The verdict is ``harness.checks.offer.queue_entered_verdict``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from harness.checks.offer import queue_entered_verdict
from harness.errors import HarnessError
from harness.runner.legs import offers
from harness.runner.run import CallState, ScenarioRun
from harness.scenario.context import LoadContext
from harness.sip.controller import WaitTimeout
from harness.spec.checker import mapping
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.kind import Measurements, Said, Skips, StepKind, always
from harness.steps.recorded import NotConformant

Since = Literal["key_press", "answer"]
SINCE_WORDS = {"key_press": "the key press", "answer": "the answer"}
# An INVITE reaches an agent phone a moment before its event reaches the controller: wait
# this much past the deadline for events already in flight; the verdict goes by the phone's clock.
IN_FLIGHT = 0.25


@dataclass(frozen=True)
class ExpectQueueEnteredStep:
    """An agent is offered ``call`` within ``within`` of ``since``, from ``queue`` where named."""

    call: str
    within: float
    since: Since | None = None  # None: the last key press on the call, else the answer
    queue: str | None = None
    queue_header: str = "X-Queue"
    mark: Mark | None = None


SCHEMA = """
description: >-
  Expect the call to be offered to an agent (its first agent INVITE) within a time
  of the caller's key press or of the answer, from the named queue.
type: object
x-hint: 'e.g. expect_queue_entered: {queue: sales, within: 5s}'
required: [within]
additionalProperties: false
properties:
  call: {$ref: "#/$defs/call_ref", description: The caller's call (default the most recent call placed).}
  within: {$ref: "#/$defs/duration", description: "The longest time to the first agent offer, e.g. 5s."}
  since:
    description: >-
      Measure from the last key press on the call (key_press: its last send_dtmf step) or from the
      answer; default the key press when the call pressed keys, else the answer.
    enum: [key_press, answer]
  queue:
    description: The queue the call must be offered from, checked against queue_header where the platform sends it.
    type: [string, integer]
    minLength: 1
  queue_header:
    description: The header of the agent's INVITE that names the queue (default X-Queue).
    type: string
    pattern: "^[A-Za-z0-9.!%*_+`'~-]+$"
"""


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> ExpectQueueEnteredStep:
    """``expect_queue_entered: {call, within, since, queue, queue_header}``."""
    fields = mapping(body)
    queue = ctx.get(fields, at, "queue")
    return ExpectQueueEnteredStep(
        call=ctx.call(at, fields), within=ctx.within(at, fields), since=ctx.get(fields, at, "since"),
        queue=None if queue is None else ctx.text(at + ("queue",), queue),
        queue_header=ctx.get(fields, at, "queue_header") or "X-Queue", mark=mark)


def _key_press(run: ScenarioRun, state: CallState) -> float | None:
    """When the last ``send_dtmf`` step on the call began sending (host monotonic clock)."""
    for record in reversed(run.records):
        step = run.scenario.steps[record.index]
        if record.kind == "send_dtmf" and getattr(step, "call", None) == state.id:
            return state.timeline.t0 + float(record.measurements.get("sent_at_s", 0.0))
    return None


def _start(run: ScenarioRun, step: ExpectQueueEnteredStep, state: CallState) -> tuple[float, Since]:
    pressed = _key_press(run, state) if step.since != "answer" else None
    if pressed is not None:
        return pressed, "key_press"
    if step.since == "key_press":
        raise HarnessError(f"expect_queue_entered: since: key_press, but no send_dtmf step on call "
                           f"{state.id} came before it (hint: since: answer, or press a key first)")
    answered = state.timeline.last("call", state="CONFIRMED")
    if answered is None:
        raise run.fail("expect_queue_entered", f"call {state.timeline} was never answered, so it cannot "
                       f"have entered a queue; timeline: {state.timeline.summary()}")
    return answered.t, "answer"


def perform(run: ScenarioRun, step: ExpectQueueEnteredStep) -> Measurements:
    state = run.call(step.call)
    since, what = _start(run, step, state)

    def offered() -> bool | None:
        return any(o.offered >= since for o in offers(run, state.id)) or None

    wait = since + step.within + IN_FLIGHT - time.monotonic()
    try:
        run.board.wait(offered, run.budget(max(0.0, wait)), lambda: "an agent offer", timeline=state.timeline)
    except WaitTimeout:
        pass  # the verdict says what came, and when
    seen = offers(run, state.id)
    verdict = queue_entered_verdict(since, SINCE_WORDS[what], seen, step.within, step.queue, step.queue_header)
    if verdict.problem is not None:
        figures = {"from": SINCE_WORDS[what], "within_s": step.within,
                   "offers": {o.leg: round(o.offered - since, 3) for o in seen}}
        raise NotConformant(run, "expect_queue_entered", verdict.problem, figures)
    return verdict.figures


def say(spec: Mapping[str, Any]) -> Said:
    within = spec.get("within")
    queue = f" {spec['queue']}" if spec.get("queue") else ""
    return (f"按键后 {within} 秒内进入队列{queue}并向坐席振铃",
            f"the call enters queue{queue} and an agent is offered it within {within} s")


KIND = StepKind(
    name="expect_queue_entered",
    model=ExpectQueueEnteredStep,
    description="The call is offered to an agent within a time of the key press (or answer), from the named queue.",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=always(Skips()),  # a capture runs no agents to be offered the call
    shot=(("主叫按键与坐席软电话振铃的时间", "the caller's key press and the agent softphone ringing, with times"),
          ("按键后坐席很快振铃", "the agent rings soon after the key press")),
)
