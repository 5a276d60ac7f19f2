"""The seat scenario (工位数量) on the reference platform: the declared four seats answer at once.

The faults it catches (``seats_short``, ``seat_double_booked``) are shown in
test_platform_faults.py, beside every other fault.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.reference.conftest import PROJECT, RefPlatform
from tests.reference.scenario_run import run_scenario

pytestmark = [
    pytest.mark.sip,
    pytest.mark.kamailio,
    pytest.mark.skipif(shutil.which("kamailio") is None, reason="needs Debian's kamailio package"),
]

SEATS = PROJECT / "scenarios" / "acd" / "seats.scenario.yaml"


def test_the_declared_seats_talk_at_once_each_to_its_own_caller_and_are_recorded(
        platform: RefPlatform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = run_scenario(platform, SEATS, tmp_path, monkeypatch)
    seen = run.records[0].measurements
    assert (seen["seats"], seen["served_at_once"], seen["recordings_found"]) == (4, 4, 4), seen
    assert seen["agents"] == ["seat1", "seat2", "seat3", "seat4"], seen
    assert seen["together_for_s"] >= 5.0, seen
    assert seen["accounts"] == {f"seat{k}": f"200{k} <- 100{k}" for k in range(1, 5)}, seen
    rows = seen["timeline"]
    assert [r["caller"] for r in rows] == ["1001", "1002", "1003", "1004"], rows
    assert max(r["agent_answered_s"] for r in rows) < min(r["ended_s"] for r in rows) - 5.0, rows
    for name, found in seen["recordings"].items():
        assert found["found_by"] == "SIP Call-ID", (name, found)
        assert all(mark["found"] for mark in found["markers"].values()), (name, found)
