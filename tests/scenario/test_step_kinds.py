"""The step kinds of ``harness.steps``: one module each, all in the registry, each complete."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import typing
from typing import Any

import pytest

import harness.steps
from harness.scenario.loader import scenario_schema
from harness.scenario.model import Audio
from harness.spec.values import Destination
from harness.steps.kind import (
    LetsPass,
    ListensForPrompt,
    OnlyWaits,
    Performs,
    PlacesCall,
    PlaysSound,
    SendsKeys,
    Skips,
    StepKind,
    Stops,
    WaitsForAnswer,
    WaitsForHangup,
)
from harness.steps.registry import BY_MODEL, BY_NAME, KINDS

SHARED = {"kind", "registry", "media", "signalling", "recorded", "recording_search", "outbound_call",
          "outbound_attempt"}  # not kinds


def _kind_modules() -> list[str]:
    return [m.name for m in pkgutil.iter_modules(harness.steps.__path__) if m.name not in SHARED]


def test_every_step_module_is_one_registered_kind_named_after_it() -> None:
    for name in _kind_modules():
        kind = importlib.import_module(f"harness.steps.{name}").KIND
        assert isinstance(kind, StepKind) and kind.name == name and BY_NAME[name] is kind, name
    assert sorted(BY_NAME) == sorted(_kind_modules())
    assert len(BY_MODEL) == len(KINDS)  # no model shared by two kinds


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_each_kind_says_itself_in_both_languages_and_describes_every_field(kind: StepKind[Any]) -> None:
    schema = scenario_schema(KINDS)
    assert schema["$defs"][kind.name] == kind.body_schema
    assert schema["$defs"]["step"]["properties"][kind.name]["description"] == kind.description
    missing: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            missing.extend(f"{where}.{n}" for n, p in node.get("properties", {}).items() if "description" not in p)
            for key, value in node.items():
                walk(value, f"{where}.{key}")

    walk(kind.body_schema, kind.name)
    assert missing == []
    assert kind.model.__module__ == f"harness.steps.{kind.name}"
    assert kind.shot is None or all(len(said) == 2 for said in kind.shot)


def test_the_step_types_are_listed_in_the_registry_order_with_repeat_last() -> None:
    listed = list(scenario_schema(KINDS)["$defs"]["step"]["properties"])
    assert listed == [k.name for k in KINDS] + ["repeat"]


# What ``ccharness prompts capture`` does with each kind's steps (``StepKind.replay``): a new kind
# is added here, and harness/prompts/ is never edited for it.
REPLAYED_AS: dict[str, type] = {
    "call": PlacesCall, "expect_answer": WaitsForAnswer, "expect_prompt": ListensForPrompt,
    "expect_silence": OnlyWaits, "expect_audio": LetsPass, "send_dtmf": SendsKeys,
    "play": PlaysSound, "expect_hangup": WaitsForHangup, "wait": Performs, "hangup": Performs,
    # verdicts only, or calls and registrations of their own: the walk goes on without them
    "expect_register": Skips, "expect_call_refused": Skips, "expect_queue_entered": Skips,
    "expect_offer_headers": Skips, "expect_seats": Skips, "expect_quality": Skips,
    "dial_out": Skips, "originate": Skips, "expect_carrier_call": Skips,  # outbound: no inbound prompt
    "expect_forbidden_hours": Skips, "expect_do_not_call": Skips, "expect_campaign": Skips,
    # agents, recordings, DTMF checks: the walk stops there, as it always has
    "expect_dtmf": Stops, "expect_agent": Stops, "expect_distribution": Stops, "play_marker": Stops,
    "expect_recording": Stops, "expect_retention": Stops, "expect_retention_proof": Stops,
    "verify_canaries": Stops, "expect_storage": Stops,
}
_PLACEHOLDERS: dict[Any, Any] = {str: "c1", float: 2.0, int: 1, Destination: Destination("user", "100"),
                                 Audio: Audio(prompt="menu")}


def sample(of: StepKind[Any], /, **fields: Any) -> Any:
    """A step of kind ``of``: its required fields filled with placeholders, then ``fields``."""
    hints = typing.get_type_hints(of.model)
    values = {f.name: _placeholder(hints[f.name]) for f in dataclasses.fields(of.model)
              if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    return of.model(**{**values, **fields})


def _placeholder(hint: Any) -> Any:
    if typing.get_origin(hint) is typing.Literal:
        return typing.get_args(hint)[0]
    return () if typing.get_origin(hint) is tuple else _PLACEHOLDERS[hint]


def test_every_kind_declares_what_a_capture_does_with_its_steps() -> None:
    assert sorted(REPLAYED_AS) == sorted(BY_NAME)
    for kind in KINDS:
        what = kind.replay(sample(kind))
        assert isinstance(what, REPLAYED_AS[kind.name]), (kind.name, what)
        assert what == kind.replay(sample(kind)), kind.name  # a value, decided by the step alone


def test_the_values_carry_what_the_capture_needs_of_the_step() -> None:
    assert BY_NAME["call"].replay(sample(BY_NAME["call"], to=Destination("did", "main"))) == PlacesCall(
        "c1", Destination("did", "main"))
    assert BY_NAME["call"].replay(sample(BY_NAME["call"], to=Destination("agent", "alice"))) == Stops(
        "call to agent alice: capture places calls to the platform's numbers only, it runs no agents")
    assert BY_NAME["expect_prompt"].replay(sample(BY_NAME["expect_prompt"], prompt="menu", within=3.0)) == (
        ListensForPrompt("c1", "menu", 3.0))
    assert BY_NAME["send_dtmf"].replay(sample(BY_NAME["send_dtmf"], digits="12", method="info")) == (
        SendsKeys("c1", "12", "info"))
    assert BY_NAME["expect_silence"].replay(sample(BY_NAME["expect_silence"], duration=1.5)) == OnlyWaits("c1", 1.5)
    assert BY_NAME["expect_hangup"].replay(sample(BY_NAME["expect_hangup"], within=4.0)) == WaitsForHangup("c1", 4.0)
    assert BY_NAME["expect_answer"].replay(sample(BY_NAME["expect_answer"], within=5.0)) == WaitsForAnswer("c1", 5.0)


@pytest.mark.parametrize("heard, replayed", [("music", LetsPass("c1", 8.0)), ("tone", LetsPass("c1", 8.0)),
                                             ("speech", LetsPass("c1", 8.0)), ("silence", OnlyWaits("c1", 8.0))])
def test_expect_audio_is_waited_out_as_long_as_it_could_listen(heard: str, replayed: Any) -> None:
    """Hold music is no prompt: the next is listened for after it; silence is waited out as
    expect_silence is, a prompt running on through it."""
    kind = BY_NAME["expect_audio"]
    assert kind.replay(sample(kind, kind=heard, seconds=5.0, within=3.0)) == replayed
