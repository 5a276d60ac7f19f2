"""``ccharness load`` against the reference platform: a Locust master and two local workers.

The run is the command a user types, in its own processes; the test reads what it
wrote. On the conformant platform every call passes (a call the harness could not
judge, on an overloaded host, is allowed and must say so), and Locust's merged
statistics are exactly the sum of what each worker's calls saw. With the media
workers dropping 5 % of their RTP (media_lossy), every call that reached
expect_quality shows the loss in its counters (one that did not failed earlier, or
was undecided on a busy host), the loss threshold (workers' quality figures, sent
to the master) and the failed-calls threshold are missed, the exit status is 1, and
the summary names the lost packets as the cause.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.marks import ON_REFERENCE
from tests.ports import free_tcp_port
from tests.reference.conftest import PROJECT, RefPlatform
from tests.reference.scenario_run import profile_for

pytestmark = ON_REFERENCE

FLOWS = PROJECT / "scenarios" / "load" / "flows"
RUN_LIMIT = 240.0  # seconds: 15 s of calls, the last ones finishing, and every process started and stopped


def profile(folder: Path, flows: list[str], agents: bool, more: str = "") -> Path:
    text = "\n".join([
        "name: test load",
        "callers: {count: 3, spawn_rate: 3}",
        "duration: 15s",
        "flows:",
        *[f"  - {{scenario: {FLOWS / name}.flow.yaml}}" for name in flows],
        *(["agents: {accounts: [agent1, agent2, agent3], answer_after: 0.5s, talk: {min: 2.5s, max: 3.5s}}"]
          if agents else []),
        "verify: {sample: 50%}",
        f"thresholds: {{failed_calls: 0%, answer_seizure_ratio: 100%{', ' + more if more else ''}}}",
    ])
    path = folder / "test.load.yaml"
    path.write_text(text + "\n", encoding="utf-8")
    return path


def load(ref: RefPlatform, folder: Path, load_profile: Path, monkeypatch: pytest.MonkeyPatch
         ) -> tuple[subprocess.CompletedProcess[str], Path]:
    for name, value in ref.secrets.items():
        monkeypatch.setenv(name, value)
    out = folder / "run"
    cmd = [sys.executable, "-m", "harness.cli", "load", str(load_profile),
           "--target", str(profile_for(ref, folder)), "--headless", "--workers", "2",
           "--master-port", str(free_tcp_port()), "--seed", "5", "--out", str(out)]
    done = subprocess.run(cmd, cwd=PROJECT, capture_output=True, text=True, timeout=RUN_LIMIT,
                          stdin=subprocess.DEVNULL, check=False)
    return done, out


def calls(out: Path) -> dict[str, list[dict[str, Any]]]:
    return {p.name: [json.loads(line) for line in p.read_text().splitlines()]
            for p in sorted(out.glob("calls-w*.jsonl"))}


def merged(out: Path) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str]]]:
    counts: Counter[tuple[str, str]] = Counter()
    failures: Counter[tuple[str, str]] = Counter()
    with (out / "locust_stats.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            if row["Name"] != "Aggregated":
                counts[(row["Type"], row["Name"])] = int(row["Request Count"])
                failures[(row["Type"], row["Name"])] = int(row["Failure Count"])
    return counts, failures


def test_two_workers_merge_exactly_and_the_conformant_platform_passes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ref = RefPlatform(tmp_path / "platform").start()
    try:
        done, out = load(ref, tmp_path, profile(tmp_path, ["opening_hours", "sales_queue"], True),
                         monkeypatch)
    finally:
        ref.stop()
    said = done.stdout + done.stderr
    assert done.returncode in (0, 1), said
    by_worker = calls(out)
    workers = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                        for p in sorted(out.glob("locust-worker-*.log")))
    assert set(by_worker) == {"calls-w0.jsonl", "calls-w1.jsonl"}, f"{said}\n{workers}"
    assert all(by_worker.values()), f"a worker placed no call: {by_worker}\n{said}"
    everything = [c for cs in by_worker.values() for c in cs]
    counts: Counter[tuple[str, str]] = Counter()
    failures: Counter[tuple[str, str]] = Counter()
    for call in everything:
        for kind, name, _, error in call["stages"]:
            counts[(kind, name)] += 1
            failures[(kind, name)] += error is not None
    assert merged(out) == (counts, failures), said  # Locust's merge is the sum of the workers' calls
    judged = [c for c in everything if c["failure"] and not c["error"]]
    assert not judged, f"the conformant platform failed calls: {[c['failure'] for c in judged]}\n{said}"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["passed"] is (done.returncode == 0), said
    assert done.returncode == 0 or all(c["error"] for c in everything if c["failure"]), said
    assert counts[("acd", "agent answer")] >= 1 and counts[("verify", "audio")] >= 1, counts
    assert counts[("recording", "found")] >= 1 and not failures[("recording", "found")], counts
    assert "summary.json:" in done.stdout and "set-up p95" in done.stdout, said  # progress and paths
    assert "<svg" in (out / "load-report.html").read_text(encoding="utf-8")


def test_lossy_media_misses_the_thresholds_and_the_run_says_why(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ref = RefPlatform(tmp_path / "platform", ("media_lossy",)).start()
    try:
        done, out = load(ref, tmp_path, profile(tmp_path, ["opening_hours"], False, "loss_max: 1%"),
                         monkeypatch)
    finally:
        ref.stop()
    said = done.stdout + done.stderr
    assert done.returncode == 1, said
    summary = json.loads((out / "summary.json").read_text())
    verdicts = {t["name"]: t for t in summary["thresholds"]}
    assert not verdicts["loss_max"]["passed"] and verdicts["loss_max"]["value"] >= 0.02, verdicts
    assert not verdicts["failed_calls"]["passed"], verdicts  # each flow's expect_quality failed too
    placed = [c for cs in calls(out).values() for c in cs]
    measured = [c for c in placed if c["quality"]]
    assert measured and all(c["quality"]["rx_lost"] > 0 for c in measured), placed
    # A call with no figures never reached expect_quality's judgement: it failed at an earlier
    # step, or the harness could not decide (HostBusy, on an overloaded host) and says so.
    unmeasured = [c for c in placed if not c["quality"]]
    assert all(c["failure"] and (c["error"] or not c["failure"].startswith("expect_quality"))
               for c in unmeasured), [c["failure"] for c in unmeasured]
    assert any("of the audio packets were lost" in f["cause"] for f in summary["failures_by_cause"]), summary
    assert "loss_max" in done.stdout and "MISSED" in done.stdout, said
