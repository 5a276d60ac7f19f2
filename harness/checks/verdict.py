"""What a step's check decides: passed with the figures it measured, or failed and why.

The checks in ``harness.checks.ivr`` and ``harness.checks.signalling`` return one;
the step that gathered the observations records the figures of a pass, or turns
the problem of a fail into :class:`harness.errors.ExpectationFailed`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Verdict:
    """A check's outcome on what was observed."""

    problem: str | None  # why it fails, in the report's words; None: it passed
    figures: dict[str, Any] = field(default_factory=dict)  # what a pass measured, for the records
    decided: bool = True  # False: the observations cannot tell (the harness's own conditions); see problem

    @property
    def passed(self) -> bool:
        return self.problem is None


def passed(figures: dict[str, Any]) -> Verdict:
    """A pass, with the measurements behind it."""
    return Verdict(None, figures)


def failed(problem: str) -> Verdict:
    """A fail, with the reason the report shows."""
    return Verdict(problem)
