"""Repeatability of the default suite against the reference platform: prints a table.

    .venv/bin/python tests/benchmarks/bench_repeatability.py [--runs 5] [--fault NAME ...] [-k EXPR]

Runs ``ccharness run`` (the README's main command, each run starting and
stopping the reference platform as it does) ``--runs`` times with no fault,
then ``--runs`` times with each ``--fault``, and prints per run the wall time,
the verdicts and the scenarios that failed. With no fault every run must be
CONFORMANT; with a fault every run must catch it (NOT CONFORMANT). Reads the
verdicts from each run's evidence records, not from the console.

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


def run_suite(reports: Path, run_id: str, fault: str | None, keyword: str | None) -> tuple[float, int, dict[str, str]]:
    command = [str(ROOT / ".venv" / "bin" / "ccharness"), "run", "--reports", str(reports), "--run-id", run_id]
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
    parser.add_argument("--runs", type=int, default=5, help="runs per condition (default 5)")
    parser.add_argument("--fault", action="append", default=[], help="also run with this reference fault")
    parser.add_argument("-k", dest="keyword", default=None, help="only scenarios matching (as ccharness run -k)")
    args = parser.parse_args(argv)
    rows, ok = [], True
    with tempfile.TemporaryDirectory(prefix="ccharness-repeat-") as tmp:
        for fault in [None, *args.fault]:
            for n in range(1, args.runs + 1):
                took, code, verdicts = run_suite(Path(tmp), f"{fault or 'clean'}-{n}", fault, args.keyword)
                failed = sorted(s for s, v in verdicts.items() if v != "passed")
                good = (code == 0 and not failed) if fault is None else (code == 1 and bool(failed))
                ok &= good
                rows.append([fault or "(none)", str(n), f"{took:6.1f}", str(len(verdicts)),
                             str(sum(v == "passed" for v in verdicts.values())), ", ".join(failed) or "-",
                             "yes" if good else "NO"])
                print(" | ".join(rows[-1]), file=sys.stderr, flush=True)
    header = ["fault", "run", "wall s", "scenarios", "passed", "failed", "as expected"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
