"""What a capture does: which scenarios, which prompts they expect, which steps can be replayed.

Scenarios are loaded as ``ccharness run`` loads them -- DIDs and accounts
checked against the target, every problem reported with file and line --
except for prompt ids: capturing is how a library gets its prompts, so an id
the profile's library does not have yet is not a problem here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.errors import SpecError
from harness.runner.run import step_kind
from harness.scenario.loader import discover
from harness.scenario.model import Scenario, Step
from harness.steps.call import CallStep
from harness.steps.expect_answer import ExpectAnswerStep
from harness.steps.expect_hangup import ExpectHangupStep
from harness.steps.expect_prompt import ExpectPromptStep
from harness.steps.expect_silence import ExpectSilenceStep
from harness.steps.hangup import HangupStep
from harness.steps.play import PlayStep
from harness.steps.registry import load_scenario
from harness.steps.send_dtmf import SendDtmfStep
from harness.steps.wait import WaitStep
from harness.targets.model import PromptLibrary, PromptRef, Target

PROMPT_ID = re.compile(r"^[a-z0-9_]+$")  # as prompts.schema.yaml asks of a library's ids
REPLAYED = (CallStep, ExpectAnswerStep, ExpectPromptStep, SendDtmfStep, WaitStep, ExpectSilenceStep,
            PlayStep, HangupStep, ExpectHangupStep)


@dataclass(frozen=True)
class Plan:
    """The scenarios to walk, in order, and the prompt ids to capture from them."""

    scenarios: tuple[Scenario, ...]
    wanted: tuple[str, ...]  # in the order the scenarios first expect them
    unknown: tuple[str, ...]  # asked for by --only, expected by no scenario given


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
    expected = list(dict.fromkeys(s.prompt for sc in scenarios for _, s in prompt_steps(sc)))
    wanted = [p for p in expected if not only or p in only]
    return Plan(tuple(scenarios), tuple(wanted), tuple(p for p in only if p not in expected))


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


def prompt_steps(scenario: Scenario) -> list[tuple[int, ExpectPromptStep]]:
    """The ``expect_prompt`` steps, with their 0-based index."""
    return [(i, s) for i, s in enumerate(scenario.steps) if isinstance(s, ExpectPromptStep)]


def not_replayed(step: Step) -> str | None:
    """Why the capture cannot replay ``step`` (None when it can)."""
    kind = step_kind(step)
    if isinstance(step, CallStep) and step.to.kind == "agent":
        return (f"call to agent {step.to.value}: capture places calls to the platform's numbers "
                "only, it runs no agents")
    if not isinstance(step, REPLAYED):
        return (f"{kind}: capture replays calls, keys, waits, plays and prompts; not agents, "
                "recordings or DTMF checks")
    return None


def valid_id(prompt: str) -> bool:
    """A prompt id that can name a file and a library entry."""
    return PROMPT_ID.match(prompt) is not None


def step_line(step: Step) -> int:
    mark = getattr(step, "mark", None)
    return mark.line if mark is not None else 0
