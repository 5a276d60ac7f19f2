"""The load run's own report: thresholds, charts from Locust's history, stages, causes (unit tier)."""

from __future__ import annotations

from pathlib import Path

from harness.load.report import write_report

HEAD = ("Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,"
        "99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,"
        "Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size")


def line(t: int, users: int, kind: str, name: str, rps: float, fps: float, p50: str, p95: str) -> str:
    return f"{t},{users},{kind},{name},{rps},{fps},{p50},0,0,0,0,{p95},0,0,0,0,0,0,0,0,0,0,0,0"


SUMMARY = {
    "name": "busy <hour>", "target": "reference", "callers": 4, "duration_s": 60.0, "workers": 2,
    "verified_sample": 0.25, "profile": "p.load.yaml", "passed": False,
    "thresholds": [{"passed": True, "text": "setup_p95: 0.02s over 9 (at most 1s): met"},
                   {"passed": False, "text": "failed_calls: 10% over 10 (at most 0%): MISSED"}],
    "stages": [{"type": "call", "name": "set-up", "count": 10, "failures": 0, "mean_ms": 12.0, "p50_ms": 11,
                "p95_ms": 20, "p99_ms": 20, "max_ms": 21.0}],
    "failures_by_cause": [{"type": "flow", "name": "menu", "cause": "expect_prompt: prompt 'x' not heard",
                           "count": 1}],
}


def test_the_report_holds_verdicts_charts_and_causes(tmp_path: Path) -> None:
    rows = [HEAD]
    for t in range(100, 110):
        rows.append(line(t, 4, "", "Aggregated", 1.0, 0.0, "20", "30"))
        rows.append(line(t, 4, "call", "set-up", 1.0, 0.0, "12" if t > 102 else "N/A", "20" if t > 102 else "0"))
        rows.append(line(t, 4, "flow", "menu", 0.5, 0.1 if t == 105 else 0.0, "9000", "9500"))
    (tmp_path / "locust_stats_history.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    html = write_report(tmp_path, SUMMARY).read_text(encoding="utf-8")
    assert "load run: <span class='no'>FAILED</span>" in html
    assert "busy &lt;hour&gt;" in html and "<hour>" not in html  # escaped
    assert "failed_calls: 10% over 10 (at most 0%): MISSED" in html
    assert "expect_prompt: prompt &#x27;x&#x27; not heard" in html
    # callers, calls finished, set-up time and failures by stage; no agent chart without agent answers
    assert html.count("<svg") == 4, html.count("<svg")
    assert "Failures per second by stage" in html and "Time to an agent" not in html
    assert not list(tmp_path.glob("*.tmp"))


def test_no_history_no_charts(tmp_path: Path) -> None:
    html = write_report(tmp_path, {**SUMMARY, "passed": True, "failures_by_cause": []}).read_text()
    assert "<svg" not in html and "PASSED" in html and "Failures by cause" not in html
