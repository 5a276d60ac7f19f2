"""A target's last runs, per scenario: verdicts, durations, and the figures worth a trend.

Pure: it takes the run book's rows and returns what ``ccharness history``
prints and its page draws. A scenario *flaps* when its verdict changed at
least twice over the runs shown (passed, failed, passed again): the kind of
scenario a team must look at before trusting either verdict.
"""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.evidence.runbook import FigureRow, ResultRow, RunRow

FLAPPING = 2
"""Verdict changes over the runs shown from which a scenario is called flapping."""


@dataclass(frozen=True)
class Measure:
    """A figure kept as a trend: its label, unit, and which way is better."""

    label: str
    unit: str
    higher_is_better: bool


TRENDED: dict[tuple[str, str], Measure] = {
    ("expect_prompt", "score"): Measure("prompt score", "", True),
    ("expect_answer", "answered_after_s"): Measure("set-up (INVITE to answer)", "s", False),
    ("originate", "agent_rung_after_s"): Measure("click-to-call rings the agent after", "s", False),
    ("expect_quality", "mos_lqo"): Measure("MOS-LQO", "", True),
    ("expect_quality", "rx_jitter_ms"): Measure("jitter", "ms", False),
}
"""The step figures ``history`` follows; the run book keeps every figure, for later."""

VERDICT_LETTER = {"passed": "P", "not_conformant": "F", "error": "E", "interrupted": "i", None: "-"}
DECIDED = ("passed", "not_conformant", "error")
"""Verdicts that count; ``interrupted`` is the error of a scenario its run was stopped in."""


@dataclass(frozen=True)
class Trend:
    """One figure of one scenario, run by run (None where that run did not measure it)."""

    label: str
    measure: Measure
    values: tuple[float | None, ...]

    @property
    def measured(self) -> list[float]:
        return [v for v in self.values if v is not None]

    def worse_than_usual(self) -> bool:
        """The latest value is beyond every earlier one, on the worse side."""
        if self.values[-1] is None or len(self.measured) < 3:
            return False
        earlier = self.measured[:-1]
        last = self.values[-1]
        return last < min(earlier) if self.measure.higher_is_better else last > max(earlier)


def short_name(file: str) -> str:
    """``ivr/greeting_and_menu`` for ``.../scenarios/ivr/greeting_and_menu.scenario.yaml``."""
    path = Path(file)
    stem = path.name.removesuffix(".scenario.yaml").removesuffix(".yaml")
    return f"{path.parent.name}/{stem}" if path.parent.name else stem


@dataclass(frozen=True)
class ScenarioHistory:
    """One scenario over the runs shown, oldest first."""

    file: str
    name: str
    verdicts: tuple[str | None, ...]  # None: not in that run; "interrupted": its run was stopped in it
    durations: tuple[float | None, ...]
    messages: tuple[str, ...]  # the message of each run that did not pass, with the run id
    trends: tuple[Trend, ...]

    @property
    def short(self) -> str:
        return short_name(self.file)

    @property
    def decided(self) -> list[str]:
        return [v for v in self.verdicts if v in DECIDED]

    @property
    def changes(self) -> int:
        return sum(1 for a, b in itertools.pairwise(self.decided) if a != b)

    @property
    def flapping(self) -> bool:
        return self.changes >= FLAPPING

    @property
    def last(self) -> str | None:
        return self.decided[-1] if self.decided else None

    @property
    def previous(self) -> str | None:
        return self.decided[-2] if len(self.decided) > 1 else None

    @property
    def gone(self) -> bool:
        """Not in the latest run (renamed, moved, deleted, or left out of it)."""
        return self.verdicts[-1] is None

    def strip(self) -> str:
        """``PPFPE-P``: one letter per run, oldest first (- where it did not run)."""
        return "".join(VERDICT_LETTER.get(v, "?") for v in self.verdicts)


@dataclass(frozen=True)
class History:
    """A target's last runs and its scenarios over them."""

    target: str
    runs: tuple[RunRow, ...]
    scenarios: tuple[ScenarioHistory, ...]

    @property
    def flapping(self) -> list[ScenarioHistory]:
        return [s for s in self.scenarios if s.flapping]


def history(target: str, runs: Sequence[RunRow], results: Sequence[ResultRow],
            figures: Sequence[FigureRow]) -> History:
    """The history of ``runs`` (oldest first) from their results and figures."""
    order = {r.run_id: i for i, r in enumerate(runs)}
    by_file: dict[str, dict[int, ResultRow]] = defaultdict(dict)
    for result in results:
        if result.run_id in order:
            by_file[result.file][order[result.run_id]] = result

    def verdict(i: int, seen: dict[int, ResultRow]) -> str | None:
        if i not in seen:
            return None
        stopped = runs[i].interrupted and seen[i].verdict == "error"
        return "interrupted" if stopped else seen[i].verdict

    trends = _trends(figures, order, len(runs))
    scenarios = []
    for file, seen in by_file.items():
        latest = seen[max(seen)]
        scenarios.append(ScenarioHistory(
            file, latest.name, tuple(verdict(i, seen) for i in range(len(runs))),
            tuple(seen[i].duration_s if i in seen else None for i in range(len(runs))),
            tuple(f"{runs[i].run_id}: {seen[i].message}" for i in sorted(seen)
                  if seen[i].verdict != "passed"),
            trends.get(file, ())))
    scenarios.sort(key=lambda s: (s.gone, not s.flapping, s.last == "passed", s.short))
    return History(target, tuple(runs), tuple(scenarios))


def _trends(figures: Sequence[FigureRow], order: dict[str, int], count: int) -> dict[str, tuple[Trend, ...]]:
    """Per scenario file, a trend per followed figure: (kind, name, subject) and, when a scenario
    measures it more than once, which time (a step added elsewhere does not split the series)."""
    series: dict[str, dict[tuple[str, str, str, int], list[float | None]]] = defaultdict(dict)
    times: dict[tuple[str, str, str, str, str], int] = defaultdict(int)
    for f in sorted(figures, key=lambda f: (f.run_id, f.file, f.step)):
        if (f.kind, f.name) not in TRENDED or f.run_id not in order:
            continue
        nth = times[(f.run_id, f.file, f.kind, f.name, f.subject)]
        times[(f.run_id, f.file, f.kind, f.name, f.subject)] += 1
        values = series[f.file].setdefault((f.kind, f.name, f.subject, nth), [None] * count)
        values[order[f.run_id]] = f.value
    out: dict[str, tuple[Trend, ...]] = {}
    for file, by_key in series.items():
        for_subject: dict[tuple[str, str, str], int] = defaultdict(int)
        for kind, name, subject, _ in by_key:
            for_subject[(kind, name, subject)] += 1
        trends = []
        for (kind, name, subject, nth), values in sorted(by_key.items()):
            measure = TRENDED[(kind, name)]
            label = f"{measure.label} {subject}".strip()
            if for_subject[(kind, name, subject)] > 1:
                label += f" (#{nth + 1})"
            trends.append(Trend(label, measure, tuple(values)))
        out[file] = tuple(trends)
    return out


BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float | None]) -> str:
    """One block per run (a space where none), scaled between the series' own min and max."""
    known = [v for v in values if v is not None]
    if not known:
        return " " * len(values)
    low, high = min(known), max(known)
    span = high - low
    return "".join(" " if v is None else BLOCKS[int((v - low) / span * (len(BLOCKS) - 1)) if span else 3]
                   for v in values)


def number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    text = f"{value:.3f}" if abs(value) < 1 else f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    return f"{text} {unit}".strip() if unit else text


def lines(found: History) -> list[str]:
    """What ``ccharness history`` prints for one target."""
    runs = found.runs
    out = [f"target {found.target}: {len(runs)} run(s), {runs[0].run_id} .. {runs[-1].run_id} "
           f"(verdicts oldest first: P passed, F not conformant, E error, i its run was stopped in it, "
           f"- not run)"]
    for run in runs:
        state = ("INCOMPLETE (no end record)" if not run.complete else
                 "INTERRUPTED" if run.interrupted else f"exit {run.exit_status}")
        faults = f", reference faults {', '.join(run.faults)}" if run.faults else ""
        took = f"{run.duration_s:.0f} s" if run.duration_s is not None else "-"
        out.append(f"  run {run.run_id}  {run.address}  {took:>7}  {state}{faults}")
    if found.flapping:
        out.append(f"FLAPPING: {len(found.flapping)} scenario(s) changed verdict {FLAPPING}+ times: "
                   + ", ".join(s.short for s in found.flapping))
    for s in found.scenarios:
        out += _scenario_lines(s)
    return out


def _scenario_lines(s: ScenarioHistory) -> list[str]:
    durations = [d for d in s.durations if d is not None]
    median = statistics.median(durations) if durations else None
    flags = []
    if s.flapping:
        flags.append(f"FLAPPING ({s.changes} changes)")
    elif s.previous is not None and s.previous != s.last:
        flags.append(f"CHANGED {s.previous} -> {s.last}")
    if s.gone:
        flags.append("not in the latest run")
    out = [f"  {s.short:<40} {s.strip()}  last {s.last or '-':<14} duration median {number(median, 's')}, "
           f"last {number(durations[-1] if durations else None, 's')}" + (f"  {'; '.join(flags)}" if flags else "")]
    for trend in s.trends:
        known = trend.measured
        worse = "  WORSE than every earlier run" if trend.worse_than_usual() else ""
        out.append(f"      {trend.label:<44} {sparkline(trend.values)}  last "
                   f"{number(trend.values[-1], trend.measure.unit)}, range {number(min(known), trend.measure.unit)}"
                   f" .. {number(max(known), trend.measure.unit)}{worse}")
    if s.last != "passed" and s.messages:
        out.append(f"      last failure {s.messages[-1]}")
    return out
