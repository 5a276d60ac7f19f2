"""Forbidden calling hours on the reference platform, with real calls (issue 16).

The reference enforces its undertaking's window in Kamailio and lets its rule
clock be moved (``/reference/outbound/clock``). With the clock, the suite's
scenario shows both sides at any hour and puts the clock back. Without it
(``move_clock: false``) only the side that holds now is run and the other is
reported as not exercised, with when to run it; and an outbound scenario run
inside the forbidden hours cannot decide, rather than blaming the platform.
The fault ``outbound_ignores_forbidden_hours`` is caught by the fault matrix.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
import yaml

from harness.errors import HarnessError
from harness.targets.profile import load_target
from tests.marks import ON_REFERENCE
from tests.recording.reference import PROJECT, reference_platform, run_scenario
from tests.reference.conftest import RefPlatform
from tests.reference.scenario_run import profile_for, run_on

pytestmark = ON_REFERENCE

SUITE = PROJECT / "scenarios" / "outbound"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_both_sides_are_shown_by_moving_the_rule_clock_and_the_clock_is_put_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with reference_platform(tmp_path, monkeypatch) as platform:
        run = run_scenario(platform, SUITE / "forbidden_hours.scenario.yaml", tmp_path / "reports", "ok")
        [m] = [r.measurements for r in run.records if r.kind == "expect_forbidden_hours"]
        sides = {a["side"]: a for a in m["attempts"]}
        assert set(sides) == {"forbidden", "allowed"} and m["unexercised"] == [], m
        assert not sides["forbidden"]["reached_carrier"], sides
        assert sides["forbidden"]["originator_saw"] == "403 Forbidden calling hours", sides
        assert sides["allowed"]["reached_carrier"], sides
        clock = requests.get(f"{platform.target.adapter['url']}/reference/outbound/clock", timeout=5,
                             auth=("admin", os.environ["CC_REF_API_PASSWORD"]))
        assert clock.json()["offset_s"] == 0, clock.text


def _window(start: datetime, hours: float) -> str:
    end = start + timedelta(hours=hours)
    return f"{start:%H:%M}-{end:%H:%M}"


def test_without_the_clock_one_side_is_run_and_the_other_reported_not_exercised(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime.now(SHANGHAI).replace(second=0, microsecond=0)
    later = _window(now + timedelta(hours=3), 1)  # now is outside it, whatever the hour
    ref = RefPlatform(tmp_path / "platform", workers=3, overrides={
        "outbound.forbidden_hours": {"windows": [later], "tz": "Asia/Shanghai"}})
    try:
        ref.start()
        for name, value in ref.secrets.items():
            monkeypatch.setenv(name, value)
        path = profile_for(ref, tmp_path)
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        spec["outbound"]["forbidden_hours"] = {"windows": [later], "tz": "Asia/Shanghai"}
        spec["outbound"]["move_clock"] = False
        path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
        target = load_target(path)
        run = run_on(target, SUITE / "forbidden_hours.scenario.yaml", tmp_path / "one-side")
        [m] = [r.measurements for r in run.records if r.kind == "expect_forbidden_hours"]
        [attempt] = m["attempts"]
        assert attempt["side"] == "allowed" and attempt["reached_carrier"], attempt
        assert attempt["how"].startswith("real time"), attempt
        [left] = m["unexercised"]
        assert left.startswith("not exercised: a call inside a forbidden window (the call must be blocked); "
                               "it can next be run from ") and "ccharness run --at " in left, left

        # inside the profile's forbidden hours now, with no clock to move: an outbound scenario
        # cannot decide (a compliant platform refuses the call), and says when it can
        spec["outbound"]["forbidden_hours"] = {"windows": [_window(now - timedelta(hours=1), 2)],
                                               "tz": "Asia/Shanghai"}
        path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
        with pytest.raises(HarnessError, match=r"cannot decide: it is \d\d:\d\d \(Asia/Shanghai\), inside the daily "
                                               r"window .* run the scenario outside them \(ccharness run --at "):
            run_on(load_target(path), SUITE / "agent_dial_out_caller_id.scenario.yaml", tmp_path / "inside")
    finally:
        ref.stop()
