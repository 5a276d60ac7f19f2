"""The evidence report, checklist, subtitles and manifest, rendered from a real run.

One run of ``ccharness run`` against a loopback peer (real SIP calls) with an
IVR scenario that passes, one that fails (a wrong prompt expected) and an ACD
scenario with agent softphones; then everything is rendered as the main
command renders it and looked at the way a reviewer would: the HTML in
headless Chromium, the PDF through poppler, the checklist, the subtitles, and
the manifest after a file was changed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.evidence.manifest import verify
from harness.report.render import UPLOAD_LIMIT, Rendered, render_run
from tests.ports import free_udp_port
from tests.report.test_pdf import font_names

ROOT = Path(__file__).resolve().parents[2]
PROMPTS = ROOT / "fixtures" / "prompts" / "loopback" / "prompts.yaml"
pytestmark = pytest.mark.sip

IVR_GOOD = """
name: IVR greets and routes key 2
licence_item: ivr
deadline: 30s
steps:
  - call: {to: "did:main"}
  - expect_answer: {within: 5s}
  - expect_prompt: {prompt: greeting, within: 5s}
  - send_dtmf: {digits: "2"}
  - expect_prompt: {prompt: digit_two, within: 5s}
  - hangup
"""
IVR_BAD = IVR_GOOD.replace("IVR greets and routes key 2", "IVR plays the wrong prompt for key 2").replace(
    "prompt: digit_two", "prompt: digit_one")
ACD = """
name: An agent answers and is heard
licence_item: acd
deadline: 30s
agents:
  alice: {answer_after: 0.3s, play: {prompt: agent_hello}}
steps:
  - call: {to: "agent:alice", id: c1}
  - expect_agent: {agent: alice, within: 5s}
  - expect_prompt: {prompt: agent_hello, within: 5s}
  - hangup
"""


def _profile(folder: Path) -> Path:
    port = free_udp_port()
    path = folder / "target.yaml"
    path.write_text(f"""
name: loopback-report
platform: {{host: 127.0.0.1, port: {port}, transport: udp}}
managed: peer
peer: {{answer_after: 0.1s, prompt: greeting, on_dtmf: {{"2": digit_two}}}}
prompts: {PROMPTS}
licence: {{kind: provincial, applicant: "测试公司 test company", platform: "loopback peer", seats: 2}}
dids: {{main: "100"}}
accounts:
  caller: {{username: caller, register: false, password: "${{ENV:CC_TEST_SECRET}}"}}
  alice: {{username: alice, register: false}}
""")
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Rendered, str]:
    folder = tmp_path_factory.mktemp("report")
    for name, text in {"ivr_good": IVR_GOOD, "ivr_bad": IVR_BAD, "acd": ACD}.items():
        (folder / f"{name}.scenario.yaml").write_text(text)
    env = {**__import__("os").environ, "CC_TEST_SECRET": "s3cret-Passw0rd"}
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", str(folder), "--target", str(_profile(folder)),
         "--reports", str(folder / "reports"), "--run-id", "r1"],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env=env, check=False)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    run_dir = folder / "reports" / "r1"
    return run_dir, render_run(run_dir), done.stdout


def test_the_run_ends_by_printing_every_delivered_path(run: tuple[Path, Rendered, str]) -> None:
    run_dir, _, stdout = run
    for label in ("evidence report:", "PDF", "video checklist:", "subtitles:", "Allure report:", "manifest:"):
        assert label in stdout, f"{label!r} not printed:\n{stdout[-2000:]}"
    assert str(run_dir / "report.html") in stdout


def test_evidence_records_hold_each_verdict_and_no_secret(run: tuple[Path, Rendered, str]) -> None:
    run_dir, _, _ = run
    text = (run_dir / "evidence.jsonl").read_text()
    records = [json.loads(line) for line in text.splitlines()]
    assert records[0]["type"] == "run" and records[-1]["type"] == "end"
    verdicts = {r["name"]: r["verdict"] for r in records if r["type"] == "scenario"}
    assert verdicts == {"IVR greets and routes key 2": "passed",
                        "IVR plays the wrong prompt for key 2": "not_conformant",
                        "An agent answers and is heard": "passed"}
    assert "s3cret-Passw0rd" not in "".join(p.read_text(errors="replace") for p in run_dir.rglob("*")
                                           if p.is_file() and p.suffix in (".jsonl", ".txt", ".html", ".md", ".srt"))


def test_html_in_chromium_has_every_section_and_failures_first(run: tuple[Path, Rendered, str]) -> None:
    from harness.report.devtools import console_errors
    from harness.report.pdf import screenshot

    run_dir, rendered, _ = run
    html = rendered.html.read_text(encoding="utf-8")
    for section in ("cover", "failures", "matrix", "scenarios", "unverifiable", "integrity"):
        assert f'id="{section}"' in html, section
    assert "地网" in html and "测试公司" in html  # the cover names the licence kind and applicant
    failures = html[html.index('id="failures"'):html.index('id="matrix"')]
    assert "IVR plays the wrong prompt for key 2" in failures and "IVR greets and routes key 2" not in failures
    assert "digit_one" in failures  # what was expected, in the reviewer's view
    evidence = html[html.index('id="scenarios"'):]
    assert evidence.index("IVR plays the wrong prompt") < evidence.index("IVR greets and routes key 2")
    assert "总体结论" in html and "不符合" in html[:html.index('id="failures"')]
    assert '<svg' in evidence and 'class="ladder"' in evidence and 'class="wave"' in evidence
    assert console_errors(rendered.html) == []
    png = screenshot(rendered.html, run_dir.parent / "first-page.png")
    assert png.stat().st_size > 20_000  # a rendered page, not a blank one


def test_requirement_matrix_marks_items_by_the_scenarios_that_cover_them(run: tuple[Path, Rendered, str]) -> None:
    _, rendered, _ = run
    html = rendered.html.read_text(encoding="utf-8")
    matrix = html[html.index('id="matrix"'):html.index('id="scenarios"')]
    rows = re.findall(r"<tr><td>(.*?)<br>.*?<td class=\"(\w+)\">", matrix, re.DOTALL)
    got = {name: verdict for name, verdict in rows}
    assert got["IVR语音导航"] == "not_conformant"
    assert got["ACD智能分配"] == "passed"
    assert got["录音存储≥6个月"] == "uncovered" and got["录音调取"] == "uncovered"


def test_pdf_embeds_chinese_fonts_and_each_part_fits_the_upload_limit(run: tuple[Path, Rendered, str]) -> None:
    _, rendered, _ = run
    assert rendered.pdfs, rendered.pdf_note
    for part in rendered.pdfs:
        assert part.stat().st_size <= UPLOAD_LIMIT
        fonts = subprocess.run(["pdffonts", str(part)], capture_output=True, text=True, timeout=60, check=False).stdout
        rows = fonts.splitlines()[2:]
        assert rows and all(row.split()[-5] == "yes" for row in rows), f"a font is not embedded:\n{fonts}"
        # Chromium embeds Noto CJK's CFF outlines as Type 3 fonts: the name is in the descriptor
        assert any("NotoSansCJK" in name for name in font_names(part)), font_names(part)
    text = subprocess.run(["pdftotext", str(rendered.pdfs[0]), "-"], capture_output=True, text=True,
                          timeout=60, check=False).stdout
    assert "呼叫中心平台功能测试证据报告" in text and "要求对照表" in text
    out = rendered.pdfs[0].parent.parent / "page"  # outside the run folder: the manifest stays intact
    pages = subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "2", str(rendered.pdfs[0]), str(out)],
                           capture_output=True, timeout=60, check=False)
    assert pages.returncode == 0 and list(out.parent.glob("page-*.png"))


def test_checklist_names_every_core_function_with_shots_on_the_run_clock(run: tuple[Path, Rendered, str]) -> None:
    run_dir, _, _ = run
    md = (run_dir / "video-checklist.md").read_text(encoding="utf-8")
    for function in ("IVR语音导航", "ACD智能分配", "录音存储≥6个月"):
        assert f"## {function}" in md
    ivr = md[md.index("## IVR语音导航"):md.index("## ACD智能分配")]
    assert re.search(r"\| 00:00:\d\d\.\d{3} \| .*听到提示音「greeting」", ivr), ivr
    assert "(ivr_good.scenario.yaml:" in ivr
    assert (run_dir / "video-checklist.html").read_text(encoding="utf-8").count("<h2>") == 3


def test_subtitles_are_valid_srt_in_both_languages_in_time_order(run: tuple[Path, Rendered, str]) -> None:
    run_dir, _, _ = run
    blocks = (run_dir / "subtitles.srt").read_text(encoding="utf-8").strip().split("\n\n")
    previous_end = -1.0
    for number, block in enumerate(blocks, 1):
        index, times, zh, en = block.split("\n")
        assert int(index) == number
        start, end = (_seconds(t) for t in times.split(" --> "))
        assert previous_end <= start < end
        assert re.search(r"[\u4e00-\u9fff]", zh) and re.search(r"[a-z]", en)
        previous_end = end


def _seconds(stamp: str) -> float:
    h, m, rest = stamp.split(":")
    s, ms = rest.split(",")
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def test_manifest_detects_a_changed_a_missing_and_an_added_file(run: tuple[Path, Rendered, str]) -> None:
    run_dir, _, _ = run
    assert verify(run_dir).intact
    records = run_dir / "evidence.jsonl"
    original = records.read_bytes()
    try:
        records.write_bytes(original.replace(b"passed", b"failed", 1))
        (run_dir / "extra.txt").write_text("slipped in")
        (run_dir / "subtitles.en.srt").rename(run_dir / "subtitles.en.srt.bak")
        result = verify(run_dir)
        assert result.changed == ["evidence.jsonl"]
        assert result.missing == ["subtitles.en.srt"]
        assert result.added == ["extra.txt", "subtitles.en.srt.bak"]
        cli = subprocess.run([sys.executable, "-m", "harness.cli", "verify", str(run_dir)],
                             capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)
        assert cli.returncode == 1 and "changed: evidence.jsonl" in cli.stdout
    finally:
        records.write_bytes(original)
        (run_dir / "extra.txt").unlink()
        (run_dir / "subtitles.en.srt.bak").rename(run_dir / "subtitles.en.srt")
    assert verify(run_dir).intact


def test_allure_html_is_generated_where_node_is_present(run: tuple[Path, Rendered, str]) -> None:
    import shutil

    _, rendered, _ = run
    if shutil.which("node") is None:  # the machine without Node.js: the run says why it skipped
        assert rendered.allure is None and "Node.js" in rendered.allure_note
        return
    assert rendered.allure is not None, rendered.allure_note
    assert rendered.allure.name == "index.html" and rendered.allure.stat().st_size > 0
