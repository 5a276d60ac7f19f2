"""``ccharness watch`` against the real reference platform: two rounds of a real ``ccharness run``
a few seconds apart; between them the platform dies, so the second round's verdict is an ERROR
(the run survives it), and that change reaches a webhook served by the test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from harness.evidence.runbook import RunBook
from tests.marks import ON_REFERENCE
from tests.reference.conftest import PROJECT, RefPlatform
from tests.reference.scenario_run import profile_for
from tests.watch.test_watch import Receiver

pytestmark = ON_REFERENCE

GREETING = """\
name: The platform answers with its greeting
deadline: 30s
steps:
  - call: {to: "did:main"}
  - expect_answer: {within: 5s}
  - expect_prompt: {prompt: welcome, within: 3s}
  - hangup
"""
ROUND_DEADLINE = 240.0


def _line(proc: subprocess.Popen[str], wanted: str, seen: list[str]) -> str:
    """Read the watch's output until a line holding ``wanted`` (the watch's rounds have deadlines)."""
    assert proc.stdout is not None
    started = time.monotonic()
    while time.monotonic() - started < ROUND_DEADLINE:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line.rstrip())
        if wanted in line:
            return line
    raise AssertionError(f"no line with {wanted!r}; the watch said:\n" + "\n".join(seen))


def _kill(state_dir: Path) -> None:
    """The platform dies at once: every process group it wrote a pid file for (itself, Kamailio)."""
    for pid_file in state_dir.rglob("*.pid"):
        try:
            os.killpg(int(pid_file.read_text().strip()), signal.SIGKILL)
        except (OSError, ValueError):
            pass


def test_watch_reports_a_platform_that_went_down_to_the_webhook(tmp_path: Path) -> None:
    ref = RefPlatform(tmp_path / "platform", workers=1).start()
    receiver = Receiver()
    proc = None
    try:
        profile = profile_for(ref, tmp_path)
        scenario = tmp_path / "greeting.scenario.yaml"
        scenario.write_text(GREETING, encoding="utf-8")
        reports = tmp_path / "reports"
        proc = subprocess.Popen(
            [sys.executable, "-m", "harness.cli", "watch", "--target", str(profile), "--suite", str(scenario),
             "--reports", str(reports), "--every", "5s", "--rounds", "2", "--hook-url", receiver.url],
            cwd=PROJECT, env={**os.environ, **ref.secrets}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
        seen: list[str] = []
        _line(proc, "round 1: 1 scenario(s): 1 passed", seen)
        _line(proc, "next round at", seen)
        _kill(ref.state_dir)  # at once: the next round starts 5 s after the line
        _line(proc, "round 2: 1 scenario(s): 0 passed, 0 not conformant, 1 error", seen)
        changed = _line(proc, "CHANGED ", seen)
        assert "greeting: passed -> error" in changed
        _line(proc, "2 round(s) done", seen)
        assert proc.wait(30) == 0
        (body,) = receiver.bodies
        (event,) = body["events"]
        assert (event["event"], event["from"], event["to"]) == ("verdict_changed", "passed", "error")
        assert "waited 10.0s for registration" in event["message"], event["message"]
        assert body["report"].endswith("report.html") and Path(body["report"]).exists()
        runs = RunBook.of_reports(reports).runs()
        assert [r.exit_status for r in runs] == [0, 1]
        assert (reports / "history.html").exists()
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        receiver.close()
        ref.stop()
