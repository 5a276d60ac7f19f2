"""Nothing is lost when the harness is killed with ``kill -9`` in the middle of a run.

A real ``ccharness run`` against the loopback peer is killed (SIGKILL: no
handler, no teardown) while its second scenario holds a call. Then:

- every phone it started (the peer, the caller) ends by itself once its
  control connection is gone -- no orphan holds a port or a call;
- ``evidence.jsonl`` holds the run record, the first scenario's record, and
  names the scenario that was running; no record is torn;
- ``ccharness report`` renders the folder and says, first, that the run was
  interrupted; the report says so, its overall verdict is not "conformant",
  and the manifest records the run as incomplete (``ccharness verify`` says so);
- the ledger (SQLite) survives writers killed mid-transaction: each kept
  canary is whole or absent, and the database passes ``integrity_check``.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.ports import free_udp_port
from tests.runner.test_rehearsal import LOOPBACK

ROOT = Path(__file__).resolve().parents[2]
CCHARNESS = ROOT / ".venv" / "bin" / "ccharness"
pytestmark = pytest.mark.sip

FIRST = """
name: A short call that ends before the kill
tags: [loopback]
deadline: 30s
steps:
  - call: {to: "did:main"}
  - expect_answer: {within: 5s}
  - expect_prompt: {prompt: greeting, within: 5s}
  - hangup
"""
SECOND = """
name: A long call the harness is killed during
tags: [loopback]
deadline: 60s
steps:
  - call: {to: "did:main"}
  - expect_answer: {within: 5s}
  - wait: 40s
  - hangup
"""


def _profile(folder: Path) -> Path:
    text = LOOPBACK.read_text().replace("port: 5070", f"port: {free_udp_port()}")
    prompts = (LOOPBACK.parent / "../prompts/loopback/prompts.yaml").resolve()
    path = folder / "loopback.yaml"
    path.write_text(text.replace("prompts: ../prompts/loopback/prompts.yaml", f"prompts: {prompts}"))
    return path


def _phones_of(parent: int) -> list[int]:
    """The phone processes ``parent`` started (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"harness.sip.phone" in cmdline:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def _wait_for(condition, timeout: float, what: str):  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() >= end:
            raise AssertionError(f"not within {timeout:g}s: {what}")
        time.sleep(0.1)
    return result


def test_a_run_killed_mid_call_leaves_a_folder_that_says_so(tmp_path: Path) -> None:
    (tmp_path / "a_first.scenario.yaml").write_text(FIRST)
    (tmp_path / "b_second.scenario.yaml").write_text(SECOND)
    reports = tmp_path / "reports"
    run_dir = reports / "killed"
    log = (tmp_path / "run.log").open("wb")
    proc = subprocess.Popen(
        [str(CCHARNESS), "run", str(tmp_path), "--target", str(_profile(tmp_path)), "--reports", str(reports),
         "--run-id", "killed"], cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        evidence = run_dir / "evidence.jsonl"
        _wait_for(lambda: [r for r in _records(evidence) if r["type"] == "scenario_started"
                           and str(r["file"]).endswith("b_second.scenario.yaml")], 90,
                  "the second scenario started")
        time.sleep(5.0)  # its call is up: answered within 5 s, then 40 s of waiting
        phones = _phones_of(proc.pid)
        assert phones, "the run had no phone processes to leave behind"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()

    # no orphans: each phone notices its controller is gone and ends its calls and itself
    _wait_for(lambda: not [p for p in phones if _alive(p)] or None, 15,
              f"phones {[p for p in phones if _alive(p)]} still running after the harness was killed")

    records = _records(run_dir / "evidence.jsonl")  # every line parses: nothing torn
    kinds = [r["type"] for r in records]
    assert kinds[0] == "run" and "end" not in kinds, kinds
    assert [r["name"] for r in records if r["type"] == "scenario"] == ["A short call that ends before the kill"]

    done = subprocess.run([str(CCHARNESS), "report", str(run_dir), "--no-pdf"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith("INTERRUPTED RUN: the evidence has no end record"), done.stdout
    assert "1 scenario(s) ended before it stopped" in first and "b_second.scenario.yaml was running" in first
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "The run was interrupted" in html and "b_second.scenario.yaml" in html
    assert 'class="verdict-box error"' in html  # one passed scenario is no conformant run
    assert json.loads((run_dir / "manifest.json").read_text())["complete"] is False
    check = subprocess.run([str(CCHARNESS), "verify", str(run_dir)], cwd=ROOT, capture_output=True, text=True,
                           timeout=60, check=False)
    assert check.returncode == 0 and check.stdout.startswith("INTERRUPTED RUN"), check.stdout + check.stderr


WRITER = """
import sys, time
from datetime import UTC, datetime
from pathlib import Path
from harness.evidence.ledger import Canary, Ledger

ledger = Ledger(Path(sys.argv[1]))
n = int(sys.argv[2])
while True:
    ledger.add_canary(Canary("t", f"rec-{n}", f"call-{n}", f"{n:064x}", n, datetime.now(UTC), "r", "s"))
    ledger.record_check(ledger.canaries("t")[-1], "r", "present", "x" * 2000)
    print(n, flush=True)
    n += 1
"""


def test_the_ledger_stays_whole_when_its_writer_is_killed(tmp_path: Path) -> None:
    from harness.evidence.ledger import Ledger

    path = tmp_path / "ledger.sqlite"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    next_name = 0
    for round_ in range(8):  # killed at a different moment each time
        proc = subprocess.Popen([sys.executable, str(script), str(path), str(next_name)], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()  # one canary is surely committed before the kill
            assert line, proc.stderr.read().decode() if proc.stderr else ""
            time.sleep(0.05 + 0.03 * round_)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        next_name = len(Ledger(path).canaries("t")) + 1000 * (round_ + 1)
    canaries = Ledger(path).canaries("t")
    assert len(canaries) >= 8
    for c in canaries:  # whole rows: every field written together
        n = int(c.name.removeprefix("rec-"))
        assert (c.call_id, c.sha256, c.size) == (f"call-{n}", f"{n:064x}", n)
