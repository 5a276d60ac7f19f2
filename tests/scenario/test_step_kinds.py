"""The step kinds of ``harness.steps``: one module each, all in the registry, each complete."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest

import harness.steps
from harness.scenario.loader import scenario_schema
from harness.steps.kind import StepKind
from harness.steps.registry import BY_MODEL, BY_NAME, KINDS

SHARED = {"kind", "registry", "media", "signalling", "recorded", "recording_search"}  # not kinds


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
