"""A phone process: ``python -m harness.sip.phone --control HOST:PORT --name NAME``.

It connects back to the controller (authkey in ``CCHARNESS_PHONE_KEY``),
receives its ``PhoneSetup``, starts one pjsua2 endpoint and then loops: pump
pjsua2, apply the incoming-call behaviour, run due timers, send the events it
recorded, execute commands.  It exits when told to, or when the controller's
end of the channel closes, so a dead controller never leaves phones behind.
"""

from __future__ import annotations

import argparse
import functools
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import replace
from multiprocessing.connection import Client, Connection
from typing import Any

from harness.sip.config import Behaviour, PhoneSetup
from harness.sip.priority import favour_media

Command = dict[str, Any]

SLIP_POLL = 0.1  # seconds between looks at each call's jitter-buffer counters

STALL_S = 0.25
"""A loop turn this long is reported as a stall: RTP is read only while we pump, so a
phone that did not run (an overloaded host) loses what its jitter buffer (0.5 s) cannot
hold, and answers SIP late."""


class PhoneLoop:
    """The main loop of one phone; owns the engine and the control channel."""

    def __init__(self, conn: Connection, setup: PhoneSetup) -> None:
        from harness.sip.engine import Engine  # pjsua2 is imported only in the phone process

        self.conn = conn
        self.setup = setup
        self.engine = Engine(setup)
        self.timers: list[tuple[float, Callable[[], None]]] = []
        self.captured: set[str] = set()
        self.closed: set[str] = set()
        self.incoming: set[str] = set()
        self.slips: dict[str, tuple[int, int]] = {}  # call -> (frames thrown away, made up) so far
        self.slips_seen = 0.0
        self.running = True

    def run(self) -> None:
        address = self.engine.start()
        self.engine.emit("ready", address=address, transport=self.setup.transport)
        try:
            last = time.monotonic()
            while self.running:
                self.engine.pump(10)
                last = self._note_stall(last)
                self._note_slips()
                self._after_pump()
                self._flush()
                self._commands()
        except (EOFError, OSError):
            self.running = False  # the controller went away: tear down and leave
        finally:
            self.engine.shutdown()
            self._flush(final=True)

    def _note_stall(self, last: float) -> float:
        """Report the time since the last turn if it was a stall; return now."""
        now = time.monotonic()
        if now - last >= STALL_S:
            live = [h for h, c in self.engine.calls.items() if not c.ended]
            self.engine.emit("stall", t=last, wall=time.time() - (now - last),
                             seconds=round(now - last, 3), calls=live)
        return now

    def _note_slips(self) -> None:
        """Report audio each call's jitter buffer threw away or made up since the last look: the
        audio heard then is that much shorter or longer than the audio sent."""
        now = time.monotonic()
        if now - self.slips_seen < SLIP_POLL:
            return
        self.slips_seen = now
        for handle in self.captured - self.closed:
            try:
                counts = self.engine.jitter_ms(handle)
            except Exception:  # noqa: BLE001 -- a stream going away between looks: nothing to count
                continue
            if counts is None:
                continue
            before = self.slips.get(handle, (0, 0))
            if counts[0] < before[0] or counts[1] < before[1]:
                before = (0, 0)  # a new stream (a re-INVITE): its counters start again
            if counts != before:
                self.slips[handle] = counts
                self.engine.emit("slip", call=handle, dropped_ms=counts[0] - before[0],
                                 made_up_ms=counts[1] - before[1])

    # -- reacting to what the library recorded ----------------------------------
    def _after_pump(self) -> None:
        for handle in self.engine.accept_incoming():
            self.incoming.add(handle)
            self._offered(handle)
        for handle, call in self.engine.calls.items():
            if call.media_ready and not call.ended and handle not in self.captured:
                self.captured.add(handle)
                self.engine.start_capture(handle)
                if handle in self.incoming and self.setup.behaviour.play:
                    self._play(handle, self.setup.behaviour.play, False, "behaviour")
            if call.ended and handle not in self.closed:
                self.closed.add(handle)
                self.engine.close_media(handle)
        for record in self.engine.outbox:
            if record["kind"] == "dtmf" and record["call"] in self.incoming:
                reply = self.setup.behaviour.on_dtmf.get(record["digit"])
                if reply:
                    self._schedule(0.0, functools.partial(self._reply, str(record["call"]), reply))
        now = time.monotonic()
        due = [fn for at, fn in self.timers if at <= now]
        self.timers = [(at, fn) for at, fn in self.timers if at > now]
        for fn in due:
            fn()

    def _offered(self, handle: str) -> None:
        b = self.setup.behaviour
        # A forked INVITE may be CANCELled (another branch answered) within the same
        # pump that delivered it; answering that ended call raises and killed the phone.
        if b.mode == "ignore" or self.engine.calls[handle].ended:
            return
        if b.mode == "reject":
            self.engine.answer(handle, b.code)
            return
        self.engine.answer(handle, 180)
        if b.mode == "answer":
            self._schedule(b.answer_after, lambda: self._answer_if_alive(handle))

    def _answer_if_alive(self, handle: str) -> None:
        if not self.engine.calls[handle].ended:
            self.engine.answer(handle, 200)

    def _reply(self, handle: str, path: str) -> None:
        if not self.engine.calls[handle].ended:
            self.engine.stop_playing(handle)
            self._play(handle, path, False, "on_dtmf")

    def _schedule(self, delay: float, fn: Callable[[], None]) -> None:
        self.timers.append((time.monotonic() + delay, fn))

    def _play(self, handle: str, path: str, loop: bool, name: str) -> None:
        seconds = self.engine.play(handle, path, loop)
        self.engine.emit("play", call=handle, state="started", name=name, path=path, seconds=seconds)
        if not loop:
            self._schedule(seconds, lambda: self.engine.emit(
                "play", call=handle, state="done", name=name, path=path, seconds=seconds))

    # -- the control channel -----------------------------------------------------
    def _flush(self, final: bool = False) -> None:
        if not self.engine.outbox:
            return
        batch, self.engine.outbox = self.engine.outbox, []
        try:
            self.conn.send(batch)
        except (OSError, EOFError):
            if not final:
                raise

    def _commands(self) -> None:
        while self.running and self.conn.poll(0):
            cmd: Command = self.conn.recv()
            try:
                self._execute(cmd)
                self.engine.emit("ack", seq=cmd["seq"], op=cmd["op"])
            except Exception as exc:  # noqa: BLE001 -- the controller decides what it means
                self.engine.emit("nack", seq=cmd["seq"], op=cmd["op"], error=_describe(exc))

    def _execute(self, cmd: Command) -> None:
        op, e = cmd["op"], self.engine
        if op == "call":
            e.make_call(cmd["handle"], cmd["uri"], cmd.get("headers", {}))
            self.incoming.discard(cmd["handle"])
        elif op == "answer":
            e.answer(cmd["handle"], cmd["code"])
        elif op == "hangup":
            e.hangup(cmd["handle"], cmd.get("code", 0))
        elif op == "dtmf":
            e.send_dtmf(cmd["handle"], cmd["digits"], cmd["method"])
        elif op == "play":
            self._play(cmd["handle"], cmd["path"], cmd.get("loop", False), cmd.get("name", ""))
        elif op == "stats":  # the stream's counters, as an event on the call before the ack
            e.emit("stats", call=cmd["handle"], **e.stream_stats(cmd["handle"]))
        elif op == "stop_play":
            e.stop_playing(cmd["handle"])
        elif op == "behave":  # how later incoming calls are treated (the carrier, call by call)
            self.setup = replace(self.setup, behaviour=Behaviour(**cmd["behaviour"]))
        elif op == "register":
            e.set_registration(cmd["on"])
        elif op == "shutdown":
            self.running = False
        else:
            raise ValueError(f"unknown command {op!r}")


def _describe(exc: BaseException) -> str:
    info = getattr(exc, "info", None)
    if callable(info):
        try:
            return str(info()).strip()
        except Exception:  # noqa: BLE001 -- fall back to the plain text below
            pass
    return f"{type(exc).__name__}: {exc}"


def main(argv: list[str] | None = None) -> int:
    favour_media()
    # Ctrl-C is the controller's to answer (we lead our own session, but a signal may still be
    # sent to us): it hangs our calls up and stops us in order, and we leave when its channel closes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parser = argparse.ArgumentParser(prog="harness.sip.phone")
    parser.add_argument("--control", required=True, help="controller address HOST:PORT")
    parser.add_argument("--name", required=True)
    args = parser.parse_args(argv)
    host, port = args.control.rsplit(":", 1)
    key = bytes.fromhex(os.environ.pop("CCHARNESS_PHONE_KEY"))
    conn = Client((host, int(port)), authkey=key)
    conn.send({"hello": args.name, "pid": os.getpid()})
    setup = PhoneSetup.from_wire(conn.recv())
    try:
        PhoneLoop(conn, setup).run()
    except Exception:  # noqa: BLE001 -- the controller must hear why we died
        detail = traceback.format_exc()
        try:
            conn.send([{"kind": "fatal", "t": time.monotonic(), "wall": time.time(), "error": detail}])
        except (OSError, EOFError):
            pass
        print(detail, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
