"""``ccharness history``: per scenario, the verdicts, durations and followed figures of the last runs.

It files any run folder under ``--reports`` that the run book does not hold
yet, prints each target's history, and writes the page (one HTML file that
opens offline) beside the ledger.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
from pathlib import Path

from harness.errors import HarnessError, SpecError
from harness.evidence.runbook import LEDGER, RunBook
from harness.history.page import page
from harness.history.trends import History, history, lines

DEFAULT_LAST = 20


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reports", default="reports", help="the folder of run folders and the ledger "
                                                             "(default reports/)")
    parser.add_argument("--target", default=None, metavar="NAME|PROFILE",
                        help="only this target (its name, or its profile); default every target")
    parser.add_argument("--last", type=_positive, default=DEFAULT_LAST, metavar="N",
                        help=f"the last N runs of each target (default {DEFAULT_LAST})")
    parser.add_argument("--html", default=None, metavar="FILE",
                        help="where to write the page (default REPORTS/history.html)")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a whole number of runs, at least 1")
    return value


def target_name(given: str) -> str:
    """A target's name: given as such, or read from the profile ``given`` names."""
    path = Path(given)
    if not (given.endswith((".yaml", ".yml")) and path.is_file()):
        return given
    from harness.targets.profile import load_target

    return load_target(path).name


def histories(book: RunBook, target: str | None, last: int) -> list[History]:
    """Each platform's history (a target name at an address; only ``target``'s when given), the
    most recently run last. Runs with reference faults are left out: they fail on purpose."""
    found = []
    for name, address in book.targets():
        runs = book.runs(name, address, last) if target in (None, name) else []
        if runs:
            ids = [r.run_id for r in runs]
            found.append(history(f"{name} at {address}", runs, book.results(ids), book.figures(ids)))
    return found


def write_page(found: list[History], out: Path) -> None:
    """The page, written whole (a reader never sees half of it, two writers never share a file)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=out.parent, prefix=f".{out.name}.",
                                     delete=False) as part:
        part.write(page(found))
    Path(part.name).replace(out)


def main(args: argparse.Namespace) -> int:
    reports = Path(args.reports)
    if not reports.is_dir():
        print(f"ccharness history: {reports}: no such folder (runs write theirs with ccharness run "
              f"--reports {reports})", file=sys.stderr)
        return 2
    try:
        target = target_name(args.target) if args.target else None
        book = RunBook.of_reports(reports)
        book.file_new(reports)
        found = histories(book, target, args.last)
    except (HarnessError, SpecError, ValueError) as exc:
        print(f"ccharness history: {exc}", file=sys.stderr)
        return 2
    except sqlite3.Error as exc:
        print(f"ccharness history: the ledger {reports / LEDGER}: {exc} (a read-only folder? copy it "
              f"somewhere writable)", file=sys.stderr)
        return 2
    if not found:
        which = f"of target {target} " if target else ""
        print(f"ccharness history: no runs {which}in {reports / LEDGER} or {reports}/*/evidence.jsonl",
              file=sys.stderr)
        return 1
    for one in found:
        print("\n".join(lines(one)), end="\n\n")
    out = Path(args.html) if args.html else reports / "history.html"
    write_page(found, out)
    print(f"history page: {out.resolve()}")
    return 0
