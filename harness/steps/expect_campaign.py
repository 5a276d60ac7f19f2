"""``expect_campaign``: the platform's dialler (a campaign, predictive dialling) puts every customer
who answers through to an agent within two seconds, or plays them an information message.

The step gives the platform's dialler a campaign (``Capability.CAMPAIGN``) of fresh numbers
for a queue; every call lands on the harness's carrier, which answers each one. The
scenario's agents answer as their ``agents:`` entries say and, once on a call, play the
pilot tone (``harness/audio/pilot.py``) by which the customer's side hears an agent come
on; a customer who has heard an agent for ``talk`` hangs up. Each answered call is then
judged from what the customer heard (``harness.checks.dialer``): an agent within
``connect_within`` of the answer, or else -- an abandoned call -- an information message
(speech, not silence or a tone) within ``message_within``; and the share of abandoned
calls against ``abandoned_max``. A campaign in which no call was abandoned passes the
message rule without exercising it, and says so.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from harness.audio.kind import FRAME_S, KINDS, MUSIC, SILENCE, SPEECH, classify
from harness.audio.pilot import pilot, pilot_onset
from harness.audio.wav import read_capture
from harness.checks.dialer import CONNECT_WITHIN, MESSAGE_WITHIN, CampaignWanted, CustomerSeen, campaign_verdict
from harness.checks.outbound import CarrierCall
from harness.errors import TargetError
from harness.runner import carrier
from harness.runner.carrier import CarrierBehaviour
from harness.runner.cast import agent_behaviour
from harness.runner.rule_clock import allowed_now
from harness.runner.run import ScenarioRun
from harness.scenario.context import LoadContext
from harness.spec.checker import mapping
from harness.spec.values import BadValue, parse_share
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.kind import Measurements, Said, Skips, StepKind, always
from harness.steps.media import FLUSH_ALLOWANCE, POLL, RATE, idle
from harness.steps.outbound_call import needs_outbound
from harness.steps.recorded import NotConformant
from harness.targets.adapter import Campaigning
from harness.targets.capability import Capability
from harness.targets.registry import adapter_for

ANSWER = CarrierBehaviour("answer", 0.5)  # every customer answers after half a second
PILOT_S = 30.0  # the pilot the agents play once on a call: longer than any campaign call here


@dataclass(frozen=True)
class ExpectCampaignStep:
    queue: str
    numbers: int = 4
    within: float = 60.0
    connect_within: float = CONNECT_WITHIN
    message_within: float | None = MESSAGE_WITHIN
    abandoned_max: float | None = None
    talk: float = 1.0
    mark: Mark | None = None


SCHEMA = """
description: >-
  Give the platform's dialler a campaign of fresh numbers for a queue: every customer who
  answers must have an agent on the line within connect_within, or else (an abandoned call)
  hear an information message within message_within; and abandoned calls stay within
  abandoned_max of the answered ones.
type: object
x-hint: "e.g. expect_campaign: {queue: sales, numbers: 4, abandoned_max: 3%}"
required: [queue]
additionalProperties: false
properties:
  queue: {type: string, minLength: 1, description: "The queue whose agents the campaign's calls go to."}
  numbers: {type: integer, minimum: 1, maximum: 20, description: "How many fresh numbers to call (default 4)."}
  within:
    $ref: "#/$defs/duration"
    description: "How long the whole campaign may take, every call ended (default 60s)."
  connect_within:
    $ref: "#/$defs/duration"
    description: "From a customer's answer to an agent on the line; later, the call is abandoned (default 2s)."
  message_within:
    $ref: "#/$defs/duration"
    description: "From an abandoned customer's answer to the information message (default 2s)."
  abandoned_max:
    description: "The largest share of answered calls that may be abandoned, e.g. 3% (default not judged)."
    type: [string, number]
  talk:
    $ref: "#/$defs/duration"
    description: "How long a customer stays on with an agent before hanging up (default 1s)."
"""


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> ExpectCampaignStep:
    fields = mapping(body)
    needs_outbound(ctx, at)
    share = None
    given = ctx.get(fields, at, "abandoned_max")
    if given is not None:
        try:
            share = parse_share(given)
        except BadValue as bad:
            ctx.report(at + ("abandoned_max",), bad.message, bad.hint)

    def seconds(name: str, default: float) -> float:
        value = ctx.get(fields, at, name)
        return default if value is None else ctx.duration(at + (name,), value)

    return ExpectCampaignStep(
        queue=str(ctx.get(fields, at, "queue") or ""),
        numbers=int(ctx.get(fields, at, "numbers") or 4),
        within=seconds("within", 60.0),
        connect_within=seconds("connect_within", CONNECT_WITHIN),
        message_within=seconds("message_within", MESSAGE_WITHIN),
        abandoned_max=share,
        talk=seconds("talk", 1.0),
        mark=mark,
    )


def _agents_play_the_pilot(run: ScenarioRun) -> None:
    """Each answering agent of the scenario plays the pilot tone once on a call."""
    path = run.write_generated("pilot", pilot(PILOT_S))
    for spec in run.scenario.agents:
        behaviour = agent_behaviour(spec, None)
        if behaviour.mode == "answer" and spec.name in run.agent_phone:
            run.board.command(run.agent_phone[spec.name], "behave",
                              behaviour=asdict(replace(behaviour, play=path)))


def _heard(run: ScenarioRun, call: CarrierCall) -> tuple[np.ndarray, float] | None:
    """What the customer heard from its answer on, and the monotonic time of that first sample."""
    tl = carrier.leg_of(run, call)
    if call.answered is None or tl.capture_path is None or tl.capture_t0 is None:
        return None
    samples = read_capture(tl.capture_path)
    start = max(0, int((call.answered - tl.capture_t0) * RATE))
    return samples[start:], max(call.answered, tl.capture_t0)


def _agent_at(run: ScenarioRun, call: CarrierCall) -> float | None:
    """Seconds from the answer to the agents' pilot tone, if the customer has heard it."""
    heard = _heard(run, call)
    if heard is None:
        return None
    onset = pilot_onset(heard[0])
    return None if onset is None else onset / RATE + (heard[1] - (call.answered or heard[1]))


def _seen(run: ScenarioRun, call: CarrierCall, hung_up: set[str]) -> CustomerSeen:
    """One campaign call as the customer heard it."""
    if call.answered is None:
        return CustomerSeen(call.number, call.leg, False)
    tl = carrier.leg_of(run, call)
    ended = tl.last("call", state="DISCONNECTED")
    heard = _heard(run, call)
    samples = heard[0] if heard is not None else np.zeros(0, dtype=np.float32)
    lead = heard[1] - call.answered if heard is not None else 0.0  # a capture that began after the answer
    onset = pilot_onset(samples) if len(samples) else None
    before = samples[:onset] if onset is not None else samples
    labels = classify(before) if len(before) else np.zeros(0, dtype=np.int8)
    message = np.flatnonzero((labels == SPEECH) | (labels == MUSIC))
    kinds = [KINDS[k] for k in sorted(set(labels.tolist()) - {SILENCE})]
    return CustomerSeen(
        number=call.number, leg=call.leg, answered=True,
        agent_s=round(lead + onset / RATE, 2) if onset is not None else None,
        sound_s=round(lead + float(message[0]) * FRAME_S, 2) if len(message) else None,
        heard=" and ".join(kinds) or "silence",
        lasted_s=round(ended.t - call.answered, 2) if ended is not None else None,
        ended_by="" if ended is None else "customer" if call.leg in hung_up else "platform")


def perform(run: ScenarioRun, step: ExpectCampaignStep) -> Measurements:
    platform = adapter_for(run.target)
    if not isinstance(platform, Campaigning):
        raise TargetError(f"{platform.description} cannot start a campaign through its API")
    clock = allowed_now(run)  # a compliant dialler calls no one in its forbidden hours
    carrier.behave(run, ANSWER)
    _agents_play_the_pilot(run)
    numbers = sorted({f"1360013{secrets.randbelow(10_000):04d}" for _ in range(step.numbers * 3)})[:step.numbers]
    started = time.monotonic()
    for number in numbers:
        carrier.attempt(run, number, f"the campaign's call for queue {step.queue}")
    campaign = platform.start_campaign(step.queue, numbers)
    deadline = started + run.budget(step.within)
    hung_up: set[str] = set()

    def ours() -> list[CarrierCall]:
        return [c for c in carrier.calls(run) if c.number in numbers and c.offered >= started]

    while time.monotonic() < deadline:
        calls = ours()
        for call in calls:
            leg = carrier.leg_of(run, call)
            if call.answered is None or leg.state == "DISCONNECTED" or call.leg in hung_up:
                continue
            agent = _agent_at(run, call)
            if agent is not None and time.monotonic() >= call.answered + agent + step.talk:
                run.board.command(carrier.PHONE, "hangup", handle=leg.handle)  # the customer says goodbye
                hung_up.add(call.leg)
        if len(calls) == len(numbers) and all(carrier.leg_of(run, c).state == "DISCONNECTED" for c in calls):
            break
        idle(run, min(POLL, max(0.0, deadline - time.monotonic())))
    for call in ours():  # never leave a call up
        leg = carrier.leg_of(run, call)
        if leg.state != "DISCONNECTED":
            run.board.command(carrier.PHONE, "hangup", handle=leg.handle)
    idle(run, FLUSH_ALLOWANCE)  # the captures catch up
    seen = [_seen(run, call, hung_up) for call in ours()]
    wanted = CampaignWanted(step.connect_within, step.message_within, step.abandoned_max)
    verdict = campaign_verdict(seen, len(numbers), wanted)
    figures = {"campaign": campaign, "queue": step.queue, "api": platform.description,
               "took_s": round(time.monotonic() - started, 1), **verdict.figures, **clock}
    if verdict.problem is not None:
        raise NotConformant(run, "expect_campaign", f"the campaign for queue {step.queue}: {verdict.problem}",
                            figures)
    return figures


def say(spec: Mapping[str, Any]) -> Said:
    most = spec.get("abandoned_max")
    rate_zh = f"，放弃率不超过 {most}" if most is not None else ""
    rate_en = f", and at most {most} of the answered calls are abandoned" if most is not None else ""
    return (f"平台外呼任务（预测式外呼）呼叫队列 {spec.get('queue')} 的客户：接通后 2 秒内转坐席，"
            f"否则 2 秒内播放提示信息，不得无声{rate_zh}",
            f"the platform's dialler calls customers for queue {spec.get('queue')}: each one who answers has an "
            f"agent within 2 s, or hears an information message within 2 s, never silence{rate_en}")


KIND = StepKind(
    name="expect_campaign",
    model=ExpectCampaignStep,
    description="The platform's dialler puts each answered customer through to an agent within 2 s, or plays "
                "an information message; abandoned calls stay within the limit.",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=always(Skips()),
    shot=(("平台外呼任务（预测式外呼）配置界面：队列、号码、呼叫比率",
           "the platform's campaign (predictive dialler) screen: the queue, the numbers, the pacing"),
          ("客户接听后转坐席，或听到提示信息", "a customer who answers is put through, or hears the message")),
    needs=frozenset({Capability.CAMPAIGN}),
    instead="run it against a target whose adapter can start a campaign (the reference platform's can)",
)
