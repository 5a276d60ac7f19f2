"""The run's evidence records: ``reports/<run-id>/evidence.jsonl``.

One JSON object per line, appended and flushed to disk as the run goes and
never rewritten: a ``run`` record when the first scenario starts, one
``scenario`` record as each scenario ends (its verdict, every step with the
measurements behind it, every call leg with its SIP Call-ID, timeline, trace
and audio), and an ``end`` record. The report, the video checklist and the
subtitles are rendered from these records only.

Every record passes through the same redaction as the SIP traces (credential
headers and the target's secret values), so a secret that slipped into a
measurement or a message shows as ``<redacted>``.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import ExpectationFailed, HarnessError
from harness.sip.trace import redact

if TYPE_CHECKING:
    from harness.runner.run import ScenarioRun
    from harness.targets.model import Target

EVIDENCE = "evidence.jsonl"
VERDICTS = ("passed", "not_conformant", "error")


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def harness_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ccharness")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"


def target_secrets(target: Target) -> tuple[str, ...]:
    """The values of every secret the profile names that is set (to redact them)."""
    refs = [a.password for a in target.accounts.values()]
    refs += [v for v in target.adapter.values() if hasattr(v, "reveal")]
    values = []
    for ref in refs:
        value = os.environ.get(ref.env) if ref is not None else None
        if value:
            values.append(value)
    return tuple(values)


class EvidenceLog:
    """Appends records to the run's ``evidence.jsonl``; each line is on disk before the next step."""

    def __init__(self, run_dir: Path, secrets: tuple[str, ...] = ()) -> None:
        self.path = run_dir / EVIDENCE
        self.secrets = secrets
        self.t0_wall = time.time()
        self.t0 = time.monotonic()

    def append(self, record: dict[str, Any]) -> None:
        line = redact(json.dumps(record, ensure_ascii=False, default=_plain), self.secrets)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as out:
            # pytest-xdist workers append to the same file: one whole line at a time
            fcntl.flock(out.fileno(), fcntl.LOCK_EX)
            try:
                out.write(line + "\n")
                out.flush()
                os.fsync(out.fileno())
            finally:
                fcntl.flock(out.fileno(), fcntl.LOCK_UN)

    def join_run(self) -> None:
        """A pytest-xdist worker: take the run's clock from the run record the controller wrote,
        so every worker's times count from the same start."""
        for record in read_evidence(self.path.parent):
            if record.get("type") == "run" and "t0_wall" in record:
                self.t0_wall = float(record["t0_wall"])
                self.t0 = time.monotonic() - (time.time() - self.t0_wall)
                return
        raise HarnessError(f"{self.path}: no run record to join (the controller did not write one)")

    def run_started(self, run_id: str, target: Target, faults: tuple[str, ...], argv: list[str]) -> None:
        lic = target.licence
        self.append({
            "type": "run", "run_id": run_id, "started_utc": utc_now(), "t0_wall": self.t0_wall,
            "harness_version": harness_version(), "host": socket.gethostname(),
            "target": {"name": target.name, "profile": str(target.path), "host": target.host,
                       "port": target.port, "transport": target.transport, "domain": target.domain,
                       "managed": target.managed, "adapter": target.adapter.get("type"),
                       "tls": _tls(target), "srtp": target.srtp},
            "licence": dataclasses.asdict(lic),
            "reference_faults": list(faults),
            "command": argv,
        })

    def scenario_started(self, file: str, name: str) -> None:
        """Before a scenario places its first call: a run killed during it still names it."""
        self.append({"type": "scenario_started", "file": file, "name": name, "started_utc": utc_now(),
                     "at_s": round(time.monotonic() - self.t0, 3)})

    def scenario_ended(self, run: ScenarioRun, started_wall: float, error: BaseException | None,
                       folder: Path) -> None:
        self.append(scenario_record(run, started_wall, error, folder, self.t0))

    def run_ended(self, exit_status: int) -> None:
        self.append({"type": "end", "ended_utc": utc_now(), "exit_status": exit_status,
                     "duration_s": round(time.monotonic() - self.t0, 3)})


def _tls(target: Target) -> dict[str, Any] | None:
    """How the run's TLS was set up; ``verify: false`` is the reader's cue that nobody checked the peer."""
    if target.transport != "tls":
        return None
    t = target.tls
    return {"verify": t.verify, "ca_file": str(t.ca_file) if t.ca_file else None,
            "client_certificate": str(t.cert_file) if t.cert_file else None}


def verdict_of(error: BaseException | None) -> str:
    if error is None:
        return "passed"
    if isinstance(error, ExpectationFailed):
        return "not_conformant"
    return "error"


def scenario_record(run: ScenarioRun, started_wall: float, error: BaseException | None,
                    folder: Path, run_t0: float) -> dict[str, Any]:
    """One scenario's verdict with its steps and call legs; times are seconds since the run began."""
    sc = run.scenario
    message = ""
    if isinstance(error, ExpectationFailed):
        message = f"{error.step}: {error.detail}"
    elif error is not None:
        message = f"{type(error).__name__}: {error}" if isinstance(error, HarnessError) else repr(error)
    return {
        "type": "scenario", "file": str(sc.path), "folder": folder.name, "name": sc.name,
        "description": sc.description, "licence_item": sc.licence_item, "tags": list(sc.tags),
        "verdict": verdict_of(error), "failed_step": getattr(error, "step", None), "message": message,
        "started_utc": datetime.fromtimestamp(started_wall, UTC).isoformat(timespec="milliseconds"),
        "ended_utc": utc_now(),
        "steps": [_step(r, sc.steps[r.index], run_t0) for r in run.records],
        "calls": list(_calls(run, folder, run_t0)),
    }


def _step(record: Any, step: Any, run_t0: float) -> dict[str, Any]:
    spec = {f.name: getattr(step, f.name) for f in dataclasses.fields(step) if f.name != "mark"}
    return {
        "index": record.index, "kind": record.kind, "line": step.mark.line if step.mark else None,
        "spec": spec, "status": record.status, "detail": record.detail,
        "at_s": round(record.started - run_t0, 3), "took_s": round(record.ended - record.started, 3),
        "measurements": record.measurements,
    }


def _calls(run: ScenarioRun, folder: Path, run_t0: float) -> Iterator[dict[str, Any]]:
    role = {p: f"caller {n}" for n, p in run.caller_phone.items()}
    role.update({p: f"agent {n}" for n, p in run.agent_phone.items()})
    scenario_ids = {id(c.timeline): c.id for c in run.calls.values()}
    for (phone, handle), tl in run.board.timelines.items():
        capture = Path(tl.capture_path) if tl.capture_path else None
        trace = folder / f"sip-{phone}-{handle}.txt"
        yield {
            "phone": phone, "role": role.get(phone, phone), "handle": handle,
            "call": scenario_ids.get(id(tl)), "description": tl.description,
            "sip_call_id": tl.sip_call_id, "at_s": round(tl.t0 - run_t0, 3),
            "media_security": tl.media_security(),
            "timeline": tl.summary(), "final": tl.final_status(),
            "events": [{"t": round(e.t - tl.t0, 3), "kind": e.kind, "label": e.label()} for e in tl.events
                       if e.kind in ("call", "media", "dtmf", "play")],
            "sip": [{"t": round(e.t - tl.t0, 3), "dir": e.data["dir"], "peer": e.data["peer"],
                     "first_line": e.data["text"].split("\n", 1)[0].strip()} for e in run.board.sip_trace(tl)],
            "capture": _relative(capture, folder), "trace": _relative(trace, folder),
        }


def _relative(path: Path | None, folder: Path) -> str | None:
    if path is None or not path.exists():
        return None
    try:
        return str(path.resolve().relative_to(folder.parent.resolve()))
    except ValueError:
        return str(path)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value) if f.name != "mark"}
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


def read_evidence(run_dir: Path) -> list[dict[str, Any]]:
    """Every record of a run, in order; a torn last line (a run killed mid-write) is skipped."""
    path = run_dir / EVIDENCE
    if not path.exists():
        raise HarnessError(f"{run_dir} holds no {EVIDENCE}: not a run folder, or no scenario ran")
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            if number < len(path.read_text(encoding="utf-8").splitlines()):
                raise HarnessError(f"{path}:{number}: not a JSON record ({exc.msg})") from None
    return records
