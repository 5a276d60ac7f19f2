"""The IVR map picture of a suite ``ccharness discover`` generated: carried into the run folder by
each generated scenario, and shown once per map in the evidence report (no call)."""

from __future__ import annotations

import base64
from pathlib import Path

from harness.report.evidence import render_html
from harness.runner.result import IVR_MAP, ivr_map_of
from tests.history.runs import T0, scenario, write_run

PICTURE = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><text x="0" y="15">main</text></svg>'


def _discovered(tmp_path: Path) -> Path:
    """DIR/suite/main_key1.scenario.yaml beside DIR/ivr-map.svg, as discover writes them."""
    (tmp_path / "crawl" / "suite").mkdir(parents=True)
    (tmp_path / "crawl" / IVR_MAP).write_text(PICTURE, encoding="utf-8")
    return tmp_path / "crawl" / "suite" / "main_key1.scenario.yaml"


def test_a_generated_scenario_carries_its_map_into_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "run" / "main_key1"
    file = _discovered(tmp_path)
    assert ivr_map_of(file, ("ivr", "discovered"), folder) == f"main_key1/{IVR_MAP}"
    assert (folder / IVR_MAP).read_text(encoding="utf-8") == PICTURE
    assert ivr_map_of(file, ("ivr",), tmp_path / "run" / "other") is None  # not generated: no map
    (tmp_path / "crawl" / IVR_MAP).unlink()
    assert ivr_map_of(file, ("discovered",), tmp_path / "run" / "third") is None  # map moved away


def test_the_report_shows_each_map_once_with_the_scenarios_generated_from_it(tmp_path: Path) -> None:
    records = []
    for name, verdict in (("main_key1", "passed"), ("main_key2", "not_conformant"), ("plain", "passed")):
        record = scenario(f"/crawl/suite/{name}.scenario.yaml", verdict, T0)
        if name != "plain":
            record["ivr_map"] = f"{name}/{IVR_MAP}"
            (tmp_path / "run" / name).mkdir(parents=True)
            (tmp_path / "run" / name / IVR_MAP).write_text(PICTURE, encoding="utf-8")
        records.append(record)
    run_dir = write_run(tmp_path, "run", T0, records)
    html = render_html(run_dir).read_text(encoding="utf-8")
    uri = "data:image/svg+xml;base64," + base64.b64encode(PICTURE.encode()).decode()
    assert html.count(uri) == 1  # the same map, carried by two scenarios, shown once
    section = html[html.index('<section id="ivr-map">'):html.index('<section id="scenarios">')]
    assert "scenario main_key1" in section and "scenario main_key2" in section
    assert "scenario plain" not in section
    assert "<svg" not in section  # an image, never inlined markup: a picture cannot run a script


def test_a_report_without_generated_scenarios_has_no_map_section(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path, "run", T0, [scenario("/suite/ivr/greeting.scenario.yaml", "passed", T0)])
    assert 'id="ivr-map"' not in render_html(run_dir).read_text(encoding="utf-8")
