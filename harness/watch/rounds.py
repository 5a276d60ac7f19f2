"""``ccharness watch``'s rounds: run the suite, file it, compare, call the hooks, wait, again.

Each round is a fresh ``ccharness run`` process (its own phones, its own
pytest), into ``REPORTS/<run-id>/`` like any run, so the history and the
reports are the usual ones; its output goes to ``REPORTS/watch/<run-id>.log``.
A round's verdicts are compared with each scenario's latest verdict in the
ledger (runs before the watch count too), and every change is an event. A
platform that is down gives ERROR verdicts, which are changes like any
other; a round that gave no verdict at all (the run could not start) is a
``round_error`` event once, not a crash. The optional drift check runs
``ccharness discover --compare MAP`` after the suite.

``every`` is the pause from the end of one round to the start of the next
(as ``watch(1)`` counts it: rounds never overlap and a slow platform is not
piled on); ``precise`` counts it from start to start instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from harness.errors import HarnessError
from harness.evidence.runbook import ResultRow, RunBook
from harness.history.trends import ScenarioHistory
from harness.watch.hooks import Event

STOP_GRACE = 60.0
"""Seconds a round's process gets to tear down (hang up, stop a managed platform) after Ctrl-C."""


@dataclass(frozen=True)
class Settings:
    profile: Path
    target: str  # the profile's target name, as the run book files runs
    reports: Path
    suite: tuple[str, ...]
    every: float
    rounds: int | None = None  # stop after this many (None: until stopped)
    precise: bool = False
    round_timeout: float = 7200.0
    discover_map: Path | None = None
    discover_options: tuple[str, ...] = ()
    python: str = "python3"


class Hook(Protocol):
    """What the watch needs of a hook (``harness.watch.hooks``)."""

    def call(self, events: Sequence[Event], context: dict[str, Any]) -> str: ...


Say = Callable[[str], None]


def _short(file: str) -> str:
    return ScenarioHistory(file, "", (), (), (), ()).short


class Watch:
    """Runs rounds until ``settings.rounds`` are done or ``stop()`` is called (Ctrl-C)."""

    def __init__(self, settings: Settings, hooks: Sequence[Hook], say: Say) -> None:
        self.settings = settings
        self.hooks = list(hooks)
        self.say = say
        self.book = RunBook.of_reports(settings.reports)
        self.stopping = threading.Event()
        self.child: subprocess.Popen[bytes] | None = None
        self.round = 0
        self.round_failed = False
        self.drifting: bool | None = False  # None: the last drift check could not crawl

    def stop(self) -> None:
        """Stop after the current round's process has torn down (it is sent Ctrl-C itself); a
        second stop kills it."""
        again = self.stopping.is_set()
        self.stopping.set()
        child = self.child
        if child is not None and child.poll() is None:
            _signal_group(child, signal.SIGKILL if again else signal.SIGINT)

    def forever(self) -> int:
        """The rounds; 0 once stopped or done."""
        while not self.stopping.is_set():
            started = time.monotonic()
            self.round += 1
            self.one_round()
            if self.stopping.is_set():
                break
            if self.settings.rounds is not None and self.round >= self.settings.rounds:
                self.say(f"watch: {self.round} round(s) done")
                break
            pause = self.settings.every - (time.monotonic() - started if self.settings.precise else 0.0)
            pause = max(0.0, pause)
            nxt = datetime.now(UTC).timestamp() + pause
            self.say(f"watch: next round at {datetime.fromtimestamp(nxt, UTC):%H:%M:%SZ} (in {pause:.0f}s); "
                     "Ctrl-C stops")
            if self.stopping.wait(pause):
                break
        if self.stopping.is_set():
            self.say(f"watch: stopped after {self.round} round(s)")
        return 0

    def one_round(self) -> None:
        run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        if (self.settings.reports / run_id).exists():
            run_id += f"-{self.round}"
        before = self.book.last_verdicts(self.settings.target)
        self.say(f"watch: round {self.round}: ccharness run {' '.join(self.settings.suite) or 'scenarios/'} "
                 f"against {self.settings.target} (run {run_id})")
        took, why = self._run(run_id)
        if self.stopping.is_set():  # cut short by Ctrl-C: what it left is no verdict on the platform
            self.say(f"watch: round {self.round} interrupted after {took:.0f}s: its verdicts are not "
                     f"compared (its run folder is kept: {self.settings.reports / run_id})")
            return
        events = self._verdict_events(run_id, before, took, why)
        if self.settings.discover_map is not None and not self.stopping.is_set():
            events += self._drift_events(run_id)
        for event in events:
            self.say(f"watch: {event.line}")
        if events and self.hooks:
            context = {"target": self.settings.target, "round": self.round, "run_id": run_id,
                       "report": str(self._report(run_id) or "")}
            for hook in self.hooks:
                self.say(f"watch: {hook.call(events, context)}")
        self._page()

    def _run(self, run_id: str) -> tuple[float, str | None]:
        """The round's ``ccharness run``: seconds it took, and why it gave nothing (if it did not end)."""
        s = self.settings
        argv = [s.python, "-m", "harness.cli", "run", "--target", str(s.profile), "--reports",
                str(s.reports), "--run-id", run_id, *s.suite]
        return self.run_child(argv, s.reports / "watch" / f"{run_id}.log", s.round_timeout)

    def run_child(self, argv: list[str], log: Path, timeout: float) -> tuple[float, str | None]:
        log.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with open(log, "wb") as out:
            self.child = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            why = None
            try:
                self.child.wait(timeout)
            except subprocess.TimeoutExpired:
                why = f"still running after {timeout:.0f}s: stopped (see {log})"
                _signal_group(self.child, signal.SIGINT)
            try:
                self.child.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                _signal_group(self.child, signal.SIGKILL)
                self.child.wait(10.0)
            code = self.child.returncode
            self.child = None
        if why is None and code not in (0, 1):
            tail = [x for x in log.read_text(encoding="utf-8", errors="replace").splitlines() if x.strip()]
            why = f"exit {code}: {tail[-1][:300] if tail else 'no output'} (see {log})"
        return time.monotonic() - started, why

    def _verdict_events(self, run_id: str, before: dict[str, tuple[str, str]], took: float,
                        why: str | None) -> list[Event]:
        results = self._results(run_id)
        if not results:
            failed_before, self.round_failed = self.round_failed, True
            line = f"round {self.round} ERROR: no verdict ({why or 'the run wrote no scenario result'})"
            if failed_before:  # not news: said, not sent
                self.say(f"watch: {line}")
                return []
            return [Event("round_error", line, {"run_id": run_id, "why": why})]
        self.round_failed = False
        counts = {v: sum(r.verdict == v for r in results) for v in ("passed", "not_conformant", "error")}
        report = self._report(run_id)
        self.say(f"watch: round {self.round}: {len(results)} scenario(s): {counts['passed']} passed, "
                 f"{counts['not_conformant']} not conformant, {counts['error']} error ({took:.0f}s)"
                 + (f"; report {report}" if report else "") + (f"; {why}" if why else ""))
        events = []
        for r in sorted(results, key=lambda x: x.file):
            was = before.get(r.file)
            if was is None or was[0] == r.verdict:
                continue
            line = f"CHANGED {_short(r.file)}: {was[0]} -> {r.verdict} (run {r.run_id}, was run {was[1]})"
            if r.verdict != "passed":
                line += f": {r.message[:300]}"
            events.append(Event("verdict_changed", line, {
                "scenario": _short(r.file), "file": r.file, "name": r.name, "from": was[0], "to": r.verdict,
                "previous_run_id": was[1], "run_id": r.run_id, "failed_step": r.failed_step,
                "message": r.message}))
        return events

    def _results(self, run_id: str) -> list[ResultRow]:
        folder = self.settings.reports / run_id
        try:
            self.book.file_folder(folder)  # the run filed itself; a killed one did not
        except HarnessError:
            return []
        return self.book.results([run_id])

    def _report(self, run_id: str) -> Path | None:
        path = self.settings.reports / run_id / "report.html"
        return path.resolve() if path.exists() else None

    def _drift_events(self, run_id: str) -> list[Event]:
        from harness.watch.drift import drift_check

        return drift_check(self, run_id)

    def _page(self) -> None:
        from harness.history.cli import histories
        from harness.history.page import page

        out = self.settings.reports / "history.html"
        try:
            found = histories(self.book, self.settings.target, 20)
            if found:
                part = out.with_name(out.name + ".part")
                part.write_text(page(found), encoding="utf-8")
                part.replace(out)
        except (HarnessError, OSError) as exc:
            self.say(f"watch: history page not written: {exc}")


def _signal_group(child: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(child.pid, sig)
    except ProcessLookupError:
        pass
