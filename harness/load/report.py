"""A load run's own report: ``load-report.html``, one file that opens offline.

Its charts are read from Locust's per-second history (``locust_stats_history.csv``,
written on the master, so a run across hosts has them too): callers and calls
up, calls finished per second, set-up time and the time to an agent (median and
95th percentile), and failures per second by stage; beside them the thresholds
with their verdicts, every stage's statistic, and the failures by cause from
``summary.json``. Locust's own ``locust.html`` is next to it.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from html import escape
from pathlib import Path
from typing import Any

from harness.checks.load import SETUP
from harness.report.figures import lines_svg

History = dict[tuple[str, str], list[dict[str, str]]]


def _history(path: Path) -> History:
    rows: History = defaultdict(list)
    if path.exists():
        with path.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                rows[(row["Type"], row["Name"])].append(row)
    return rows


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None  # Locust writes N/A before a stage's first sample


def _series(rows: list[dict[str, str]], column: str, t0: float, scale: float = 1.0,
            skip_zero: bool = False) -> list[tuple[float, float]]:
    """``column`` over time; ``skip_zero`` for a percentile, which Locust writes as 0 for a
    second with no sample in its window (no call takes 0 ms)."""
    out = []
    for row in rows:
        value = _number(row[column])
        if value is not None and not (skip_zero and value == 0):
            out.append((float(row["Timestamp"]) - t0, value * scale))
    return out


def charts(history: History) -> list[tuple[str, str]]:
    """(title, inline SVG) for each chart the history supports."""
    total = history.get(("", "Aggregated"), [])
    if not total:
        return []
    t0 = float(total[0]["Timestamp"])
    flows = {name: rows for (kind, name), rows in history.items() if kind == "flow"}
    setup = history.get(("call", SETUP), [])
    agent = history.get(("acd", "agent answer"), [])
    failing = {f"{kind} {name}": _series(rows, "Failures/s", t0)
               for (kind, name), rows in history.items() if kind and any(_number(r["Failures/s"]) for r in rows)}
    out = [
        ("Callers (Locust users) / 主叫并发数", lines_svg({"callers": _series(total, "User Count", t0)}, "callers")),
        ("Calls finished per second / 每秒完成呼叫数",
         lines_svg({name: _series(rows, "Requests/s", t0) for name, rows in flows.items()}, "/s")),
        ("Call set-up time, INVITE to 200 OK / 呼叫建立时间",
         lines_svg({"median": _series(setup, "50%", t0, 1e-3, True),
                    "p95": _series(setup, "95%", t0, 1e-3, True)}, "s")),
        ("Time to an agent, platform answer to agent / 坐席应答时间",
         lines_svg({"median": _series(agent, "50%", t0, 1e-3, True),
                    "p95": _series(agent, "95%", t0, 1e-3, True)}, "s")),
        ("Failures per second by stage / 各环节失败率", lines_svg(failing, "/s")),
    ]
    return [(title, svg) for title, svg in out if svg]


def _table(head: list[str], rows: list[list[Any]]) -> str:
    cells = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{cells}</tr>{body}</table>"


def write_report(out: Path, summary: dict[str, Any]) -> Path:
    """``load-report.html`` in ``out``; written whole, never half."""
    verdict = "PASSED" if summary["passed"] else "FAILED"
    parts = [
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>",
        f"<title>{escape(summary['name'])}: load run {verdict}</title>",
        "<style>body{font-family:'Noto Sans CJK SC',sans-serif;margin:2em;max-width:60em}"
        "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:2px 8px;"
        "text-align:left}.ok{color:#2a7a3a}.no{color:#b03020}</style></head><body>",
        f"<h1>{escape(summary['name'])} — 压力测试 / load run: "
        f"<span class='{'ok' if summary['passed'] else 'no'}'>{verdict}</span></h1>",
        f"<p>target {escape(summary['target'])} · {summary['callers']} callers · "
        f"{summary['duration_s']:g} s of calls · {summary['workers'] or 1} Locust process(es) · "
        f"{summary['verified_sample'] * 100:g}% of calls verified fully · profile {escape(summary['profile'])}</p>",
        "<h2>Thresholds / 指标</h2>",
        _table(["", "threshold"], [["met" if t["passed"] else "MISSED", t["text"]] for t in summary["thresholds"]]),
    ]
    for title, svg in charts(_history(out / "locust_stats_history.csv")):
        parts += [f"<h2>{escape(title)}</h2>", svg]
    parts += ["<h2>Stages / 各环节</h2>",
              _table(["type", "name", "count", "failures", "mean ms", "p50 ms", "p95 ms", "p99 ms", "max ms"],
                     [[s["type"], s["name"], s["count"], s["failures"], s["mean_ms"], s["p50_ms"], s["p95_ms"],
                       s["p99_ms"], s["max_ms"]] for s in summary["stages"]])]
    if summary["failures_by_cause"]:
        parts += ["<h2>Failures by cause / 失败原因</h2>",
                  _table(["count", "stage", "cause"], [[f["count"], f"{f['type']} {f['name']}", f["cause"]]
                                                       for f in summary["failures_by_cause"]])]
    parts.append("<p>Locust's own report: <a href='locust.html'>locust.html</a></p></body></html>")
    path = out / "load-report.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text("".join(parts), encoding="utf-8")
    tmp.replace(path)
    return path
