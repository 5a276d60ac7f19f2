"""Scenarios run by the harness, as the plugin runs them, against a ``RefPlatform`` of the tests.

The target profile is ``fixtures/targets/reference.yaml`` with the platform's
ports; its passwords stay ``${ENV:...}`` references, which ``run_scenario``
points at that platform's generated ``secrets.env`` just before it runs (each
platform generates its own).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.errors import HarnessError
from harness.runner.run import ScenarioRun
from harness.steps.registry import BY_MODEL, load_scenario
from harness.targets.model import Target
from harness.targets.profile import load_prompt_library, load_target
from tests.reference.conftest import PROJECT, RefPlatform

PROFILE = PROJECT / "fixtures" / "targets" / "reference.yaml"


def profile_for(ref: RefPlatform, folder: Path) -> Path:
    """The reference profile moved to ``ref``'s ports; ``managed: none`` (the test manages it)."""
    spec = yaml.safe_load(PROFILE.read_text(encoding="utf-8"))
    spec["platform"]["port"] = ref.sip_port
    spec["managed"] = "none"
    spec["prompts"] = str((PROFILE.parent / spec["prompts"]).resolve())
    spec["adapter"]["url"] = ref.api_url
    spec["outbound"]["trunk"]["listen"] = f"127.0.0.1:{ref.ports.trunk_port}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "reference-target.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return path


def run_scenario(ref: RefPlatform, scenario: Path, folder: Path, monkeypatch: pytest.MonkeyPatch) -> ScenarioRun:
    """Run ``scenario`` against ``ref``; raises its failure or error, writes its records either way."""
    for name, value in ref.secrets.items():
        monkeypatch.setenv(name, value)
    return run_on(load_target(profile_for(ref, folder)), scenario, folder / "run")


def run_on(target: Target, scenario: Path, work: Path) -> ScenarioRun:
    """Run ``scenario`` against ``target`` as the plugin does, in ``work``; raises its failure or
    error, writes its records either way."""
    prompts = load_prompt_library(target.prompts) if target.prompts else None
    run = ScenarioRun(load_scenario(scenario, prompts, target), target, prompts, work,
                      kinds=BY_MODEL)
    try:
        run.execute()
    finally:
        run.close()
        run.write_traces()
    return run


def executed(run: ScenarioRun) -> BaseException | None:
    """Execute ``run`` and close it; the failure or error it raised, or None when it passed."""
    try:
        run.execute()
    except (AssertionError, HarnessError) as exc:
        return exc
    finally:
        run.close()
    return None
