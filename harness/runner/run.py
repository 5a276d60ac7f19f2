"""Running one scenario: start its phones, execute its steps in order, tear down.

Every step runs under the scenario's overall deadline as well as its own: a
step's wait is cut to whatever time the scenario has left, so a scenario ends
within ``deadline`` plus the teardown margin whatever the platform does.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from harness.checks.recording_search import Downloads
from harness.errors import ExpectationFailed, HarnessError, HostBusy, TargetError
from harness.runner.host import Pressure, pressure_now
from harness.scenario.model import Audio, Scenario, Step
from harness.sip.controller import Switchboard
from harness.sip.timeline import CallTimeline
from harness.targets.model import PromptLibrary, Target

REGISTER_TIMEOUT = 10.0
UNDECIDED_STALL = 0.5
"""A phone that did not run this long lost audio (its jitter buffer holds 0.5 s) and
answered SIP late: a step that fails while it was listening is undecided (an error)."""
StepObserver = Callable[[int, str, Step], AbstractContextManager[Any]]


@dataclass
class CallState:
    """What the runner knows of one scenario call (the caller's leg)."""

    id: str
    caller: str
    phone: str
    timeline: CallTimeline
    cursor: float = 0.0  # seconds into the capture already listened to
    agent_leg: CallTimeline | None = None
    agent: str | None = None
    agent_heard: float | None = None  # when the caller first heard an agent it has no leg of (a load run)
    markers: dict[str, Any] = field(default_factory=dict)  # party -> the marker it played
    identities: dict[str, str] = field(default_factory=dict)  # caller, did: as recording names say
    recording: Any = None  # what expect_recording found and downloaded
    outbound: bool = False  # placed by an agent to a customer (dial_out): parties agent and customer
    customer_leg: CallTimeline | None = None  # the carrier's leg of an outbound call, once it answered
    pressure: Pressure | None = field(default_factory=pressure_now)  # the host's CPU stall clock at the start


@dataclass
class StepRecord:
    index: int
    kind: str
    started: float
    ended: float = 0.0
    status: str = "passed"  # passed, failed, error
    detail: str = ""
    measurements: dict[str, Any] = field(default_factory=dict)


class Performer(Protocol):
    """What the runner needs of a step kind: its handler (``harness.steps.kind.StepKind``)."""

    @property
    def run(self) -> Callable[[ScenarioRun, Any], dict[str, Any] | None]: ...


class ScenarioRun:
    """The context every step handler works in.

    ``kinds`` maps each step model to its kind (``harness.steps.registry.BY_MODEL``):
    the runner calls the kind's handler and imports no step module itself.
    """

    def __init__(self, scenario: Scenario, target: Target, prompts: PromptLibrary | None,
                 work_dir: Path, on_step: StepObserver | None = None, *,
                 kinds: Mapping[type, Performer], board: Switchboard | None = None) -> None:
        self.scenario = scenario
        self.kinds = kinds
        self.target = target
        self.prompts = prompts
        self.work_dir = work_dir
        self.board = board if board is not None else Switchboard(work_dir)  # a load run's is shared
        self.calls: dict[str, CallState] = {}
        self.last_call: str | None = None
        self.agent_phone: dict[str, str] = {}
        self.caller_phone: dict[str, str] = {}
        self.records: list[StepRecord] = []
        self.downloads = Downloads()  # recordings fetched to look for markers, once per run
        self.carrier: Any = None  # the outbound trunk's carrier (harness.runner.carrier), once started
        self.rule_clock_s = 0  # how far the platform's outbound rule clock is moved (harness.runner.rule_clock)
        self.cleanups: list[Callable[[], None]] = []  # undo what a step changed on the platform, at close
        self.deadline = 0.0
        self.started = 0.0
        self._generated = 0
        self._observers: list[StepObserver] = [on_step] if on_step else []

    # -- deadlines ---------------------------------------------------------------------
    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def budget(self, wanted: float) -> float:
        """A step's wait, cut to what the scenario has left."""
        return min(wanted, self.remaining())

    # -- lookups -----------------------------------------------------------------------
    def call(self, call_id: str) -> CallState:
        return self.calls[call_id]

    def fail(self, step: str, message: str) -> ExpectationFailed:
        return ExpectationFailed(self.scenario.path, step, message)

    def audio_file(self, audio: Audio) -> str:
        """A WAV path for a prompt, a file or a generated tone."""
        if audio.prompt is not None:
            if self.prompts is None or audio.prompt not in self.prompts.prompts:
                raise HarnessError(f"prompt {audio.prompt!r} is not in the prompt library")
            return str(self.prompts.prompts[audio.prompt].file)
        if audio.file is not None:
            return str(audio.file)
        assert audio.tone is not None
        from harness.audio.tone import dual_tone, sine

        t = audio.tone
        samples = (sine(t.freqs[0], t.duration, t.level_dbfs) if len(t.freqs) == 1
                   else dual_tone(t.freqs[0], t.freqs[1], t.duration, t.level_dbfs))
        return self.write_generated("tone", samples)

    def write_generated(self, stem: str, samples: Any) -> str:
        from harness.audio.wav import write_wav

        self._generated += 1
        path = self.work_dir / f"gen-{self._generated:03d}-{stem}.wav"
        write_wav(path, samples)
        return str(path)

    # -- the run -------------------------------------------------------------------------
    def observe(self, observer: StepObserver) -> None:
        """Run ``observer`` around every step too, inside those given before."""
        self._observers.append(observer)

    def start(self) -> None:
        """Start the scenario's clock and its phones: what ``execute`` does before the first step.

        For callers that drive the steps themselves (``ccharness prompts capture``)."""
        self.started = time.monotonic()
        self.deadline = self.started + self.scenario.deadline
        self._start_phones()

    def execute(self) -> None:
        """Run every step; raise the first failure or error after recording it."""
        self.start()
        for index, step in enumerate(self.scenario.steps):
            kind = step_kind(step)
            record = StepRecord(index, kind, time.monotonic())
            self.records.append(record)
            try:
                with ExitStack() as observed:
                    for observer in self._observers:
                        observed.enter_context(observer(index, kind, step))
                    self._take_step(record, step)
                # What observers do around a step (a rehearsal waiting for its presenter,
                # playing a recording back) is neither the step's time nor the scenario's.
                self.deadline += time.monotonic() - record.ended
            except AssertionError as exc:
                record.status, record.detail = "failed", str(getattr(exc, "detail", exc))
                record.measurements = getattr(exc, "measurements", None) or record.measurements
                undecided = self._stalled_verdict(record.detail) or self._late_verdict(record.detail)
                if undecided is not None:
                    record.status, record.detail = "error", str(undecided)
                    raise undecided from exc
                raise
            except HarnessError as exc:
                record.status, record.detail = "error", str(exc)
                raise
            finally:
                record.ended = record.ended or time.monotonic()

    def _stalled_verdict(self, failure: str) -> HostBusy | None:
        """The error to report instead of ``failure`` if one of our phones stalled while the
        failing step was listening (since the step before it ended, or the scenario began) for
        UNDECIDED_STALL or more of that window."""
        listening = self.records[-2].ended if len(self.records) > 1 else self.started
        found = self.board.stall_inside(listening, time.monotonic())
        if found is None or found[1] < UNDECIDED_STALL:
            return None
        stall, _ = found
        return HostBusy(
            f"cannot decide: phone {stall.phone} did not run for {float(stall.data['seconds']):.2f}s "
            f"at +{stall.t - self.started:.1f}s into the scenario (the harness's host was "
            f"overloaded), so it lost audio and answered late; run it again on a quieter host. "
            f"What it saw: {failure}"
        )

    def _late_verdict(self, failure: str) -> HostBusy | None:
        """The error to report instead of ``failure`` if the harness acted late (a step's
        ``late`` measurement: a key pressed long after the menu ended, say) since the last
        expectation that passed: the platform may have answered the lateness, not a fault."""
        for record in reversed(self.records[:-1]):
            late = record.measurements.get("late")
            if late:
                return HostBusy(f"cannot decide: {late}; run it again on a quieter host. "
                                f"What it saw: {failure}")
            if record.kind.startswith("expect_") and record.status == "passed":
                return None
        return None

    def _take_step(self, record: StepRecord, step: Step) -> None:
        kind = self.kinds.get(type(step))
        if kind is None:
            raise HarnessError(f"no step kind runs {type(step).__name__} (not in the kinds this run was given)")
        handler = kind.run
        began = time.monotonic()
        self.deadline += began - record.started  # the observers' time before the step
        record.started = began
        try:
            record.measurements = handler(self, step) or {}
        finally:
            record.ended = time.monotonic()

    def _start_phones(self) -> None:
        from harness.runner.cast import cast

        agent_audio = {a.name: self.audio_file(a.play) if a.play else None for a in self.scenario.agents}
        c = cast(self.scenario, self.target, self.work_dir, agent_audio)
        self.board.start(c.all())
        self.caller_phone = {name: s.name for name, s in c.callers.items()}
        self.agent_phone = {name: s.name for name, s in c.agents.items()}
        self._await_registrations([s for s in c.all() if s.account and s.account.registrar])

    def _await_registrations(self, setups: list[Any]) -> None:
        for s in setups:
            self._await_registration(s)

    def _await_registration(self, s: Any) -> None:
        phone = self.board.phones[s.name]
        reg = self.board.wait(
            lambda: phone.registrations[-1] if phone.registrations else None,
            self.budget(REGISTER_TIMEOUT),
            lambda: f"registration of {s.account.id_uri} with {s.account.registrar}",
            phones=[phone],
        )
        tls = self.board.tls_failure(s.name) if reg.data["code"] // 100 != 2 else None
        if tls is not None:
            raise TargetError(f"account {s.account.id_uri} (phone {s.name}) could not register: {tls}")
        if reg.data["code"] // 100 != 2:
            raise TargetError(
                f"account {s.account.id_uri} (phone {s.name}) could not register with "
                f"{s.account.registrar}: {reg.data['code']} {reg.data['reason']} "
                f"(hint: check the account's username and password in {self.target.path})"
            )

    def close(self) -> None:
        """Undo what steps changed on the platform, hang up and unregister everything, then stop the
        phones (always runs)."""
        try:
            while self.cleanups:
                undo = self.cleanups.pop()
                try:
                    undo()
                except HarnessError as exc:  # the run's own outcome stands; say what is left changed
                    print(f"ccharness: {self.scenario.path}: could not undo a change to the platform: {exc}",
                          file=sys.stderr, flush=True)
        finally:
            self.board.close()

    # -- evidence ----------------------------------------------------------------------
    def _write_trace(self, phone: str, handle: str, tl: CallTimeline) -> None:
        """The call leg's SIP messages (already redacted by the phone) as a text file."""
        events = self.board.sip_trace(tl)
        if events:
            (self.work_dir / f"sip-{phone}-{handle}.txt").write_text(_trace_text(events, tl.t0))

    def write_traces(self) -> None:
        """Each call leg's SIP trace as a text file in the scenario's folder (before its result
        is built: the result names only the traces on disk). The steps and legs themselves go
        into the run's evidence record, once (``harness.runner.result``)."""
        for (phone, handle), tl in self.board.timelines.items():
            self._write_trace(phone, handle, tl)


def _trace_text(events: list[Any], t0: float) -> str:
    return "\n\n".join(
        f"[{e.t - t0:+.3f}s {time.strftime('%H:%M:%S', time.gmtime(e.wall))}] {e.data['dir']} "
        f"{e.data['peer']}\n{e.data['text']}" for e in events)


def step_kind(step: Step) -> str:
    name = type(step).__name__.removesuffix("Step")
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
