"""A bare pjsua2 program, the yardstick the harness is measured against (no harness code).

    python rawpjsua.py answer --port P --rtp R [--play WAV] [--record DIR] [--seconds S]
    python rawpjsua.py dial --port P --rtp R --target URI --count N [--gap S]
    python rawpjsua.py hold --port P --rtp R --target URI --calls 4 --hold S --play WAV
        [--record DIR] [--end-at T]

``answer`` answers every call at once (200), plays WAV looped to it and, with
``--record``, records what it receives to DIR/<Call-ID>.wav, until SIGTERM or
``--seconds``. ``dial`` places N calls one after another and prints, as one
JSON line, each call's set-up time: ``makeCall`` to CONFIRMED, in seconds;
``--gap`` s apart (0.05: pjlib frees a closed socket's ioqueue slot 500 ms late).
``hold`` places ``--calls`` calls at once, plays WAV to each, records, hangs
up after ``--hold`` s (or at ``time.monotonic()`` T) and prints one JSON line with each call's outcome.

``RAWPJSUA_LOG=4`` in the environment shows the library's log (and the SIP
messages) on stderr.

The same discipline as any pjsua2 program that must not crash: no library
threads, events pumped from the main loop, callbacks only record, every
object held and destroyed in a fixed order before the library. Every wait has
a deadline.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pjsua2 as pj

OUT = sys.stdout  # main() points this at the real stdout once fd 1 is sent to stderr
CONFIRMED, DISCONNECTED = pj.PJSIP_INV_STATE_CONFIRMED, pj.PJSIP_INV_STATE_DISCONNECTED


class Call(pj.Call):  # type: ignore[misc]
    def __init__(self, app: App, acc: pj.Account, call_id: int = -1) -> None:
        if call_id < 0:
            super().__init__(acc)
        else:
            super().__init__(acc, call_id)
        self.app = app
        self.state = 0
        self.confirmed_at: float | None = None
        self.media = False  # player and recorder connected: once, however often media state changes
        self.sip_call_id = ""
        self.player: Any = None
        self.recorder: Any = None

    def onCallState(self, prm: Any) -> None:
        info = self.getInfo()
        self.state, self.sip_call_id = info.state, info.callIdString
        if info.state == CONFIRMED and self.confirmed_at is None:
            self.confirmed_at = time.perf_counter()

    def onCallMediaState(self, prm: Any) -> None:
        self.app.media_ready.append(self)


class Account(pj.Account):  # type: ignore[misc]
    def __init__(self, app: App) -> None:
        super().__init__()
        self.app = app

    def onIncomingCall(self, prm: Any) -> None:
        call = Call(self.app, self, prm.callId)
        self.app.calls.append(call)
        self.app.incoming.append(call)


class App:
    def __init__(self, port: int, rtp: int) -> None:
        self.calls: list[Call] = []
        self.incoming: list[Call] = []
        self.media_ready: list[Call] = []
        self.ep = pj.Endpoint()
        self.ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.mainThreadOnly = True
        cfg.uaConfig.maxCalls = 4
        cfg.logConfig.level = cfg.logConfig.consoleLevel = int(os.environ.get("RAWPJSUA_LOG", "1"))
        cfg.medConfig.clockRate = cfg.medConfig.sndClockRate = 8000
        cfg.medConfig.channelCount = 1
        cfg.medConfig.noVad = True
        cfg.medConfig.ecTailLen = 0
        self.ep.libInit(cfg)
        self.ep.audDevManager().setNullDev()
        # G.711 only, PCMU first, as the harness's phones: pjsua's default offer leads with
        # speex/16000, which costs about ten times the CPU and would not be the same job
        for codec in self.ep.codecEnum2():
            cid = str(codec.codecId)
            prio = {"PCMU/8000/1": 255, "PCMA/8000/1": 254}.get(cid, 0)
            self.ep.codecSetPriority(cid, prio)
        tc = pj.TransportConfig()
        tc.port, tc.boundAddress = port, "127.0.0.1"
        self.ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tc)
        self.ep.libStart()
        acfg = pj.AccountConfig()
        acfg.idUri = f"sip:raw{port}@127.0.0.1:{port}"
        acfg.mediaConfig.transportConfig.port = rtp
        acfg.mediaConfig.transportConfig.portRange = 40
        acfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
        self.account = Account(self)
        self.account.create(acfg, True)

    def pump(self, ms: int = 10) -> None:
        self.ep.libHandleEvents(ms)

    def until(self, condition: Any, seconds: float) -> bool:
        end = time.monotonic() + seconds
        while not condition():
            if time.monotonic() >= end:
                return False
            self.pump()
        return True

    def connect_media(self, call: Call, play: str | None, record: Path | None) -> None:
        if call.media:
            return
        call.media = True
        media = call.getAudioMedia(-1)
        if play:
            call.player = pj.AudioMediaPlayer()
            call.player.createPlayer(play, 0)
            call.player.startTransmit(media)
        if record is not None:
            call.recorder = pj.AudioMediaRecorder()
            call.recorder.createRecorder(str(record / f"{call.sip_call_id or call.getId()}.wav"))
            media.startTransmit(call.recorder)

    def reap(self) -> None:
        """Destroy ended calls, their player and recorder first, so that a long run does not pile
        up dead calls and conference ports (and each recording is closed when its call ends)."""
        for call in [c for c in self.calls if c.state == DISCONNECTED]:
            self.destroy(call)

    def destroy(self, call: Call) -> None:
        for obj in (call.recorder, call.player):
            if obj is not None and obj.thisown:
                type(obj).__swig_destroy__(obj)
        call.recorder = call.player = None
        for queue in (self.calls, self.incoming, self.media_ready):
            while call in queue:
                queue.remove(call)
        if call.thisown:
            type(call).__swig_destroy__(call)

    def dial(self, target: str) -> Call:
        call = Call(self, self.account)
        self.calls.append(call)
        call.makeCall(target, pj.CallOpParam(True))
        return call

    def close(self) -> None:
        """Hang up, drop media, destroy calls, then the library: in this order."""
        for call in self.calls:
            if call.state != DISCONNECTED:
                try:
                    call.hangup(pj.CallOpParam())
                except pj.Error:
                    pass
        self.until(lambda: all(c.state in (0, DISCONNECTED) for c in self.calls), 5.0)
        for call in list(self.calls):
            self.destroy(call)
        self.account.shutdown()
        self.ep.libDestroy()


def answer(app: App, args: argparse.Namespace) -> dict[str, Any]:
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    end = time.monotonic() + args.seconds
    record = Path(args.record) if args.record else None
    answered = 0
    print(json.dumps({"ready": True}), file=OUT, flush=True)
    while not stop and time.monotonic() < end:
        app.pump()
        app.reap()
        while app.incoming:
            call = app.incoming.pop(0)
            prm = pj.CallOpParam()
            prm.statusCode = 200
            call.answer(prm)
            answered += 1
        while app.media_ready:
            call = app.media_ready.pop(0)
            if call.state != DISCONNECTED:
                app.connect_media(call, args.play, record)
    return {"answered": answered}


def dial(app: App, args: argparse.Namespace) -> dict[str, Any]:
    setups: list[float | None] = []
    for _ in range(args.count):
        t0 = time.perf_counter()
        call = app.dial(args.target)
        ok = app.until(lambda c=call: c.confirmed_at is not None or c.state == DISCONNECTED, 5.0)
        setups.append(call.confirmed_at - t0 if ok and call.confirmed_at is not None else None)
        if call.state != DISCONNECTED:
            call.hangup(pj.CallOpParam())
        app.until(lambda c=call: c.state == DISCONNECTED, 5.0)
        app.reap()
        # pjlib's select ioqueue frees a closed socket's slot only 500 ms later (64 slots): calls
        # back to back at 2 ms each exhaust it and the library asserts, so leave a gap
        gap_end = time.monotonic() + args.gap
        app.until(lambda end=gap_end: time.monotonic() >= end, args.gap + 1.0)
    return {"setup_s": setups}


def hold(app: App, args: argparse.Namespace) -> dict[str, Any]:
    record = Path(args.record) if args.record else None
    calls = [app.dial(args.target) for _ in range(args.calls)]
    app.until(lambda: all(c.state in (CONFIRMED, DISCONNECTED) for c in calls), 20.0)
    # --end-at (a CLOCK_MONOTONIC reading, system-wide on Linux) lets callers started one after
    # another hang up together, so that every call of the run is up at the same time
    end = args.end_at if args.end_at else time.monotonic() + args.hold
    while time.monotonic() < end:
        app.pump()
        while app.media_ready:
            call = app.media_ready.pop(0)
            if call.state == CONFIRMED:
                app.connect_media(call, args.play, record)
    return {"calls": [{"call_id": c.sip_call_id, "confirmed": c.confirmed_at is not None}
                      for c in calls]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=("answer", "dial", "hold"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rtp", type=int, required=True)
    parser.add_argument("--target")
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--gap", type=float, default=0.05, help="seconds between calls (dial)")
    parser.add_argument("--calls", type=int, default=4)
    parser.add_argument("--hold", type=float, default=10.0)
    parser.add_argument("--end-at", type=float, default=0.0, help="hang up at this time.monotonic()")
    parser.add_argument("--play")
    parser.add_argument("--record")
    parser.add_argument("--seconds", type=float, default=600.0)
    args = parser.parse_args()
    global OUT
    # pjlib logs to fd 1 before libInit applies the log level: keep stdout for our JSON lines
    OUT = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    app = App(args.port, args.rtp)
    try:
        result = {"answer": answer, "dial": dial, "hold": hold}[args.mode](app, args)
    finally:
        app.close()
    print(json.dumps(result), file=OUT, flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
