"""A step kind: everything about one type of scenario step, in one place.

A step module (``harness/steps/<name>.py``) defines its frozen model, the JSON
schema of its body (YAML text), the builder that checks a body and makes the
model, the handler that performs it in a run, and what it says in the report,
the rehearsal and the test-video checklist, and what it needs of the target's
adapter (``needs``: moving the clock, purging, the recordings...) -- and ends
with ``KIND``, its :class:`StepKind`.  ``harness.steps.registry`` lists the kinds explicitly;
nothing registers itself on import.

Layers: a step module may import the scenario machinery, checks, audio, SIP and
targets; the runner only for typing (``TYPE_CHECKING``), since the runner
dispatches to the kinds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import yaml

from harness.scenario.context import LoadContext
from harness.spec.yamlmarks import DataPath, Mark
from harness.targets.capability import Capability

if TYPE_CHECKING:
    from harness.runner.run import ScenarioRun

S = TypeVar("S")
Said = tuple[str, str]  # (Chinese, English)
Measurements = dict[str, Any]


def words(value: Any) -> str:
    """A step field as the report says it: lists joined, a destination by its value."""
    if isinstance(value, (list, tuple)):
        return ", ".join(words(v) for v in value)
    if isinstance(value, Mapping) and "kind" in value and "value" in value:  # a Destination
        return f"{value['value']}" if value["kind"] != "uri" else str(value["value"])
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return words({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    return str(value)


@dataclass(frozen=True)
class StepKind(Generic[S]):
    """One step type: its YAML key, model, schema, builder, handler and words."""

    name: str  # the key in a scenario: ``- expect_storage: {...}``
    model: type[S]
    description: str  # one line: the step's entry in the schema's list of step types
    schema: str  # YAML: the JSON schema (2020-12) of the step's body, with descriptions
    build: Callable[[LoadContext, DataPath, Any, Mark], S]
    run: Callable[[ScenarioRun, S], Measurements | None]
    say: Callable[[Mapping[str, Any]], Said]  # from the step's fields (a model or a record's spec)
    shot: tuple[Said, Said] | None = None  # test video: (what to show on screen, the cue to hear)
    needs: frozenset[Capability] = frozenset()  # what the target's adapter must be able to do
    needs_if: tuple[tuple[str, Capability], ...] = ()  # (a model field, what it needs when true)
    instead: str = ""  # the fix where the target lacks a capability no profile setting gives

    def needs_of(self, step: S) -> frozenset[Capability]:
        """What this step needs of the target: ``needs``, and ``needs_if``'s for its true fields."""
        return self.needs | {c for name, c in self.needs_if if getattr(step, name, False)}

    @cached_property
    def body_schema(self) -> dict[str, Any]:
        """``schema`` parsed: the ``$defs`` entry of this kind in the scenario schema."""
        parsed: dict[str, Any] = yaml.safe_load(self.schema)
        return parsed
