"""Parallel runs (pytest-xdist): the same verdicts as a serial run, in one run folder.

``ccharness run --workers 2`` runs scenarios in two worker processes, each
with its own phones (RTP band per worker), while the controller process names
the run, writes its run record, runs the platform for both and writes the
end record. Scenarios that use agents or queues share the platform's agents,
so they go to one worker, one after another (xdist's loadgroup); IVR-only
scenarios spread out.

Here a set of scenarios -- two that pass, one that must fail, one with agent
softphones -- is run serially and in parallel against the loopback peer, and
some of the default suite's IVR and ACD scenarios in parallel against the
reference platform with a fault, whose serial verdicts the fault matrix
(tests/faults) holds; the verdicts of each scenario must be the same.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.faults.test_ivr_acd_fault_matrix import MATRIX
from tests.ports import free_udp_port
from tests.runner.test_rehearsal import LOOPBACK, WRONG_PROMPT

ROOT = Path(__file__).resolve().parents[2]
CCHARNESS = ROOT / ".venv" / "bin" / "ccharness"
LOOPBACK_SCENARIOS = ROOT / "fixtures" / "scenarios" / "loopback"
pytestmark = [pytest.mark.sip, pytest.mark.platform]

SECOND_GREETING = """
name: A second caller hears the greeting
tags: [loopback]
deadline: 30s
steps:
  - call: {to: "did:main"}
  - expect_answer: {within: 5s}
  - expect_prompt: {prompt: greeting, within: 5s}
  - hangup
"""


def _profile(folder: Path) -> Path:
    text = LOOPBACK.read_text().replace("port: 5070", f"port: {free_udp_port()}")
    prompts = (LOOPBACK.parent / "../prompts/loopback/prompts.yaml").resolve()
    path = folder / "loopback.yaml"
    path.write_text(text.replace("prompts: ../prompts/loopback/prompts.yaml", f"prompts: {prompts}"))
    return path


def run(paths: list[Path], reports: Path, run_id: str, *extra: str,
        timeout: float = 600) -> tuple[subprocess.CompletedProcess[str], list[dict[str, object]]]:
    done = subprocess.run(
        [str(CCHARNESS), "run", *map(str, paths), "--reports", str(reports), "--run-id", run_id, *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)
    path = reports / run_id / "evidence.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return done, records


def verdicts(records: list[dict[str, object]]) -> dict[str, object]:
    return {str(r["name"]): r["verdict"] for r in records if r["type"] == "scenario"}


def why(records: list[dict[str, object]]) -> str:
    """Each scenario's verdict and message with its calls' timelines: what a mismatch is read from."""
    lines = []
    for r in records:
        if r["type"] == "scenario":
            lines.append(f"{r['name']}: {r['verdict']} {r['message']}")
            lines += [f"    {c['role']}: {c['timeline']}" for c in r["calls"]]  # type: ignore[attr-defined]
    return "\n".join(lines)


def test_parallel_and_serial_runs_agree_against_the_loopback_peer(tmp_path: Path) -> None:
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "wrong_prompt.scenario.yaml").write_text(WRONG_PROMPT)
    (scenarios / "second_greeting.scenario.yaml").write_text(SECOND_GREETING)
    paths = [LOOPBACK_SCENARIOS, scenarios]
    profile = _profile(tmp_path)
    serial, serial_records = run(paths, tmp_path / "reports", "serial", "--target", str(profile))
    parallel, records = run(paths, tmp_path / "reports", "parallel", "--target", str(profile), "--workers", "2")
    assert serial.returncode == 1 and parallel.returncode == 1, parallel.stdout[-4000:] + parallel.stderr[-2000:]
    expected = {
        "Loopback peer greets, then answers DTMF 1 (RFC 4733) and 2 (SIP INFO)": "passed",
        "Two callers reach three agent softphones directly": "passed",
        "Loopback peer is expected to say digit_one first (it says the greeting)": "not_conformant",
        "A second caller hears the greeting": "passed",
    }
    assert verdicts(serial_records) == expected, why(serial_records)
    assert verdicts(records) == expected, why(records)
    assert "gw0" in parallel.stdout and "gw1" in parallel.stdout  # it did run on two workers
    # one run: one run record (the controller's), one end record, one record per scenario
    kinds = [r["type"] for r in records]
    assert kinds.count("run") == 1 and kinds[0] == "run" and kinds.count("end") == 1 and kinds[-1] == "end"
    assert kinds.count("scenario") == kinds.count("scenario_started") == 4
    end = records[-1]
    assert end["exit_status"] == 1
    # every worker's times count from the run's start: each scenario starts within the run
    for r in records:
        if r["type"] == "scenario_started":
            assert 0 <= float(str(r["at_s"])) <= float(str(end["duration_s"]))
    html = (tmp_path / "reports" / "parallel" / "report.html").read_text(encoding="utf-8")
    assert "The run was interrupted" not in html and 'class="verdict-box not_conformant"' in html


# Three IVR-only scenarios (two fail under the fault, one passes) to spread over both workers, and
# two with agents (both pass) that must share one; which scenario fails for what is the fault
# matrix's business (tests/faults), so five are enough here.
REFERENCE_SET = [f"scenarios/{name}.scenario.yaml" for name in (
    "ivr/greeting_and_menu", "ivr/invalid_key", "ivr/queue_routes", "acd/linear")]
FAULT = "ivr_ignores_dtmf"


def test_parallel_and_serial_runs_agree_against_the_reference_with_a_fault(
        tmp_path: Path, default_reference: None) -> None:
    """IVR scenarios spread over two workers while the ones with agents share one; under
    ivr_ignores_dtmf some fail and some pass, each as it does in the fault matrix's serial run
    (tests/faults: the same scenarios under the same fault, one after another, in one process),
    which is the serial verdict this parallel run must match."""
    scenarios, failing = MATRIX[FAULT]
    assert all(p.removeprefix("scenarios/").removesuffix(".scenario.yaml") in scenarios for p in REFERENCE_SET)
    paths = [ROOT / p for p in REFERENCE_SET]
    parallel, records = run(paths, tmp_path / "reports", "parallel", "--reference-fault", FAULT,
                            "--workers", "2", timeout=900)
    assert parallel.returncode == 1, parallel.stdout[-4000:] + parallel.stderr[-2000:]
    serial = {p.removeprefix("scenarios/").removesuffix(".scenario.yaml"): "not_conformant"
              if p.removeprefix("scenarios/").removesuffix(".scenario.yaml") in failing else "passed"
              for p in REFERENCE_SET}
    found = {Path(str(r["file"])).relative_to(ROOT / "scenarios").as_posix().removesuffix(".scenario.yaml"):
             r["verdict"] for r in records if r["type"] == "scenario"}
    assert found == serial, why(records)
    assert set(serial.values()) == {"passed", "not_conformant"}
    # the scenarios with agents all ran on one worker, the IVR ones on both
    ran_on = {m.group(2): m.group(1) for m in re.finditer(
        r"^\[(gw\d+)\] \[\s*\d+%\] (?:PASSED|FAILED|ERROR) (\S+?)::", parallel.stdout, re.MULTILINE)}
    agents = {w for f, w in ran_on.items() if "/acd/" in f or "queue_routes" in f}
    assert len(agents) == 1 and set(ran_on.values()) == {"gw0", "gw1"}, ran_on
