"""The retention checks (录音存储≥6个月): the declared policy, a clock-offset proof, the canaries.

* The policy: what the platform declares (or, when it cannot say, what the
  profile declares for it) against the required days.
* The proof, on platforms that can move their clock: a recording aged to
  ``min_days - 1`` days and to the declared policy, purged each time, is
  still there and unchanged; aged one day past the policy it is purged.
* The canaries: recordings of earlier runs, from the ledger, re-downloaded
  while younger than the required days and compared by SHA-256.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.checks.recording import UNCHANGED, sha256_of
from harness.evidence.ledger import Canary, Ledger
from harness.targets.adapter import Platform, RecordingInfo, StorageDeclared

KEPT = "录音存储≥6个月"
PAST_POLICY = 1 + 1 / 24  # days past the policy at which a purge must have removed it


def policy_problem(days: int, min_days: int, clause: str) -> str | None:
    """Why a declared policy of ``days`` falls short, or None."""
    if days >= min_days:
        return None
    return (f"the platform keeps recordings {days} days, fewer than the {min_days} days "
            f"required ({clause})")


def storage_needed(bytes_per_minute: float, declared: StorageDeclared, days: int) -> float:
    """Bytes that ``days`` of the declared traffic take at ``bytes_per_minute``."""
    return bytes_per_minute * declared.minutes_per_call * declared.calls_per_day * days


def storage_problem(bytes_per_minute: float, declared: StorageDeclared, days: int) -> str | None:
    """Why the declared storage cannot hold ``days`` of recordings, or None."""
    needed = storage_needed(bytes_per_minute, declared, days)
    if needed <= declared.capacity_gb * 1e9:
        return None
    return (f"keeping {days} days of recordings needs {needed / 1e9:,.0f} GB "
            f"({bytes_per_minute / 1e6:.2f} MB per recorded minute x {declared.minutes_per_call:g} "
            f"min x {declared.calls_per_day:g} calls a day x {days} days), more than the "
            f"{declared.capacity_gb:g} GB of storage declared ({KEPT})")


@dataclass(frozen=True)
class AgeCheck:
    """The recording, aged to ``age_days`` and purged: there or not, and its hash then."""

    age_days: float
    present: bool
    sha256: str | None
    purged: int  # recordings the purge removed (older ones go too)


@dataclass
class Proof:
    """A clock-offset retention proof of one recording."""

    name: str
    sha256: str
    policy_days: int
    min_days: int
    ages: list[AgeCheck] = field(default_factory=list)
    purged_past_policy: bool | None = None  # None: not tried (an earlier age failed)

    def problems(self) -> list[str]:
        for check in self.ages:
            if not check.present:
                return [(f"recording {self.name} was purged when {check.age_days:g} days old, "
                        f"although {self.min_days} days are required and the platform declares "
                        f"{self.policy_days} ({KEPT})")]
            if check.sha256 != self.sha256:
                return [(f"recording {self.name} changed by day {check.age_days:g}: SHA-256 "
                        f"{(check.sha256 or '')[:16]}... then, {self.sha256[:16]}... when recorded "
                        f"({UNCHANGED})")]
        return []

    def notes(self) -> list[str]:
        if self.purged_past_policy is False:
            return [(f"recording {self.name} was still there {self.policy_days + PAST_POLICY:.1f} "
                    f"days after it was made: the platform keeps recordings longer than the "
                    f"{self.policy_days} days it declares")]
        return []

    def measurements(self) -> dict[str, Any]:
        return {"recording": self.name, "sha256": self.sha256, "policy_days": self.policy_days,
                "min_days": self.min_days, "purged_past_policy": self.purged_past_policy,
                "ages": [{"age_days": c.age_days, "present": c.present, "sha256": c.sha256,
                          "purged_by_that_purge": c.purged} for c in self.ages]}


def _offset_for(age: float, rec: RecordingInfo) -> float:
    """The clock offset that makes ``rec`` ``age`` days old (it is already a little older)."""
    if rec.created_utc is None:
        return age
    return age - (datetime.now(UTC) - rec.created_utc).total_seconds() / 86400


def prove_retention(platform: Platform, rec: RecordingInfo, sha256: str, dest: Path,
                    policy: int, min_days: int, ages: tuple[float, ...] = ()) -> Proof:
    """Age ``rec`` step by step with the platform's clock; the clock is always set back to 0.

    Raises ``NotSupported`` when the platform cannot move its clock or purge.
    """
    proof = Proof(rec.name, sha256, policy, min_days)
    kept = sorted({*ages, float(min_days - 1), *([float(policy)] if policy >= min_days else [])})
    try:
        for age in kept:
            check = _age(platform, rec, dest, age)
            proof.ages.append(check)
            if not check.present or check.sha256 != sha256:
                return proof
        platform.set_clock_offset(_offset_for(policy + PAST_POLICY, rec))
        platform.purge()
        proof.purged_past_policy = platform.get_recording(rec.name) is None
        return proof
    finally:
        platform.set_clock_offset(0)


def _age(platform: Platform, rec: RecordingInfo, dest: Path, age: float) -> AgeCheck:
    platform.set_clock_offset(_offset_for(age, rec))
    purged = platform.purge()
    still = platform.get_recording(rec.name)
    if still is None:
        return AgeCheck(age, False, None, len(purged))
    folder = dest / f"day-{age:g}"
    folder.mkdir(parents=True, exist_ok=True)
    return AgeCheck(age, True, sha256_of(platform.fetch(still, folder)), len(purged))


@dataclass
class CanaryReport:
    """What re-verifying the ledger's canaries found."""

    verified: list[tuple[Canary, float]] = field(default_factory=list)  # with age in days
    problems: list[str] = field(default_factory=list)
    retired: list[Canary] = field(default_factory=list)  # gone since a clock proof purged them
    too_old: int = 0  # past the required days: no longer owed

    def measurements(self) -> dict[str, Any]:
        oldest = max((age for _, age in self.verified), default=None)
        return {"verified": [{"name": c.name, "run_id": c.run_id, "age_days": round(a, 3),
                              "sha256": c.sha256} for c, a in self.verified],
                "oldest_verified_age_days": round(oldest, 3) if oldest is not None else None,
                "retired_by_clock_proof": [c.name for c in self.retired],
                "past_required_days": self.too_old, "problems": self.problems}


def verify_canaries(platform: Platform, ledger: Ledger, target: str, run_id: str,
                    min_days: int, dest: Path) -> CanaryReport:
    """Re-verify every canary of earlier runs younger than ``min_days``."""
    report = CanaryReport()
    now = datetime.now(UTC)
    proof = ledger.last_clock_proof(target)
    for canary in ledger.canaries(target):
        age = canary.age_days(now)
        if canary.run_id == run_id:
            continue  # made by this run: checked when it was made
        if age >= min_days:
            report.too_old += 1
        else:
            retired = proof is not None and canary.created_utc < proof
            _verify(platform, ledger, canary, (run_id, min_days, retired), age, dest, report)
    return report


def _verify(platform: Platform, ledger: Ledger, canary: Canary, run: tuple[str, int, bool],
            age: float, dest: Path, report: CanaryReport) -> None:
    """Re-download one canary; one missing since a clock proof was purged by it, not lost."""
    run_id, min_days, retired = run
    made = f"canary {canary.name} (run {canary.run_id}, {age:.1f} days old)"
    rec = platform.get_recording(canary.name)
    if rec is None and retired:
        report.retired.append(canary)
        ledger.record_check(canary, run_id, "retired", "purged by a later clock-offset proof")
        return
    if rec is None:
        report.problems.append(f"{made} is no longer retrievable, though recordings must be kept "
                               f"{min_days} days ({KEPT})")
        ledger.record_check(canary, run_id, "missing")
        return
    dest.mkdir(parents=True, exist_ok=True)
    digest = sha256_of(platform.fetch(rec, dest))
    if digest != canary.sha256:
        report.problems.append(f"{made} has changed: SHA-256 {digest[:16]}... now, "
                               f"{canary.sha256[:16]}... when recorded ({UNCHANGED})")
        ledger.record_check(canary, run_id, "changed", digest)
        return
    report.verified.append((canary, age))
    ledger.record_check(canary, run_id, "ok")
