"""What a capture does: which scenarios, which prompts they expect, which steps can be replayed.

Scenarios are loaded as ``ccharness run`` loads them -- DIDs and accounts
checked against the target, every problem reported with file and line --
except for prompt ids: capturing is how a library gets its prompts, so an id
the profile's library does not have yet is not a problem here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from harness.errors import SpecError
from harness.runner.run import Performer, step_kind
from harness.scenario.loader import discover
from harness.scenario.model import Scenario, Step
from harness.steps.kind import ListensForPrompt, Replayed, Stops
from harness.steps.registry import BY_MODEL, load_scenario
from harness.targets.model import PromptLibrary, PromptRef, Target

PROMPT_ID = re.compile(r"^[a-z0-9_]+$")  # as prompts.schema.yaml asks of a library's ids
UNREPLAYED = "capture replays calls, keys, waits, plays and prompts; not agents, recordings or DTMF checks"


class Replayable(Performer, Protocol):
    """What a capture needs of a step kind (``harness.steps.kind.StepKind``): its handler, and
    what a capture does with each of its steps."""

    @property
    def replay(self) -> Callable[[Any], Replayed]: ...


Kinds = Mapping[type, Replayable]  # step model -> its kind, as ``harness.steps.registry.BY_MODEL``


@dataclass(frozen=True)
class Plan:
    """The scenarios to walk, in order, and the prompt ids to capture from them."""

    scenarios: tuple[Scenario, ...]
    wanted: tuple[str, ...]  # in the order the scenarios first expect them
    unknown: tuple[str, ...]  # asked for by --only, expected by no scenario given
    kinds: Kinds  # the step kinds the scenarios were loaded with, to replay them


def make_plan(paths: list[Path], target: Target, library: PromptLibrary | None,
              only: tuple[str, ...] = ()) -> Plan:
    """Load the scenarios under ``paths`` and pick the prompts to capture.

    Raises ``SpecError`` with the problems of every scenario that does not load.
    """
    scenarios: list[Scenario] = []
    problems = []
    for path in discover(paths):
        try:
            scenarios.append(load_leniently(path, target, library))
        except SpecError as exc:
            problems.extend(exc.problems)
    if problems:
        raise SpecError(problems)
    expected = list(dict.fromkeys(s.prompt for sc in scenarios for _, s in prompt_steps(sc, BY_MODEL)))
    wanted = [p for p in expected if not only or p in only]
    return Plan(tuple(scenarios), tuple(wanted), tuple(p for p in only if p not in expected), BY_MODEL)


def load_leniently(path: Path, target: Target, library: PromptLibrary | None) -> Scenario:
    """Load a scenario, taking any prompt id it names as known (with the library's own entries).

    Steps the target's adapter cannot perform are not refused: a capture only calls the IVR.
    """
    ids = _named_prompts(path)
    stand_in = {i: PromptRef(i, Path(f"{i}.wav")) for i in ids}
    if library is not None:
        stand_in.update(library.prompts)
    return load_scenario(path, PromptLibrary(library.path if library else path, stand_in), target,
                         adapter_checked=False)


def _named_prompts(path: Path) -> set[str]:
    """Every value under a ``prompt:`` key in the file (a superset of the ids it uses)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return set()  # load_scenario reports it properly
    return set(_values_of("prompt", data))


def _values_of(key: str, node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key and isinstance(v, str):
                yield v
            else:
                yield from _values_of(key, v)
    elif isinstance(node, list):
        for item in node:
            yield from _values_of(key, item)


def prompt_steps(scenario: Scenario, kinds: Kinds) -> list[tuple[int, ListensForPrompt]]:
    """The steps a capture takes a prompt at (``expect_prompt``), with their 0-based index."""
    return [(i, what) for i, step in enumerate(scenario.steps)
            if isinstance(what := replayed(step, kinds), ListensForPrompt)]


def replayed(step: Step, kinds: Kinds) -> Replayed:
    """What a capture does with ``step``, as its kind declares."""
    kind = kinds.get(type(step))
    if kind is None:
        return Stops(f"{step_kind(step)}: no step kind of this capture runs it")
    return kind.replay(step)


def not_replayed(step: Step, what: Replayed) -> str | None:
    """Why the capture cannot replay ``step`` (None when it can)."""
    if isinstance(what, Stops):
        return what.why or f"{step_kind(step)}: {UNREPLAYED}"
    return None


def valid_id(prompt: str) -> bool:
    """A prompt id that can name a file and a library entry."""
    return PROMPT_ID.match(prompt) is not None


def step_line(step: Step) -> int:
    mark = getattr(step, "mark", None)
    return mark.line if mark is not None else 0
