"""The seat scenario with 20, 50 and 100 seats: wall time and verdict.

    .venv/bin/python tests/benchmarks/bench_seats.py [--seats 20 50 100] [--keep DIR]

For each seat count N it starts a conformant reference platform on loopback
(its own ports, stopped afterwards) sized for it -- N agents and N callers
(2001.., 1001.. as the reference profile's seat_accounts template names them:
``20{n:02d}``, ``10{n:02d}``), every agent in the seat queue, and N/2 + 1
media workers (two conversations each) -- then runs the default suite's
``scenarios/acd/seats.scenario.yaml`` against it with ``licence.seats: N``,
as ``ccharness run`` does: N agent phones register, N callers dial the seat
queue together, each is answered by a distinct agent, all N conversations are
up together for 5 s, and every recording is found with both parties' markers.

It prints per N: the wall time of the scenario (phones started to the last
recording judged), its verdict (and the failure if any), and the CPU use.
A script, not a test: pytest does not collect tests/benchmarks. The scenario's
own deadline (90 s) bounds every run; the platform is stopped whatever happens.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import psutil
import yaml

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT))

from harness.errors import ExpectationFailed, HarnessError
from harness.targets.profile import load_target
from tests.reference.conftest import RefPlatform
from tests.reference.scenario_run import profile_for, run_on

SCENARIO = PROJECT / "scenarios" / "acd" / "seats.scenario.yaml"


def one(seats: int, folder: Path) -> str:
    agents = [f"20{n:02d}" for n in range(1, seats + 1)]
    callers = [f"10{n:02d}" for n in range(1, seats + 1)]
    ref = RefPlatform(folder / f"platform-{seats}", workers=seats // 2 + 1, overrides={
        "accounts.agents": agents, "accounts.callers": callers, "queues.seats.agents": agents})
    try:
        ref.start()
        os.environ.update(ref.secrets)
        path = profile_for(ref, folder / f"target-{seats}")
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        spec["licence"]["seats"] = seats
        path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
        psutil.cpu_percent(None)
        began = time.monotonic()
        try:
            run_on(load_target(path), SCENARIO, folder / f"run-{seats}")
            verdict = "passed"
        except ExpectationFailed as exc:
            verdict = f"NOT CONFORMANT: {exc.detail[:200]}"
        except HarnessError as exc:
            verdict = f"ERROR: {type(exc).__name__}: {str(exc)[:200]}"
        wall = time.monotonic() - began
        return f"| {seats} | {wall:.1f} s | {psutil.cpu_percent(None):.0f} % | {verdict} |"
    finally:
        ref.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seats", type=int, nargs="+", default=[20, 50, 100])
    ap.add_argument("--keep", type=Path, default=None)
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-seats-"))
    print(f"{psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB\n")
    print("| seats | scenario wall time | CPU mean | verdict |")
    print("|---|---|---|---|")
    for seats in args.seats:
        print(one(seats, folder), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
