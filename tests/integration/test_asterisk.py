"""The harness against a real Asterisk 22 (chan_pjsip, app_queue, MixMonitor, ARI; no AMI).

The dialplan (``asterisk/etc/extensions.conf``) is the reference platform's
IVR and queues; the spool holds 500 older recordings before the first call.
The recording, retention and ACD scenarios must pass run after run, the IVR
ones too; ``ccharness doctor`` must name the template for a dialplan that
filters the Call-ID; and a PBX that records nothing must be NOT CONFORMANT.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.asterisk.pbx import PROJECT, Asterisk
from tests.integration.conftest import ccharness, running

pytestmark = pytest.mark.integration

OWN = Path(__file__).resolve().parent / "asterisk" / "scenarios"
RECORDING = PROJECT / "scenarios" / "recording" / "both_parties_recorded.scenario.yaml"
RETENTION = OWN / "retention" / "kept_six_months.scenario.yaml"  # no clock-offset proof
ACD = [PROJECT / "scenarios" / "acd" / f"{name}.scenario.yaml" for name in (
    "rrmemory", "ringall", "linear", "busy_agent_skipped", "no_answer_failover", "no_agents",
    "sales_queue_agent_answers", "offer_names_caller_and_queue", "hold_music_while_queued")]
IVR = [PROJECT / "scenarios" / "ivr" / f"{name}.scenario.yaml" for name in (
    "greeting_and_menu", "invalid_key", "no_input", "service_menu", "queue_routes")]
SUITE = [RECORDING, RETENTION, *ACD]


def _run(pbx: Asterisk, profile: Path, reports: Path, run_id: str, paths: list[Path]) -> str:
    """``ccharness run``; the run's summary when it is not CONFORMANT, else ''."""
    done = ccharness(pbx, "run", "--target", str(profile), "--reports", str(reports),
                     "--run-id", run_id, *map(str, paths))
    print(f"{run_id}: {done.summary()}")
    return "" if done.code == 0 and done.verdict == "CONFORMANT" else done.summary()


def _steps(run: Path, kind: str) -> list[dict[str, object]]:
    found = []
    for line in (run / "evidence.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        found += [step for step in record.get("steps", []) if step["kind"] == kind]
    return found


def test_recording_retention_and_acd_pass_run_after_run(pbx: Asterisk, tmp_path: Path) -> None:
    profile = pbx.write_profile(tmp_path / "asterisk.yaml")
    reports = tmp_path / "reports"
    failed = [s for s in (_run(pbx, profile, reports, f"run{n}", SUITE) for n in (1, 2)) if s]
    assert not failed, "\n\n".join(failed)
    # the second run re-verified the first run's canaries (the retention scenario's step)
    verified = [c for step in _steps(reports / "run2", "verify_canaries")
                for c in step["measurements"]["verified"]]  # type: ignore[index]
    assert any(c["run_id"] == "run1" for c in verified), verified


def test_ivr_scenarios_pass(pbx: Asterisk, tmp_path: Path) -> None:
    profile = pbx.write_profile(tmp_path / "asterisk.yaml")
    summary = _run(pbx, profile, tmp_path / "reports", "ivr", IVR)
    assert not summary, summary


def test_doctor_names_the_template_of_a_dialplan_that_filters_the_call_id(
    pbx: Asterisk, tmp_path: Path
) -> None:
    profile = pbx.write_profile(tmp_path / "asterisk.yaml", recording_name=None)
    done = ccharness(pbx, "doctor", "--target", str(profile), timeout=300)
    print(done.output)
    line = next((x for x in done.output.splitlines() if "recname" in x), done.output)
    assert 'recording_name: "rec-{call_id|alnum}"' in line, line
    # and a profile with the unfiltered template is told to change it
    wrong = pbx.write_profile(tmp_path / "wrong.yaml", recording_name="rec-{call_id}")
    done = ccharness(pbx, "doctor", "--target", str(wrong), timeout=300)
    print(done.output)
    assert done.code != 0
    assert 'put recording_name: "rec-{call_id|alnum}"' in done.output, done.output


def test_recordings_named_by_uniqueid_are_found_by_markers_in_a_busy_spool(
    asterisk_prefix: Path, tmp_path: Path
) -> None:
    # No Call-ID in the names: 500 older ${UNIQUEID}.wav and the call's own, told apart by time
    # and by the audio markers the phones play into the call.
    with running(asterisk_prefix, "{uniqueid}") as pbx:
        profile = pbx.write_profile(tmp_path / "uniqueid.yaml")
        summary = _run(pbx, profile, tmp_path / "reports", "uniqueid", [RECORDING, RETENTION])
    assert not summary, summary


def test_a_dialplan_without_mixmonitor_is_not_conformant(
    asterisk_prefix: Path, tmp_path: Path
) -> None:
    with running(asterisk_prefix, None) as pbx:
        profile = pbx.write_profile(tmp_path / "unrecorded.yaml", recording_name="rec-{call_id|alnum}")
        done = ccharness(pbx, "run", "--target", str(profile), "--reports", str(tmp_path / "reports"),
                         "--run-id", "unrecorded", str(RECORDING))
    print(done.summary())
    assert done.code == 1 and done.verdict.startswith("NOT CONFORMANT"), done.summary()
    failure = next(x for x in done.output.splitlines() if x.startswith("NOT CONFORMANT:"))
    assert "expect_recording" in failure and "rec-" in failure, failure
