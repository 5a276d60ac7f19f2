"""One scenario's result, typed: what the evidence log, Allure and JUnit are given.

The runner builds a ``ScenarioResult`` once, as a scenario ends
(``harness.runner.result``); every reader takes that one object and none
looks at the runner's run. ``to_json`` is its one serialization: the
``scenario`` record of ``evidence.jsonl``, which ``from_json`` reads back.

Its fields hold JSON data only (strings, numbers, lists, dicts): a step's
spec and measurements are made plain when the result is built, so what a
reader sees is what the record says. A field marked ``LOCAL`` (where a file
is on this host, for Allure to attach) stays in memory and out of the record.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.errors import ExpectationFailed, HarnessError

VERDICTS = ("passed", "not_conformant", "error")
LOCAL = {"evidence": False}
"""Field metadata: kept in memory for this host's readers, never written to the record."""


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def verdict_of(error: BaseException | None) -> str:
    """``passed``, ``not_conformant`` (an expectation failed) or ``error`` (the run could not decide)."""
    if error is None:
        return "passed"
    if isinstance(error, ExpectationFailed):
        return "not_conformant"
    return "error"


def message_of(error: BaseException | None) -> str:
    """What went wrong, as the report prints it: the step and its detail for a failed expectation."""
    if isinstance(error, ExpectationFailed):
        return f"{error.step}: {error.detail}"
    if error is None:
        return ""
    return f"{type(error).__name__}: {error}" if isinstance(error, HarnessError) else repr(error)


def plain(value: Any) -> Any:
    """``value`` as JSON data, as the evidence log has always written it: a
    dataclass as its fields without ``mark``, a set sorted, a tuple as a list, anything else JSON
    has no type for (a ``Path``, a mapping that is not a dict) as its ``str``."""
    if value is None or isinstance(value, (str, int, float)):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name != "mark"}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return [plain(v) for v in sorted(value)]
    return str(value)


@dataclass(frozen=True)
class StepResult:
    """One scenario step: what it asked for (``spec``), how it ended and what it measured."""

    index: int
    kind: str
    line: int | None  # in the scenario file
    spec: dict[str, Any]
    status: str  # passed, failed, error
    detail: str
    at_s: float  # seconds since the run began
    took_s: float
    measurements: dict[str, Any]


@dataclass(frozen=True)
class CallEvent:
    """A signalling, media, DTMF or playback event of a call leg; ``t`` is seconds into the leg."""

    t: float
    kind: str
    label: str


@dataclass(frozen=True)
class SipLine:
    """The first line of one SIP message of a call leg, sent (TX) or received (RX)."""

    t: float
    dir: str
    peer: str
    first_line: str


@dataclass(frozen=True)
class CallLeg:
    """One call leg a phone saw; ``capture`` and ``trace`` are relative to the run folder."""

    phone: str
    role: str  # "caller c1", "agent alice", or the phone's name
    handle: str
    call: str | None  # the scenario's call id, for a caller's leg
    description: str
    sip_call_id: str | None
    at_s: float
    media_security: dict[str, Any] | None
    timeline: str
    final: tuple[int, str] | None  # the DISCONNECTED code and reason
    events: tuple[CallEvent, ...]
    sip: tuple[SipLine, ...]
    capture: str | None
    trace: str | None
    capture_file: Path | None = field(default=None, compare=False, metadata=LOCAL)
    trace_file: Path | None = field(default=None, compare=False, metadata=LOCAL)


@dataclass(frozen=True)
class ScenarioResult:
    """One scenario's verdict with its steps and call legs."""

    file: str
    folder: str  # the scenario's folder in the run folder
    name: str
    description: str
    licence_item: str | None
    tags: tuple[str, ...]
    verdict: str  # one of VERDICTS
    failed_step: str | None
    message: str
    started_utc: str
    ended_utc: str
    steps: tuple[StepResult, ...]
    calls: tuple[CallLeg, ...]
    ivr_map: str | None = None  # a generated scenario's IVR map picture (SVG), in the run folder
    # earlier attempts that could not decide because this host was busy, each "folder/: why";
    # this record is the last attempt's (plugin.ScenarioItem runs a scenario again only then)
    attempts: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The ``scenario`` record of ``evidence.jsonl`` (``ivr_map`` only for a generated scenario,
        ``attempts`` only for one that was run again)."""
        record = _record(self)
        if record["ivr_map"] is None:
            del record["ivr_map"]
        if not record["attempts"]:
            del record["attempts"]
        return {"type": "scenario", **record}

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> ScenarioResult:
        """A ``scenario`` record read back (without the ``LOCAL`` fields)."""
        fields = {k: v for k, v in record.items() if k != "type"}
        return cls(**{**fields, "tags": tuple(record["tags"]), "attempts": tuple(record.get("attempts", ())),
                      "steps": tuple(StepResult(**s) for s in record["steps"]),
                      "calls": tuple(_leg(c) for c in record["calls"])})

    def properties(self) -> list[tuple[str, str]]:
        """The verdict, licence item and failed step, as JUnit testcase properties."""
        named = [("verdict", self.verdict), ("licence_item", self.licence_item), ("failed_step", self.failed_step)]
        return [(name, value) for name, value in named if value]


def _leg(record: Mapping[str, Any]) -> CallLeg:
    final = record["final"]
    return CallLeg(**{**record, "final": tuple(final) if final is not None else None,
                      "events": tuple(CallEvent(**e) for e in record["events"]),
                      "sip": tuple(SipLine(**s) for s in record["sip"])})


def _record(value: Any) -> Any:
    """Like ``dataclasses.asdict``, leaving out ``LOCAL`` fields; the rest is plain already."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _record(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.metadata.get("evidence", True)}
    if isinstance(value, tuple):
        return [_record(v) for v in value]
    return value
