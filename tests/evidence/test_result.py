"""The typed scenario result: built from a run's records without a call, written as the
``scenario`` record of ``evidence.jsonl`` in the shape the report has always read, and read back.

The run is a real ``ScenarioRun`` whose step records and call timeline are set by hand (the
events a phone would have sent), so no phone starts and no SIP is sent.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness.errors import ExpectationFailed, TargetError
from harness.evidence.records import EvidenceLog
from harness.evidence.result import CallLeg, ScenarioResult, message_of, verdict_of
from harness.runner.result import result_of
from harness.runner.run import CallState, ScenarioRun, StepRecord
from harness.scenario.model import Audio, CallerSpec, Scenario, Tone
from harness.sip.timeline import CallTimeline, Event
from harness.spec.yamlmarks import Mark
from harness.steps.play import PlayStep
from harness.steps.registry import BY_MODEL
from harness.steps.wait import WaitStep

ROOT = Path(__file__).resolve().parents[2]
T0 = 1000.0  # the run's monotonic start
INVITE = "INVITE sip:100@127.0.0.1:5070 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5060\n\n"
OK = "SIP/2.0 200 OK\nVia: SIP/2.0/UDP 127.0.0.1:5060\n\n"


def _event(kind: str, t: float, **data: Any) -> Event:
    return Event(kind, "caller-caller", T0 + t, 1.7e9 + t, "h1", data)


def _timeline(folder: Path) -> CallTimeline:
    tl = CallTimeline("caller-caller", "h1", T0 + 2.0, "caller-caller -> sip:100@127.0.0.1:5070")
    capture = folder / "capture-h1.wav"
    capture.write_bytes(b"RIFF")
    for event in (_event("call", 2.0, state="CALLING", sip_call_id="abc@host"),
                  _event("call", 2.1, state="EARLY", code=180),
                  _event("call", 2.3, state="CONFIRMED", code=200),
                  _event("media", 2.3, active=True, srtp=None),
                  _event("capture", 2.3, path=str(capture)),
                  _event("dtmf", 3.0, digit="2", method="rfc4733"),
                  _event("call", 4.5, state="DISCONNECTED", code=200, reason="Normal call clearing")):
        tl.add(event)
    return tl


@pytest.fixture
def run(tmp_path: Path) -> Iterator[ScenarioRun]:
    """Two steps taken (a wait, then a play that failed) and one caller leg with its SIP trace."""
    mark = Mark(tmp_path / "s.scenario.yaml", 7, 5)
    tone = Audio(tone=Tone((440.0,), 0.5))
    scenario = Scenario(tmp_path / "s.scenario.yaml", "plays a tone", "A tone into the call.", 10.0,
                        (CallerSpec("caller", "caller"),), (), (WaitStep(0.1), PlayStep("c1", tone, mark=mark)),
                        tags=("loopback",), licence_item="ivr")
    folder = tmp_path / "run" / "s"
    run = ScenarioRun(scenario, SimpleNamespace(), None, folder, kinds=BY_MODEL)  # type: ignore[arg-type]
    run.records = [StepRecord(0, "wait", T0 + 0.5, T0 + 0.6),
                   StepRecord(1, "play", T0 + 0.6, T0 + 1.8, "failed", "it did not play",
                              {"played_s": 0.25, "seen": {"b", "a"}, "file": folder / "x.wav", "ids": (1, 2)})]
    tl = _timeline(folder)
    run.board.timelines[("caller-caller", "h1")] = tl
    run.calls["c1"] = CallState("c1", "caller", "caller-caller", tl)
    run.caller_phone = {"caller": "caller-caller"}
    sip = [_event("sip", 2.0, dir="TX", peer="127.0.0.1:5070", text=INVITE, sip_call_id="abc@host"),
           _event("sip", 2.3, dir="RX", peer="127.0.0.1:5070", text=OK, sip_call_id="abc@host")]
    run.board.sip_trace = lambda timeline: sip if timeline is tl else []  # type: ignore[method-assign]
    (folder / "sip-caller-caller-h1.txt").write_text(INVITE + OK)
    try:
        yield run
    finally:
        run.close()


def _failed(run: ScenarioRun) -> ExpectationFailed:
    return ExpectationFailed(run.scenario.path, "play", "it did not play")


# The scenario record exactly as harness/evidence/records.py wrote it before there was a result.
def _expected(run: ScenarioRun, result: ScenarioResult) -> dict[str, Any]:
    folder = run.work_dir
    return {
        "type": "scenario", "file": str(run.scenario.path), "folder": "s", "name": "plays a tone",
        "description": "A tone into the call.", "licence_item": "ivr", "tags": ["loopback"],
        "verdict": "not_conformant", "failed_step": "play", "message": "play: it did not play",
        "started_utc": "2023-11-14T22:13:20.000+00:00", "ended_utc": result.ended_utc,
        "steps": [
            {"index": 0, "kind": "wait", "line": None, "spec": {"duration": 0.1}, "status": "passed",
             "detail": "", "at_s": 0.5, "took_s": 0.1, "measurements": {}},
            {"index": 1, "kind": "play", "line": 7,
             "spec": {"call": "c1", "audio": {"prompt": None, "file": None,
                                              "tone": {"freqs": [440.0], "duration": 0.5, "level_dbfs": -12.0},
                                              "loop": False}, "wait": True},
             "status": "failed", "detail": "it did not play", "at_s": 0.6, "took_s": 1.2,
             "measurements": {"played_s": 0.25, "seen": ["a", "b"], "file": str(folder / "x.wav"), "ids": [1, 2]}},
        ],
        "calls": [{
            "phone": "caller-caller", "role": "caller caller", "handle": "h1", "call": "c1",
            "description": "caller-caller -> sip:100@127.0.0.1:5070", "sip_call_id": "abc@host", "at_s": 2.0,
            "media_security": {"active": False, "suite": "", "profile": ""},
            "timeline": "CALLING@0.0s, EARLY(180)@0.1s, CONFIRMED@0.3s, MEDIA_ACTIVE@0.3s, DTMF(2/rfc4733)@1.0s, "
                        "DISCONNECTED(200 Normal call clearing)@2.5s",
            "final": [200, "Normal call clearing"],
            "events": [{"t": 0.0, "kind": "call", "label": "CALLING"},
                       {"t": 0.1, "kind": "call", "label": "EARLY(180)"},
                       {"t": 0.3, "kind": "call", "label": "CONFIRMED"},
                       {"t": 0.3, "kind": "media", "label": "MEDIA_ACTIVE"},
                       {"t": 1.0, "kind": "dtmf", "label": "DTMF(2/rfc4733)"},
                       {"t": 2.5, "kind": "call", "label": "DISCONNECTED(200 Normal call clearing)"}],
            "sip": [{"t": 0.0, "dir": "TX", "peer": "127.0.0.1:5070",
                     "first_line": "INVITE sip:100@127.0.0.1:5070 SIP/2.0"},
                    {"t": 0.3, "dir": "RX", "peer": "127.0.0.1:5070", "first_line": "SIP/2.0 200 OK"}],
            "capture": "s/capture-h1.wav", "trace": "s/sip-caller-caller-h1.txt",
        }],
    }


def test_the_result_is_built_from_the_run_without_a_call(run: ScenarioRun) -> None:
    result = result_of(run, 1.7e9, _failed(run), run.work_dir, T0)
    assert (result.verdict, result.failed_step, result.folder) == ("not_conformant", "play", "s")
    assert [s.kind for s in result.steps] == ["wait", "play"] and result.steps[1].line == 7
    [leg] = result.calls
    assert isinstance(leg, CallLeg) and leg.role == "caller caller" and leg.call == "c1"
    assert leg.final == (200, "Normal call clearing") and [s.dir for s in leg.sip] == ["TX", "RX"]
    # where Allure finds the files on this host: kept in memory, not in the record
    assert leg.trace_file == run.work_dir / "sip-caller-caller-h1.txt"
    assert leg.capture_file == run.work_dir / "capture-h1.wav"


def test_the_evidence_record_keeps_the_shape_the_report_reads(run: ScenarioRun, tmp_path: Path) -> None:
    result = result_of(run, 1.7e9, _failed(run), run.work_dir, T0)
    log = EvidenceLog(tmp_path / "run")
    log.scenario_ended(result)
    [line] = (tmp_path / "run" / "evidence.jsonl").read_text(encoding="utf-8").splitlines()
    assert line == json.dumps(_expected(run, result), ensure_ascii=False)


def test_a_record_read_back_is_the_same_result(run: ScenarioRun) -> None:
    result = result_of(run, 1.7e9, _failed(run), run.work_dir, T0)
    again = ScenarioResult.from_json(json.loads(json.dumps(result.to_json())))
    assert again == result
    assert again.calls[0].trace_file is None  # the host's paths are not in the record
    assert again.to_json() == json.loads(json.dumps(result.to_json()))


def test_a_passing_run_names_no_failed_step(run: ScenarioRun) -> None:
    result = result_of(run, 1.7e9, None, run.work_dir, T0)
    assert (result.verdict, result.failed_step, result.message) == ("passed", None, "")
    assert result.properties() == [("verdict", "passed"), ("licence_item", "ivr")]


@pytest.mark.parametrize(("error", "verdict", "message"), [
    (None, "passed", ""),
    (ExpectationFailed(Path("s.yaml"), "expect_prompt", "not heard"), "not_conformant", "expect_prompt: not heard"),
    (TargetError("no SIP response"), "error", "TargetError: no SIP response"),
    (KeyboardInterrupt(), "error", "KeyboardInterrupt()"),
])
def test_each_outcome_has_its_verdict_and_message(error: BaseException | None, verdict: str, message: str) -> None:
    assert (verdict_of(error), message_of(error)) == (verdict, message)


def test_a_failure_gives_junit_its_verdict_item_and_step(run: ScenarioRun) -> None:
    result = result_of(run, 1.7e9, _failed(run), run.work_dir, T0)
    assert result.properties() == [("verdict", "not_conformant"), ("licence_item", "ivr"), ("failed_step", "play")]


def test_the_evidence_layer_imports_nothing_of_the_runner_or_the_phones() -> None:
    code = ("import sys, harness.evidence.records, harness.evidence.result; "
            "print(sorted(m for m in sys.modules if m.startswith(('harness.runner', 'harness.sip.controller'))))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
