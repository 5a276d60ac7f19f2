"""Loading the recording and retention steps: values, defaults, and the order they need."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.errors import ScenarioError
from harness.steps.expect_recording import ExpectRecordingStep
from harness.steps.expect_retention import ExpectRetentionStep
from harness.steps.expect_retention_proof import ExpectRetentionProofStep
from harness.steps.expect_storage import ExpectStorageStep
from harness.steps.play_marker import PlayMarkerStep
from harness.steps.registry import load_scenario
from harness.steps.verify_canaries import VerifyCanariesStep

HEAD = """\
name: recorded
agents:
  alice: {}
steps:
"""


def load(tmp_path: Path, steps: str) -> list[Any]:
    path = tmp_path / "r.scenario.yaml"
    path.write_text(HEAD + steps, encoding="utf-8")
    return list(load_scenario(path, None).steps)


def problems(tmp_path: Path, steps: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load(tmp_path, steps)
    return [p.headline().split(": ", 1)[1] for p in caught.value.problems]


def test_the_full_recording_scenario_loads_with_its_values(tmp_path: Path) -> None:
    steps = load(tmp_path, """\
  - expect_retention: {min_days: 200, clause: "clause 7"}
  - verify_canaries
  - call: {to: "100", id: c1}
  - play_marker
  - play_marker: {party: agent, wait: false}
  - hangup
  - expect_recording: {within: 20s, max_duration_error: 500ms, require_auth: false, canary: true}
  - expect_retention_proof: {min_days: 190, ages: [30, 100.5]}
  - expect_storage
""")
    assert steps[0] == ExpectRetentionStep(200, "clause 7", steps[0].mark)
    assert steps[1] == VerifyCanariesStep(183, steps[1].mark)
    assert steps[3] == PlayMarkerStep("c1", "caller", True, steps[3].mark)
    assert steps[4] == PlayMarkerStep("c1", "agent", False, steps[4].mark)
    rec = steps[6]
    assert isinstance(rec, ExpectRecordingStep)
    assert (rec.call, rec.within, rec.parties, rec.max_duration_error) == (
        "c1", 20.0, ("caller", "agent"), 0.5)
    assert (rec.require_auth, rec.canary) == (False, True)
    assert steps[7] == ExpectRetentionProofStep("c1", 190, (30.0, 100.5), steps[7].mark)
    assert steps[8] == ExpectStorageStep("c1", 183, steps[8].mark)


def test_defaults(tmp_path: Path) -> None:
    steps = load(tmp_path, """\
  - expect_retention
  - call: {to: "100"}
  - play_marker: {party: caller}
  - hangup
  - expect_recording: {parties: [caller]}
""")
    assert steps[0] == ExpectRetentionStep(mark=steps[0].mark)
    rec = steps[4]
    assert isinstance(rec, ExpectRecordingStep)
    assert (rec.within, rec.max_duration_error, rec.require_auth, rec.canary) == (15.0, 1.0, True, False)


def test_a_recording_is_looked_for_only_after_the_call_ended(tmp_path: Path) -> None:
    assert problems(tmp_path, """\
  - call: {to: "100"}
  - play_marker: {party: caller}
  - play_marker: {party: agent}
  - expect_recording
""") == [("steps[3].expect_recording: call 'c1' has not ended here: its recording is looked for "
         "after the hang-up (hint: put - hangup: {call: c1} (or expect_hangup) before this step)")]


def test_every_party_listed_must_have_played_its_marker_on_that_call(tmp_path: Path) -> None:
    found = problems(tmp_path, """\
  - call: {to: "100", id: first}
  - play_marker: {party: agent}
  - hangup
  - call: {to: "100", id: second}
  - play_marker: {party: caller}
  - hangup
  - expect_recording: {call: first}
""")
    assert found == [("steps[6].expect_recording.parties: no play_marker step plays the caller's "
                     "marker on call 'first' before this step (hint: add - play_marker: {call: first, "
                     "party: caller} while the call is up, or leave the party out of parties)")]


def test_the_proof_and_the_projection_need_the_recording_found_first(tmp_path: Path) -> None:
    assert problems(tmp_path, """\
  - call: {to: "100"}
  - hangup
  - expect_retention_proof
  - expect_storage
""") == [("steps[2].expect_retention_proof: no expect_recording step finds call 'c1's recording "
         "before this step (hint: put - expect_recording: {call: c1} before it: the proof ages that "
         "recording)"),
             ("steps[3].expect_storage: no expect_recording step finds call 'c1's recording before "
              "this step (hint: put - expect_recording: {call: c1} before it: the projection starts "
              "from its bytes per minute)")]


def test_bad_values_are_reported_by_the_schema(tmp_path: Path) -> None:
    found = problems(tmp_path, """\
  - call: {to: "100"}
  - play_marker: {party: supervisor}
  - hangup
  - expect_recording: {parties: [caller], canary: yes please}
  - expect_retention: {min_days: 0}
""")
    assert len(found) == 3
    assert found[0].startswith("steps[1].play_marker.party: 'supervisor' is not one of")
    assert found[1].startswith("steps[3].expect_recording.canary:")
    assert found[2].startswith("steps[4].expect_retention.min_days:")
