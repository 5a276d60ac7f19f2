"""One load controller's phones: callers leased call by call, agents that answer and hang up.

A Locust worker is one controller: it owns one switchboard, whose events a
single pump thread (a greenlet under Locust's gevent) reads; every simulated
call waits on what the pump delivered instead of reading the phones' channels
itself, so no two waits ever read one channel. Callers' phones are shared: a
phone holds at most ``CALLS_PER_PHONE`` calls (one under the pjsua2 wheel's
limit), a new one starts when every phone of an account is full, and a phone
that died is replaced. Agents are phones
that answer after ``answer_after``, play the pilot tone by which callers hear
them (``harness/audio/pilot.py``), and hang up after a talk time drawn evenly
between the profile's min and max. Calls that passed leave no files behind;
a failed call's captures stay as its evidence.
"""

from __future__ import annotations

import itertools
import os
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.audio.pilot import pilot
from harness.audio.wav import write_wav
from harness.errors import PhoneError, TargetError
from harness.load.profile import Agents
from harness.runner.cast import phone_setup
from harness.sip.config import Behaviour, PhoneSetup
from harness.sip.controller import START_TIMEOUT, Phone, Switchboard
from harness.sip.timeline import CallTimeline
from harness.targets.model import Account, Target

CALLS_PER_PHONE = 3  # of the wheel's 4 (PJSUA_MAX_CALLS): pjsua frees an ended call's slot a moment
# after it reports DISCONNECTED, and a call placed into that moment is refused (PJ_ETOOMANY; measured
# with 40 callers on one worker, bench_load.py)
REGISTER_TIMEOUT = 10.0
PUMP_SLICE = 0.05
KEEP_ENDED = 30.0  # seconds an ended agent leg stays readable (for attribution) before it is dropped


class SharedSwitchboard(Switchboard):
    """A switchboard many simulated calls use at once: one pump thread reads, the others wait.

    Every call placed gets a handle of its own (``c1`` of every simulated call is another call)."""

    def __init__(self, work_dir: Path) -> None:
        super().__init__(work_dir)
        _blocking_accepts(self._listener)
        self._pumped = threading.Condition()
        self._stop = threading.Event()
        self._handles = itertools.count(1)
        self._starting = threading.Lock()
        self._pump = threading.Thread(target=self._pump_loop, name="load-pump", daemon=True)
        self._pump.start()

    def _pump_loop(self) -> None:
        while not self._stop.is_set():
            Switchboard.pump(self, PUMP_SLICE)
            with self._pumped:
                self._pumped.notify_all()

    def pump(self, timeout: float) -> None:
        """Wait until the pump thread has delivered what arrived (or ``timeout``)."""
        with self._pumped:
            self._pumped.wait(timeout)

    def start(self, setups: list[PhoneSetup], timeout: float = START_TIMEOUT) -> list[Phone]:
        """One start at a time: two would accept each other's phones on the one listener."""
        with self._starting:
            return super().start(setups, timeout)

    def open_call(self, phone: str, handle: str, uri: str, headers: dict[str, str]) -> CallTimeline:
        return super().open_call(phone, f"{handle}-{next(self._handles)}", uri, headers)

    def forget(self, timeline: CallTimeline) -> None:
        """Drop an ended call's timeline (a long run would otherwise keep every call's events)."""
        self.timelines.pop((timeline.phone, timeline.handle), None)

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._pump.join(2.0)
        super().close(timeout)


def _blocking_accepts(listener: Any) -> None:
    """Make the phones' channels blocking again, as ``Connection`` reads them.

    Under gevent (a Locust worker) an accepted socket stays non-blocking, and ``Listener.accept``
    reads the authentication challenge's answer before returning: the read would fail with
    EAGAIN. The pump reads only once poll says a message is there, so blocking costs nothing."""
    sockets = listener._listener  # multiprocessing.connection.SocketListener
    accept = sockets.accept

    def blocking() -> Any:
        conn = accept()
        os.set_blocking(conn.fileno(), True)
        return conn

    sockets.accept = blocking


@dataclass
class _Line:
    """A caller phone and how many calls it holds now."""

    phone: str
    busy: int = 0


@dataclass
class _Agent:
    phone: str
    talk_ends: dict[str, float] = field(default_factory=dict)  # handle -> when the agent hangs up


class Pool:
    """The phones of one controller; ``lease`` and ``release`` callers, agents run by themselves."""

    def __init__(self, target: Target, work_dir: Path, agents: Agents | None,
                 agent_accounts: list[Account], *, seed: int | None = None) -> None:
        self.target = target
        self.work_dir = work_dir
        self.board = SharedSwitchboard(work_dir)
        self.spec = agents
        self._rng = random.Random(seed)
        self._lines: dict[str, list[_Line]] = {}
        self._lock = threading.Lock()
        self._starting: dict[str, threading.Lock] = {}
        self.agents: dict[str, _Agent] = {}  # agent label -> its phone
        self._stop = threading.Event()
        self._keep: set[str] = set()  # capture files of failed calls
        self._calls = itertools.count(1)
        self._phones = itertools.count(1)
        if agents is not None and agent_accounts:
            self._start_agents(agents, agent_accounts)
        self._tending = threading.Thread(target=self._tend_agents, name="load-agents", daemon=True)
        self._tending.start()

    # -- callers -------------------------------------------------------------------------
    def lease(self, account: Account) -> str:
        """A caller phone of ``account`` with a free call; starts one when all are full."""
        with self._lock:
            starting = self._starting.setdefault(account.name, threading.Lock())
        with starting:  # one phone of an account starts at a time; the others wait for it
            with self._lock:
                lines = self._lines.setdefault(account.name, [])
                lines[:] = [line for line in lines if self._alive(line.phone)]  # a dead phone is replaced
                free = next((line for line in lines if line.busy < CALLS_PER_PHONE), None)
                if free is not None:
                    free.busy += 1
                    return free.phone
            name = f"caller-{account.name}-{next(self._phones)}"
            setup = phone_setup(name, self.target, account, True, self.work_dir)
            self.board.start([setup])
            if setup.account is not None and setup.account.registrar:
                self._registered(self.board.phones[name], account)
            with self._lock:
                lines.append(_Line(name, 1))
            return name

    def next_call(self) -> int:
        """A number for the next simulated call: its folder's name."""
        return next(self._calls)

    def _alive(self, name: str) -> bool:
        phone = self.board.phones.get(name)
        return phone is not None and phone.dead is None and phone.proc.poll() is None

    def release(self, phone: str) -> None:
        with self._lock:
            for lines in self._lines.values():
                for line in lines:
                    if line.phone == phone:
                        line.busy = max(0, line.busy - 1)

    def keep(self, timeline: CallTimeline) -> None:
        """Keep this call's capture: it is a failed call's evidence."""
        if timeline.capture_path:
            self._keep.add(timeline.capture_path)

    def discard(self, timeline: CallTimeline) -> None:
        """Drop a call that passed: its timeline and its capture file."""
        self.board.forget(timeline)
        _remove(timeline.capture_path, self._keep)

    # -- agents ----------------------------------------------------------------------------
    def _start_agents(self, spec: Agents, accounts: list[Account]) -> None:
        """The agents answer and play the pilot tone for as long as they may talk."""
        audio = self.work_dir / "agent-pilot.wav"
        write_wav(audio, pilot(spec.talk_max + 5.0))
        behaviour = Behaviour(mode="answer", answer_after=spec.answer_after, play=str(audio))
        setups = [phone_setup(f"agent-{a.name}", self.target, a, True, self.work_dir, behaviour)
                  for a in accounts]
        self.board.start(setups)
        for account, setup in zip(accounts, setups, strict=True):
            if setup.account is not None and setup.account.registrar:
                self._registered(self.board.phones[setup.name], account)
            self.agents[account.name] = _Agent(setup.name)

    def _tend_agents(self) -> None:
        """Hang up each answered agent call after its talk time; forget legs long ended."""
        while not self._stop.wait(0.1):
            now = time.monotonic()
            for agent in list(self.agents.values()):
                for leg in self.board.calls_of(agent.phone):
                    try:
                        self._tend(agent, leg, now)
                    except PhoneError:
                        continue  # the phone died: the calls waiting on it report that

    def _tend(self, agent: _Agent, leg: CallTimeline, now: float) -> None:
        assert self.spec is not None
        state = leg.state
        if state == "DISCONNECTED":
            ended = leg.last("call", state="DISCONNECTED")
            agent.talk_ends.pop(leg.handle, None)
            if ended is not None and now - ended.t > KEEP_ENDED:
                self.board.forget(leg)
                _remove(leg.capture_path, self._keep)
            return
        if state != "CONFIRMED":
            return
        due = agent.talk_ends.setdefault(
            leg.handle, now + self._rng.uniform(self.spec.talk_min, self.spec.talk_max))
        if now >= due:
            agent.talk_ends[leg.handle] = float("inf")  # hung up once
            self.board.command(agent.phone, "hangup", handle=leg.handle)

    # -- both ------------------------------------------------------------------------------
    def _registered(self, phone: Phone, account: Account) -> None:
        reg = self.board.wait(lambda: phone.registrations[-1] if phone.registrations else None,
                              REGISTER_TIMEOUT, lambda: f"registration of account {account.name}",
                              phones=[phone])
        if int(reg.data["code"]) // 100 != 2:
            raise TargetError(f"account {account.name} (phone {phone.name}) could not register: "
                              f"{reg.data['code']} {reg.data['reason']} (hint: check its username and "
                              f"password in {self.target.path})")

    def close(self) -> None:
        """Hang up and unregister everything and stop every phone (within the switchboard's deadline)."""
        self._stop.set()
        self._tending.join(2.0)
        self.board.close()
        for agent in self.agents.values():  # the agents' side of calls is no call's evidence
            for leg in self.board.calls_of(agent.phone):
                _remove(leg.capture_path, self._keep)


def _remove(path: str | None, keep: set[str]) -> None:
    if path and path not in keep:
        try:
            os.unlink(path)
        except OSError:
            pass
