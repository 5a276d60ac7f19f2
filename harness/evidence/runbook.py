"""The runs' history, kept in the ledger file (``reports/ledger.sqlite``) beside the canaries.

A run folder's ``evidence.jsonl`` is the whole truth about one run; the run
book keeps, from each, what a history needs across runs: the run (target,
start, duration, exit status, reference faults), each scenario's verdict and
duration, and every number its steps measured (prompt scores, set-up times,
MOS ...). ``ccharness run`` files a run as it ends; ``ccharness history`` files
any run folder it finds that is not filed yet (a run killed mid-way, a run
from before the run book), so filing twice changes nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.evidence.ledger import LedgerFile
from harness.evidence.records import EVIDENCE, read_evidence, unfinished
from harness.project import PROJECT_ROOT

LEDGER = "ledger.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, folder TEXT NOT NULL, target TEXT NOT NULL, address TEXT NOT NULL,
    started_utc TEXT NOT NULL, duration_s REAL, exit_status INTEGER, complete INTEGER NOT NULL,
    faults TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    run_id TEXT NOT NULL, file TEXT NOT NULL, name TEXT NOT NULL, verdict TEXT NOT NULL,
    failed_step TEXT, message TEXT NOT NULL, started_utc TEXT NOT NULL, duration_s REAL,
    PRIMARY KEY (run_id, file));
CREATE TABLE IF NOT EXISTS figures (
    run_id TEXT NOT NULL, file TEXT NOT NULL, step INTEGER NOT NULL, kind TEXT NOT NULL,
    subject TEXT NOT NULL, name TEXT NOT NULL, value REAL NOT NULL);
CREATE INDEX IF NOT EXISTS figures_by_run ON figures (run_id, file);
"""


@dataclass(frozen=True)
class RunRow:
    """One filed run; ``complete`` is False for a run that never wrote its end record."""

    run_id: str
    folder: str
    target: str
    address: str  # host:port/transport
    started_utc: datetime
    duration_s: float | None
    exit_status: int | None
    complete: bool
    faults: tuple[str, ...]

    @property
    def interrupted(self) -> bool:
        """Stopped before it ended (Ctrl-C, a timeout, a kill): the scenario it was in decided nothing."""
        return not self.complete or self.exit_status == INTERRUPTED

    @property
    def baseline(self) -> bool:
        """A run whose verdicts later runs are compared with: it ended, on the platform as it is."""
        return self.complete and self.exit_status in (0, 1) and not self.faults


INTERRUPTED = 2
"""pytest's exit status for a run stopped by Ctrl-C (``ccharness run`` passes it on)."""


@dataclass(frozen=True)
class ResultRow:
    """One scenario's verdict in one run."""

    run_id: str
    file: str
    name: str
    verdict: str  # passed, not_conformant, error
    failed_step: str | None
    message: str
    started_utc: datetime
    duration_s: float | None


@dataclass(frozen=True)
class FigureRow:
    """A number a step measured: ``subject`` is what it was about (a prompt, a call, a queue)."""

    run_id: str
    file: str
    step: int
    kind: str
    subject: str
    name: str
    value: float


@dataclass(frozen=True)
class Filed:
    """A run as the run book holds it: the run, its scenarios' results and their figures."""

    run: RunRow
    results: tuple[ResultRow, ...]
    figures: tuple[FigureRow, ...]


def _time(text: str) -> datetime:
    """An ISO time (with its offset) as UTC."""
    return datetime.fromisoformat(text).astimezone(UTC)


def _stamp(time: datetime) -> str:
    """A time as stored: UTC with microseconds, so stored times sort as text."""
    return time.astimezone(UTC).isoformat(timespec="microseconds")


def address(host: object, port: object, transport: object) -> str:
    """How a platform is told apart from another with the same target name: ``host:port/transport``."""
    return f"{host}:{port}/{transport}"


def scenario_key(file: str) -> str:
    """How a scenario is known across runs: its path inside the project (a checkout moved elsewhere
    keeps its history), or the absolute path of a scenario outside it."""
    try:
        return Path(file).relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return file


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return round((_time(end) - _time(start)).total_seconds(), 3)


def _subject(spec: Mapping[str, Any]) -> str:
    """What a step's figures are about, for telling its series apart across runs."""
    for key in ("prompt", "queue", "did", "call", "party", "agent"):
        value = spec.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def _ended(folder: Path) -> bool:
    """Whether the run in ``folder`` wrote its end record (the last one), read from the file's tail."""
    with (folder / EVIDENCE).open("rb") as f:
        f.seek(max(0, f.seek(0, 2) - 4096))
        tail = f.read().rstrip(b"\n").rsplit(b"\n", 1)[-1]
    try:
        return bool(json.loads(tail).get("type") == "end")
    except (ValueError, AttributeError):
        return False  # cut inside the last record: the run is still writing, or was killed


def from_evidence(folder: Path, records: Sequence[Mapping[str, Any]]) -> Filed:
    """What the run book keeps of a run folder's evidence records."""
    heads = [r for r in records if r.get("type") == "run"]
    if not heads:
        raise HarnessError(f"{folder / EVIDENCE}: no run record (the run ended before its first scenario)")
    if len(heads) > 1:
        raise HarnessError(f"{folder / EVIDENCE}: {len(heads)} run records: more than one run wrote into "
                           f"this folder (a --run-id used twice), so its verdicts are not filed")
    head = heads[0]
    end = next((r for r in records if r.get("type") == "end"), None)
    target = head.get("target", {})
    run_id = str(head["run_id"])
    run = RunRow(run_id, str(folder), str(target.get("name", "?")),
                 address(target.get("host"), target.get("port"), target.get("transport")),
                 _time(head["started_utc"]), end.get("duration_s") if end else None,
                 end.get("exit_status") if end else None, end is not None,
                 tuple(head.get("reference_faults") or ()))
    results, figures = [], []
    for started in unfinished(records):
        results.append(ResultRow(run_id, scenario_key(str(started["file"])), str(started["name"]), "error",
                                 None, "the run ended during this scenario (killed, or stopped)",
                                 _time(started["started_utc"]), None))
    for record in records:
        if record.get("type") != "scenario":
            continue
        file = scenario_key(str(record["file"]))
        results.append(ResultRow(run_id, file, str(record["name"]), str(record["verdict"]),
                                 record.get("failed_step"), str(record.get("message", "")),
                                 _time(record["started_utc"]),
                                 _seconds(record.get("started_utc"), record.get("ended_utc"))))
        figures += _figures(run_id, file, record)
    return Filed(run, tuple(results), tuple(figures))


def _figures(run_id: str, file: str, record: Mapping[str, Any]) -> list[FigureRow]:
    """Every finite number the scenario's steps measured."""
    out = []
    for step in record.get("steps", ()):
        subject = _subject(step.get("spec") or {})
        for name, value in (step.get("measurements") or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                out.append(FigureRow(run_id, file, int(step["index"]), str(step["kind"]), subject, str(name),
                                     float(value)))
    return out


class RunBook(LedgerFile):
    """The runs filed in the ledger file at ``path``."""

    schema = _SCHEMA

    @classmethod
    def of_reports(cls, reports: Path) -> RunBook:
        """The run book of a reports folder (its run folders' parent)."""
        return cls(Path(reports) / LEDGER)

    def file(self, filed: Filed) -> None:
        """File one run, replacing what an earlier filing of the same run held."""
        r = filed.run
        with self._connect() as db:
            for table in ("runs", "results", "figures"):
                db.execute(f"DELETE FROM {table} WHERE run_id = ?", (r.run_id,))
            db.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (r.run_id, r.folder, r.target, r.address, _stamp(r.started_utc), r.duration_s,
                        r.exit_status, int(r.complete), json.dumps(list(r.faults))))
            db.executemany("INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           [(x.run_id, x.file, x.name, x.verdict, x.failed_step, x.message,
                             _stamp(x.started_utc), x.duration_s) for x in filed.results])
            db.executemany("INSERT INTO figures VALUES (?, ?, ?, ?, ?, ?, ?)",
                           [(f.run_id, f.file, f.step, f.kind, f.subject, f.name, f.value)
                            for f in filed.figures])

    def file_folder(self, folder: Path) -> Filed:
        """File the run in ``folder`` from its evidence records."""
        filed = from_evidence(folder, read_evidence(folder))
        self.file(filed)
        return filed

    def filed(self) -> dict[str, bool]:
        """Every filed run id, and whether its run had ended when it was filed."""
        with self._connect() as db:
            return {str(row[0]): bool(row[1]) for row in db.execute("SELECT run_id, complete FROM runs")}

    def complete(self, run_id: str) -> bool:
        """Whether ``run_id`` is filed, and its run had ended when it was filed."""
        with self._connect() as db:
            row = db.execute("SELECT complete FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return bool(row and row[0])

    def file_new(self, reports: Path) -> list[str]:
        """File every run folder under ``reports`` not filed yet, or filed before it ended and ended
        since (a killed run is read once, not on every call); their ids."""
        done = self.filed()
        filed = []
        for folder in sorted(p for p in Path(reports).iterdir() if (p / EVIDENCE).is_file()):
            if folder.name in done and (done[folder.name] or not _ended(folder)):
                continue
            try:
                filed.append(self.file_folder(folder).run.run_id)
            except HarnessError:
                continue  # a folder whose run never started a scenario: nothing to keep
        return filed

    def runs(self, target: str | None = None, address: str | None = None, last: int | None = None,
             faults: bool = False) -> list[RunRow]:
        """Filed runs, oldest first: the ``last`` latest of ``target`` at ``address`` (every one if
        None); runs with reference faults only with ``faults``."""
        where, args = [], []
        for column, value in (("target", target), ("address", address)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if not faults:
            where.append("faults = '[]'")
        query = "SELECT * FROM runs" + (" WHERE " + " AND ".join(where) if where else "")
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY started_utc DESC" + (f" LIMIT {int(last)}" if last else ""),
                              args).fetchall()
        return [RunRow(r[0], r[1], r[2], r[3], _time(r[4]), r[5], r[6], bool(r[7]), tuple(json.loads(r[8])))
                for r in reversed(rows)]

    def targets(self) -> list[tuple[str, str]]:
        """Every (target, address) with filed runs, the most recently run last."""
        with self._connect() as db:
            rows = db.execute("SELECT target, address, max(started_utc) AS t FROM runs GROUP BY target, address "
                              "ORDER BY t")
            return [(str(r[0]), str(r[1])) for r in rows]

    def results(self, run_ids: Sequence[str]) -> list[ResultRow]:
        """The scenario results of these runs."""
        with self._connect() as db:
            rows = db.execute(f"SELECT * FROM results WHERE run_id IN ({','.join('?' * len(run_ids))})",
                              tuple(run_ids)).fetchall()
        return [ResultRow(r[0], r[1], r[2], r[3], r[4], r[5], _time(r[6]), r[7]) for r in rows]

    def figures(self, run_ids: Sequence[str]) -> list[FigureRow]:
        """The figures measured in these runs."""
        with self._connect() as db:
            rows = db.execute(f"SELECT * FROM figures WHERE run_id IN ({','.join('?' * len(run_ids))})"
                              " ORDER BY run_id, file, step", tuple(run_ids)).fetchall()
        return [FigureRow(r[0], r[1], int(r[2]), r[3], r[4], r[5], float(r[6])) for r in rows]

    def last_verdicts(self, target: str, address: str) -> dict[str, tuple[str, str]]:
        """Per scenario, its latest verdict on ``target`` at ``address`` and the run that gave it:
        from runs that ended on the platform as it is (no reference fault), and not the error of a
        scenario a run was stopped in."""
        base = {r.run_id: r for r in self.runs(target, address) if r.baseline}
        out: dict[str, tuple[str, str]] = {}
        for result in sorted(self.results(list(base)), key=lambda x: (base[x.run_id].started_utc, x.file)):
            out[result.file] = (result.verdict, result.run_id)
        return out
