"""Check 4: a test call to a DID is answered, agrees on a codec, and brings sound back.

Also the call handling the DTMF probe shares: dial, await the answer, listen
to the capture, hang up.  The codec and the platform's media address come
from the SDP answer in the call's own SIP trace.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterator

import numpy as np

from harness.doctor.checkup import Checkup
from harness.doctor.finding import Finding, fail, ok, skipped, warn
from harness.runner.cast import phone_setup, request_uri
from harness.sip.controller import WaitTimeout
from harness.sip.sdp import AudioStream, audio_stream
from harness.sip.timeline import CallTimeline
from harness.spec.values import Destination

RATE = 8000
ANSWER_TIMEOUT = 10.0
MEDIA_TIMEOUT = 3.0  # from the answer to an active audio stream
AUDIO_WINDOW = 5.0  # how long to listen for sound after the audio starts
HANGUP_TIMEOUT = 5.0
POLL = 0.2  # seconds between reads of a growing capture
SOUND_DBFS = -45.0  # a 20 ms frame at least this loud is sound


def test_call(c: Checkup) -> Iterator[Finding]:
    why = caller_ready(c, c.did)
    if why:
        yield skipped(4, "call", why)
        return
    number = c.target.dids[c.did]
    tl = dial(c, c.did)
    try:
        problem = await_answer(c, tl, 4, c.did)
        c.answered[c.did] = problem is None
        if problem:
            yield problem
            return
        answered = tl.last("call", state="CONFIRMED")
        assert answered is not None
        yield ok(4, "call", f"did {c.did} ({number}) answered in {answered.t - tl.t0:.1f}s "
                            f"(Call-ID {tl.sip_call_id})")
        stream = answer_stream(c, tl)
        yield _codec(c, tl, stream)
        yield _audio(c, tl, stream)
    finally:
        hang_up(c, tl)


def caller_ready(c: Checkup, did: str) -> str:
    """Why no call can be placed to ``did`` ("" when one can); starts the caller's phone if need be."""
    if not did:
        return f"the profile has no dids: to call (add dids: {{main: \"NUMBER\"}} to {c.target.path})"
    if not c.reachable:
        return "the platform is not reachable (check 1)"
    account = c.caller()
    if account is None:
        return "the profile has no account to call from"
    if account.register and not c.registered.get(account.name, False):
        return f"account {account.name}, which places the calls, did not register (check 3)"
    if account.name not in c.phones:
        setup = phone_setup(f"doctor-{account.name}", c.target, account, False, c.work / "phones")
        c.board.start([setup])
        c.phones[account.name] = setup.name
    return ""


def dial(c: Checkup, did: str) -> CallTimeline:
    account = c.caller()
    assert account is not None
    uri = request_uri(Destination("did", did), c.target, {}, {})
    return c.board.open_call(c.phones[account.name], c.handle(), uri, {})


def await_answer(c: Checkup, tl: CallTimeline, number: int, did: str) -> Finding | None:
    """None once the call to ``did`` is answered with active audio; else the finding that says why not."""
    check = "call" if number == 4 else "dtmf"
    what = f"did {did} ({c.target.dids[did]})"
    try:
        c.board.wait(lambda: tl.state if tl.state in ("CONFIRMED", "DISCONNECTED") else None,
                     ANSWER_TIMEOUT, lambda: f"the call to {what} to be answered", timeline=tl)
    except WaitTimeout as exc:
        if not _heard_back(c, tl):
            return fail(number, check, f"no SIP response at all to the INVITE to {what}",
                        "OPTIONS was answered but the INVITE was not: does the platform take calls "
                        f"from this address? is platform.domain ({c.target.domain}) right?")
        return fail(number, check, f"{what} was not answered: {exc}",
                    f"it rings but nobody answers: check that dids.{did} leads to an IVR or a "
                    f"queue that answers, in {c.target.path} and on the platform")
    if tl.state == "DISCONNECTED":
        code, reason = tl.final_status() or (0, "")
        return fail(number, check, f"{what} was refused: {code} {reason} ({tl.summary()})",
                    _refusal_hint(c, code))
    try:
        c.board.wait(lambda: tl.last("media", active=True), MEDIA_TIMEOUT,
                     lambda: "an active audio stream", timeline=tl)
    except WaitTimeout:
        return fail(number, check, f"{what} answered, but no audio stream was agreed ({tl.summary()})",
                    f"no common codec? the profile offers {', '.join(c.target.codecs)}: add one the "
                    f"platform accepts to codecs: in {c.target.path}")
    return None


def _heard_back(c: Checkup, tl: CallTimeline) -> bool:
    return any(e.data["dir"] == "RX" for e in c.board.sip_trace(tl))


def _refusal_hint(c: Checkup, code: int) -> str:
    profile = c.target.path
    if code in (404, 484, 604):
        return f"the platform does not route this number: check dids: in {profile}"
    if code in (401, 407, 403):
        name = getattr(c.caller(), "name", "")
        return (f"the platform wants the caller authenticated: give accounts.{name} a password "
                f"(${{ENV:NAME}}) and register: true in {profile}")
    if code in (480, 486, 503, 600, 603):
        return "the platform is busy or has no free line: try again, or look at its capacity"
    if code == 488:
        return f"the platform accepts none of the codecs offered: check codecs: in {profile}"
    return "see the platform's log for why it refused the call"


def hang_up(c: Checkup, tl: CallTimeline) -> None:
    """End the call if it is still up; a call that will not end is left to the phone's teardown."""
    if tl.state in ("DISCONNECTED", "NULL"):
        return
    try:
        c.board.command(tl.phone, "hangup", handle=tl.handle)
        c.board.wait(lambda: tl.state == "DISCONNECTED" or None, HANGUP_TIMEOUT,
                     lambda: "the call to end after our BYE", timeline=tl)
    except WaitTimeout:
        pass


def answer_stream(c: Checkup, tl: CallTimeline) -> AudioStream | None:
    """The audio stream of the platform's SDP answer (the 2xx to our INVITE), if it had one."""
    for event in c.board.sip_trace(tl):
        text = str(event.data["text"])
        if event.data["dir"] == "RX" and str(event.data["first_line"]).startswith("SIP/2.0 2") \
                and "m=audio" in text:
            return audio_stream(text)  # no SIP header line starts with "c=" or "m="
    return None


def _codec(c: Checkup, tl: CallTimeline, stream: AudioStream | None) -> Finding:
    offered = [x.upper() for x in c.target.codecs]
    codec = stream.codec if stream else None
    if codec is None:
        return warn(4, "codec", f"no SDP answer with audio in the call's SIP trace ({tl.summary()})",
                    "the call has audio, so this is only a gap in what can be shown")
    if codec.upper() not in offered:
        listed = ", ".join(c.target.codecs)
        return warn(4, "codec", f"{codec}, which the profile does not offer ({listed})",
                    f"add {codec} to codecs: in {c.target.path}, or check the platform's codec list")
    first = c.target.codecs[0]
    rank = "its first choice" if codec.upper() == offered[0] else f"not its first choice, {first}"
    return ok(4, "codec", f"{codec} (the profile offers {', '.join(c.target.codecs)}: {rank})")


def samples(tl: CallTimeline) -> np.ndarray:
    """The call's captured audio so far (the phone is still writing it)."""
    from harness.audio.wav import read_capture

    return read_capture(tl.capture_path)


def _audio(c: Checkup, tl: CallTimeline, stream: AudioStream | None) -> Finding:
    from harness.audio.speech import first_audio, level_dbfs

    last = [0.0]

    def sound() -> float | None:
        if time.monotonic() - last[0] < POLL:
            return None
        last[0] = time.monotonic()
        return first_audio(samples(tl), RATE, SOUND_DBFS)

    began = time.monotonic()
    try:
        at = c.board.wait(sound, AUDIO_WINDOW, lambda: "sound from the platform", timeline=tl)
    except WaitTimeout:
        heard = samples(tl)
        level = level_dbfs(heard) if len(heard) else float("-inf")
        return fail(4, "audio", f"no sound from the platform in {time.monotonic() - began:.1f}s "
                                f"after the answer: {len(heard) / RATE:.1f}s captured, level "
                                f"{level:.0f} dBFS (no RTP arrived, or only silence)",
                    _one_way_hint(c, stream))
    heard = samples(tl)[int(at * RATE):]
    return ok(4, "audio", f"sound received: it starts {at:.1f}s into the captured audio, at "
                          f"{level_dbfs(heard):.0f} dBFS")


def _one_way_hint(c: Checkup, stream: AudioStream | None) -> str:
    net = c.target.network
    if net.public_address or net.stun:
        ours = (f"network.public_address {net.public_address}" if net.public_address
                else f"the address STUN ({', '.join(net.stun)}) gave")
        return (f"one-way audio: our SDP asked the platform to send audio to {ours}, and none came "
                f"back to this machine: is that the public address of this host's NAT, with the RTP "
                f"ports forwarded to it? if the platform reaches this host directly, remove it from "
                f"network: in {c.target.path}")
    if stream is None:
        return "one-way audio: RTP from the platform does not reach us; check NAT and firewalls"
    origin = f"{stream.address}:{stream.port}"
    nat = ""
    if _private(stream.address) and not _private(c.address or ""):
        nat = (f" {stream.address} is a private address behind a public host: NAT, set the "
               "platform's external address;")
    return (f"one-way audio: the platform's SDP sends audio from {origin}.{nat} let UDP from there "
            "through this machine's firewall, and check the platform's RTP/NAT settings")


def _private(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.is_private and not ip.is_loopback
