"""A reference platform started for one test, and scenarios run against it as the plugin runs them.

The platform is the reference tests' :class:`~tests.reference.conftest.RefPlatform`
(``python -m fixtures.reference up/down`` on a lock-reserved block of free ports).
The target profile is written into the test's folder from
``fixtures/targets/reference.yaml``, with the ports moved and the passwords
left as ``${ENV:...}`` references to the platform's generated ``secrets.env``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.runner.run import ScenarioRun
from harness.targets.model import Target
from harness.targets.profile import load_target
from tests.reference.conftest import PROJECT, RefPlatform
from tests.reference.scenario_run import profile_for, run_on

__all__ = ["PROJECT", "Reference", "reference_platform", "run_scenario"]

WORKERS = 3


@dataclass(frozen=True)
class Reference:
    """A running reference platform and a target profile for it."""

    state_dir: Path
    target: Target
    faults: tuple[str, ...]


@contextmanager
def reference_platform(folder: Path, monkeypatch: pytest.MonkeyPatch,
                       faults: tuple[str, ...] = ()) -> Iterator[Reference]:
    """Start the platform with ``faults``; its passwords go into the environment; stop it after."""
    ref = RefPlatform(folder / "platform", faults, WORKERS)
    try:
        ref.start()
        for name, value in ref.secrets.items():
            monkeypatch.setenv(name, value)
        yield Reference(ref.state_dir, load_target(profile_for(ref, folder)), faults)
    finally:
        ref.stop()


def run_scenario(platform: Reference, scenario: Path, reports: Path, run_id: str) -> ScenarioRun:
    """Run one scenario as the pytest plugin does; raises its failure or error, records either way."""
    work = reports / run_id / scenario.name.removesuffix(".scenario.yaml")
    return run_on(platform.target, scenario, work)
