"""A step kind: everything about one type of scenario step, in one place.

A step module (``harness/steps/<name>.py``) defines its frozen model, the JSON
schema of its body (YAML text), the builder that checks a body and makes the
model, the handler that performs it in a run, and what it says in the report,
the rehearsal and the test-video checklist, what it needs of the target's
adapter (``needs``: moving the clock, purging, the recordings...), and what a
prompt capture does with it (``replay``: one of the :data:`Replayed` values,
read by ``harness.prompts``, which knows no step model) -- and ends with
``KIND``, its :class:`StepKind`.  ``harness.steps.registry`` lists the kinds explicitly;
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
from harness.spec.values import Destination
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


# -- what ``ccharness prompts capture`` does with a step ----------------------------------
# A capture replays a scenario's caller path to hear the platform's prompts, giving no verdicts.
# Each kind says, per step, which of these it is; ``harness.prompts.replay`` acts on the value.


@dataclass(frozen=True)
class PlacesCall:
    """Runs its handler to place ``call`` to ``to``; the capture listens on that call."""

    call: str
    to: Destination


@dataclass(frozen=True)
class WaitsForAnswer:
    """Listen-only: waits for the answer; a call never answered leaves nothing to listen to."""

    call: str
    within: float


@dataclass(frozen=True)
class ListensForPrompt:
    """Listens for the first sound after what happened last and takes it as ``prompt``."""

    call: str
    prompt: str
    within: float


@dataclass(frozen=True)
class SendsKeys:
    """Runs its handler: the take before it ends, and the reply is heard from the keys on."""

    call: str
    digits: str
    method: str


@dataclass(frozen=True)
class PlaysSound:
    """Runs its handler: our own sound, so what follows is no longer the take before it."""

    call: str


@dataclass(frozen=True)
class OnlyWaits:
    """Listen-only: lets ``seconds`` pass judging nothing; a prompt may run on through them."""

    call: str
    seconds: float


@dataclass(frozen=True)
class LetsPass:
    """Listen-only: lets ``seconds`` of a sound that is no prompt pass (hold music, a tone); the
    next prompt is listened for after them, and the take before has ended."""

    call: str
    seconds: float


@dataclass(frozen=True)
class WaitsForHangup:
    """Listen-only: waits at most ``within`` for the far end to hang up; no status is judged."""

    call: str
    within: float


@dataclass(frozen=True)
class Performs:
    """Runs its handler, which changes nothing the capture listens for (``wait``, ``hangup``)."""


@dataclass(frozen=True)
class Skips:
    """Not run at all, and the walk goes on: a verdict only, or one placing calls of its own."""


@dataclass(frozen=True)
class Stops:
    """The walk cannot go past it; ``why`` says so (empty: what a capture replays, in general)."""

    why: str = ""


Replayed = (PlacesCall | WaitsForAnswer | ListensForPrompt | SendsKeys | PlaysSound | OnlyWaits
            | LetsPass | WaitsForHangup | Performs | Skips | Stops)


def always(what: Replayed) -> Callable[[Any], Replayed]:
    """``StepKind.replay`` for a kind whose every step is replayed alike."""
    return lambda _step: what


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
    replay: Callable[[S], Replayed]  # what ``ccharness prompts capture`` does with the step
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
