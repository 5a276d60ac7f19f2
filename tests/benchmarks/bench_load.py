"""What one machine holds under ``ccharness load``: callers through Locust, one and two workers.

    .venv/bin/python tests/benchmarks/bench_load.py [--callers 10 20 40] [--workers 1 2]
        [--duration 60] [--ref-workers 20] [--agents 12] [--sample 0.1] [--keep DIR]

Starts a conformant reference platform on loopback for each row (its own ports and
state directory, stopped after the row) with ``workers.count`` media workers (each holds
two conversations) and ``--agents`` agent accounts in the sales queue, then for
every (callers, workers) pair runs the command a user runs::

    ccharness load PROFILE --headless --workers N

with a profile mixing the IVR flow (opening hours, 24 s; weight 3) and the
sales-queue flow (an agent answers, talks 5-10 s; weight 1) -- on a fresh
platform for every row, so one row's calls leave nothing to the next -- callers
ramped up over 5 s, ``--duration`` of calls, ``--sample`` of them verified fully. It
prints, per row: calls finished and failed (with the top cause), the most calls
up at once (from the workers' call logs), set-up p95 and the mean speed of
answer, the machine's CPU use during the calls (mean and peak of 1 s samples),
and the phone processes' memory (their count and mean resident size at the peak).

The harness, Locust and the reference platform share this machine's cores: the
figures are what one machine holds for all three. A script, not a test (pytest
does not collect tests/benchmarks). Every run has a deadline (the command's own,
and this script's), and the platform is stopped whatever happens.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT))

from tests.ports import free_tcp_port
from tests.reference.conftest import RefPlatform
from tests.reference.scenario_run import profile_for

FLOWS = PROJECT / "scenarios" / "load" / "flows"


class Sampler:
    """CPU use of the machine and the phones' memory, once a second, while a run lasts."""

    def __init__(self) -> None:
        self.cpu: list[float] = []
        self.phones: list[tuple[int, float]] = []  # (count, mean RSS in MB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        psutil.cpu_percent(None)
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.cpu.append(psutil.cpu_percent(None))
            rss = []
            for p in psutil.process_iter(["cmdline", "memory_info"]):
                cmd = p.info.get("cmdline") or []
                if "harness.sip.phone" in cmd and p.info.get("memory_info") is not None:
                    rss.append(p.info["memory_info"].rss / 2**20)
            self.phones.append((len(rss), sum(rss) / len(rss) if rss else 0.0))


def load_profile(folder: Path, callers: int, duration: float, agents: int, sample: float) -> Path:
    path = folder / f"bench-{callers}.load.yaml"
    path.write_text("\n".join([
        f"name: bench {callers} callers",
        f"callers: {{count: {callers}, spawn_rate: {max(1, callers // 5)}}}",
        f"duration: {duration:g}s",
        "flows:",
        f"  - {{scenario: {FLOWS / 'opening_hours.flow.yaml'}, weight: 3}}",
        f"  - {{scenario: {FLOWS / 'sales_queue.flow.yaml'}, weight: 1}}",
        f"agents: {{count: {agents}, answer_after: 0.5s, talk: {{min: 5s, max: 10s}}}}",
        f"verify: {{sample: {sample}}}",
        "thresholds: {failed_calls: 0%}",
    ]) + "\n", encoding="utf-8")
    return path


def most_at_once(out: Path) -> int:
    """The most calls up at the same moment, from every worker's call log."""
    edges: list[tuple[float, int]] = []
    for log in out.glob("calls-w*.jsonl"):
        for line in log.read_text().splitlines():
            call = json.loads(line)
            flow = next((s for s in call["stages"] if s[0] == "flow"), None)
            if flow is not None:
                edges += [(call["started"], 1), (call["started"] + flow[2] / 1000, -1)]
    up = peak = 0
    for _, step in sorted(edges):
        up += step
        peak = max(peak, up)
    return peak


def run(target: Path, profile: Path, workers: int, out: Path, limit: float) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "harness.cli", "load", str(profile), "--target", str(target),
           "--headless", "--workers", str(workers), "--master-port", str(free_tcp_port()),
           "--seed", "11", "--out", str(out)]
    began = time.monotonic()
    with Sampler() as sampler:
        done = subprocess.run(cmd, cwd=PROJECT, capture_output=True, text=True, timeout=limit,
                              stdin=subprocess.DEVNULL, check=False)
    summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else {}
    if not summary:
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n")
    peak_phones = max(sampler.phones, default=(0, 0.0))
    return {"exit": done.returncode, "wall": time.monotonic() - began, "summary": summary,
            "at_once": most_at_once(out), "cpu_mean": sum(sampler.cpu) / max(1, len(sampler.cpu)),
            "cpu_peak": max(sampler.cpu, default=0.0), "phones": peak_phones}


def row(callers: int, workers: int, r: dict[str, Any]) -> str:
    s = r["summary"]
    flows = [st for st in s.get("stages", []) if st["type"] == "flow"]
    calls, failed = sum(f["count"] for f in flows), sum(f["failures"] for f in flows)
    figs = s.get("figures", {})
    setup = figs.get("setup_p95", {}).get("value")
    asa = figs.get("average_speed_of_answer", {}).get("value")
    cause = (s.get("failures_by_cause") or [{}])[0].get("cause", "")[:70]
    count, rss = r["phones"]
    return (f"| {callers} | {workers} | {calls} | {failed} | {r['at_once']} | "
            f"{f'{setup * 1000:.0f} ms' if setup is not None else '-'} | "
            f"{f'{asa:.2f} s' if asa is not None else '-'} | {r['cpu_mean']:.0f} % / {r['cpu_peak']:.0f} % | "
            f"{count} x {rss:.0f} MB | exit {r['exit']} | {cause} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--callers", type=int, nargs="+", default=[10, 20, 40])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--ref-workers", type=int, default=20)
    ap.add_argument("--agents", type=int, default=12)
    ap.add_argument("--sample", type=float, default=0.1)
    ap.add_argument("--keep", type=Path, default=None)
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-load-"))
    folder.mkdir(parents=True, exist_ok=True)
    agents = [f"20{n:02d}" for n in range(1, args.agents + 1)]
    limit = args.duration + 300.0
    print(f"reference: {args.ref_workers} media workers ({2 * args.ref_workers} conversations), "
          f"{args.agents} agents, a fresh one a row; {args.duration:g}s of calls a row; "
          f"{psutil.cpu_count()} cores\n")
    print("| callers | workers | calls | failed | most up at once | set-up p95 | ASA | CPU mean / peak "
          "| phone processes at peak | exit | top failure |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for callers in args.callers:
        profile = load_profile(folder, callers, args.duration, args.agents, args.sample)
        for workers in args.workers:
            here = folder / f"run-{callers}-{workers}"
            ref = RefPlatform(here / "platform", workers=args.ref_workers,
                              overrides={"accounts.agents": agents, "queues.sales.agents": agents})
            try:
                ref.start()
                os.environ.update(ref.secrets)
                result = run(profile_for(ref, here), profile, workers, here / "run", limit)
            finally:
                ref.stop()
            print(row(callers, workers, result), flush=True)
    print(f"\nruns kept in {folder}" if args.keep else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
