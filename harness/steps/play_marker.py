"""``play_marker``: the caller, or the agent on the call, plays its per-call audio marker into the call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from harness.audio.marker import marker_for, render
from harness.errors import HarnessError
from harness.runner.run import ScenarioRun
from harness.scenario.context import LoadContext
from harness.scenario.model import Party
from harness.spec.checker import mapping
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.kind import Measurements, Said, StepKind, Stops, always
from harness.steps.media import idle
from harness.steps.recorded import PLAY_START_TIMEOUT, PlayedMarker, player, utc


@dataclass(frozen=True)
class PlayMarkerStep:
    """The caller, or the agent who answered, plays its per-call audio marker into the call."""

    call: str
    party: Party = "caller"
    wait: bool = True  # block until it has played out
    mark: Mark | None = None


SCHEMA = """
description: Play the party's marker (a short tone sequence unique to this call and party) into the call.
type: [object, "null"]
x-hint: "e.g. play_marker: {party: agent}"
additionalProperties: false
properties:
  call: {$ref: "#/$defs/call_ref", description: The call (default the most recent call placed).}
  party: {$ref: "#/$defs/party", description: "Who plays it (default caller); agent needs an expect_agent step before."}
  wait: {type: boolean, description: "Wait until it has played out before the next step (default true)."}
"""


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> PlayMarkerStep:
    """``play_marker: {call, party, wait}``: the party's per-call marker, into the call."""
    fields = mapping(body)
    wait = ctx.get(fields, at, "wait")
    party = cast(Party, ctx.get(fields, at, "party") or "caller")
    return PlayMarkerStep(ctx.call(at, fields), party, True if wait is None else wait, mark)


def perform(run: ScenarioRun, step: PlayMarkerStep) -> Measurements:
    state = run.call(step.call)
    call_id = state.timeline.sip_call_id
    if call_id is None or state.timeline.state != "CONFIRMED":
        raise HarnessError(f"play_marker on call {state.timeline}: the call is not up "
                           f"(timeline: {state.timeline.summary()})")
    phone, leg = player(run, state, step.party)
    marker = marker_for(call_id, step.party)
    path = run.write_generated(f"marker-{step.party}", render(marker))
    before, name = len(leg.events), f"marker-{step.party}"
    run.board.command(phone, "play", handle=leg.handle, path=path, loop=False, name=name)
    started = run.board.wait(  # by name: the agent's greeting may end meanwhile
        lambda: next((e for e in leg.events[before:] if e.kind == "play"
                      and e.data.get("name") == name and e.data.get("state") == "started"), None),
        PLAY_START_TIMEOUT, lambda: f"the {step.party}'s marker to start playing", timeline=leg)
    state.markers[step.party] = PlayedMarker(marker, started.t, started.wall)
    if step.wait:
        idle(run, run.budget(marker.duration + 0.1))
    return {"party": step.party, "marker": marker.id, "tones_hz": list(marker.freqs),
            "played_at_s": round(started.t - state.timeline.t0, 3),
            "played_utc": utc(started.wall).isoformat(timespec="milliseconds"), "file": path}


def say(spec: Mapping[str, Any]) -> Said:
    return "播放本通话的音频标记", f"the {spec.get('party', 'caller')} plays this call's audio marker"


KIND = StepKind(
    name="play_marker",
    model=PlayMarkerStep,
    description="The caller, or the agent on the call, plays its per-call audio marker into the call.",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=always(Stops()),
    shot=(("通话中播放标记音", "the marker tone played in the call"), ("短促的标记音", "a short marker tone")),
)
