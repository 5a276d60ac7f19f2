"""The seat row (工位数量与申报一致) in the report: an automated check with its evidence, from the
seat scenario's expect_seats step, with the workstations counted on site as a manual slot beside
it. The run folder is written here from records (no call is placed)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from harness.report.checklist import write_checklist
from harness.report.evidence import UNVERIFIABLE, load_model, render_html
from tests.report.test_supporting_evidence import IVR, _between, _run_folder, _scenario, _step

SEAT_ROW = "工位数量与申报一致"
NAME = "Every declared seat answers at once"
ROWS = [{"call": f"s{k}", "caller": f"100{k}", "agent": f"seat{k}", "dialled_s": 0.01 * k, "queued_s": 0.1,
         "agent_answered_s": 0.9 + 0.1 * k, "ended_s": 8.0} for k in (1, 2, 3)]
FIGURES: dict[str, Any] = {
    "seats": 3, "hold_s": 5.0, "served_at_once": 3, "agents": ["seat1", "seat2", "seat3"],
    "together_s": [1.2, 8.0], "together_for_s": 6.8, "offers": 3, "recordings_found": 3, "timeline": ROWS,
    "accounts": {f"seat{k}": f"200{k} <- 100{k}" for k in (1, 2, 3)},
    "recordings": {"s1": {"name": "rec-s1", "found_by": "SIP Call-ID", "duration_s": 6.8,
                          "markers": {"caller": {"found": True}, "agent": {"found": True}}}}}


def seats(verdict: str = "passed", detail: str = "") -> dict[str, Any]:
    step = _step(0, "expect_seats", {"to": {"kind": "did", "value": "seats"}, "seats": None, "hold": 5.0},
                 0.5, "passed" if verdict == "passed" else "failed", detail)
    step["measurements"] = FIGURES
    return _scenario("seats", NAME, "acd", verdict, [step])


def _row(html: str) -> str:
    matrix = _between(html, 'id="matrix"', 'id="scenarios"')
    return matrix[matrix.index(SEAT_ROW):].split("</tr>", 1)[0]


def test_the_seat_row_is_the_seat_scenarios_verdict_with_a_manual_slot_beside_it(tmp_path: Path) -> None:
    html = render_html(_run_folder(tmp_path / "run", [IVR, seats()])).read_text(encoding="utf-8")
    row = _row(html)
    assert f'href="#s2">{NAME}' in row and 'class="passed"' in row
    assert "现场清点工位数（核查人员填写）" in row and 'class="blank"' in row
    assert SEAT_ROW not in _between(html, 'id="unverifiable"', 'id="integrity"')
    assert all(SEAT_ROW not in zh for zh, _, _ in UNVERIFIABLE)


def test_a_failed_seat_step_fails_the_row_and_without_one_the_row_is_uncovered(tmp_path: Path) -> None:
    short = seats("not_conformant", "the platform served 2 of the 3 declared seats at once")
    failed = render_html(_run_folder(tmp_path / "failed", [short])).read_text(encoding="utf-8")
    assert 'class="not_conformant"' in _row(failed)
    assert load_model(tmp_path / "failed").verdict == "not_conformant"
    none = render_html(_run_folder(tmp_path / "none", [IVR])).read_text(encoding="utf-8")
    assert 'class="uncovered"' in _row(none) and "现场清点工位数" in _row(none)


def test_the_seat_calls_are_shown_on_one_timeline_with_their_agents_and_recordings(tmp_path: Path) -> None:
    html = render_html(_run_folder(tmp_path / "run", [seats()])).read_text(encoding="utf-8")
    evidence = _between(html, 'id="scenarios"', 'id="unverifiable"')
    assert "工位同时通话" in evidence and "3 / 3" in evidence and "6.8s" in evidence
    assert re.search(r"<td>s2</td><td>1002</td><td>seat2 <span class=\"en\">\(2002 &lt;- 1002\)</span>", evidence)
    assert 'class="seats"' in evidence and evidence.count('fill="#4a7"') >= 3  # one talk bar a seat
    assert "rec-s1 caller ✔ agent ✔" in evidence
    assert "timeline=" not in evidence  # the measured column leaves the table to the table


def test_the_checklist_films_the_seats_with_the_acd_function(tmp_path: Path) -> None:
    folder = _run_folder(tmp_path / "run", [seats()])
    text = "".join(p.read_text(encoding="utf-8") for p in write_checklist(folder) if p.suffix == ".md")
    assert "坐席监控墙" in text and "as many callers dial seats at once" in text
