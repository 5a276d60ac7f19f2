"""The controller side of the phones: start them, command them, gather their events.

The controller never imports pjsua2.  Each phone is a child process that
connects back over ``multiprocessing.connection`` (loopback, random authkey).
``Switchboard.wait`` is the one wait helper: it pumps every phone's events
until a condition holds or its deadline passes, and a phone that dies while
we wait is reported with the tail of its output instead of hanging.
"""

from __future__ import annotations

import itertools
import os
import secrets
import select
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection, Listener, wait
from pathlib import Path
from typing import Any, TypeVar, cast

from harness.errors import PhoneError
from harness.sip.config import PhoneSetup
from harness.sip.timeline import CallTimeline, Event
from harness.sip.tls import system_ca_bundle, verification_failure

T = TypeVar("T")
START_TIMEOUT = 20.0
COMMAND_TIMEOUT = 5.0
RTP_SPAN = 40  # ports per phone: 4 calls x (RTP + RTCP), with room for re-binds
_rtp_slots = itertools.count()


def first_rtp_slot(slot: int) -> None:
    """Start this process's RTP slots at ``slot`` (of the band's 50): load workers on one host take
    slots of their own (``harness/load``), as their phones share the band."""
    global _rtp_slots
    _rtp_slots = itertools.count(slot)


def _rtp_base() -> int:
    """A disjoint RTP range per phone; pytest-xdist workers get their own 2,000-port band, above
    the one of the process that is no worker (the xdist controller runs the loopback peer)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "").removeprefix("gw")
    band = 20000 + (int(worker) + 1 if worker.isdigit() else 0) * 2000
    return band + (next(_rtp_slots) * RTP_SPAN) % 2000


@dataclass
class Phone:
    """The controller's handle on one phone process."""

    name: str
    setup: PhoneSetup
    proc: subprocess.Popen[bytes]
    log_path: Path
    conn: Connection | None = None
    address: str | None = None  # host:port its SIP transport is bound to
    dead: str | None = None  # why, once it is dead
    sip: list[Event] = field(default_factory=list)
    registrations: list[Event] = field(default_factory=list)
    tls: list[Event] = field(default_factory=list)  # its TLS connections: handshake, certificate check
    fatal: list[str] = field(default_factory=list)
    stalls: list[Event] = field(default_factory=list)  # loop turns of STALL_S or more

    def last_output(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            text = []
        return "\n".join(self.fatal[-1:] + text) or "(no output)"


class Switchboard:
    """All phones of one run, their call timelines, and the single wait helper."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        work_dir.mkdir(parents=True, exist_ok=True)
        self._key = secrets.token_bytes(32)
        self._listener = Listener(("127.0.0.1", 0), backlog=64, authkey=self._key)
        self.phones: dict[str, Phone] = {}
        self.timelines: dict[tuple[str, str], CallTimeline] = {}
        self._seq = itertools.count(1)
        self._acks: dict[int, Event] = {}

    # -- starting and stopping -------------------------------------------------------
    def start(self, setups: list[PhoneSetup], timeout: float = START_TIMEOUT) -> list[Phone]:
        """Start phones in parallel and wait until each has bound its SIP transport."""
        new = [self._spawn(s) for s in setups]
        by_name = {p.name: p for p in new}
        deadline = time.monotonic() + timeout
        while any(p.conn is None for p in new):
            self._accept_one(by_name, deadline)
        self.wait(
            lambda: all(p.address for p in new) or None,
            deadline - time.monotonic(),
            lambda: "phones ready: " + ", ".join(p.name for p in new if not p.address),
            phones=new,
        )
        return new

    def _spawn(self, setup: PhoneSetup) -> Phone:
        if setup.name in self.phones:
            raise PhoneError(f"a phone named {setup.name!r} is already running")
        setup = replace(setup, rtp_port=setup.rtp_port if setup.rtp_port != 20000 else _rtp_base())
        log_path = self.work_dir / f"phone-{setup.name}.log"
        env = {**os.environ, "CCHARNESS_PHONE_KEY": self._key.hex()}
        host, port = self._listener.address
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "harness.sip.phone", "--control", f"{host}:{port}",
                 "--name", setup.name],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                # its own session, so its scheduling group can rank it before ordinary work
                # (harness/sip/priority.py); it ignores Ctrl-C anyway: we stop it in order
                start_new_session=True,
            )
        phone = Phone(setup.name, setup, proc, log_path)
        self.phones[setup.name] = phone
        return phone

    def _accept_one(self, waiting: dict[str, Phone], deadline: float) -> None:
        # Listener.accept() has no timeout; select on its socket first.
        sock = self._listener._listener._socket  # type: ignore[attr-defined]
        while True:
            ready, _, _ = select.select([sock], [], [], max(0.0, min(0.2, deadline - time.monotonic())))
            if ready:
                break
            for p in waiting.values():
                if p.conn is None and p.proc.poll() is not None:
                    raise PhoneError(f"phone {p.name} exited with {p.proc.returncode} before it "
                                     f"connected; last output:\n{p.last_output()}")
            if time.monotonic() >= deadline:
                slow = [p.name for p in waiting.values() if p.conn is None]
                raise PhoneError(f"phones {slow} did not start within the deadline")
        conn = self._listener.accept()
        hello = conn.recv() if conn.poll(5.0) else {}
        phone = waiting.get(hello.get("hello", ""))
        if phone is None:
            conn.close()
            return
        phone.conn = conn
        conn.send(phone.setup.to_wire())

    def close(self, timeout: float = 5.0) -> None:
        """Tell every phone to hang up and leave; kill those that do not within ``timeout``."""
        for phone in self.phones.values():
            if phone.conn is not None and phone.dead is None:
                try:
                    phone.conn.send({"op": "shutdown", "seq": next(self._seq)})
                except OSError:
                    pass
        deadline = time.monotonic() + timeout
        for phone in self.phones.values():
            while phone.proc.poll() is None and time.monotonic() < deadline:
                self._drain(phone)
                time.sleep(0.02)
            if phone.proc.poll() is None:
                phone.proc.kill()
                phone.proc.wait(2.0)
            if phone.conn is not None:
                self._drain(phone)
                phone.conn.close()
        self._listener.close()

    def _drain(self, phone: Phone) -> None:
        try:
            while phone.conn is not None and phone.conn.poll(0):
                self._receive(phone, phone.conn.recv())
        except (EOFError, OSError):
            pass

    # -- commands ------------------------------------------------------------------
    def command(self, phone: str, op: str, timeout: float = COMMAND_TIMEOUT, **args: Any) -> Event:
        """Send one command and wait for the phone to acknowledge it; a refusal raises."""
        p = self.phones[phone]
        self._check_alive(p)
        seq = next(self._seq)
        assert p.conn is not None
        p.conn.send({"op": op, "seq": seq, **args})
        ack = self.wait(lambda: self._acks.pop(seq, None), timeout,
                        lambda: f"acknowledgement of {op!r}", phones=[p])
        if ack.kind == "nack":
            raise PhoneError(f"phone {phone} refused {op!r}: {ack.data['error']}")
        return ack

    def open_call(self, phone: str, handle: str, uri: str, headers: dict[str, str]) -> CallTimeline:
        timeline = CallTimeline(phone, handle, time.monotonic(), f"{phone} -> {uri}")
        self.timelines[(phone, handle)] = timeline
        self.command(phone, "call", handle=handle, uri=uri, headers=headers)
        return timeline

    # -- events ----------------------------------------------------------------------
    def wait(
        self,
        condition: Callable[[], T | None],
        timeout: float,
        expected: Callable[[], str],
        phones: list[Phone] | None = None,
        timeline: CallTimeline | None = None,
    ) -> T:
        """Pump events until ``condition()`` returns something, or raise ``WaitTimeout``."""
        deadline = time.monotonic() + max(0.0, timeout)
        watched = phones if phones is not None else list(self.phones.values())
        while True:
            result = condition()
            if result is not None:
                return result
            for p in watched:
                self._check_alive(p)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitTimeout(expected(), timeout, timeline)
            self.pump(min(remaining, 0.05))

    def pump(self, timeout: float) -> None:
        """Receive whatever the phones have sent within ``timeout`` seconds."""
        live = {p.conn: p for p in self.phones.values() if p.conn is not None and p.dead is None}
        for ready in wait(list(live), timeout) if live else []:
            conn = cast(Connection, ready)
            phone = live[conn]
            try:
                self._receive(phone, cast("list[dict[str, Any]]", conn.recv()))
            except (EOFError, OSError):
                phone.proc.poll()
                phone.dead = f"its control channel closed (exit code {phone.proc.returncode})"
        if not live:
            time.sleep(min(timeout, 0.05))

    def _receive(self, phone: Phone, batch: list[dict[str, Any]]) -> None:
        for raw in batch:
            self._route(phone, Event.from_wire(phone.name, raw))

    def _route(self, phone: Phone, event: Event) -> None:
        kind = event.kind
        if kind in ("ack", "nack"):
            self._acks[int(event.data["seq"])] = event
        elif kind == "ready":
            phone.address = str(event.data["address"])
        elif kind == "sip":
            phone.sip.append(event)
        elif kind == "reg":
            phone.registrations.append(event)
        elif kind == "tls":
            phone.tls.append(event)
        elif kind == "stall":
            phone.stalls.append(event)
            for handle in event.data.get("calls", []):
                if (phone.name, handle) in self.timelines:
                    self.timelines[(phone.name, handle)].add(event)
        elif kind == "fatal":
            phone.fatal.append(str(event.data["error"]))
            phone.dead = "it reported an internal error"
        elif kind == "incoming" and event.call:
            desc = f"{event.data.get('remote')} -> {phone.name}"
            self.timelines[(phone.name, event.call)] = CallTimeline(phone.name, event.call, event.t, desc)
        if event.call and (phone.name, event.call) in self.timelines:
            self.timelines[(phone.name, event.call)].add(event)

    def _check_alive(self, phone: Phone) -> None:
        if phone.dead is None and phone.proc.poll() is not None:
            self._drain(phone)
            phone.dead = f"it exited with code {phone.proc.returncode}"
        if phone.dead is not None:
            raise PhoneError(f"phone {phone.name} died: {phone.dead}; last output:\n{phone.last_output()}")

    # -- reading ---------------------------------------------------------------------
    def worst_stall(self, since: float) -> Event | None:
        """The longest stall any phone reported that ended at or after ``since`` (monotonic)."""
        stalls = [e for p in self.phones.values() for e in p.stalls
                  if e.t + float(e.data["seconds"]) >= since]
        return max(stalls, key=lambda e: float(e.data["seconds"]), default=None)

    def stall_inside(self, since: float, until: float) -> tuple[Event, float] | None:
        """The stall with the most of its time inside ``since .. until`` (monotonic), and that
        time. A phone reports a stall after the loop turn that ended it, so a stall that ended
        as a window opened can be measured a moment into it: what counts is the time inside."""
        inside = [(e, min(until, e.t + float(e.data["seconds"])) - max(since, e.t))
                  for p in self.phones.values() for e in p.stalls]
        return max(((e, s) for e, s in inside if s > 0), key=lambda x: x[1], default=None)

    def calls_of(self, phone: str) -> list[CallTimeline]:
        return [t for (p, _), t in self.timelines.items() if p == phone]

    def tls_failure(self, phone: str) -> str | None:
        """Why ``phone``'s TLS certificate verification failed, in words; None if it did not."""
        p = self.phones[phone]
        return verification_failure((e.data for e in p.tls), p.setup.tls.ca_file or system_ca_bundle())

    def sip_trace(self, timeline: CallTimeline) -> list[Event]:
        """The SIP messages of one call leg, as its phone sent and received them."""
        if timeline.sip_call_id is None:
            return []
        return [e for e in self.phones[timeline.phone].sip if e.data.get("sip_call_id") == timeline.sip_call_id]


class WaitTimeout(PhoneError):
    """A wait ran out: names what was awaited, on which call, and the timeline seen."""

    def __init__(self, expected: str, timeout: float, timeline: CallTimeline | None) -> None:
        self.expected = expected
        self.timeline = timeline
        where = f" on call {timeline}" if timeline else ""
        seen = f"; timeline: {timeline.summary()}" if timeline else ""
        super().__init__(f"waited {timeout:.1f}s for {expected}{where}{seen}")
