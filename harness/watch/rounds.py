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

Ctrl-C (SIGINT, SIGTERM) only raises a flag (``stop``); the watch's loop, which waits in
short slices, sees it within ``SLICE`` and passes Ctrl-C on to the round's process, which gets
``STOP_GRACE`` from then to hang up and stop a managed platform before it is killed. A round
cut short so is filed (its run folder is kept) but not compared, and is no baseline later.

``every`` is the pause from the end of one round to the start of the next
(as ``watch(1)`` counts it: rounds never overlap and a slow platform is not
piled on); ``precise`` counts it from start to start instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from harness.errors import HarnessError
from harness.evidence.runbook import ResultRow, RunBook
from harness.history.trends import short_name
from harness.sip.trace import redact
from harness.watch.hooks import Event

STOP_GRACE = 60.0
"""Seconds a round's process gets to tear down (hang up, stop a managed platform) after Ctrl-C."""
SLICE = 0.2
"""How often the watch looks at its stop flag while it waits."""


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
    address: str = ""  # host:port/transport, as the run book files runs (with ``target``)
    secrets: tuple[str, ...] = field(default=(), repr=False)  # redacted from what the watch says
    did: str = ""  # the DID the map was crawled from


class Hook(Protocol):
    """What the watch needs of a hook (``harness.watch.hooks``)."""

    def call(self, events: Sequence[Event], context: dict[str, Any]) -> str: ...


Say = Callable[[str], None]


class Watch:
    """Runs rounds until ``settings.rounds`` are done or ``stop()`` is called (Ctrl-C)."""

    def __init__(self, settings: Settings, hooks: Sequence[Hook], say: Say) -> None:
        self.settings = settings
        self.hooks = list(hooks)
        self.say = say
        self.book = RunBook.of_reports(settings.reports)
        self.stops = 0  # Ctrl-Cs so far: set by the signal handler, acted on by the loop
        self.round = 0
        self.round_failed = False
        self.drift: frozenset[str] | None = frozenset()  # the last check's DRIFT lines; None: it failed

    def stop(self) -> None:
        """Ask the watch to stop (safe in a signal handler: it only counts). The round in progress
        is sent Ctrl-C and given STOP_GRACE; a second stop kills it."""
        self.stops += 1

    @property
    def stopping(self) -> bool:
        return self.stops > 0

    def forever(self) -> int:
        """The rounds; 0 once stopped or done."""
        self.book.file_new(self.settings.reports)  # runs not filed yet are earlier verdicts too
        while not self.stopping:
            started = time.monotonic()
            self.round += 1
            self.one_round()
            if self.stopping:
                break
            if self.settings.rounds is not None and self.round >= self.settings.rounds:
                self.say(f"watch: {self.round} round(s) done")
                break
            pause = max(0.0, self.settings.every - (time.monotonic() - started if self.settings.precise else 0.0))
            nxt = datetime.fromtimestamp(datetime.now(UTC).timestamp() + pause, UTC)
            self.say(f"watch: next round at {nxt:%Y-%m-%d %H:%M:%SZ} (in {pause:.0f}s); Ctrl-C stops")
            self._sleep(pause)
        if self.stopping:
            self.say(f"watch: stopped after {self.round} round(s)")
        return 0

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(SLICE, left))

    def one_round(self) -> None:
        run_id = self._claim_run_folder()
        before = self.book.last_verdicts(self.settings.target, self.settings.address)
        self.say(f"watch: round {self.round}: ccharness run {' '.join(self.settings.suite) or 'scenarios/'} "
                 f"against {self.settings.target} at {self.settings.address} (run {run_id})")
        took, why = self._run(run_id)
        events = [] if self.stopping else self._verdict_events(run_id, before, took, why)
        if self.settings.discover_map is not None and not self.stopping:
            events += self._drift_events(run_id)
        if self.stopping:  # cut short by Ctrl-C: what it left is no verdict on the platform
            self.say(f"watch: round {self.round} interrupted after {took:.0f}s: its verdicts are not "
                     f"compared (its run folder is kept: {self.settings.reports / run_id})")
            return
        for event in events:
            self.say(f"watch: {event.line}")
        if events and self.hooks:
            context = {"target": self.settings.target, "address": self.settings.address, "round": self.round,
                       "run_id": run_id, "report": str(self._report(run_id) or "")}
            for hook in self.hooks:
                self.say(f"watch: {hook.call(events, context)}")
        self._page()

    def _claim_run_folder(self) -> str:
        """A run id whose folder this round creates (two watches sharing REPORTS never share one)."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        for n in range(100):
            run_id = stamp if n == 0 else f"{stamp}-{n}"
            try:
                (self.settings.reports / run_id).mkdir(parents=True)
                return run_id
            except FileExistsError:
                continue
        raise HarnessError(f"{self.settings.reports}: 100 run folders named {stamp}*: not a reports folder?")

    def _run(self, run_id: str) -> tuple[float, str | None]:
        """The round's ``ccharness run``: seconds it took, and why it gave nothing (if it did not end)."""
        s = self.settings
        argv = [s.python, "-m", "harness.cli", "run", "--target", str(s.profile), "--reports",
                str(s.reports), "--run-id", run_id, *s.suite]
        return self.run_child(argv, s.reports / "watch" / f"{run_id}.log", s.round_timeout)

    def run_child(self, argv: list[str], log: Path, timeout: float) -> tuple[float, str | None]:
        """Run ``argv`` (its output to ``log``) until it ends, ``timeout`` passes, or the watch is
        stopped; seconds it took, and why it gave nothing when it did not end by itself well."""
        log.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        if self.stopping:
            return 0.0, "not started: the watch is stopping"
        with open(log, "wb") as out:
            child = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            why = self._await(child, started + timeout, f"still running after {timeout:.0f}s: stopped (see {log})")
        code = child.returncode
        if why is None and code not in (0, 1):
            tail = [x for x in log.read_text(encoding="utf-8", errors="replace").splitlines() if x.strip()]
            why = f"exit {code}: {tail[-1][:300] if tail else 'no output'} (see {log})"
        return time.monotonic() - started, redact(why, self.settings.secrets) if why else None

    def _await(self, child: subprocess.Popen[bytes], deadline: float, late: str) -> str | None:
        """Wait for ``child``: on a stop or at ``deadline`` it gets Ctrl-C and STOP_GRACE, then a kill
        (at once on a second stop). What went wrong, if anything did."""
        why, told, grace_end = None, 0, None
        while child.poll() is None:
            now = time.monotonic()
            if grace_end is None and (self.stopping or now >= deadline):
                why = late if not self.stopping else None
                self.say(f"watch: {'stop asked' if self.stopping else late.split(':')[0]}: round {self.round} "
                         f"is sent Ctrl-C and has {STOP_GRACE:.0f}s to hang up and tear down "
                         "(Ctrl-C again kills it)")
                _signal_group(child, signal.SIGINT)
                told, grace_end = self.stops, now + STOP_GRACE
            elif grace_end is not None and (now >= grace_end or self.stops > told):
                self.say(f"watch: round {self.round} killed")
                _signal_group(child, signal.SIGKILL)
                child.wait(10.0)
                break
            time.sleep(SLICE)
        return why
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
        new = sum(r.file not in before for r in results)
        missing = len(set(before) - {r.file for r in results})
        self.say(f"watch: round {self.round}: {len(results)} scenario(s): {counts['passed']} passed, "
                 f"{counts['not_conformant']} not conformant, {counts['error']} error ({took:.0f}s)"
                 + (f"; {new} with no earlier verdict to compare" if new else "")
                 + (f"; {missing} run before but not this round" if missing else "")
                 + (f"; report {report}" if report else "") + (f"; {why}" if why else ""))
        events = []
        for r in sorted(results, key=lambda x: x.file):
            was = before.get(r.file)
            if was is None or was[0] == r.verdict:
                continue
            line = f"CHANGED {short_name(r.file)}: {was[0]} -> {r.verdict} (run {r.run_id}, was run {was[1]})"
            if r.verdict != "passed":
                line += f": {r.message[:300]}"
            events.append(Event("verdict_changed", line, {
                "scenario": short_name(r.file), "file": r.file, "name": r.name, "from": was[0], "to": r.verdict,
                "previous_run_id": was[1], "run_id": r.run_id, "failed_step": r.failed_step,
                "message": r.message}))
        return events

    def _results(self, run_id: str) -> list[ResultRow]:
        folder = self.settings.reports / run_id
        try:
            if not self.book.complete(run_id):
                self.book.file_folder(folder)  # the run filed itself as it ended; a killed one did not
        except (HarnessError, ValueError, OSError) as exc:
            self.say(f"watch: run {run_id} not filed: {exc}")
            return []
        return self.book.results([run_id])

    def _report(self, run_id: str) -> Path | None:
        path = self.settings.reports / run_id / "report.html"
        return path.resolve() if path.exists() else None

    def _drift_events(self, run_id: str) -> list[Event]:
        from harness.watch.drift import drift_check

        return drift_check(self, run_id)

    def _page(self) -> None:
        from harness.history.cli import DEFAULT_LAST, histories, write_page

        try:
            found = histories(self.book, None, DEFAULT_LAST)
            if found:
                write_page(found, self.settings.reports / "history.html")
        except (HarnessError, OSError, ValueError) as exc:
            self.say(f"watch: history page not written: {exc}")


def _signal_group(child: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(child.pid, sig)
    except ProcessLookupError:
        pass
