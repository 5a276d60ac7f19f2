"""Security scenarios (licence_item: security) in the report, the video checklist, Allure and the rehearsal.

They support the information-security and user-privacy plans the expert review
reads and are not one of the three core functions: the report shows them under
a heading of their own after the core scenarios and in a row of their own in
the requirement matrix, and their failures count in the overall verdict. The
run folder is written here from records (no call is placed).
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console

from harness.report.allure import epic_of
from harness.report.checklist import write_checklist
from harness.report.evidence import load_model, render_html
from harness.report.rehearsal import Rehearsal

TITLE_ZH, TITLE_EN = "信息安全·访问控制与防盗打", "access control and toll-fraud prevention"
IVR_NAME = "IVR greets the caller"
PASSWORD = "An agent account registering with a wrong password is refused"
BARRED = "An agent cannot dial abroad"


def _step(index: int, kind: str, spec: dict[str, Any], at_s: float, status: str = "passed",
          detail: str = "") -> dict[str, Any]:
    return {"index": index, "kind": kind, "line": 10 + index, "spec": spec, "status": status, "detail": detail,
            "at_s": at_s, "took_s": 0.4, "measurements": {}}


def _scenario(folder: str, name: str, item: str, verdict: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "scenario", "file": f"scenarios/{item}/{folder}.scenario.yaml", "folder": folder,
            "name": name, "description": "", "licence_item": item, "tags": [], "verdict": verdict,
            "failed_step": None, "message": "", "started_utc": "2026-12-04T10:00:00.000+00:00",
            "ended_utc": "2026-12-04T10:00:05.000+00:00", "steps": steps, "calls": []}


IVR = _scenario("greeting", IVR_NAME, "ivr", "passed", [
    _step(0, "send_dtmf", {"digits": "1", "method": "rfc4733"}, 1.0)])
WRONG_PASSWORD = _scenario("wrong_password_refused", PASSWORD, "security", "passed", [
    _step(0, "expect_register", {"account": "agent1", "refused": [403], "within": 5.0}, 3.0)])
BARRED_NUMBERS = _scenario("barred_numbers_refused", BARRED, "security", "not_conformant", [
    _step(0, "expect_call_refused", {"source": "agent1", "source_kind": "agent", "statuses": [403], "within": 5.0,
                                     "to": {"kind": "number", "value": "00441632960000"}}, 6.0,
          "failed", "call agent1 to 00441632960000 was answered"),
    _step(1, "expect_call_refused", {"source": "caller", "source_kind": "caller", "statuses": [404], "within": 5.0,
                                     "to": {"kind": "number", "value": "4999"}}, 8.0)])
BARRED_NUMBERS["calls"] = [{
    "role": "agent agent1", "call": None, "sip_call_id": "abc@127.0.0.1", "at_s": 6.0, "timeline": "CALLING@0.0s",
    "trace": None, "capture": None,
    "sip": [{"t": 0.0, "dir": "TX", "first_line": "INVITE sip:00441632960000@x SIP/2.0"},
            {"t": 0.2, "dir": "RX", "first_line": "SIP/2.0 200 OK"}]}]


def _run_folder(folder: Path, scenarios: list[dict[str, Any]]) -> Path:
    run = {"type": "run", "run_id": "r1", "started_utc": "2026-12-04T10:00:00.000+00:00", "host": "test",
           "harness_version": "0", "target": {"name": "t", "host": "127.0.0.1", "port": 5060, "transport": "udp",
                                               "profile": "t.yaml"},
           "licence": {"kind": "nationwide", "applicant": "测试公司"}}
    end = {"type": "end", "ended_utc": "2026-12-04T10:01:00.000+00:00"}
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r, ensure_ascii=False) for r in (run, *scenarios, end)]
    (folder / "evidence.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def with_security(tmp_path: Path) -> Path:
    return _run_folder(tmp_path / "with", [WRONG_PASSWORD, IVR, BARRED_NUMBERS])


@pytest.fixture
def core_only(tmp_path: Path) -> Path:
    return _run_folder(tmp_path / "core", [IVR])


def _between(html: str, start: str, end: str) -> str:
    return html[html.index(start):html.index(end)]


def test_security_scenarios_have_their_own_section_after_the_core_ones_in_both_languages(with_security: Path) -> None:
    html = render_html(with_security).read_text(encoding="utf-8")
    core = _between(html, 'id="scenarios"', 'id="supporting"')
    supporting = _between(html, 'id="supporting"', 'id="unverifiable"')
    heading = re.search(r"<h2>(.*?)</h2>", supporting, re.DOTALL)
    assert heading and "辅助证据" in heading[1] and TITLE_ZH in heading[1]
    assert "Supporting evidence" in heading[1] and TITLE_EN in heading[1]
    assert "不属于功能测试视频的三项核心功能" in supporting and "not among the three core functions" in supporting
    assert IVR_NAME in core and PASSWORD not in core and BARRED not in core
    assert PASSWORD in supporting and BARRED in supporting and IVR_NAME not in supporting
    # numbered on from the core scenarios, failures first
    assert re.search(rf"<h3>2\. {BARRED}", supporting) and re.search(rf"<h3>3\. {PASSWORD}", supporting)
    assert "以错误密码注册账号 agent1" in supporting and "registering with a wrong password" in supporting
    assert 'class="ladder"' in supporting and "abc@127.0.0.1" in supporting  # the same evidence as a core one


def test_the_matrix_has_a_security_row_marked_as_supporting_after_the_core_items(with_security: Path) -> None:
    html = render_html(with_security).read_text(encoding="utf-8")
    matrix = _between(html, 'id="matrix"', 'id="scenarios"')
    rows = dict(re.findall(r"<tr><td>(.*?)<br>.*?<td class=\"(\w+)\">", matrix, re.DOTALL))
    assert rows[TITLE_ZH] == "not_conformant"
    assert rows["IVR语音导航"] == "passed"  # the core items' verdicts are their own scenarios'
    assert matrix.index("辅助证据，非三项核心功能") < matrix.index(TITLE_ZH)
    assert max(matrix.index(core) for core in ("IVR语音导航", "ACD智能分配", "录音调取")) < matrix.index(TITLE_ZH)
    assert "信息安全保障措施" in matrix and "用户隐私保护方案" in matrix
    security_row = matrix[matrix.index(TITLE_ZH):]
    assert f'href="#s2">{BARRED}' in security_row and f'href="#s3">{PASSWORD}' in security_row


def test_a_security_failure_makes_the_run_not_conformant_and_is_listed_among_the_failures(
        with_security: Path) -> None:
    model = load_model(with_security)
    assert model.verdict == "not_conformant"
    assert [s["name"] for s in model.failures] == [BARRED]
    assert [s["name"] for s in model.core] == [IVR_NAME]
    assert [s["name"] for s in model.supporting] == [BARRED, PASSWORD]
    html = render_html(with_security).read_text(encoding="utf-8")
    failures = _between(html, 'id="failures"', 'id="matrix"')
    assert BARRED in failures and TITLE_ZH in failures and "was answered" in failures


def test_without_a_security_scenario_there_is_no_supporting_section_and_the_row_is_uncovered(
        core_only: Path) -> None:
    html = render_html(core_only).read_text(encoding="utf-8")
    assert 'id="supporting"' not in html
    matrix = _between(html, 'id="matrix"', 'id="scenarios"')
    rows = dict(re.findall(r"<tr><td>(.*?)<br>.*?<td class=\"(\w+)\">", matrix, re.DOTALL))
    assert rows[TITLE_ZH] == "uncovered" and load_model(core_only).verdict == "passed"


def test_the_checklist_films_each_security_step_after_the_core_functions(with_security: Path) -> None:
    write_checklist(with_security)
    md = (with_security / "video-checklist.md").read_text(encoding="utf-8")
    section = md[md.index(f"## {TITLE_ZH}"):]
    assert md.index("## 录音存储≥6个月") < md.index(f"## {TITLE_ZH}")
    assert "辅助证据，非三项核心功能" in section
    shots = [line for line in section.splitlines() if line.startswith("| 00:")]
    assert len(shots) == 3  # one per step with a shot: the wrong password, the two refused calls
    assert "以错误密码注册" in shots[0] and "(wrong_password_refused.scenario.yaml:10)" in shots[0]
    assert "00441632960000" in shots[1] and shots[1].endswith("| failed |") and "4999" in shots[2]
    assert (with_security / "video-checklist.html").read_text(encoding="utf-8").count("<h2>") == 4
    subtitles = (with_security / "subtitles.srt").read_text(encoding="utf-8")
    assert "以错误密码注册账号 agent1" in subtitles and "registering with a wrong password" in subtitles


def test_the_checklist_without_a_security_scenario_keeps_its_three_sections(core_only: Path) -> None:
    write_checklist(core_only)
    assert (core_only / "video-checklist.html").read_text(encoding="utf-8").count("<h2>") == 3
    assert TITLE_ZH not in (core_only / "video-checklist.md").read_text(encoding="utf-8")


def test_allure_groups_security_apart_from_the_core_functions() -> None:
    assert "辅助证据" in epic_of("security") and "supporting evidence" in epic_of("security")
    assert epic_of("ivr") == epic_of("retention") != epic_of("security")


def test_the_rehearsal_names_the_security_item_and_says_it_is_supporting() -> None:
    out = io.StringIO()
    rehearsal = Rehearsal(0.0, Console(file=out, width=200, color_system=None))
    scenario = SimpleNamespace(name=PASSWORD, licence_item="security", description="")
    rehearsal._title(SimpleNamespace(scenario=scenario))  # type: ignore[arg-type]
    text = out.getvalue()
    assert TITLE_ZH in text and TITLE_EN in text and "辅助证据" in text
