"""A scenario run's result, built once as it ends: the ``ScenarioResult`` every reader is given.

The evidence log, Allure and JUnit read the result, never the run: this is
the one place that walks the run's step records, call board and timelines.
Times are seconds since the run began (``run_t0``, a ``time.monotonic()``
reading); a call leg's events count from the leg's own start.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.evidence.result import (
    CallEvent,
    CallLeg,
    ScenarioResult,
    SipLine,
    StepResult,
    message_of,
    plain,
    utc_now,
    verdict_of,
)
from harness.runner.run import ScenarioRun, StepRecord
from harness.scenario.model import Step
from harness.sip.timeline import CallTimeline

SHOWN_EVENTS = ("call", "media", "dtmf", "play")


def result_of(run: ScenarioRun, started_wall: float, error: BaseException | None,
              folder: Path, run_t0: float) -> ScenarioResult:
    """The scenario's verdict (from ``error``, None if it passed), its steps and its call legs.

    ``folder`` is the scenario's folder in the run folder, where the runner wrote the SIP traces
    (``ScenarioRun.write_traces``): write them first, a trace not on disk is not named."""
    sc = run.scenario
    return ScenarioResult(
        file=str(sc.path), folder=folder.name, name=sc.name, description=sc.description,
        licence_item=sc.licence_item, tags=tuple(sc.tags), verdict=verdict_of(error),
        failed_step=getattr(error, "step", None), message=message_of(error),
        started_utc=datetime.fromtimestamp(started_wall, UTC).isoformat(timespec="milliseconds"),
        ended_utc=utc_now(),
        steps=tuple(step_result(r, sc.steps[r.index], run_t0) for r in run.records),
        calls=tuple(_legs(run, folder, run_t0)),
        ivr_map=ivr_map_of(sc.path, tuple(sc.tags), folder),
    )


IVR_MAP = "ivr-map.svg"
"""The picture ``ccharness discover`` writes beside the suite it generates (DIR/suite/, DIR/ivr-map.svg)."""


def ivr_map_of(path: Path | None, tags: tuple[str, ...], folder: Path) -> str | None:
    """A generated scenario's map picture, copied into its folder for the report (relative to the
    run folder); None for any other scenario, or when the picture is not beside its suite."""
    if "discovered" not in tags or path is None:
        return None
    picture = Path(path).parent.parent / IVR_MAP
    if not picture.is_file():
        return None
    try:  # a picture that cannot be copied costs the report its map, not the scenario its record
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(picture, folder / IVR_MAP)
    except OSError:
        return None
    return _relative(folder / IVR_MAP, folder)


def step_result(record: StepRecord, step: Step, run_t0: float) -> StepResult:
    """One step: its spec (the step's fields as plain data), status, times and measurements."""
    return StepResult(
        index=record.index, kind=record.kind, line=step.mark.line if step.mark else None,
        spec=plain(step), status=record.status, detail=record.detail,
        at_s=round(record.started - run_t0, 3), took_s=round(record.ended - record.started, 3),
        measurements=plain(record.measurements),
    )


def _legs(run: ScenarioRun, folder: Path, run_t0: float) -> Iterator[CallLeg]:
    role = {p: f"caller {n}" for n, p in run.caller_phone.items()}
    role.update({p: f"agent {n}" for n, p in run.agent_phone.items()})
    scenario_ids = {id(c.timeline): c.id for c in run.calls.values()}
    for tl in run.board.timelines.values():
        sip = run.board.sip_trace(tl)
        yield call_leg(tl, role.get(tl.phone, tl.phone), scenario_ids.get(id(tl)), sip, folder, run_t0)


def call_leg(tl: CallTimeline, role: str, call: str | None, sip: list[Any], folder: Path,
             run_t0: float) -> CallLeg:
    """One call leg from its timeline and its SIP messages (``sip`` events)."""
    capture = Path(tl.capture_path) if tl.capture_path else None
    trace = folder / f"sip-{tl.phone}-{tl.handle}.txt"
    return CallLeg(
        phone=tl.phone, role=role, handle=tl.handle, call=call, description=tl.description,
        sip_call_id=tl.sip_call_id, at_s=round(tl.t0 - run_t0, 3),
        media_security=tl.media_security(), timeline=tl.summary(), final=tl.final_status(),
        events=tuple(CallEvent(round(e.t - tl.t0, 3), e.kind, e.label())
                     for e in tl.events if e.kind in SHOWN_EVENTS),
        sip=tuple(SipLine(round(e.t - tl.t0, 3), e.data["dir"], e.data["peer"],
                          e.data["text"].split("\n", 1)[0].strip()) for e in sip),
        capture=_relative(capture, folder), trace=_relative(trace, folder),
        capture_file=capture, trace_file=trace if trace.exists() else None,
    )


def _relative(path: Path | None, folder: Path) -> str | None:
    """``path`` relative to the run folder (the scenario folder's parent); None if it is not on disk."""
    if path is None or not path.exists():
        return None
    try:
        return str(path.resolve().relative_to(folder.parent.resolve()))
    except ValueError:
        return str(path)
