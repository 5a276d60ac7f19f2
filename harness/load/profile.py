"""Load profiles (``scenarios/load/*.load.yaml``): the traffic ``ccharness load`` puts on a platform.

A load profile names its call flows as ordinary scenario files: each is loaded
and checked as ``ccharness run`` would (against the same target), so a flow
that would not run is a problem of the load profile's run, with the flow's own
file, line and field. Every problem of the profile is reported at once, and
nothing starts until there are none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ProfileError, SpecError, TargetError
from harness.scenario.model import Scenario
from harness.spec.checker import Checker, mapping
from harness.spec.schema import Finding, closest, load_schema, validate
from harness.spec.values import BadValue, parse_share
from harness.spec.yamlmarks import DataPath, read_marked
from harness.targets.model import Account, PromptLibrary, Target
from harness.targets.seats import seat_account

SCHEMA = Path(__file__).with_name("schema.yaml")
SUFFIX = ".load.yaml"


@dataclass(frozen=True)
class Flow:
    scenario: Scenario
    weight: int = 1


@dataclass(frozen=True)
class Agents:
    accounts: tuple[Account, ...]  # listed by name, or seat accounts by count
    answer_after: float = 0.5
    talk_min: float = 5.0
    talk_max: float = 20.0


@dataclass(frozen=True)
class LoadProfile:
    path: Path
    name: str
    target: Path | None  # the profile's own default target profile
    callers: int
    spawn_rate: float
    rate: float | None  # calls per second over all callers; None: as fast as flows end
    duration: float
    flows: tuple[Flow, ...]
    agents: Agents | None
    sample: float  # share of calls verified fully
    thresholds: dict[str, float] = field(default_factory=dict)  # name -> seconds or share

    @property
    def pacing(self) -> float | None:
        """Seconds between the starts of one caller's calls, from ``rate``."""
        return self.callers / self.rate if self.rate else None


def read_profile(path: Path) -> tuple[Checker, dict[str, Any], list[Finding]]:
    """The profile's document, checked against the schema only."""
    doc = read_marked(path, "a load profile needs at least callers:, duration: and flows:")
    if not doc.readable:
        raise ProfileError(doc.problems)
    findings = validate(doc, load_schema(SCHEMA))
    chk = Checker(doc, {f.dpath for f in findings})
    return chk, mapping(doc.data), findings


def default_target(path: Path) -> Path | None:
    """The target profile a load profile names for itself (``target:``), if it reads at all."""
    try:
        chk, data, _ = read_profile(path)
    except SpecError:
        return None
    return _named_target(chk, data, path)


def _named_target(chk: Checker, data: dict[str, Any], path: Path) -> Path | None:
    given = chk.get(data, (), "target")
    return (path.parent / given).resolve() if isinstance(given, str) else None


def load_profile(path: Path, target: Target, prompts: PromptLibrary | None) -> LoadProfile:
    """Load and check a load profile and its flows against ``target``; ``ProfileError`` lists
    every problem, the flows' own included."""
    from harness.steps.registry import load_scenario

    chk, data, findings = read_profile(path)
    callers = mapping(chk.get(data, (), "callers"))
    count = int(chk.get(callers, ("callers",), "count") or 1)
    flows = []
    for i, spec in enumerate(chk.get(data, (), "flows") or []):
        at = ("flows", i)
        name = chk.get(mapping(spec), at, "scenario")
        if name is None:
            continue
        where = chk.file(at + ("scenario",), name, "a flow's scenario file")
        if not where.is_file():
            continue
        try:
            flow = load_scenario(where, prompts, target)
        except SpecError as bad:
            chk.problems.extend(bad.problems)
            continue
        _check_flow(chk, at, flow)
        flows.append(Flow(flow, int(chk.get(mapping(spec), at, "weight") or 1)))
    agents = _agents(chk, mapping(chk.get(data, (), "agents")), target) if "agents" in data else None
    if agents is None and any(f.scenario.agents for f in flows):
        chk.report(("flows",), "a flow has agents, but the load profile gives none to answer",
                   "add agents: {accounts: [agent1, ...]}: in a load run the load profile's agents "
                   "answer every flow's queued calls")
    profile = LoadProfile(
        path=path,
        name=str(chk.get(data, (), "name") or path.name.removesuffix(SUFFIX)),
        target=_named_target(chk, data, path),
        callers=count,
        spawn_rate=float(chk.get(callers, ("callers",), "spawn_rate") or count),
        rate=chk.get(callers, ("callers",), "rate"),
        duration=chk.duration(("duration",), chk.get(data, (), "duration")),
        flows=tuple(flows),
        agents=agents,
        sample=_share(chk, ("verify", "sample"), mapping(chk.get(data, (), "verify")).get("sample", 0.1)),
        thresholds=_thresholds(chk, mapping(chk.get(data, (), "thresholds"))),
    )
    problems = chk.all_problems(findings)
    if problems:
        raise ProfileError(problems)
    return profile


def _check_flow(chk: Checker, at: DataPath, flow: Scenario) -> None:
    """A flow is one caller's call: one caller (the load run places it), no seat test inside."""
    if len(flow.callers) != 1:
        chk.report(at + ("scenario",), f"flow {flow.path.name} has {len(flow.callers)} callers; a flow "
                   "is one caller's call", "give the flow's scenario exactly one caller")
    kinds = {type(s).__name__ for s in flow.steps}
    for step in ("ExpectSeatsStep", "ExpectDistributionStep"):
        if step in kinds:
            chk.report(at + ("scenario",), f"flow {flow.path.name} has a {step.removesuffix('Step')} "
                       "step, which proves something over several calls of its own",
                       "run that scenario with ccharness run; keep flows to one caller's call")


def _agents(chk: Checker, spec: dict[str, Any], target: Target) -> Agents:
    at: DataPath = ("agents",)
    names = tuple(chk.get(spec, at, "accounts") or ())
    known = list(target.accounts)
    for i, name in enumerate(names):
        if name not in target.accounts:
            chk.report(at + ("accounts", i), f"'{name}' is not an account of target profile {target.path}",
                       f"{closest(name, known)}its accounts: {', '.join(known) or 'none'}")
    count = chk.get(spec, at, "count")
    accounts: tuple[Account, ...] = tuple(target.accounts[n] for n in names if n in target.accounts)
    if count is not None:
        try:
            accounts = tuple(seat_account(target, "agents", k) for k in range(1, int(count) + 1))
        except TargetError as bad:
            chk.report(at + ("count",), str(bad))
    talk = mapping(chk.get(spec, at, "talk"))
    low = chk.duration(at + ("talk", "min"), chk.get(talk, at + ("talk",), "min")) if talk else 5.0
    high = chk.duration(at + ("talk", "max"), chk.get(talk, at + ("talk",), "max")) if talk else 20.0
    if high < low:
        chk.report(at + ("talk", "max"), f"talk max ({high:g}s) is below talk min ({low:g}s)")
    after = chk.get(spec, at, "answer_after")
    return Agents(accounts, chk.duration(at + ("answer_after",), after, allow_zero=True) if after is not None
                  else 0.5, low, high)


_DURATIONS = ("setup_p95", "average_speed_of_answer")


def _thresholds(chk: Checker, spec: dict[str, Any]) -> dict[str, float]:
    out = {}
    for name, value in spec.items():
        at = ("thresholds", name)
        if not chk.clean(at):
            continue
        out[name] = (chk.duration(at, value, allow_zero=True) if name in _DURATIONS
                     else float(value) if name == "mos_min" else _share(chk, at, value))
    return out


def _share(chk: Checker, at: DataPath, value: Any) -> float:
    if not chk.clean(at):
        return 0.0
    try:
        return parse_share(value)
    except BadValue as bad:
        chk.report(at, bad.message, bad.hint)
        return 0.0
