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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError
from harness.evidence.result import ScenarioResult, plain, utc_now
from harness.sip.trace import redact

if TYPE_CHECKING:
    from harness.targets.model import Target

EVIDENCE = "evidence.jsonl"


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
        line = redact(json.dumps(plain(record), ensure_ascii=False), self.secrets)
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

    def scenario_ended(self, result: ScenarioResult) -> None:
        """The scenario's record: its result, as ``ScenarioResult.to_json`` writes it."""
        self.append(result.to_json())

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


def read_evidence(run_dir: Path) -> list[dict[str, Any]]:
    """Every record of a run, in order; a torn last line (a run killed mid-write) is skipped."""
    path = run_dir / EVIDENCE
    if not path.exists():
        raise HarnessError(f"{run_dir} holds no {EVIDENCE}: not a run folder, or no scenario ran")
    lines = path.read_bytes().split(b"\n")
    if lines and not lines[-1]:
        lines.pop()  # the file ends with a newline, as every whole record does
    records = []
    for number, raw in enumerate(lines, 1):
        try:
            records.append(json.loads(raw.decode("utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            if number < len(lines):  # only the last line may be torn (cut inside a character too)
                why = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
                raise HarnessError(f"{path}:{number}: not a JSON record ({why})") from None
    return records


def unfinished(records: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The ``scenario_started`` records of scenarios that never ended (the run was killed in them)."""
    ended = {r["file"] for r in records if r.get("type") == "scenario"}
    return [r for r in records if r.get("type") == "scenario_started" and r["file"] not in ended]
