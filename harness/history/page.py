"""The history page: one HTML file, charts as inline SVG, nothing fetched (it opens offline).

Per target: the runs, the flapping scenarios called out first, then per
scenario a strip of verdicts (hover for the run and the failure), its
durations and its followed figures as small line charts.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime

from harness.history.trends import FLAPPING, History, ScenarioHistory, Trend, number

COLOUR = {"passed": "#2e7d32", "not_conformant": "#c62828", "error": "#ef6c00", None: "#cfd8dc"}
WORD = {"passed": "passed", "not_conformant": "NOT CONFORMANT", "error": "ERROR", None: "not run"}

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 17px; margin-top: 28px; } h3 { font-size: 15px; margin: 18px 0 4px; }
table { border-collapse: collapse; } td, th { padding: 2px 8px; text-align: left; border-bottom: 1px solid #eee; }
.flag { color: #c62828; font-weight: bold; } .note { color: #666; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
.chart { border: 1px solid #eee; padding: 4px; } .chart div { font-size: 12px; color: #444; }
"""


def page(histories: Sequence[History], made: datetime | None = None) -> str:
    """The whole page for these targets' histories."""
    when = (made or datetime.now(UTC)).isoformat(timespec="seconds")
    body = [f"<h1>ccharness history</h1><p class='note'>Made {html.escape(when)} from the ledger. "
            f"Verdicts oldest first; a scenario whose verdict changed {FLAPPING} or more times is "
            f"flapping. Hover a square or a point for its run.</p>"]
    for found in histories:
        body += _target(found)
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>ccharness history</title>"
            f"<style>{_STYLE}</style></head><body>{''.join(body)}</body></html>\n")


def _target(found: History) -> list[str]:
    e = html.escape
    out = [f"<h2>Target {e(found.target)}: {len(found.runs)} run(s)</h2><table><tr><th>run</th><th>address</th>"
           "<th>duration</th><th>exit</th><th>reference faults</th></tr>"]
    for run in found.runs:
        state = "incomplete" if not run.complete else str(run.exit_status)
        took = f"{run.duration_s:.0f} s" if run.duration_s is not None else "-"
        out.append(f"<tr><td>{e(run.run_id)}</td><td>{e(run.address)}</td><td>{took}</td><td>{e(state)}</td>"
                   f"<td>{e(', '.join(run.faults))}</td></tr>")
    out.append("</table>")
    if found.flapping:
        out.append(f"<p class='flag'>Flapping: {e(', '.join(s.short for s in found.flapping))}</p>")
    runs = [r.run_id for r in found.runs]
    for scenario in found.scenarios:
        out += _scenario(scenario, runs)
    return out


def _scenario(s: ScenarioHistory, runs: list[str]) -> list[str]:
    e = html.escape
    flag = f" <span class='flag'>flapping ({s.changes} changes)</span>" if s.flapping else ""
    out = [f"<h3>{e(s.short)}{flag}</h3><div class='note'>{e(s.name)} — last: {e(WORD[s.last])}</div>",
           verdict_strip(s, runs), "<div class='charts'>"]
    out.append(line_chart("duration (s)", s.durations, runs, "s"))
    for trend in s.trends:
        out.append(_trend_chart(trend, runs))
    out.append("</div>")
    if s.last != "passed" and s.messages:
        out.append(f"<p class='note'>Last failure: {e(s.messages[-1])}</p>")
    return out


def verdict_strip(s: ScenarioHistory, runs: list[str], size: int = 16) -> str:
    """One square per run, coloured by verdict, with the run and any failure as its tooltip."""
    messages = dict(m.split(": ", 1) for m in s.messages)
    cells = []
    for i, (run, verdict) in enumerate(zip(runs, s.verdicts, strict=True)):
        tip = f"{run}: {WORD[verdict]}" + (f" — {messages[run]}" if run in messages else "")
        cells.append(f"<rect x='{i * (size + 2)}' y='0' width='{size}' height='{size}' fill='{COLOUR[verdict]}'>"
                     f"<title>{html.escape(tip)}</title></rect>")
    width = max(1, len(runs) * (size + 2))
    return (f"<svg xmlns='http://www.w3.org/2000/svg' class='verdicts' width='{width}' height='{size}' "
            f"role='img' aria-label='verdicts: {html.escape(s.strip())}'>{''.join(cells)}</svg>")


def _trend_chart(trend: Trend, runs: list[str]) -> str:
    unit = trend.measure.unit
    better = "higher is better" if trend.measure.higher_is_better else "lower is better"
    title = f"{trend.label}" + (f" ({unit})" if unit else "") + f", {better}"
    return line_chart(title, trend.values, runs, unit, flag=trend.worse_than_usual())


def line_chart(title: str, values: Sequence[float | None], runs: list[str], unit: str = "",
               width: int = 300, height: int = 80, flag: bool = False) -> str:
    """A small line chart of one series over the runs, its range written at the left."""
    known = [v for v in values if v is not None]
    head = html.escape(title) + (" <span class='flag'>latest worse than every earlier run</span>" if flag else "")
    if not known:
        return f"<div class='chart'><div>{head}</div><div class='note'>not measured</div></div>"
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    left, pad = 44, 6
    step = (width - left - pad) / max(1, len(values) - 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        share = (v - low) / span if high > low else 0.5  # a flat series runs through the middle
        return left + i * step, pad + (height - 2 * pad) * (1 - share)

    points = [(i, v) for i, v in enumerate(values) if v is not None]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in points))
    dots = "".join(f"<circle cx='{x:.1f}' cy='{y:.1f}' r='3' fill='#1565c0'><title>{html.escape(runs[i])}: "
                   f"{number(v, unit)}</title></circle>" for i, v in points for x, y in [xy(i, v)])
    labels = (f"<text x='0' y='{pad + 4}' font-size='10'>{number(high)}</text>"
              f"<text x='0' y='{height - pad}' font-size='10'>{number(low)}</text>")
    return (f"<div class='chart'><div>{head}</div><svg xmlns='http://www.w3.org/2000/svg' width='{width}' "
            f"height='{height}'><line x1='{left}' y1='{height - pad}' x2='{width - pad}' y2='{height - pad}' "
            f"stroke='#ccc'/>{labels}<polyline fill='none' stroke='#1565c0' stroke-width='1.5' points='{path}'/>"
            f"{dots}</svg></div>")
