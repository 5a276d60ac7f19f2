"""Run folders as ``ccharness run`` leaves them (``evidence.jsonl`` records), written by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
GREETING = "/suite/ivr/greeting.scenario.yaml"
QUEUE = "/suite/acd/queue.scenario.yaml"


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def scenario(file: str, verdict: str, start: datetime, seconds: float = 10.0, score: float = 0.97,
             answered: float = 0.05) -> dict[str, Any]:
    """A ``scenario`` record: a call, its answer, one prompt heard (and a failure when not passed)."""
    failed = verdict != "passed"
    return {"type": "scenario", "file": file, "folder": Path(file).stem, "name": f"scenario {Path(file).stem}",
            "description": "", "licence_item": None, "tags": [], "verdict": verdict,
            "failed_step": "expect_prompt" if failed else None,
            "message": "expect_prompt (line 9): welcome not heard within 3s" if failed else "",
            "started_utc": _iso(start), "ended_utc": _iso(start + timedelta(seconds=seconds)),
            "steps": [
                {"index": 0, "kind": "call", "line": 5, "spec": {"call": "c1"}, "status": "passed", "detail": "",
                 "at_s": 0.0, "took_s": 0.1, "measurements": {}},
                {"index": 1, "kind": "expect_answer", "line": 7, "spec": {"call": "c1"}, "status": "passed",
                 "detail": "", "at_s": 0.1, "took_s": 0.1, "measurements": {"answered_after_s": answered}},
                {"index": 2, "kind": "expect_prompt", "line": 9, "spec": {"call": "c1", "prompt": "welcome"},
                 "status": "failed" if failed else "passed", "detail": "", "at_s": 0.2, "took_s": 3.0,
                 "measurements": {"score": score, "start_s": 0.4, "heard": True}}],
            "calls": []}


def write_run(reports: Path, run_id: str, start: datetime, scenarios: list[dict[str, Any]],
              ended: bool = True, target: str = "staging", faults: tuple[str, ...] = (),
              exit_status: int | None = None) -> Path:
    """``reports/<run_id>/evidence.jsonl`` with a run record, the scenarios and (``ended``) an end
    (exit 1 if a scenario did not pass, or ``exit_status``)."""
    folder = reports / run_id
    folder.mkdir(parents=True, exist_ok=True)
    records = [{"type": "run", "run_id": run_id, "started_utc": _iso(start), "t0_wall": start.timestamp(),
                "target": {"name": target, "host": "127.0.0.1", "port": 5160, "transport": "udp"},
                "reference_faults": list(faults), "command": []}]
    records += scenarios
    if ended:
        bad = any(s["verdict"] != "passed" for s in scenarios)
        records.append({"type": "end", "ended_utc": _iso(start + timedelta(seconds=60)),
                        "exit_status": int(bad) if exit_status is None else exit_status, "duration_s": 60.0})
    (folder / "evidence.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return folder


def series(reports: Path, verdicts: str, scores: list[float] | None = None) -> list[str]:
    """One run per letter of ``verdicts`` (P passed, F not conformant, E error, - not run) for the
    greeting scenario, the queue scenario passing in each; the run ids."""
    word = {"P": "passed", "F": "not_conformant", "E": "error"}
    ids = []
    for i, letter in enumerate(verdicts):
        start = T0 + timedelta(hours=i)
        run_id = start.strftime("%Y%m%dT%H%M%SZ")
        found = [scenario(QUEUE, "passed", start, 20.0)]
        if letter != "-":
            score = scores[i] if scores else 0.97
            found.insert(0, scenario(GREETING, word[letter], start, 10.0 + i, score))
        write_run(reports, run_id, start, found)
        ids.append(run_id)
    return ids
