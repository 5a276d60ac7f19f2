"""Phones on both sides of real SIP calls on 127.0.0.1: signalling, DTMF, audio, failure."""

from __future__ import annotations

import os
import signal
import time
from itertools import pairwise
from pathlib import Path

import pytest

from harness.audio.dtmf import dtmf_digits
from harness.audio.tone import detect_tone, dtmf_tones, sine
from harness.audio.wav import read_wav, write_wav
from harness.errors import PhoneError
from harness.sip.config import AccountSetup, Behaviour, PhoneSetup
from harness.sip.controller import Switchboard, WaitTimeout
from harness.sip.priority import MEDIA_NICE, group_level
from harness.sip.timeline import CallTimeline

pytestmark = pytest.mark.sip


def phone(name: str, tmp: Path, behaviour: Behaviour | None = None, transport: str = "udp") -> PhoneSetup:
    return PhoneSetup(name=name, capture_dir=str(tmp), account=AccountSetup(id_uri=f"sip:{name}@127.0.0.1"),
                      behaviour=behaviour or Behaviour(), transport=transport)  # type: ignore[arg-type]


def tone_file(tmp: Path, freq: float, seconds: float = 1.0) -> str:
    path = tmp / f"tone-{int(freq)}.wav"
    write_wav(path, sine(freq, seconds, -12.0))
    return str(path)


def connect(board: Switchboard, tmp: Path, peer: Behaviour) -> tuple[CallTimeline, CallTimeline]:
    callee, _ = board.start([phone("callee", tmp, peer), phone("caller", tmp)])
    tl = board.open_call("caller", "c1", f"sip:callee@{callee.address}", {})
    board.wait(lambda: tl.state == "CONFIRMED" or None, 5.0, lambda: "answer", timeline=tl)
    leg = board.wait(lambda: next(iter(board.calls_of("callee")), None), 2.0, lambda: "callee's leg")
    board.wait(lambda: leg.state == "CONFIRMED" or None, 2.0, lambda: "callee confirmed", timeline=leg)
    board.wait(lambda: (leg.capture_path and tl.capture_path) or None, 3.0, lambda: "captures", timeline=tl)
    return tl, leg


def pause(board: Switchboard, seconds: float) -> None:
    end = time.monotonic() + seconds
    board.wait(lambda: time.monotonic() >= end or None, seconds + 1, lambda: "time to pass")


def hang_up(board: Switchboard, tl: CallTimeline) -> None:
    board.command(tl.phone, "hangup", handle=tl.handle)
    board.wait(lambda: tl.state == "DISCONNECTED" or None, 5.0, lambda: "BYE", timeline=tl)


def test_call_setup_and_teardown_are_on_the_wire(board: Switchboard, tmp_path: Path) -> None:
    tl, leg = connect(board, tmp_path, Behaviour(answer_after=0.3))
    hang_up(board, tl)
    board.wait(lambda: leg.state == "DISCONNECTED" or None, 5.0, lambda: "callee to see BYE", timeline=leg)
    lines = [(e.data["dir"], e.data["first_line"].split(" ")[0 if e.data["dir"] == "TX" else 1])
             for e in board.sip_trace(tl)]
    methods = [e.data["first_line"] for e in board.sip_trace(tl)]
    assert methods[0].startswith("INVITE sip:callee@")
    assert any(m.startswith("SIP/2.0 180") for m in methods)
    assert any(m.startswith("SIP/2.0 200") for m in methods)
    assert ("TX", "ACK") in lines and ("TX", "BYE") in lines
    assert leg.sip_call_id == tl.sip_call_id
    answered = tl.last("call", state="CONFIRMED")
    assert answered is not None and 0.25 <= answered.t - tl.t0 < 2.0  # the 0.3 s answer delay


@pytest.mark.parametrize("method", ["rfc4733", "info"])
def test_signalled_dtmf_both_ways(board: Switchboard, tmp_path: Path, method: str) -> None:
    tl, leg = connect(board, tmp_path, Behaviour())
    board.command("caller", "dtmf", handle=tl.handle, digits="159#", method=method)
    board.wait(lambda: leg.dtmf_digits() == "159#" or None, 5.0, lambda: "DTMF at callee", timeline=leg)
    board.command("callee", "dtmf", handle=leg.handle, digits="*0D", method=method)
    board.wait(lambda: tl.dtmf_digits() == "*0D" or None, 5.0, lambda: "DTMF at caller", timeline=tl)
    assert {e.data["method"] for e in tl.events + leg.events if e.kind == "dtmf"} == {method}


def test_inband_dtmf_both_ways(board: Switchboard, tmp_path: Path) -> None:
    tl, leg = connect(board, tmp_path, Behaviour())
    digits_a, digits_b = tmp_path / "a.wav", tmp_path / "b.wav"
    write_wav(digits_a, dtmf_tones("2580", 0.1, 0.1, -12.0))
    write_wav(digits_b, dtmf_tones("#7A", 0.1, 0.1, -12.0))
    board.command("caller", "play", handle=tl.handle, path=str(digits_a), loop=False)
    board.command("callee", "play", handle=leg.handle, path=str(digits_b), loop=False)
    pause(board, 1.5)
    hang_up(board, tl)
    board.wait(lambda: (leg.last("capture_closed") and tl.last("capture_closed")) or None, 5.0,
               lambda: "captures closed", timeline=tl)
    assert dtmf_digits(read_wav(leg.capture_path)[0]) == "2580"
    assert dtmf_digits(read_wav(tl.capture_path)[0]) == "#7A"
    assert tl.dtmf_digits() == "" and leg.dtmf_digits() == ""  # nothing was signalled


def test_audio_both_ways_with_mouth_to_ear_delay(board: Switchboard, tmp_path: Path) -> None:
    tl, leg = connect(board, tmp_path, Behaviour(play=tone_file(tmp_path, 1000.0)))
    board.command("caller", "play", handle=tl.handle, path=tone_file(tmp_path, 600.0), loop=False)
    pause(board, 1.6)
    hang_up(board, tl)
    board.wait(lambda: (leg.last("capture_closed") and tl.last("capture_closed")) or None, 5.0,
               lambda: "captures closed", timeline=tl)
    for listener, talker, freq in ((tl, leg, 1000.0), (leg, tl, 600.0)):
        heard = detect_tone(read_wav(listener.capture_path)[0], freq)
        assert heard, f"{freq} Hz not heard by {listener}"
        # one 1 s tone, maybe with a dropout (a packet late on a busy host splits it in two: heard
        # 0.05-0.795 s and 0.83-1.14 s in an unstressed CI run); not two tones, nor a short one
        start, end = heard[0].start_s, heard[-1].end_s
        gaps = [b.start_s - a.end_s for a, b in pairwise(heard)]
        assert all(gap < 0.1 for gap in gaps), f"{freq} Hz heard in pieces: {heard}"
        assert 0.85 <= sum(h.end_s - h.start_s for h in heard) <= 1.1 and end - start <= 1.2, heard
        played = talker.last("play", state="started")
        assert played is not None and listener.capture_t0 is not None
        delay = listener.capture_t0 + start - played.t
        assert -0.05 <= delay <= 0.4, f"mouth-to-ear {delay * 1000:.0f} ms"
        assert not detect_tone(read_wav(listener.capture_path)[0], 1600.0 - freq)  # not our own tone


def test_a_peer_that_never_answers_times_out_with_its_timeline(board: Switchboard, tmp_path: Path) -> None:
    callee, _ = board.start([phone("callee", tmp_path, Behaviour(mode="ring")), phone("caller", tmp_path)])
    tl = board.open_call("caller", "c1", f"sip:callee@{callee.address}", {})
    with pytest.raises(WaitTimeout) as err:
        board.wait(lambda: tl.state == "CONFIRMED" or None, 1.5, lambda: "the call to be answered", timeline=tl)
    message = str(err.value)
    assert "waited 1.5s for the call to be answered on call c1 (caller -> sip:callee@" in message
    assert "timeline: CALLING@0.0s, EARLY(180)@" in message
    hang_up(board, tl)
    assert tl.final_status() == (487, "Request Terminated")


def test_rejecting_phone_gives_its_status(board: Switchboard, tmp_path: Path) -> None:
    callee, _ = board.start([phone("callee", tmp_path, Behaviour(mode="reject", code=603)), phone("caller", tmp_path)])
    tl = board.open_call("caller", "c1", f"sip:callee@{callee.address}", {})
    board.wait(lambda: tl.state == "DISCONNECTED" or None, 5.0, lambda: "rejection", timeline=tl)
    assert tl.final_status() == (603, "Decline")


def test_more_parties_than_one_process_can_hold(board: Switchboard, tmp_path: Path) -> None:
    agents = [phone(f"agent{i}", tmp_path, Behaviour(answer_after=0.1 * i)) for i in range(6)]
    callers = [phone(f"caller{i}", tmp_path) for i in range(2)]
    started = board.start(agents + callers)
    addresses = {p.name: p.address for p in started}
    calls = []
    for n in range(8):  # 8 concurrent calls: 4 per caller, one or two per agent
        agent = f"agent{n % 6}"
        calls.append(board.open_call(f"caller{n % 2}", f"c{n}", f"sip:{agent}@{addresses[agent]}", {}))
    board.wait(lambda: all(c.state == "CONFIRMED" for c in calls) or None, 10.0,
               lambda: "all 8 calls answered: " + ", ".join(f"{c.handle}={c.state}" for c in calls))
    assert len({c.sip_call_id for c in calls}) == 8
    assert sum(len(board.calls_of(a.name)) for a in agents) == 8


def test_a_phone_killed_mid_call_is_an_error_not_a_hang(board: Switchboard, tmp_path: Path) -> None:
    _tl, leg = connect(board, tmp_path, Behaviour())
    os.kill(board.phones["callee"].proc.pid, signal.SIGKILL)
    began = time.monotonic()
    with pytest.raises(PhoneError) as err:
        board.wait(lambda: leg.state == "DISCONNECTED" or None, 30.0, lambda: "callee hang-up", timeline=leg)
    assert time.monotonic() - began < 2.0
    assert "phone callee died" in str(err.value) and "last output" in str(err.value)


def test_unreachable_target_is_ended_by_our_deadline(board: Switchboard, tmp_path: Path) -> None:
    board.start([phone("caller", tmp_path)])
    tl = board.open_call("caller", "c1", "sip:nobody@127.0.0.1:9", {})  # nothing listens on port 9
    with pytest.raises(WaitTimeout):
        board.wait(lambda: tl.state == "CONFIRMED" or None, 1.0, lambda: "answer", timeline=tl)
    hang_up(board, tl)  # PJSIP alone would wait 32 s for timer B
    assert tl.state == "DISCONNECTED"
    assert not [e for e in board.sip_trace(tl) if e.data["dir"] == "RX"]


def test_calls_over_tcp(board: Switchboard, tmp_path: Path) -> None:
    callee, _ = board.start([phone("callee", tmp_path, Behaviour(), "tcp"), phone("caller", tmp_path, None, "tcp")])
    tl = board.open_call("caller", "c1", f"sip:callee@{callee.address};transport=tcp", {})
    board.wait(lambda: tl.state == "CONFIRMED" or None, 5.0, lambda: "answer over TCP", timeline=tl)
    hang_up(board, tl)
    peers = {e.data["peer"].split(" ")[0] for e in board.sip_trace(tl)}
    assert peers == {"TCP"}, f"messages went over {peers}"


def test_a_phone_that_did_not_run_says_so_on_its_timeline(board: Switchboard, tmp_path: Path) -> None:
    """RTP is read only while a phone pumps: a phone the host did not run for 0.8 s lost audio,
    and its timeline has to say so (the runner then calls a failure undecided)."""
    tl, _ = connect(board, tmp_path, Behaviour(play=tone_file(tmp_path, 1000.0, 3.0)))
    stopped_at = time.monotonic()
    os.kill(board.phones["caller"].proc.pid, signal.SIGSTOP)
    time.sleep(0.8)
    os.kill(board.phones["caller"].proc.pid, signal.SIGCONT)
    pause(board, 0.5)
    stall = board.worst_stall(stopped_at - 0.1)
    assert stall is not None and stall.phone == "caller", f"no stall reported: {tl.summary()}"
    assert 0.75 <= float(stall.data["seconds"]) < 1.5
    assert "PHONE_STALLED(" in tl.summary()
    # a window that held the stop lost most of it; one that opened as the stall ended, none
    inside = board.stall_inside(stopped_at - 0.1, time.monotonic())
    assert inside is not None and inside[1] >= 0.75, f"time inside the window: {inside}"
    after = board.stall_inside(stall.t + float(stall.data["seconds"]), time.monotonic())
    assert after is None or after[0] is not stall, f"the stall counted after it ended: {after}"
    # the callee ran all along (a busy test host may pause it briefly, never this long)
    assert all(float(e.data["seconds"]) < 0.75 for e in board.phones["callee"].stalls)
    hang_up(board, tl)


@pytest.mark.sip
def test_a_phone_runs_before_ordinary_work_when_allowed(board: Switchboard, tmp_path: Path) -> None:
    """A phone hears RTP only while its loop turns: as root it asks for nice -10 (as a PBX runs
    its media), so a busy host's ordinary processes do not starve it; else it runs as it is.
    It leads its own session, and that session's scheduling group (autogroup) runs at the same
    level: under autogroup, nice alone only ranks a session's own processes."""
    (started,) = board.start([phone("niced", tmp_path)])
    pid = started.proc.pid
    level = os.getpriority(os.PRIO_PROCESS, pid)
    allowed = os.geteuid() == 0
    assert level == (MEDIA_NICE if allowed else os.getpriority(os.PRIO_PROCESS, 0)), level
    assert os.getsid(pid) == pid, "the phone does not lead its own session"
    group = group_level(pid)
    if group is not None:  # None: the kernel has no autogroup
        assert group == (MEDIA_NICE if allowed else 0), f"the phone's session group runs at nice {group}"
