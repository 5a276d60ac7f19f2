"""What a load run says while it runs and when it ends: a progress line, the summary, the verdict.

Read from Locust's merged statistics (``environment.stats``: every worker's
request events), judged by ``harness.checks.load``; the summary goes to the
terminal and to ``summary.json`` in the run's folder, next to Locust's CSV
files and HTML report.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from harness.checks.load import DEFAULT_THRESHOLDS, Figure, StageFigures, figures, judge, quality_figures, show
from harness.errors import SpecError
from harness.load.report import write_report

PERCENTILES = (0.5, 0.95, 0.99)


def stage_figures(stats: Any) -> dict[tuple[str, str], StageFigures]:
    """``{(request type, name): StageFigures}`` from Locust's ``RequestStats``."""
    return {(kind, name): StageFigures(e.num_requests, e.num_failures, e.avg_response_time,
                                       e.get_response_time_percentile(0.95) if e.num_requests else 0.0)
            for (name, kind), e in stats.entries.items()}


def progress_line(environment: Any, elapsed: float) -> str:
    """``[  20s] 8 callers · 35 calls, 2 failed · set-up p95 0.12s · ASA 3.1s · 1 abandoned``."""
    stages = stage_figures(environment.stats)
    figs = figures(stages)
    flows = [s for (kind, _), s in stages.items() if kind == "flow"]
    done, failed = sum(s.count for s in flows), sum(s.failures for s in flows)
    users = getattr(environment.runner, "user_count", 0)
    abandoned = stages.get(("acd", "abandoned"), StageFigures(0, 0)).count
    return (f"[{elapsed:5.0f}s] {users} callers · {done} calls, {failed} failed · set-up p95 "
            f"{show(figs['setup_p95'].value, 's')} · ASA {show(figs['average_speed_of_answer'].value, 's')}"
            f" · {abandoned} abandoned")


def _stage_rows(stats: Any) -> list[dict[str, Any]]:
    rows = []
    for (name, kind), e in sorted(stats.entries.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        rows.append({
            "type": kind, "name": name, "count": e.num_requests, "failures": e.num_failures,
            "mean_ms": round(e.avg_response_time, 1), "max_ms": round(e.max_response_time or 0, 1),
            **{f"p{round(p * 100)}_ms": round(e.get_response_time_percentile(p), 1) if e.num_requests else None
               for p in PERCENTILES},
        })
    return rows


def _failure_rows(stats: Any) -> list[dict[str, Any]]:
    rows = [{"type": err.method, "name": err.name, "cause": str(err.error), "count": err.occurrences}
            for err in stats.errors.values()]
    return sorted(rows, key=lambda r: -int(r["count"]))


def summarise(environment: Any, load_path: Path, target_path: Path, out: Path,
              quality: list[dict[str, Any]]) -> bool:
    """Judge the thresholds, print the summary, write ``summary.json``; True when all are met."""
    from harness.load.profile import load_profile
    from harness.targets.profile import load_prompt_library, load_target

    try:
        target = load_target(target_path)
        prompts = load_prompt_library(target.prompts) if target.prompts else None
        profile = load_profile(load_path, target, prompts)
    except SpecError as bad:  # changed on disk during the run: say so, fail the run
        print(f"load: cannot judge the run: {bad}", flush=True)
        return False
    stats = environment.stats
    thresholds = profile.thresholds or DEFAULT_THRESHOLDS
    figs = figures(stage_figures(stats)) | quality_figures(quality)
    verdicts = judge(thresholds, figs)
    passed = all(v.passed for v in verdicts)
    summary = {
        "profile": str(load_path), "name": profile.name, "target": target.name,
        "started": stats.start_time, "ended": time.time(),
        "callers": profile.callers, "duration_s": profile.duration, "verified_sample": profile.sample,
        "workers": getattr(environment.runner, "worker_count", 0),
        "stages": _stage_rows(stats),
        "figures": {name: _figure(f) for name, f in figs.items()},
        "thresholds": [{"name": v.name, "limit": v.limit, "value": v.figure.value, "of": v.figure.of,
                        "passed": v.passed, "text": v.text} for v in verdicts],
        "failures_by_cause": _failure_rows(stats),
        "passed": passed,
    }
    out.mkdir(parents=True, exist_ok=True)
    path = out / "summary.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    tmp.replace(path)  # never a half-written summary
    write_report(out, summary)
    print(_text(summary), flush=True)
    return passed


def _figure(f: Figure) -> dict[str, Any]:
    return {"value": f.value, "of": f.of, "unit": f.unit}


def _text(summary: dict[str, Any]) -> str:
    lines = [f"load run {summary['name']!r} against {summary['target']}: "
             f"{'PASSED' if summary['passed'] else 'FAILED'} (thresholds)"]
    lines += [f"  {'ok ' if t['passed'] else 'NO '} {t['text']}" for t in summary["thresholds"]]
    if summary["failures_by_cause"]:
        lines.append("  failures by cause:")
        lines += [f"    {f['count']:>5} x {f['type']} {f['name']}: {f['cause']}"
                  for f in summary["failures_by_cause"][:10]]
    return "\n".join(lines)
