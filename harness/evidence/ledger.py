"""The ledger: a SQLite database that outlives runs (``reports/ledger.sqlite``).

Retention is a promise about the future, so one run cannot prove it: each
run leaves *canary* recordings here (name, hash, when the platform made
them) and later runs re-verify every canary still inside the required
retention.  The ledger also remembers when a run moved a platform's clock to
prove retention, because purging under a moved clock removes older
recordings too: canaries made before such a proof are *retired*, not lost.

Targets are keyed by the adapter's description (its API address), so two
profiles for one platform share their canaries.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS canaries (
    target TEXT NOT NULL, name TEXT NOT NULL, call_id TEXT, sha256 TEXT NOT NULL,
    size INTEGER, created_utc TEXT NOT NULL, run_id TEXT NOT NULL, scenario TEXT NOT NULL,
    PRIMARY KEY (target, name));
CREATE TABLE IF NOT EXISTS checks (
    target TEXT NOT NULL, name TEXT NOT NULL, run_id TEXT NOT NULL, checked_utc TEXT NOT NULL,
    outcome TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS clock_proofs (
    target TEXT NOT NULL, run_id TEXT NOT NULL, at_utc TEXT NOT NULL);
"""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Canary:
    """A recording a run kept to be re-verified later."""

    target: str
    name: str
    call_id: str | None
    sha256: str
    size: int | None
    created_utc: datetime
    run_id: str
    scenario: str

    def age_days(self, now: datetime) -> float:
        return (now - self.created_utc).total_seconds() / 86400


class LedgerFile:
    """The SQLite file at ``path`` (created on first use) with the tables of ``schema``."""

    schema = ""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(self.schema)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30.0)
        try:
            with db:  # one transaction: commits, or rolls back on an exception
                yield db
        finally:
            db.close()


class Ledger(LedgerFile):
    """The canaries and clock proofs in the ledger file at ``path``."""

    schema = _SCHEMA

    def add_canary(self, canary: Canary) -> None:
        """Keep ``canary``; adding the same recording again keeps the first entry."""
        with self._connect() as db:
            db.execute(
                "INSERT OR IGNORE INTO canaries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (canary.target, canary.name, canary.call_id, canary.sha256, canary.size,
                 _iso(canary.created_utc), canary.run_id, canary.scenario))

    def canaries(self, target: str) -> list[Canary]:
        """Every canary of ``target``, oldest first."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM canaries WHERE target = ? ORDER BY created_utc, name",
                              (target,)).fetchall()
        return [Canary(r[0], r[1], r[2], r[3], r[4], datetime.fromisoformat(r[5]), r[6], r[7])
                for r in rows]

    def record_check(self, canary: Canary, run_id: str, outcome: str, detail: str = "") -> None:
        """What a run found when it re-verified ``canary`` (ok, missing, changed, retired)."""
        with self._connect() as db:
            db.execute("INSERT INTO checks VALUES (?, ?, ?, ?, ?, ?)",
                       (canary.target, canary.name, run_id, _iso(datetime.now(UTC)), outcome, detail))

    def checks(self, target: str, name: str) -> list[tuple[str, str, str]]:
        """(run id, outcome, detail) of every check of one canary, in order."""
        with self._connect() as db:
            rows = db.execute("SELECT run_id, outcome, detail FROM checks WHERE target = ? AND "
                              "name = ? ORDER BY rowid", (target, name)).fetchall()
        return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]

    def note_clock_proof(self, target: str, run_id: str, at: datetime) -> None:
        """A run moved ``target``'s clock and purged: older recordings may be gone by design."""
        with self._connect() as db:
            db.execute("INSERT INTO clock_proofs VALUES (?, ?, ?)", (target, run_id, _iso(at)))

    def last_clock_proof(self, target: str) -> datetime | None:
        with self._connect() as db:
            row = db.execute("SELECT max(at_utc) FROM clock_proofs WHERE target = ?",
                             (target,)).fetchone()
        return datetime.fromisoformat(row[0]) if row and row[0] else None
