"""The typed model of a scenario: what the loader produces and the runner executes.

Every object is frozen; the runner never sees raw YAML.  Durations are seconds
as floats.  ``Mark`` keeps where a thing was written so that a run-time
failure can still point at the scenario line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from harness.spec.yamlmarks import Mark

DtmfMethod = Literal["rfc4733", "info", "inband"]
Behaviour = Literal["answer", "reject", "ring", "unregistered"]
Party = Literal["caller", "agent", "customer"]
RETENTION_DAYS = 183  # 录音存储≥6个月: six months, counted as 183 days
RETENTION_CLAUSE = "录音存储≥6个月 (call recordings are kept at least 6 months)"
Strategy = Literal["ringall", "rrmemory", "leastrecent", "fewestcalls", "linear", "random"]


@dataclass(frozen=True)
class Tone:
    """A generated tone: one frequency, or two summed (as DTMF is)."""

    freqs: tuple[float, ...]
    duration: float
    level_dbfs: float = -12.0


@dataclass(frozen=True)
class Audio:
    """Something a party plays into a call: exactly one of prompt, file, tone."""

    prompt: str | None = None  # an id in the prompt library
    file: Path | None = None  # absolute, resolved against the scenario's folder
    tone: Tone | None = None
    loop: bool = False


@dataclass(frozen=True)
class AgentSpec:
    """An agent softphone the scenario runs, and how it behaves when offered a call."""

    name: str
    account: str  # key into the target profile's ``accounts``; defaults to ``name``
    behaviour: Behaviour = "answer"
    answer_after: float = 0.0
    reject_code: int = 486
    play: Audio | None = None  # played once the agent answers
    mark: Mark | None = None


@dataclass(frozen=True)
class CallerSpec:
    """A calling party; ``account`` is a key into the target profile's ``accounts``."""

    name: str
    account: str
    mark: Mark | None = None


class Step(Protocol):
    """What every step model has: where it was written; each kind's model adds its fields.

    The models are defined with their kinds, one module a kind, in ``harness.steps``.
    """

    @property
    def mark(self) -> Mark | None: ...



@dataclass(frozen=True)
class Scenario:
    path: Path
    name: str
    description: str
    deadline: float  # the whole scenario ends within this, plus a fixed margin
    callers: tuple[CallerSpec, ...]
    agents: tuple[AgentSpec, ...]
    steps: tuple[Step, ...]
    tags: tuple[str, ...] = ()
    licence_item: str | None = None  # "ivr", "acd", "recording", "retention" or "security"
    prompts: Path | None = None  # a prompt library overriding the target's
    mark: Mark | None = None
