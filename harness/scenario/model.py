"""The typed model of a scenario: what the loader produces and the runner executes.

Every object is frozen; the runner never sees raw YAML.  Durations are seconds
as floats.  ``Mark`` keeps where a thing was written so that a run-time
failure can still point at the scenario line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

DtmfMethod = Literal["rfc4733", "info", "inband"]
Behaviour = Literal["answer", "reject", "ring", "unregistered"]
Party = Literal["caller", "agent"]
RETENTION_DAYS = 183  # 录音存储≥6个月: six months, counted as 183 days
RETENTION_CLAUSE = "录音存储≥6个月 (call recordings are kept at least 6 months)"
Strategy = Literal["ringall", "rrmemory", "leastrecent", "fewestcalls", "linear", "random"]


@dataclass(frozen=True)
class Mark:
    """Where something was written: file, 1-based line and column."""

    path: Path
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


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


@dataclass(frozen=True)
class Destination:
    """Where a call goes: ``did:NAME``, ``agent:NAME``, a ``sip:`` URI, or a bare user part."""

    kind: Literal["did", "agent", "uri", "user"]
    value: str


@dataclass(frozen=True)
class CallStep:
    call: str  # the id later steps refer to
    caller: str
    to: Destination
    headers: tuple[tuple[str, str], ...] = ()
    mark: Mark | None = None


@dataclass(frozen=True)
class ExpectAnswerStep:
    call: str
    within: float
    mark: Mark | None = None


@dataclass(frozen=True)
class ExpectHangupStep:
    """The far end ends the call within the deadline, optionally with a given status."""

    call: str
    within: float
    status: int | None = None
    mark: Mark | None = None


@dataclass(frozen=True)
class ExpectPromptStep:
    call: str
    prompt: str
    within: float
    min_score: float = 0.8
    mark: Mark | None = None


@dataclass(frozen=True)
class ExpectSilenceStep:
    call: str
    duration: float
    max_level_dbfs: float = -45.0
    mark: Mark | None = None


@dataclass(frozen=True)
class SendDtmfStep:
    call: str
    digits: str
    method: DtmfMethod = "rfc4733"
    mark: Mark | None = None


@dataclass(frozen=True)
class ExpectDtmfStep:
    """DTMF received: by the caller on ``call``, or by ``agent`` on its current call."""

    digits: str
    within: float
    call: str | None = None
    agent: str | None = None
    mark: Mark | None = None


@dataclass(frozen=True)
class ExpectAgentStep:
    """The call is answered by one of ``agents`` within the deadline."""

    call: str
    agents: tuple[str, ...]
    within: float
    mark: Mark | None = None


@dataclass(frozen=True)
class PlayStep:
    call: str
    audio: Audio
    wait: bool = True  # block until it has played out
    mark: Mark | None = None


@dataclass(frozen=True)
class WaitStep:
    duration: float
    mark: Mark | None = None


@dataclass(frozen=True)
class HangupStep:
    call: str
    mark: Mark | None = None


@dataclass(frozen=True)
class ExpectDistributionStep:
    """The answered calls were distributed to the agents the way ``strategy`` says."""

    strategy: Strategy
    calls: tuple[str, ...] = ()  # empty: every call placed before this step
    agents: tuple[str, ...] = ()  # the queue's members in configured order; empty: all agents
    mark: Mark | None = None



class Step(Protocol):
    """What every step model has: where it was written; each kind's model adds its fields.

    The models of the kinds in ``harness.steps`` are defined there, one module a kind;
    the ones below are still built by ``scenario/steps.py`` and run by ``runner/steps``.
    """

    @property
    def mark(self) -> Mark | None: ...


LegacyStep = (
    CallStep
    | ExpectDistributionStep
    | ExpectAnswerStep
    | ExpectHangupStep
    | ExpectPromptStep
    | ExpectSilenceStep
    | SendDtmfStep
    | ExpectDtmfStep
    | ExpectAgentStep
    | PlayStep
    | WaitStep
    | HangupStep
)


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
    licence_item: str | None = None  # e.g. "ivr", "acd", "recording", "retention"
    prompts: Path | None = None  # a prompt library overriding the target's
    mark: Mark | None = None
