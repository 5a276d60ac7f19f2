"""Concurrent calls, set-up rate and per-call overhead of the phone pool, beside bare pjsua2 and SIPp.

    .venv/bin/python tests/benchmarks/bench_concurrent_calls.py
        [--calls 40 120 240] [--hold 10] [--sipp 240 1000] [--rates 10 20 40 80]
        [--overhead 40] [--only overhead concurrency rate sipp] [--no-raw] [--keep DIR]

Everything runs on 127.0.0.1, in one run, on this machine. Four tables:

overhead     N calls one after another from one caller to one answering
             bare pjsua2 program (``rawpjsua.py answer``): set-up time
             (dial to CONFIRMED as the dialler sees it), from a bare pjsua2
             dialler and from a harness phone driven by the controller; and
             harness phone to harness phone. The difference of the medians
             is what the harness adds to a call's set-up.
concurrency  N calls all up at once for ``--hold`` s, both ends recording, each
             end playing its own tone (caller 1000 Hz, answerer 1600 Hz):
             N/4 calling and N/4 answering processes (4 calls each, the
             wheel's cap). A call is *clean* when each end's recording holds
             the other end's tone as one unbroken stretch (a dropout of a
             packet or more splits it) covering at least 90 % of the hold.
             Rows for harness phones and for the bare pjsua2 program, and the
             machine's CPU use during the hold.
sipp         the same hold with SIPp (Debian ``sip-tester``): a UAC scenario
             streaming ``play_pcap_audio`` (G.711 A-law) to SIPp's ``uas``
             with ``-rtp_echo``, placed within 5 s and each held for the
             placing time plus the hold. SIPp records nothing, so its row
             counts calls completed without a failure or retransmission, not
             clean audio; the note gives the peak of SIPp's CurrentCall.
rate         calls placed at R per second for 10 s over 16 calling and 16
             answering harness phones, each hung up as soon as it is
             confirmed: calls confirmed, failed, the rate achieved, set-up
             time (open_call to CONFIRMED) and whether any phone died.

A script, not a test (pytest does not collect tests/benchmarks). Run it on a
quiet machine: the default levels take about ten minutes. Every wait has a
deadline; processes are killed at the end whatever happens.
"""

from __future__ import annotations

import argparse
import json
import math
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from harness.audio.tone import detect_tone, sine
from harness.audio.wav import read_wav, write_wav
from harness.errors import PhoneError
from harness.sip.config import AccountSetup, Behaviour, PhoneSetup
from harness.sip.controller import Switchboard
from harness.sip.timeline import CallTimeline

RAW = Path(__file__).with_name("rawpjsua.py")
CALLER_TONE, ANSWER_TONE = 1000.0, 1600.0
PER_PHONE = 4  # PJSUA_MAX_CALLS in the pjsua2-python wheel
SIP_BASE, RTP_BASE = 41000, 30000  # the bench's own ports: clear of the tests' and the platform's
GAP = 0.05  # seconds between calls in the overhead table, both diallers (see --gap in rawpjsua.py)
PACE = 0.05  # seconds between call attempts while filling the pool (20 per second)


# -- small things -------------------------------------------------------------------------------
def cpu_times() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def cpu_percent(before: tuple[float, float], after: tuple[float, float]) -> float:
    busy, total = after[0] - before[0], after[1] - before[1]
    return 100.0 * busy / total if total else 0.0


def tone(path: Path, freq: float, seconds: float) -> str:
    if not path.exists():
        write_wav(path, sine(freq, seconds, -12.0))
    return str(path)


def clean(path: str | Path | None, freq: float, hold: float) -> bool:
    """One unbroken stretch of ``freq`` covering at least 90 % of the hold."""
    if not path or not Path(path).exists():
        return False
    try:
        segments = detect_tone(read_wav(str(path))[0], freq, min_duration=0.2)
    except Exception:  # noqa: BLE001 -- an unreadable recording is not clean
        return False
    return len(segments) == 1 and segments[0][1] - segments[0][0] >= 0.9 * hold


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


@contextmanager
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    try:
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        end = time.monotonic() + 10.0
        for p in procs:
            try:
                p.wait(max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5.0)


def raw(mode: str, port: int, rtp: int, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(RAW), mode, "--port", str(port), "--rtp", str(rtp),
                             *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def ready(proc: subprocess.Popen[str], timeout: float = 30.0) -> None:
    """Wait for a ``rawpjsua.py answer`` to say it is ready (its first line)."""
    assert proc.stdout is not None
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if select.select([proc.stdout], [], [], 0.2)[0]:
            if json.loads(proc.stdout.readline() or "{}").get("ready"):
                return
            break
        if proc.poll() is not None:
            break
    raise RuntimeError(f"bare pjsua2 answerer {proc.args} did not start")


def last_json(proc: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    out, _ = proc.communicate(timeout=timeout)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


def harness_phone(name: str, work: Path, index: int, behaviour: Behaviour | None = None) -> PhoneSetup:
    return PhoneSetup(name=name, capture_dir=str(work), sip_port=SIP_BASE + index,
                      rtp_port=RTP_BASE + index * 40, log_level=1,
                      account=AccountSetup(id_uri=f"sip:{name}@127.0.0.1"),
                      behaviour=behaviour or Behaviour())


def start_phones(board: Switchboard, setups: list[PhoneSetup]) -> None:
    for i in range(0, len(setups), 16):  # in batches: 2 cores import pjsua2 16 times at once
        board.start(setups[i:i + 16], timeout=120.0)


def pause(board: Switchboard, seconds: float) -> None:
    end = time.monotonic() + seconds
    board.wait(lambda: time.monotonic() >= end or None, seconds + 5.0, lambda: "time to pass")


def settle(board: Switchboard, legs: list[CallTimeline], states: tuple[str, ...], timeout: float,
           what: str) -> bool:
    try:
        board.wait(lambda: all(leg.state in states for leg in legs) or None, timeout,
                   lambda: f"{what}: " + ", ".join(f"{leg} {leg.state}" for leg in legs
                                                    if leg.state not in states)[:400])
        return True
    except PhoneError:
        return False


# -- overhead -----------------------------------------------------------------------------------
def overhead(work: Path, count: int) -> list[tuple[str, list[float]]]:
    rows: list[tuple[str, list[float]]] = []
    with processes() as procs:
        answerer = raw("answer", SIP_BASE, RTP_BASE)
        procs.append(answerer)
        ready(answerer)
        target = f"sip:raw@127.0.0.1:{SIP_BASE}"
        dialler = raw("dial", SIP_BASE + 1, RTP_BASE + 40, "--target", target, "--count", str(count),
                      "--gap", str(GAP))
        procs.append(dialler)
        got = last_json(dialler, 60.0 + count * 6.0).get("setup_s", [])
        rows.append(("bare pjsua2 -> bare pjsua2", [s for s in got if s is not None]))
        board = Switchboard(work / "overhead")
        try:
            start_phones(board, [harness_phone("caller", work, 2), harness_phone("callee", work, 3)])
            callee = board.phones["callee"].address
            for label, uri in (("harness phone -> bare pjsua2", target),
                               ("harness phone -> harness phone", f"sip:callee@{callee}")):
                times: list[float] = []
                for i in range(count):
                    t0 = time.perf_counter()
                    leg = board.open_call("caller", f"{label[15:20]}{i}", uri, {})
                    if settle(board, [leg], ("CONFIRMED", "DISCONNECTED"), 5.0, "answer") \
                            and leg.state == "CONFIRMED":
                        times.append(time.perf_counter() - t0)
                    board.command("caller", "hangup", handle=leg.handle)
                    settle(board, [leg], ("DISCONNECTED",), 5.0, "hang-up")
                    pause(board, GAP)
                rows.append((label, times))
        finally:
            board.close()
    return rows


def print_overhead(rows: list[tuple[str, list[float]]], count: int) -> None:
    print(f"\nCall set-up, dial to CONFIRMED, {count} calls one after another (ms)")
    print(f"{'path':34} {'calls':>6} {'median':>8} {'p90':>8} {'max':>8}")
    for label, times in rows:
        if not times:
            print(f"{label:34} {0:>6} {'-':>8} {'-':>8} {'-':>8}")
            continue
        ms = [t * 1000 for t in times]
        print(f"{label:34} {len(ms):>6} {statistics.median(ms):>8.1f} {percentile(ms, 0.9):>8.1f} "
              f"{max(ms):>8.1f}")
    medians = {label: statistics.median(t) * 1000 for label, t in rows if t}
    if "bare pjsua2 -> bare pjsua2" in medians and "harness phone -> bare pjsua2" in medians:
        added = medians["harness phone -> bare pjsua2"] - medians["bare pjsua2 -> bare pjsua2"]
        print(f"the harness adds {added:.1f} ms per call set-up (difference of the medians)")


# -- concurrency --------------------------------------------------------------------------------
@dataclass
class Held:
    who: str
    calls: int
    confirmed: int = 0
    clean: int = 0
    died: int = 0
    cpu: float = 0.0
    seconds: float = 0.0
    note: str = ""


def hold_harness(work: Path, calls: int, hold: float) -> Held:
    result = Held("harness phones", calls)
    pairs = math.ceil(calls / PER_PHONE)
    here = work / f"harness-{calls}"
    here.mkdir()
    answer_wav = tone(work / "answer.wav", ANSWER_TONE, hold + 20.0)
    caller_wav = tone(work / "caller.wav", CALLER_TONE, hold + 20.0)
    setups = [harness_phone(f"a{i}", here, 2 * i, Behaviour(play=answer_wav)) for i in range(pairs)]
    setups += [harness_phone(f"c{i}", here, 2 * i + 1) for i in range(pairs)]
    board = Switchboard(here)
    started = time.monotonic()
    try:
        start_phones(board, setups)
        legs: list[CallTimeline] = []
        for n in range(calls):
            i = n // PER_PHONE
            legs.append(board.open_call(f"c{i}", f"h{n}", f"sip:a{i}@{board.phones[f'a{i}'].address}", {}))
            pause(board, PACE)
        settle(board, legs, ("CONFIRMED", "DISCONNECTED"), 30.0, "answers")
        up = [leg for leg in legs if leg.state == "CONFIRMED"]
        result.confirmed = len(up)
        try:
            board.wait(lambda: all(leg.last("media", active=True) for leg in up) or None, 10.0,
                       lambda: "audio on every call")
        except PhoneError as exc:
            result.note = str(exc).split("\n")[0][:120]
        for leg in up:
            board.command(leg.phone, "play", handle=leg.handle, path=caller_wav, loop=False)
        before = cpu_times()
        pause(board, hold)
        result.cpu = cpu_percent(before, cpu_times())
        for leg in up:
            board.command(leg.phone, "hangup", handle=leg.handle)
        settle(board, legs, ("DISCONNECTED",), 20.0, "hang-ups")
        answered = [leg for p in board.phones if p.startswith("a") for leg in board.calls_of(p)]
        everyone = legs + answered
        try:
            board.wait(lambda: all(leg.last("capture_closed") for leg in everyone
                                   if leg.capture_path) or None, 20.0, lambda: "captures closed")
        except PhoneError as exc:
            result.note = str(exc).split("\n")[0][:120]
        by_call = {leg.sip_call_id: leg for leg in answered}
        for leg in up:
            peer = by_call.get(leg.sip_call_id)
            if peer and clean(leg.capture_path, ANSWER_TONE, hold) and \
                    clean(peer.capture_path, CALLER_TONE, hold):
                result.clean += 1
    except PhoneError as exc:
        result.note = str(exc).split("\n")[0][:120]
    finally:
        result.died = sum(1 for p in board.phones.values() if p.proc.poll() not in (None, 0))
        board.close(timeout=20.0)
        result.seconds = time.monotonic() - started
    return result


def hold_raw(work: Path, calls: int, hold: float) -> Held:
    result = Held("bare pjsua2", calls)
    pairs = math.ceil(calls / PER_PHONE)
    here = work / f"raw-{calls}"
    (here / "a").mkdir(parents=True)
    (here / "c").mkdir()
    answer_wav = tone(work / "answer.wav", ANSWER_TONE, hold + 20.0)
    caller_wav = tone(work / "caller.wav", CALLER_TONE, hold + 20.0)
    started = time.monotonic()
    with processes() as procs:
        answerers = [raw("answer", SIP_BASE + 2 * i, RTP_BASE + 80 * i, "--play", answer_wav,
                         "--record", str(here / "a"), "--seconds", str(hold + 120))
                     for i in range(pairs)]
        procs.extend(answerers)
        for a in answerers:
            ready(a, 120.0)
        callers = []
        # every caller hangs up at the same moment: the hold starts once the last has dialled
        placing = PACE * calls + 5.0
        end_at = time.monotonic() + placing + hold
        for i in range(pairs):
            n = min(PER_PHONE, calls - i * PER_PHONE)
            callers.append(raw("hold", SIP_BASE + 2 * i + 1, RTP_BASE + 80 * i + 40,
                               "--target", f"sip:raw@127.0.0.1:{SIP_BASE + 2 * i}",
                               "--calls", str(n), "--hold", str(hold), "--play", caller_wav,
                               "--record", str(here / "c"), "--end-at", f"{end_at:.3f}"))
            time.sleep(PACE * n)
        procs.extend(callers)
        time.sleep(max(0.0, end_at - hold - time.monotonic()))
        before = cpu_times()
        time.sleep(max(0.0, end_at - time.monotonic()))
        result.cpu = cpu_percent(before, cpu_times())
        outcomes = []
        for c in callers:
            try:
                outcomes.extend(last_json(c, hold + 60.0).get("calls", []))
            except subprocess.TimeoutExpired:
                result.note = "a bare dialler did not finish"
        for a in answerers:
            a.send_signal(signal.SIGTERM)
            try:
                last_json(a, 20.0)
            except subprocess.TimeoutExpired:
                result.note = "a bare answerer did not stop"
        result.died = sum(1 for p in procs if p.returncode not in (0, None, -signal.SIGTERM))
    result.confirmed = sum(1 for o in outcomes if o["confirmed"])
    for o in outcomes:
        name = f"{o['call_id']}.wav"
        if o["confirmed"] and clean(here / "c" / name, ANSWER_TONE, hold) and \
                clean(here / "a" / name, CALLER_TONE, hold):
            result.clean += 1
    result.seconds = time.monotonic() - started
    return result


SIPP_UAC = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uac with G.711 audio from a pcap">
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: sip:sipp@[local_ip]:[local_port]
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8
a=rtpmap:8 PCMA/8000
]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rtd="true"/>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Contact: sip:sipp@[local_ip]:[local_port]
Max-Forwards: 70
Content-Length: 0

]]></send>
AUDIO  <send retrans="500"><![CDATA[
BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 BYE
Contact: sip:sipp@[local_ip]:[local_port]
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200" crlf="true"/>
</scenario>
"""
PCAP = Path("/usr/share/sip-tester/g711a.pcap")
PCAP_SECONDS = 7.0  # g711a.pcap holds 7.05 s of audio: played again until the hold is over


def sipp_audio(hold: float) -> str:
    """Play the pcap back to back for ``hold`` seconds (play_pcap_audio returns at once)."""
    steps, left = [], hold
    while left > 0:
        steps.append(f'  <nop><action><exec play_pcap_audio="{PCAP}"/></action></nop>\n'
                     f'  <pause milliseconds="{int(min(left, PCAP_SECONDS) * 1000)}"/>\n')
        left -= PCAP_SECONDS
    return "".join(steps)


def stat_rows(path: Path) -> list[dict[str, str]]:
    """The rows of SIPp's ``-trace_stat`` CSV (semicolon-separated, one per -fd s), by column name."""
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    header = lines[0].split(";") if lines else []
    return [dict(zip(header, line.split(";"))) for line in lines[1:]]


def hold_sipp(work: Path, calls: int, hold: float) -> Held:
    result = Held("SIPp (sip-tester)", calls)
    here = work / f"sipp-{calls}"
    here.mkdir()
    scenario = here / "uac_pcap.xml"
    # placed in 5 s at most, each call held for the placing time and the hold, so that all
    # of them are up together for the whole hold (the stat file's CurrentCall shows the peak)
    rate = max(int(1 / PACE), math.ceil(calls / 5.0))
    placing = calls / rate
    scenario.write_text(SIPP_UAC.replace("AUDIO", sipp_audio(hold + placing)))
    uas_port, uac_port = SIP_BASE + 500, SIP_BASE + 501
    started = time.monotonic()
    with processes() as procs:
        uas = subprocess.Popen(["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(uas_port),
                                "-mi", "127.0.0.1", "-mp", "50000", "-rtp_echo", "-nostdin"],
                               cwd=here, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, text=True)
        procs.append(uas)
        time.sleep(1.0)
        uac = subprocess.Popen(["sipp", f"127.0.0.1:{uas_port}", "-sf", str(scenario), "-i",
                                "127.0.0.1", "-p", str(uac_port), "-mi", "127.0.0.1", "-mp", "44000",
                                "-m", str(calls), "-l", str(calls), "-r", str(rate),
                                "-trace_stat", "-stf", str(here / "stat.csv"), "-fd", "1",
                                "-timeout", str(int(hold + placing + 60)), "-nostdin"],
                               cwd=here, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(uac)
        time.sleep(placing + 0.5)
        before = cpu_times()
        time.sleep(hold - 1.0)
        result.cpu = cpu_percent(before, cpu_times())
        try:
            uac.wait(hold + placing + 90.0)
        except subprocess.TimeoutExpired:
            result.note = "SIPp did not finish"
    rows = stat_rows(here / "stat.csv") if (here / "stat.csv").exists() else []
    row = rows[-1] if rows else {}
    peak = max((int(r.get("CurrentCall", 0) or 0) for r in rows), default=0)
    ok, failed = int(row.get("SuccessfulCall(C)", 0) or 0), int(row.get("FailedCall(C)", 0) or 0)
    retrans = int(row.get("Retransmissions(C)", 0) or 0)
    result.confirmed = ok + failed
    result.clean = ok
    result.note = result.note or (f"peak {peak} at once, failed {failed}, retransmissions {retrans}, "
                                  f"exit {uac.returncode}")
    result.died = 0 if uac.returncode in (0, 1) else 1
    result.seconds = time.monotonic() - started
    return result


def print_held(rows: list[Held], hold: float) -> None:
    print(f"\nConcurrent calls held {hold:.0f} s with audio both ways (clean: each end's recording holds "
          "the other's tone unbroken; SIPp: completed, audio not recorded)")
    print(f"{'who':20} {'calls':>6} {'up':>6} {'clean':>6} {'died':>5} {'CPU %':>6} {'run s':>6}  note")
    for r in rows:
        print(f"{r.who:20} {r.calls:>6} {r.confirmed:>6} {r.clean:>6} {r.died:>5} {r.cpu:>6.0f} "
              f"{r.seconds:>6.0f}  {r.note}")


# -- set-up rate --------------------------------------------------------------------------------
@dataclass
class Rate:
    target: float
    placed: int = 0
    confirmed: int = 0
    failed: int = 0
    achieved: float = 0.0
    setup_ms: list[float] = field(default_factory=list)
    died: int = 0
    note: str = ""


class RateRun:
    """Calls placed at ``target`` per second over the pool, each hung up as soon as it is confirmed."""

    def __init__(self, board: Switchboard, target: float, phones: int) -> None:
        self.board, self.target = board, target
        self.live: dict[str, list[CallTimeline]] = {f"c{i}": [] for i in range(phones)}
        self.done: list[CallTimeline] = []
        self.hung_up: set[tuple[str, str]] = set()

    def reap(self) -> None:
        """Hang up what is confirmed; retire what is over."""
        for legs in self.live.values():
            for leg in list(legs):
                if leg.state == "CONFIRMED" and (leg.phone, leg.handle) not in self.hung_up:
                    self.board.command(leg.phone, "hangup", handle=leg.handle)
                    self.hung_up.add((leg.phone, leg.handle))
                if leg.state == "DISCONNECTED":
                    legs.remove(leg)
                    self.done.append(leg)

    def place(self, n: int) -> bool:
        """One call from the least busy calling phone; False when every slot is taken."""
        free = [p for p, legs in self.live.items() if len(legs) < PER_PHONE]
        if not free:
            return False  # the pool, not the target, sets the pace
        phone = min(free, key=lambda p: len(self.live[p]))
        peer = f"a{phone[1:]}"
        self.live[phone].append(self.board.open_call(
            phone, f"r{self.target:g}-{n}", f"sip:{peer}@{self.board.phones[peer].address}", {}))
        return True

    def run(self, seconds: float) -> Rate:
        r = Rate(self.target)
        start, n = time.monotonic(), 0
        try:
            while time.monotonic() - start < seconds:
                due = start + n / self.target
                self.board.pump(max(0.0, min(0.05, due - time.monotonic())))
                self.reap()
                if time.monotonic() >= due and self.place(n):
                    n += 1
            drain = time.monotonic() + 30.0
            while any(self.live.values()) and time.monotonic() < drain:
                self.board.pump(0.05)
                self.reap()
        except PhoneError as exc:
            r.note = str(exc).split("\n")[0][:120]
        legs = self.done + [leg for legs in self.live.values() for leg in legs]
        confirms = [(leg, ev) for leg in legs if (ev := leg.last("call", state="CONFIRMED"))]
        r.placed, r.confirmed = n, len(confirms)
        r.failed = r.placed - r.confirmed
        r.setup_ms = [(ev.t - leg.t0) * 1000 for leg, ev in confirms]
        last = max((ev.t for _, ev in confirms), default=start)
        r.achieved = r.confirmed / max(last - start, 1e-9) if confirms else 0.0
        stuck = sum(len(legs) for legs in self.live.values())
        if stuck and not r.note:
            r.note = f"{stuck} calls not over 30 s after the last was placed"
        return r


def setup_rate(work: Path, rates: list[float], seconds: float = 10.0, phones: int = 16) -> list[Rate]:
    here = work / "rate"
    board = Switchboard(here)
    results: list[Rate] = []
    try:
        start_phones(board, [harness_phone(f"a{i}", here, 2 * i) for i in range(phones)]
                     + [harness_phone(f"c{i}", here, 2 * i + 1) for i in range(phones)])
        for target in rates:
            r = RateRun(board, target, phones).run(seconds)
            r.died = sum(1 for p in board.phones.values() if p.proc.poll() is not None)
            results.append(r)
            if r.died:
                break
            pause(board, 2.0)
    finally:
        board.close(timeout=20.0)
    return results


def print_rates(rows: list[Rate], phones: int = 16) -> None:
    print(f"\nCall set-up rate over {phones} calling and {phones} answering phones, 10 s per rate, "
          "each call hung up once confirmed (set-up: open_call to CONFIRMED)")
    print(f"{'target /s':>9} {'placed':>7} {'confirmed':>9} {'failed':>7} {'achieved /s':>11} "
          f"{'set-up p50':>10} {'p90 ms':>7} {'phones died':>11}  note")
    for r in rows:
        p50 = f"{statistics.median(r.setup_ms):.0f}" if r.setup_ms else "-"
        p90 = f"{percentile(r.setup_ms, 0.9):.0f}" if r.setup_ms else "-"
        print(f"{r.target:>9g} {r.placed:>7} {r.confirmed:>9} {r.failed:>7} {r.achieved:>11.1f} "
              f"{p50:>10} {p90:>7} {r.died:>11}  {r.note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, nargs="+", default=[40, 120, 240])
    parser.add_argument("--hold", type=float, default=10.0)
    parser.add_argument("--sipp", type=int, nargs="+", default=[240, 1000])
    parser.add_argument("--rates", type=float, nargs="+", default=[10, 20, 40, 80])
    parser.add_argument("--overhead", type=int, default=40, help="calls for the overhead table")
    parser.add_argument("--only", nargs="+", choices=("overhead", "concurrency", "sipp", "rate"),
                        default=["overhead", "concurrency", "sipp", "rate"])
    parser.add_argument("--no-raw", action="store_true", help="skip the bare pjsua2 rows")
    parser.add_argument("--keep", type=Path, help="keep recordings and logs in this (new) folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ccbench-") as tmp:
        work = Path(tmp)
        if args.keep:
            args.keep.mkdir(parents=True)
            work = args.keep
        if "overhead" in args.only:
            print_overhead(overhead(work, args.overhead), args.overhead)
        rows: list[Held] = []
        if "concurrency" in args.only:
            for calls in args.calls:
                rows.append(hold_harness(work, calls, args.hold))
                print_held(rows[-1:], args.hold)
                if not args.no_raw:
                    rows.append(hold_raw(work, calls, args.hold))
                    print_held(rows[-1:], args.hold)
        if "sipp" in args.only:
            if shutil.which("sipp") is None or not PCAP.exists():
                print("\nSIPp rows skipped: apt-get install sip-tester (not needed by the tests)")
            else:
                for calls in args.sipp:
                    rows.append(hold_sipp(work, calls, args.hold))
                    print_held(rows[-1:], args.hold)
        if rows:
            print_held(rows, args.hold)
        if "rate" in args.only:
            print_rates(setup_rate(work, args.rates))


if __name__ == "__main__":
    main()
