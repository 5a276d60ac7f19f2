"""A key the harness pressed late, and a failure after it, is undecided; a prompt press still convicts.

An IVR waits a few seconds for a key after its menu (the reference's main menu
5 s) and then plays its no-input prompt. A harness on a busy host can hear the
menu's end late, or spend seconds scoring it, and press after the platform
rightly stopped waiting: what follows cannot convict the platform. Real calls
to the reference platform; the busy host is played by a ``send_dtmf`` that
waits before pressing, as a starved controller would.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from harness.errors import ExpectationFailed, HostBusy
from harness.runner.run import ScenarioRun
from harness.steps.registry import BY_MODEL, load_scenario
from harness.steps.send_dtmf import LATE_PRESS, SendDtmfStep
from harness.targets.profile import load_prompt_library
from tests.recording.reference import PROJECT, reference_platform
from tests.reference.scenario_run import executed

pytestmark = pytest.mark.sip

MENU = PROJECT / "scenarios" / "ivr" / "greeting_and_menu.scenario.yaml"  # main_menu, press 9, opening_hours
NO_INPUT_AFTER = 5.0  # the reference's main menu waits this for a key (fixtures/reference/platform.yaml)


def press_after(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, delay: float,
                faults: tuple[str, ...] = ()) -> tuple[ScenarioRun, BaseException | None]:
    """Run the menu scenario with every key pressed ``delay`` s late; its run and what it raised."""
    press = BY_MODEL[SendDtmfStep]

    def late(run: ScenarioRun, step: Any) -> Any:
        time.sleep(delay)
        return press.run(run, step)

    with reference_platform(tmp_path, monkeypatch, faults) as ref:
        prompts = load_prompt_library(ref.target.prompts) if ref.target.prompts else None
        kinds = {**BY_MODEL, SendDtmfStep: replace(press, run=late)}
        run = ScenarioRun(load_scenario(MENU, prompts, ref.target), ref.target, prompts,
                          tmp_path / "run", kinds=kinds)
        return run, executed(run)


def pressed(run: ScenarioRun) -> dict[str, Any]:
    return next(r.measurements for r in run.records if r.kind == "send_dtmf")


def test_a_failure_after_a_press_the_platform_had_stopped_waiting_for_is_undecided(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run, exc = press_after(tmp_path, monkeypatch, NO_INPUT_AFTER + 1.5)
    assert isinstance(exc, HostBusy) and not isinstance(exc, AssertionError), repr(exc)
    said = str(exc)
    assert "cannot decide: the harness pressed '9'" in said, said
    assert "after the caller heard prompt 'main_menu' end" in said, said
    assert "prompt 'opening_hours'" in said, said  # what it saw is kept, for whoever reads the error
    assert isinstance(exc.__cause__, ExpectationFailed)
    assert pressed(run)["reaction_s"] >= NO_INPUT_AFTER + 1.5, pressed(run)
    assert run.records[-1].kind == "expect_prompt" and run.records[-1].status == "error"


def test_a_prompt_press_is_timed_and_passes_on_the_conformant_platform(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run, exc = press_after(tmp_path, monkeypatch, 0.0)
    if isinstance(exc, HostBusy):
        pytest.skip(f"cannot decide: this host was too busy: {exc}")
    assert exc is None, repr(exc)
    seen = pressed(run)
    assert 0.0 <= seen["reaction_s"] < NO_INPUT_AFTER, seen  # from the menu's end as heard
    assert ("late" in seen) == (seen["reaction_s"] >= LATE_PRESS), seen


def test_a_prompt_press_that_the_platform_ignores_still_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run, exc = press_after(tmp_path, monkeypatch, 0.0, ("ivr_ignores_dtmf",))
    if isinstance(exc, HostBusy):
        pytest.skip(f"cannot decide: this host was too busy: {exc}")
    assert isinstance(exc, ExpectationFailed), repr(exc)
    assert "prompt 'opening_hours'" in str(exc), str(exc)
    assert pressed(run)["reaction_s"] < LATE_PRESS, pressed(run)
    assert run.records[-1].status == "failed"
