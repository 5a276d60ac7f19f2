"""The harness's exceptions.

Two families, because a reviewer must tell them apart:

* ``ExpectationFailed`` (an ``AssertionError``): the platform did something
  other than the scenario expects -- a *fail* verdict.
* ``HarnessError`` and its subclasses: the run could not decide -- bad input,
  a phone that died, a target that cannot be reached -- an *error* verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class HarnessError(Exception):
    """Base of every error raised by the harness itself."""


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file, located to the character."""

    path: Path
    line: int  # 1-based; 0 when unknown
    col: int  # 1-based; 0 when unknown
    field: str  # dotted path such as ``steps[2].send_dtmf.digits``
    message: str
    hint: str = ""
    snippet: str = ""  # the offending lines, already numbered

    def headline(self) -> str:
        where = f"{self.path}:{self.line}:{self.col}" if self.line else f"{self.path}"
        field = f" {self.field}:" if self.field else ""
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{where}:{field} {self.message}{hint}"

    def __str__(self) -> str:
        return self.headline() + (f"\n{self.snippet}" if self.snippet else "")


class SpecError(HarnessError):
    """A scenario, target profile or prompt library is invalid: all problems at once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ScenarioError(SpecError):
    """A scenario file is invalid."""


class ProfileError(SpecError):
    """A target profile (or the prompt library it names) is invalid."""


class HostBusy(HarnessError):
    """The harness's own host was too busy to decide: one of its phones did not run while a
    failing step listened, or audio judged by its timing was heard while the CPUs were saturated.
    Running again on a quieter host may decide."""


class PhoneError(HarnessError):
    """A phone process failed to start, died, or reported an internal error."""


class TargetError(HarnessError):
    """The target platform could not be reached or refused us (not a conformance verdict)."""


class AudioError(HarnessError):
    """Audio could not be read or analysed: a malformed WAV file, a missing DSP library."""


class ExpectationFailed(AssertionError):
    """A scenario step's expectation was not met: the platform does not conform."""

    def __init__(self, scenario: Path, step: str, message: str) -> None:
        self.scenario = scenario
        self.step = step
        self.detail = message
        super().__init__(f"{scenario}: {step}: {message}")
