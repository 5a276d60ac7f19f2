"""Call set-ups per second under ``ccharness load``, one and two Locust workers, and what Locust costs.

    .venv/bin/python tests/benchmarks/bench_load_rate.py [--callers 8 16 24 32] [--workers 1 2]
        [--duration 40] [--overhead 12] [--only rate overhead] [--keep DIR]

Both tables run a short flow -- dial the sales queue, hear an agent (the load
agents' pilot tone), hang up: about 1.5 s a call -- so the rate is set by call
set-ups, not by long prompts. Each caller starts its next call 1 s after the
last one started at the soonest (``MIN_CALL_GAP``), or as soon as it ended. Every row runs on a
fresh reference platform on loopback (its own ports and state directory,
stopped after the row) with one media worker per two callers plus two, and
callers + 2 agents in its queues.

rate      for each (callers, workers): ``ccharness load PROFILE --headless --workers N``,
          as a user runs it, ``--duration`` s of calls, 10 % verified fully. Printed:
          calls and failures, the set-up rate sustained (calls started between
          the first and the last start, per second), set-up p95, and the CPU of
          the machine. "Sustained" is the highest rate of a row with no failure;
          the scaling factor is 2 workers' over 1 worker's.
overhead  the same flow and callers, driven twice: by Locust (``ccharness load
          --workers 1``: a master and one worker process) and by the harness's own
          controller with no Locust (this script's ``--driver`` mode: the same
          ``Pool`` and ``place`` in plain threads, in one process). Printed: calls,
          failures, set-up p50/p95 and the CPU seconds the controlling processes
          spent, over the whole run and from the first call's start to the last
          one's end (per call: start-up excluded), sampled every 0.5 s. The phone
          processes and the platform are not counted: they do the same work
          either way. The difference is what Locust adds.

A script, not a test (pytest does not collect tests/benchmarks). Every run has a
deadline, and the platform is stopped whatever happens.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
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

# harness/load/locustfile.py's pacing (not imported: importing Locust patches this process with gevent)
MIN_CALL_GAP, AGENT_SETTLE = 1.0, 2.0

FLOW = """\
name: Quick queue call
description: A caller dials the sales queue, hears an agent, and hangs up.
deadline: 30s
agents:
  agent1: {answer_after: 0.3s}
steps:
  - call: {to: "did:sales"}
  - expect_answer: {within: 5s}
  - expect_agent: {agents: [agent1], within: 10s}
  - hangup
"""


class Cpu:
    """CPU seconds of the processes whose command line holds ``marker``, and the machine's CPU use."""

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.seconds: dict[int, float] = {}
        self.machine: list[float] = []
        self.samples: list[tuple[float, float]] = []  # (wall clock, CPU seconds so far)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Cpu:
        psutil.cpu_percent(None)
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.machine.append(psutil.cpu_percent(None))
            for p in psutil.process_iter(["cmdline"]):
                if self.marker in " ".join(p.info.get("cmdline") or []):
                    try:
                        t = p.cpu_times()
                    except psutil.Error:
                        continue
                    self.seconds[p.pid] = t.user + t.system
            self.samples.append((time.time(), self.total))

    @property
    def total(self) -> float:
        return sum(self.seconds.values())

    def between(self, t0: float, t1: float) -> float:
        """CPU seconds spent from wall-clock ``t0`` to ``t1`` (the samples nearest inside them):
        the calls' own cost, without the processes' start-up and shut-down."""
        inside = [c for t, c in self.samples if t0 <= t <= t1]
        return inside[-1] - inside[0] if len(inside) > 1 else 0.0


def write_inputs(folder: Path, callers: int, duration: float, sample: float) -> Path:
    flow = folder / "quick.flow.yaml"
    flow.write_text(FLOW, encoding="utf-8")
    path = folder / f"rate-{callers}.load.yaml"
    path.write_text("\n".join([
        f"name: rate {callers} callers",
        f"callers: {{count: {callers}, spawn_rate: {max(1, callers // 2)}}}",
        f"duration: {duration:g}s",
        "flows:",
        f"  - {{scenario: {flow}, weight: 1}}",
        f"agents: {{count: {callers + 2}, answer_after: 0.3s, talk: {{min: 20s, max: 20s}}}}",
        f"verify: {{sample: {sample}}}",
        "thresholds: {failed_calls: 0%}",
    ]) + "\n", encoding="utf-8")
    return path


def calls_of(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for log in sorted(out.glob("calls-w*.jsonl"))
            for line in log.read_text().splitlines() if line.strip()]


def span(calls: list[dict[str, Any]]) -> tuple[float, float]:
    """Wall-clock time of the first call's start and the last call's end."""
    ends = [c["started"] + s[2] / 1000 for c in calls for s in c["stages"] if s[0] == "flow"]
    return min(c["started"] for c in calls), max(ends)


def figures(calls: list[dict[str, Any]]) -> dict[str, Any]:
    starts = sorted(c["started"] for c in calls)
    setups = sorted(s[2] / 1000 for c in calls for s in c["stages"] if s[:2] == ["call", "set-up"])
    failed = [c for c in calls if c.get("failure")]
    span = starts[-1] - starts[0] if len(starts) > 1 else 0.0
    return {
        "calls": len(calls), "failed": len(failed),
        "cause": (failed[0]["failure"][:70] if failed else ""),
        "rate": (len(starts) - 1) / span if span > 0 else 0.0,
        "p50": statistics.median(setups) if setups else None,
        "p95": setups[min(len(setups) - 1, int(0.95 * len(setups)))] if setups else None,
    }


def platform(folder: Path, callers: int) -> RefPlatform:
    agents = ",".join(f"20{n:02d}" for n in range(1, callers + 3))
    return RefPlatform(folder / "platform", workers=callers // 2 + 2, up_args=("--agents", agents))


def run_locust(ref: RefPlatform, folder: Path, profile: Path, workers: int, limit: float) -> dict[str, Any]:
    out = folder / "run"
    cmd = [sys.executable, "-m", "harness.cli", "load", str(profile), "--target", str(profile_for(ref, folder)),
           "--headless", "--workers", str(workers), "--master-port", str(free_tcp_port()), "--seed", "11",
           "--out", str(out)]
    with Cpu("locust") as cpu:
        done = subprocess.run(cmd, cwd=PROJECT, capture_output=True, text=True, timeout=limit,
                              stdin=subprocess.DEVNULL, check=False, env={**os.environ, **ref.secrets})
    if not (out / "summary.json").exists():
        print(done.stdout[-2000:], done.stderr[-2000:], sep="\n")
    calls = calls_of(out)
    return {**figures(calls), "exit": done.returncode, "cpu_s": cpu.total,
            "cpu_calls_s": cpu.between(*span(calls)) if calls else 0.0,
            "machine": sum(cpu.machine) / max(1, len(cpu.machine))}


def run_driver(ref: RefPlatform, folder: Path, profile: Path, limit: float) -> dict[str, Any]:
    out = folder / "driver"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--driver", str(profile),
           "--target", str(profile_for(ref, folder)), "--out", str(out)]
    with Cpu("--driver") as cpu:
        done = subprocess.run(cmd, cwd=PROJECT, capture_output=True, text=True, timeout=limit,
                              stdin=subprocess.DEVNULL, check=False, env={**os.environ, **ref.secrets})
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-2000:], sep="\n")
    calls = calls_of(out)
    return {**figures(calls), "exit": done.returncode, "cpu_s": cpu.total,
            "cpu_calls_s": cpu.between(*span(calls)) if calls else 0.0,
            "machine": sum(cpu.machine) / max(1, len(cpu.machine))}


def driver(profile_path: Path, target_path: Path, out: Path) -> int:
    """The harness's own controller, no Locust: one Pool, one thread per caller, the same pacing."""
    import random

    from harness.load.call import place
    from harness.load.pool import Pool
    from harness.load.profile import load_profile
    from harness.targets.profile import load_prompt_library, load_target

    target = load_target(target_path)
    prompts = load_prompt_library(target.prompts) if target.prompts else None
    profile = load_profile(profile_path, target, prompts)
    out.mkdir(parents=True, exist_ok=True)
    work = out / "worker-0"
    agents = profile.agents
    pool = Pool(target, work, agents, list(agents.accounts) if agents else [], seed=11)
    time.sleep(AGENT_SETTLE if pool.agents else 0.0)
    log = (out / "calls-w0.jsonl").open("a", encoding="utf-8")
    lock = threading.Lock()
    end = time.monotonic() + profile.duration
    rng = random.Random(11)

    def caller(delay: float) -> None:
        time.sleep(delay)  # the ramp: spawn_rate callers a second
        while time.monotonic() < end:
            began = time.monotonic()
            with lock:
                sampled = rng.random() < profile.sample
            outcome = place(pool, profile.flows[0].scenario, target, prompts, work, sampled)
            with lock:
                log.write(json.dumps(outcome.to_json(), ensure_ascii=False) + "\n")
            time.sleep(max(0.0, MIN_CALL_GAP - (time.monotonic() - began)))

    threads = [threading.Thread(target=caller, args=(i / profile.spawn_rate,), daemon=True)
               for i in range(profile.callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(profile.duration + 60.0)
    pool.close()
    log.close()
    return 0


def fmt_ms(v: float | None) -> str:
    return f"{v * 1000:.0f} ms" if v is not None else "-"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--callers", type=int, nargs="+", default=[8, 16, 24, 32])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--duration", type=float, default=40.0)
    ap.add_argument("--overhead", type=int, default=12, help="callers in the overhead table")
    ap.add_argument("--only", nargs="+", choices=["rate", "overhead"], default=["rate", "overhead"])
    ap.add_argument("--keep", type=Path, default=None)
    ap.add_argument("--driver", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--target", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.driver:
        return driver(args.driver, args.target, args.out)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-load-rate-"))
    folder.mkdir(parents=True, exist_ok=True)
    limit = args.duration + 300.0
    print(f"{psutil.cpu_count()} cores; {args.duration:g}s of calls a row; a fresh reference a row\n")
    best: dict[int, float] = {}
    if "rate" in args.only:
        print("| callers | Locust workers | calls | failed | set-ups/s | set-up p95 | machine CPU | exit "
              "| first failure |")
        print("|---|---|---|---|---|---|---|---|---|")
        for callers in args.callers:
            profile = write_inputs(folder, callers, args.duration, 0.1)
            for workers in args.workers:
                here = folder / f"rate-{callers}-{workers}"
                ref = platform(here, callers)
                try:
                    ref.start()
                    r = run_locust(ref, here, profile, workers, limit)
                finally:
                    ref.stop()
                if r["failed"] == 0 and r["calls"]:
                    best[workers] = max(best.get(workers, 0.0), r["rate"])
                print(f"| {callers} | {workers} | {r['calls']} | {r['failed']} | {r['rate']:.2f} | "
                      f"{fmt_ms(r['p95'])} | {r['machine']:.0f} % | {r['exit']} | {r['cause']} |", flush=True)
        line = ", ".join(f"{w} worker(s): {v:.2f}/s" for w, v in sorted(best.items()))
        print(f"\nsustained without a failed call: {line}")
        if best.get(1) and best.get(2):
            print(f"scaling factor 2 workers / 1 worker: {best[2] / best[1]:.2f}")
    if "overhead" in args.only:
        callers = args.overhead
        profile = write_inputs(folder, callers, args.duration, 0.1)
        print(f"\n| {callers} callers, {args.duration:g}s | calls | failed | set-up p50 / p95 | "
              "controller CPU s, whole run | CPU s while calls were up | CPU ms per call |")
        print("|---|---|---|---|---|---|---|")
        for how in ("own controller (no Locust)", "Locust, 1 worker (master + worker)"):
            here = folder / f"overhead-{'own' if how.startswith('own') else 'locust'}"
            ref = platform(here, callers)
            try:
                ref.start()
                r = (run_driver(ref, here, profile, limit) if how.startswith("own")
                     else run_locust(ref, here, profile, 1, limit))
            finally:
                ref.stop()
            per = r["cpu_calls_s"] * 1000 / r["calls"] if r["calls"] else 0.0
            print(f"| {how} | {r['calls']} | {r['failed']} | {fmt_ms(r['p50'])} / {fmt_ms(r['p95'])} | "
                  f"{r['cpu_s']:.1f} | {r['cpu_calls_s']:.1f} | {per:.0f} |", flush=True)
    print(f"\nruns kept in {folder}" if args.keep else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
