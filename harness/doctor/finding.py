"""What one doctor check found: a verdict, what was seen, and how to fix it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Verdict = Literal["ok", "FAIL", "WARN", "skipped"]


@dataclass(frozen=True)
class Finding:
    """One line of the doctor's report; ``hint`` (one line) says how to fix a problem."""

    number: int  # the check, 1..8 (0: before any check, e.g. a managed platform that did not start)
    check: str
    verdict: Verdict
    detail: str
    hint: str = ""

    def lines(self) -> list[str]:
        head = f"{self.verdict:<8} {self.number} {self.check:<11} {self.detail}"
        return [head] + ([f"{'':<10} {'':<11} hint: {self.hint}"] if self.hint else [])


def ok(number: int, check: str, detail: str) -> Finding:
    return Finding(number, check, "ok", detail)


def fail(number: int, check: str, detail: str, hint: str) -> Finding:
    return Finding(number, check, "FAIL", detail, hint)


def warn(number: int, check: str, detail: str, hint: str) -> Finding:
    return Finding(number, check, "WARN", detail, hint)


def skipped(number: int, check: str, why: str, hint: str = "") -> Finding:
    return Finding(number, check, "skipped", why, hint)


def summary(findings: Iterable[Finding]) -> str:
    """``2 FAIL, 1 WARN, 6 ok, 2 skipped``: the counts, problems first."""
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.verdict] = counts.get(f.verdict, 0) + 1
    return ", ".join(f"{counts[v]} {v}" for v in ("FAIL", "WARN", "ok", "skipped") if v in counts)
