"""Suite wall time against the audio it must play: the default suite, serial and in parallel.

    .venv/bin/python tests/benchmarks/bench_suite_time.py [--workers 2] [-k EXPR]

Runs ``ccharness run`` (the README's main command) against the bundled
reference platform once serially and once with ``--workers N``, then reads
each run's ``evidence.jsonl``. Prompts play in real time, so a scenario cannot
end before its calls have: its *audio floor* is the span from its first call
to its last hang-up (from the call legs' timelines). The table shows, per run:

    wall s        the command's wall time (platform start and report rendering included)
    scenarios s   the sum of the scenarios' own durations (set-up, calls, checks, teardown)
    floor s       the sum of the audio floors -- the physical minimum of a serial run
    par. floor s  the minimum with N workers: scenarios that share agents run one after
                  another (loadgroup), so max(their floors' sum, all floors / N)
    overhead      scenarios s / floor s: what the harness adds around the audio

It is a script, not a test (pytest does not collect tests/benchmarks); run it
on a quiet machine -- it takes about ten minutes.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CCHARNESS = ROOT / ".venv" / "bin" / "ccharness"
RUN_TIMEOUT = 1800.0
_LAST = re.compile(r"@([0-9.]+)s\s*$")


def _when(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def audio_floor(scenario: dict[str, Any]) -> float:
    """From the first call's start to the last call's end, in seconds (0 without calls)."""
    spans = []
    for call in scenario.get("calls", []):
        start = call.get("at_s")
        match = _LAST.search(str(call.get("timeline", "")))
        if start is not None and match:
            spans.append((float(start), float(start) + float(match.group(1))))
    if not spans:
        return 0.0
    return max(end for _, end in spans) - min(begin for begin, _ in spans)


def shares_agents(scenario: dict[str, Any]) -> bool:
    return any(c.get("role") == "agent" for c in scenario.get("calls", [])) or \
        scenario.get("licence_item") not in (None, "ivr", "security")


def run(reports: Path, run_id: str, workers: int, keyword: str | None) -> dict[str, Any]:
    command = [str(CCHARNESS), "run", "--reports", str(reports), "--run-id", run_id]
    if workers > 1:
        command += ["--workers", str(workers)]
    if keyword:
        command += ["-k", keyword]
    began = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT,
                          check=False)
    wall = time.monotonic() - began
    records = [json.loads(line) for line in (reports / run_id / "evidence.jsonl").read_text().splitlines()]
    scenarios = [r for r in records if r["type"] == "scenario"]
    floors = [audio_floor(s) for s in scenarios]
    grouped = sum(f for s, f in zip(scenarios, floors, strict=True) if shares_agents(s))
    return {
        "run": "serial" if workers <= 1 else f"{workers} workers",
        "exit": done.returncode,
        "passed": sum(s["verdict"] == "passed" for s in scenarios),
        "count": len(scenarios),
        "wall": wall,
        "scenarios": sum(_when(s["ended_utc"]) - _when(s["started_utc"]) for s in scenarios),
        "floor": sum(floors),
        "par_floor": sum(floors) if workers <= 1 else max(grouped, sum(floors) / workers),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("-k", dest="keyword", default=None, help="only scenarios whose name matches")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-suite-") as folder:
        for workers in (1, args.workers):
            rows.append(run(Path(folder), f"w{workers}", workers, args.keyword))
            print(f"... {rows[-1]['run']}: {rows[-1]['wall']:.1f} s", flush=True)
    header = ("run", "exit", "passed", "wall s", "scenarios s", "floor s", "par. floor s", "overhead")
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for r in rows:
        print(" | ".join([r["run"], str(r["exit"]), f"{r['passed']}/{r['count']}", f"{r['wall']:.1f}",
                          f"{r['scenarios']:.1f}", f"{r['floor']:.1f}", f"{r['par_floor']:.1f}",
                          f"{r['scenarios'] / r['floor']:.2f}x" if r["floor"] else "n/a"]))


if __name__ == "__main__":
    main()
