"""Repeatability of the default suite against the reference platform: prints a table.

    .venv/bin/python tests/benchmarks/bench_repeatability.py [--runs 10] [-k EXPR]
        [--fault NAME ... | --all-faults] [--fault-runs N] [--fault-suite item|all]

Runs ``ccharness run`` (the README's main command, each run starting and
stopping the reference platform as it does) ``--runs`` times with no fault,
then ``--fault-runs`` times with each fault, and prints per run the wall time,
the verdicts and the scenarios that failed, then a summary per condition.
With no fault every run must be CONFORMANT; with a fault every run must catch
it (NOT CONFORMANT). Reads the verdicts from each run's evidence records, not
from the console.

A fault runs, by default (``--fault-suite item``), only the scenarios of the
licence item it breaks (``ivr_*`` scenarios/ivr, ``acd_*`` and ``seat*`` scenarios/acd, ``auth_*`` and
``dialplan_*`` scenarios/security,
``rec_*`` scenarios/recording, ``retention_*`` scenarios/retention): that is
where it must be caught, and the whole matrix then takes about 20 minutes a
round instead of 80.
``--runs 0`` skips the clean runs.

It is not a pytest test (``tests/benchmarks`` is in ``norecursedirs``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from fixtures.reference.platform import FAULTS

ITEM_FOLDER = {"ivr": "ivr", "acd": "acd", "rec": "recording", "retention": "retention",
               "auth": "security", "dialplan": "security", "seats": "acd", "seat": "acd"}


def item_folder(fault: str) -> str:
    """The scenario folder of the licence item a reference fault breaks."""
    return f"scenarios/{ITEM_FOLDER[fault.split('_', 1)[0]]}"


def run_suite(reports: Path, run_id: str, fault: str | None, keyword: str | None,
              folder: str | None = None) -> tuple[float, int, dict[str, str]]:
    command = [str(ROOT / ".venv" / "bin" / "ccharness"), "run", "--reports", str(reports), "--run-id", run_id]
    command += [folder] if folder else []
    command += ["--reference-fault", fault] if fault else []
    command += ["-k", keyword] if keyword else []
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=3600, check=False)
    took = time.monotonic() - started
    verdicts = {}
    evidence = reports / run_id / "evidence.jsonl"
    if evidence.exists():
        for line in evidence.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record["type"] == "scenario":
                verdicts[Path(record["file"]).parent.name + "/" + record["folder"]] = record["verdict"]
    return took, done.returncode, verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=10, help="clean runs (default 10)")
    parser.add_argument("--fault", action="append", default=[], choices=sorted(FAULTS),
                        help="also run with this reference fault")
    parser.add_argument("--all-faults", action="store_true", help="also run with each reference fault")
    parser.add_argument("--fault-runs", type=int, default=None, help="runs per fault (default --runs)")
    parser.add_argument("--fault-suite", choices=("item", "all"), default="item",
                        help="a fault runs its licence item's scenarios (item) or the whole suite")
    parser.add_argument("-k", dest="keyword", default=None, help="only scenarios matching (as ccharness run -k)")
    args = parser.parse_args(argv)
    faults = sorted(FAULTS) if args.all_faults else args.fault
    plan: list[tuple[str | None, int, str | None]] = [(None, args.runs, None)]
    for fault in faults:
        folder = item_folder(fault) if args.fault_suite == "item" else None
        plan.append((fault, args.runs if args.fault_runs is None else args.fault_runs, folder))
    rows, summary, ok = [], [], True
    with tempfile.TemporaryDirectory(prefix="ccharness-repeat-") as tmp:
        for fault, runs, folder in plan:
            good_runs, times = 0, []
            for n in range(1, runs + 1):
                took, code, verdicts = run_suite(Path(tmp), f"{fault or 'clean'}-{n}", fault, args.keyword,
                                                 folder)
                failed = sorted(s for s, v in verdicts.items() if v != "passed")
                good = (code == 0 and not failed) if fault is None else (code == 1 and bool(failed))
                ok &= good
                good_runs += good
                times.append(took)
                rows.append([fault or "(none)", folder or "scenarios", str(n), f"{took:6.1f}", str(len(verdicts)),
                             str(sum(v == "passed" for v in verdicts.values())), ", ".join(failed) or "-",
                             "yes" if good else "NO"])
                print(" | ".join(rows[-1]), file=sys.stderr, flush=True)
            if runs:
                summary.append([fault or "(none)", folder or "scenarios", f"{good_runs}/{runs}",
                                f"{min(times):.0f}-{max(times):.0f}"])
    table(["fault", "scenarios", "run", "wall s", "scenarios", "passed", "failed", "as expected"], rows)
    print()
    table(["fault", "scenarios", "as expected", "wall s"], summary)
    return 0 if ok else 1


def table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


if __name__ == "__main__":
    sys.exit(main())
