"""licence_item: security is a licence item like the core ones, for the bundled security scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.errors import ScenarioError
from harness.plugin import _shares_platform
from harness.report.narration import LICENCE_ITEMS
from harness.steps.registry import load_scenario

PROJECT = Path(__file__).resolve().parents[2]
SECURITY = PROJECT / "scenarios" / "security"


def test_the_schema_lists_security_with_the_core_items_and_says_what_it_is() -> None:
    schema = yaml.safe_load((PROJECT / "harness" / "scenario" / "schema.yaml").read_text(encoding="utf-8"))
    field = schema["properties"]["licence_item"]
    assert field["enum"] == ["ivr", "acd", "recording", "retention", "security", "outbound"]
    assert "security" in field["description"] and "toll-fraud" in field["description"]
    assert set(field["enum"]) == set(LICENCE_ITEMS)  # every item has its title in both languages


@pytest.mark.parametrize("name", ["wrong_password_refused", "barred_numbers_refused"])
def test_the_bundled_security_scenarios_say_their_item(name: str) -> None:
    assert load_scenario(SECURITY / f"{name}.scenario.yaml", None).licence_item == "security"


def test_an_unknown_item_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.scenario.yaml"
    path.write_text("name: x\nlicence_item: firewall\nsteps:\n  - hangup\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"'firewall' is not one of \[.*'security', 'outbound'\]"):
        load_scenario(path, None)


def test_a_security_scenario_without_agents_still_runs_beside_the_others_under_xdist() -> None:
    # the item changes no scheduling: agents alone put a security scenario in the platform's group
    assert not _shares_platform(SECURITY / "wrong_password_refused.scenario.yaml")
    assert _shares_platform(SECURITY / "barred_numbers_refused.scenario.yaml")
