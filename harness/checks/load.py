"""A load run's thresholds: pure functions of the run's merged per-stage statistics.

Locust merges every worker's request events into one statistic per stage
(request type and name, see ``harness/load/call.py``). From those the run's
figures are read as a call centre states them:

* ``setup_p95``: the 95th percentile of set-up time, INVITE to 200 OK, of the
  calls answered (stage ``call/set-up``; a call refused or never answered is
  stage ``call/set-up failed``, so its time to failure does not count);
* ``answer_seizure_ratio``: the share of calls the platform answered;
* ``average_speed_of_answer``: the mean time from the platform's answer to an
  agent's (a menu's time included, for flows through a menu);
* ``abandoned``: the share of calls waiting for an agent that none answered;
* ``failed_calls``: the share of calls whose flow failed;
* ``recordings_found`` and ``audio_verified``: of the calls in the verified
  sample, the share whose recording was found, and whose every prompt matched;
* ``mos_min`` and ``loss_max``: from the calls' ``expect_quality`` figures (not
  Locust's statistics: the workers send them to the master), the MOS the worst
  5 % of the scored calls reached, and the packet loss of the worst 5 % of calls.

A threshold whose figure has no sample (no call reached that stage) is not
met: a run that never queued a call has not shown its speed of answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class StageFigures:
    """One stage's merged statistic: how many, how many failed, mean and 95th percentile (ms)."""

    count: int
    failures: int
    mean_ms: float = 0.0
    p95_ms: float = 0.0


@dataclass(frozen=True)
class Figure:
    value: float | None  # seconds or a share; None: no sample
    of: int  # how many samples it is made from
    unit: str  # "s" or "share"


@dataclass(frozen=True)
class ThresholdVerdict:
    name: str
    limit: float
    figure: Figure
    passed: bool
    text: str


SETUP = "set-up"  # the stage name of a call the platform answered: its time is the set-up time
SETUP_FAILED = "set-up failed"  # the stage name of a call the platform did not answer

# name -> (at least, unit)
THRESHOLDS: dict[str, tuple[bool, str]] = {
    "setup_p95": (False, "s"),
    "answer_seizure_ratio": (True, "share"),
    "average_speed_of_answer": (False, "s"),
    "abandoned": (False, "share"),
    "failed_calls": (False, "share"),
    "recordings_found": (True, "share"),
    "audio_verified": (True, "share"),
    "mos_min": (True, "MOS"),
    "loss_max": (False, "share"),
}
DEFAULT_THRESHOLDS = {"failed_calls": 0.0}  # a profile that gives none: every call must pass


def figures(stages: Mapping[tuple[str, str], StageFigures]) -> dict[str, Figure]:
    """The run's figures from its stages, keyed ``(request type, name)``."""
    def one(kind: str, name: str) -> StageFigures:
        return stages.get((kind, name), StageFigures(0, 0))

    def share_ok(s: StageFigures) -> Figure:
        return Figure((s.count - s.failures) / s.count if s.count else None, s.count, "share")

    setup, answer, abandoned = one("call", SETUP), one("acd", "agent answer"), one("acd", "abandoned")
    refused = one("call", SETUP_FAILED)
    seized = StageFigures(setup.count + refused.count, setup.failures + refused.count)
    flows = [s for (kind, _), s in stages.items() if kind == "flow"]
    calls, failed = sum(s.count for s in flows), sum(s.failures for s in flows)
    queued = answer.count + abandoned.count
    return {
        "setup_p95": Figure(setup.p95_ms / 1000 if setup.count > setup.failures else None,
                            setup.count - setup.failures, "s"),
        "answer_seizure_ratio": share_ok(seized),
        "average_speed_of_answer": Figure(answer.mean_ms / 1000 if answer.count else None, answer.count, "s"),
        "abandoned": Figure(abandoned.count / queued if queued else None, queued, "share"),
        "failed_calls": Figure(failed / calls if calls else None, calls, "share"),
        "recordings_found": share_ok(one("recording", "found")),
        "audio_verified": share_ok(one("verify", "audio")),
    }


def quality_figures(calls: Sequence[Mapping[str, Any]]) -> dict[str, Figure]:
    """From each call's ``expect_quality`` figures: the 5th percentile of the MOS of the calls
    scored (the worst one in twenty), and the 95th percentile of the calls' packet loss."""
    scores = [float(q["mos_lqo"]) for q in calls if q.get("mos_lqo") is not None]
    losses = [float(q["loss_pct"]) / 100 for q in calls if q.get("loss_pct") is not None]
    return {
        "mos_min": Figure(float(np.percentile(scores, 5)) if scores else None, len(scores), "MOS"),
        "loss_max": Figure(float(np.percentile(losses, 95)) if losses else None, len(losses), "share"),
    }


def show(value: float | None, unit: str) -> str:
    if value is None:
        return "no sample"
    if unit == "MOS":
        return f"MOS {value:.2f}"
    return f"{value:.3g}s" if unit == "s" else f"{value * 100:.4g}%"


def judge(thresholds: Mapping[str, float], found: Mapping[str, Figure]) -> list[ThresholdVerdict]:
    """Each threshold against its figure, in the order the profile gave them."""
    out = []
    for name, limit in thresholds.items():
        at_least, unit = THRESHOLDS[name]
        fig = found[name]
        word = "at least" if at_least else "at most"
        if fig.value is None:
            out.append(ThresholdVerdict(name, limit, fig, False,
                                        f"{name}: no call reached this stage, so it cannot be shown to be "
                                        f"{word} {show(limit, unit)}"))
            continue
        ok = fig.value >= limit if at_least else fig.value <= limit
        verb = "met" if ok else "MISSED"
        out.append(ThresholdVerdict(name, limit, fig, ok,
                                    f"{name}: {show(fig.value, unit)} over {fig.of} "
                                    f"({word} {show(limit, unit)}): {verb}"))
    return out
