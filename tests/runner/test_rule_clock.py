"""Whose outbound rule clock the harness may move: the adapter's declared capability decides, not an
inherited method (the Asterisk adapter is built on the reference's API client), and the profile
may forbid it (``move_clock: false``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness.runner.rule_clock import clock_of
from harness.spec.hours import read_rules
from harness.targets.adapter import NotSupported
from harness.targets.asterisk import AsteriskPlatform
from harness.targets.model import Outbound, Secret, Target, Trunk
from harness.targets.reference import ReferencePlatform
from harness.targets.registry import adapter_for

pytestmark = pytest.mark.unit

RULES = read_rules(["21:00-09:00"], "Asia/Shanghai")


def target(kind: str, move_clock: bool = True) -> Target:
    adapter: dict[str, Any] = {"type": kind, "url": "http://127.0.0.1:9", "username": "u",
                               "password": Secret("CC_TEST_UNUSED")}
    outbound = Outbound(Trunk("127.0.0.1", 5190, "udp"), "01062345678", "9", RULES, move_clock)
    return Target(name="t", path=Path(f"/profiles/{kind}.yaml"), host="127.0.0.1", port=5060,
                  transport="udp", domain="127.0.0.1", outbound_proxy=None, managed="none", dids={},
                  accounts={}, prompts=None, adapter=adapter, outbound=outbound)


def run_on(t: Target) -> Any:
    return SimpleNamespace(target=t)


def test_the_reference_s_clock_is_moved_and_asterisk_s_is_not_though_its_adapter_inherits_the_method() -> None:
    assert isinstance(clock_of(run_on(target("reference"))), ReferencePlatform)
    asterisk = target("asterisk")
    assert clock_of(run_on(asterisk)) is None
    platform = adapter_for(asterisk)
    assert isinstance(platform, AsteriskPlatform)
    with pytest.raises(NotSupported, match="no outbound rule clock"):
        platform.set_outbound_clock(3600)
    with pytest.raises(NotSupported, match=r"outbound\.do_not_call\.numbers"):
        platform.add_do_not_call("13900000000")


def test_a_profile_that_forbids_moving_the_clock_is_obeyed() -> None:
    t = target("reference", move_clock=False)
    assert clock_of(run_on(t)) is None
    assert clock_of(run_on(replace(t, outbound=None))) is None
