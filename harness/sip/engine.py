"""The pjsua2 boundary of a phone process: with ``callbacks.py``, the only module that imports pjsua2.

Threading: the library runs with no worker threads (``threadCnt = 0``) and the
phone's main loop pumps ``libHandleEvents``; every SIP callback therefore runs
on the main thread.  Callbacks (``harness.sip.callbacks``) only append immutable
event records to ``Engine.outbox`` -- they never decide, sleep, do I/O or raise;
an exception inside one is kept and reported as a ``fatal`` event.

Lifetimes: pjsua2 asserts at exit if a Python wrapper is collected while the
library still uses it, so the engine holds every account, call, player and
recorder in ``self`` until ``shutdown()`` tears them down in a fixed order:
hang up, close media, remove the account (unregisters), destroy the library.
WAV players come from ``pjsua2fix.players`` (outside the harness: the reference
platform needs the same workaround), which clears their end-of-file callback so
destroying one can never race pjmedia's event thread (pjproject #4812).
"""

from __future__ import annotations

import os
import time
import wave
from typing import Any

import pjsua2 as pj

from harness.sip.callbacks import Account, Call, Endpoint, LogWriter, Record
from harness.sip.config import PhoneSetup
from harness.sip.tls import system_ca_bundle
from harness.sip.trace import message_headers, request_uri, x_headers
from pjsua2fix import players

_DTMF_METHODS = {"rfc4733": pj.PJSUA_DTMF_METHOD_RFC2833, "info": pj.PJSUA_DTMF_METHOD_SIP_INFO}
_TRANSPORTS = {"udp": pj.PJSIP_TRANSPORT_UDP, "tcp": pj.PJSIP_TRANSPORT_TCP, "tls": pj.PJSIP_TRANSPORT_TLS}
_SRTP_USE = {"off": pj.PJMEDIA_SRTP_DISABLED, "optional": pj.PJMEDIA_SRTP_OPTIONAL,
             "mandatory": pj.PJMEDIA_SRTP_MANDATORY}
_SRTP_SIGNALLING = {"any": 0, "tls": 1}  # pjsua: 0 any transport, 1 TLS, 2 end-to-end sips


class Engine:
    """One pjsua2 endpoint with one account, its calls and their media."""

    def __init__(self, setup: PhoneSetup) -> None:
        self.setup = setup
        self.secrets = setup.secrets()
        self.outbox: list[Record] = []
        self.incoming: list[str] = []
        self.calls: dict[str, Call] = {}
        self._streams: dict[str, tuple[int, int, int]] = {}  # handle: index, frame ms, port ms
        self.recorders: dict[str, pj.AudioMediaRecorder] = {}
        self.players: list[tuple[str, pj.AudioMediaPlayer]] = []
        self.account: Account | None = None
        self._in_seq = 0
        self.address = ""  # host:port of the SIP listener, once started
        self.ep = Endpoint(self)
        self._writer = LogWriter(self)

    # -- records --------------------------------------------------------------
    def emit(self, kind: str, **data: Any) -> None:
        self.outbox.append({"kind": kind, "t": time.monotonic(), "wall": time.time(), **data})

    # -- life cycle -------------------------------------------------------------
    def start(self) -> str:
        """Create the endpoint, transport and account; return the bound ``host:port``."""
        s = self.setup
        self.ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.mainThreadOnly = True
        cfg.uaConfig.maxCalls = 4
        cfg.uaConfig.userAgent = s.user_agent
        cfg.logConfig.writer = self._writer
        cfg.logConfig.level = max(s.log_level, 5)  # message logs are level 4/5
        cfg.logConfig.consoleLevel = cfg.logConfig.level  # the writer *is* the console: 0 silences it
        cfg.logConfig.msgLogging = True
        cfg.logConfig.decor = 0
        cfg.medConfig.clockRate = 8000
        cfg.medConfig.sndClockRate = 8000
        cfg.medConfig.channelCount = 1
        cfg.medConfig.noVad = True
        cfg.medConfig.ecTailLen = 0
        for server in s.stun:
            cfg.uaConfig.stunServer.append(server)
        self.ep.libInit(cfg)
        self.ep.audDevManager().setNullDev()
        self._set_codecs()
        tid = self.ep.transportCreate(_TRANSPORTS[s.transport], self._transport_config())
        self.ep.libStart()
        self.address = str(self.ep.transportGetInfo(tid).localName)
        if s.account is not None:
            self._create_account(tid)
        return self.address

    def _transport_config(self) -> Any:
        s = self.setup
        tc = pj.TransportConfig()
        tc.port = s.sip_port
        tc.boundAddress = s.sip_host
        if s.public_address:
            tc.publicAddress = s.public_address
        if s.transport == "tls":
            tls = tc.tlsConfig
            verifying = s.tls.verify or s.tls.verify_client
            tls.CaListFile = s.tls.ca_file or (system_ca_bundle() if verifying else None) or ""
            tls.certFile = s.tls.cert_file or ""
            tls.privKeyFile = s.tls.key_file or ""
            tls.verifyServer = s.tls.verify
            tls.verifyClient = s.tls.verify_client
            tls.requireClientCert = s.tls.verify_client
            # The wheel's OpenSSL is 1.0.2: TLS 1.2 is the newest it speaks, and 1.0/1.1 are
            # deprecated (RFC 8996); without proto PJSIP would also offer them.
            tls.method = pj.PJSIP_TLSV1_2_METHOD
            tls.proto = pj.PJ_SSL_SOCK_PROTO_TLS1_2
        return tc

    def _set_codecs(self) -> None:
        wanted = [c.upper() for c in self.setup.codecs]
        for codec in self.ep.codecEnum2():
            cid = str(codec.codecId)
            name = cid.rsplit("/", 1)[0].upper() if cid.count("/") > 1 else cid.upper()
            prio = 255 - wanted.index(name) if name in wanted else 0
            self.ep.codecSetPriority(cid, prio)
            if prio:
                self._no_concealment(cid)

    def _no_concealment(self, cid: str) -> None:
        """Turn the codec's packet-loss concealment off: a packet lost, or late for the jitter
        buffer, is heard as the silence it is. Concealed (WSOLA), it blends into the audio
        around it, which then matches what was sent only roughly for seconds; silent, the
        capture is what the wire carried, moved by whole frames where the buffer slipped, and
        :mod:`harness.audio.unslip` can take the slips out exactly."""
        try:
            param = self.ep.codecGetParam(cid)
            param.setting.plc = False
            self.ep.codecSetParam(cid, param)
        except pj.Error:
            pass  # a codec without settings (none of G.711's kind): left as it is

    def _create_account(self, tid: int) -> None:
        a = self.setup.account
        assert a is not None
        acfg = pj.AccountConfig()
        acfg.idUri = a.id_uri
        acfg.sipConfig.transportId = tid
        if a.registrar:
            acfg.regConfig.registrarUri = a.registrar
            acfg.regConfig.timeoutSec = 300
            acfg.regConfig.retryIntervalSec = 0  # a failed registration is a verdict, not retried
        for proxy in a.proxies:
            acfg.sipConfig.proxies.append(proxy)
        if a.password is not None:
            user = a.auth_user or a.id_uri.split(":", 1)[1].split("@", 1)[0]
            acfg.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", user, 0, a.password))
        acfg.mediaConfig.transportConfig.port = self.setup.rtp_port
        acfg.mediaConfig.transportConfig.portRange = self.setup.rtp_range
        acfg.mediaConfig.transportConfig.boundAddress = self.setup.sip_host
        if self.setup.public_address:
            acfg.mediaConfig.transportConfig.publicAddress = self.setup.public_address
        if not self.setup.stun:  # with no server configured there is nothing to ask
            acfg.natConfig.sipStunUse = pj.PJSUA_STUN_USE_DISABLED
            acfg.natConfig.mediaStunUse = pj.PJSUA_STUN_USE_DISABLED
        acfg.mediaConfig.srtpUse = _SRTP_USE[self.setup.srtp]
        acfg.mediaConfig.srtpSecureSignaling = _SRTP_SIGNALLING[self.setup.srtp_signaling]
        self.account = Account(self)
        self.account.create(acfg, True)

    # -- commands --------------------------------------------------------------
    def make_call(self, handle: str, uri: str, headers: dict[str, str]) -> None:
        if self.account is None:
            raise RuntimeError("this phone has no account to call from")
        call = Call(self, handle, self.account)
        self.calls[handle] = call
        prm = pj.CallOpParam(True)
        for name, value in headers.items():
            hdr = pj.SipHeader()
            hdr.hName, hdr.hValue = name, value
            prm.txOption.headers.append(hdr)
        try:
            call.makeCall(uri, prm)
        except pj.Error:
            call.ended = True  # never started (e.g. SRTP refused on insecure signalling): nothing to wait for
            raise

    def wrap_incoming(self, acc: Account, pj_id: int, invite: str) -> None:
        self._in_seq += 1
        handle = f"in{self._in_seq}"
        call = Call(self, handle, acc, pj_id)
        self.calls[handle] = call
        ci = call.getInfo()
        self.emit(
            "incoming", call=handle, remote=ci.remoteUri, local=ci.localUri,
            sip_call_id=ci.callIdString, headers=x_headers(invite, self.secrets),
            offer=message_headers(invite, self.secrets), request_uri=request_uri(invite),
        )
        self.incoming.append(handle)

    def accept_incoming(self) -> list[str]:
        """The handles of calls offered since the last pump."""
        handles, self.incoming = self.incoming, []
        return handles

    def answer(self, handle: str, code: int) -> None:
        prm = pj.CallOpParam()
        prm.statusCode = code
        self.calls[handle].answer(prm)

    def hangup(self, handle: str, code: int = 0) -> None:
        call = self.calls[handle]
        if call.ended:
            return
        prm = pj.CallOpParam()
        prm.statusCode = code
        call.hangup(prm)

    def send_dtmf(self, handle: str, digits: str, method: str) -> None:
        prm = pj.CallSendDtmfParam()
        prm.digits = digits
        prm.method = _DTMF_METHODS[method]
        prm.duration = 160
        self.calls[handle].sendDtmf(prm)

    def stream_stats(self, handle: str) -> dict[str, Any]:
        """The call's audio stream as RTP and RTCP count it: what arrived, was lost or thrown away,
        the receive jitter and the round-trip time (RTCP's; None before the first report)."""
        call = self.calls[handle]
        info = call.getInfo()  # held: its media vector lives only as long as it does
        for media in info.media:
            if media.type != pj.PJMEDIA_TYPE_AUDIO:
                continue
            rtcp = call.getStreamStat(media.index).rtcp
            rx, jitter, rtt = rtcp.rxStat, rtcp.rxStat.jitterUsec, rtcp.rttUsec
            return {"rx_packets": rx.pkt, "rx_lost": rx.loss, "rx_discarded": rx.discard,
                    "rx_jitter_ms": round(jitter.mean / 1000, 2) if jitter.n else None,
                    "rx_jitter_max_ms": round(jitter.max / 1000, 2) if jitter.n else None,
                    "rtt_ms": round(rtt.mean / 1000, 2) if rtt.n else None,
                    "tx_packets": rtcp.txStat.pkt}
        raise RuntimeError(f"call {handle} has no audio stream")

    def jitter_ms(self, handle: str) -> tuple[int, int] | None:
        """The call's jitter buffer so far, in ms of audio: thrown away or lost (too full: its
        phone fell behind; or never came) and made up (empty: the audio came late); None while
        the call has no audio stream."""
        stream = self._streams.get(handle)
        if stream is None:
            stream = self._stream_figures(handle)
            if stream is None:
                return None
            self._streams[handle] = stream
        index, frame_ms, port_ms = stream
        jb = self.calls[handle].getStreamStat(index).jbuf
        # 'lost' counts the frames its progressive discard removes as well as the missing ones:
        # measured, a phone stopped 0.8 s heard 0.45 s less of a tone; 'discard' alone said
        # 0.28 s, both 0.56 s. The larger figure is the honest bound.  'empty' counts gets, and
        # pjmedia's stream fills the rest of its whole port frame (frm_per_pkt codec frames,
        # stream.c get_frame) on each: a sender stopped 0.3 s made up 0.3 s, not 0.15 s.
        return (int(jb.discard) + int(jb.lost)) * frame_ms, int(jb.empty) * port_ms

    def forget_stream(self, handle: str) -> None:
        self._streams.pop(handle, None)

    def _stream_figures(self, handle: str) -> tuple[int, int, int] | None:
        """The active audio stream's index, codec frame and port frame (ms); read once a stream."""
        info = self.calls[handle].getInfo()  # held: its media vector lives only as long as it does
        for media in info.media:
            if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                codec = self.calls[handle].getStreamInfo(media.index).audCodecParam
                frame_ms = int(codec.info.frameLen)
                return int(media.index), frame_ms, frame_ms * max(1, int(codec.setting.frmPerPkt))
        return None

    def _audio(self, handle: str) -> Any:
        call = self.calls[handle]
        if not call.media_ready:
            raise RuntimeError(f"call {handle} has no active audio yet")
        return call.getAudioMedia(-1)

    def start_capture(self, handle: str) -> str:
        path = os.path.join(self.setup.capture_dir, f"{self.setup.name}-{handle}.wav")
        rec = pj.AudioMediaRecorder()
        rec.createRecorder(path)
        # held before it is connected: if the call has no audio (yet), the recorder must still be
        # destroyed in the fixed teardown order, not by the garbage collector after libDestroy
        self.recorders[handle] = rec
        self._audio(handle).startTransmit(rec)
        self.emit("capture", call=handle, path=path)
        return path

    def play(self, handle: str, path: str, loop: bool) -> float:
        """Start playing a WAV into the call; return its duration in seconds."""
        player = players.open_player(path, loop)  # held there until closed, like recorders (start_capture)
        self.players.append((handle, player))
        player.startTransmit(self._audio(handle))
        with wave.open(path, "rb") as w:
            return w.getnframes() / float(w.getframerate())

    def stop_playing(self, handle: str) -> None:
        """Stop and destroy the call's players (so a long call does not use up pjsua's 32)."""
        for owner, player in [p for p in self.players if p[0] == handle]:
            try:
                player.stopTransmit(self._audio(handle))
            except pj.Error:
                pass  # the call's media is already gone
            self.players.remove((owner, player))
            players.close_player(player)

    def close_media(self, handle: str) -> None:
        """Finish a call's capture file (PJSIP writes the WAV header on destroy)."""
        rec = self.recorders.pop(handle, None)
        if rec is not None:
            del rec
            self.emit("capture_closed", call=handle)

    def set_registration(self, on: bool) -> None:
        if self.account is None:
            raise RuntimeError("this phone has no account")
        self.account.setRegistration(on)

    def _unregister(self, end: float) -> None:
        try:
            if not self.account or not self.account.getInfo().regIsActive:
                return
            self.account.setRegistration(False)
        except pj.Error:
            return
        while time.monotonic() < end and self.account.getInfo().regIsActive:
            self.pump(20)

    # -- teardown ---------------------------------------------------------------
    def pump(self, timeout_ms: int) -> None:
        self.ep.libHandleEvents(timeout_ms)

    def shutdown(self, deadline: float = 3.0) -> None:
        """Hang up, close media, unregister, destroy -- in that order, within ``deadline``."""
        end = time.monotonic() + deadline
        for handle, call in self.calls.items():
            if not call.ended:
                try:
                    self.hangup(handle)
                except pj.Error:
                    pass
        while time.monotonic() < end and not all(c.ended for c in self.calls.values()):
            self.pump(20)
        players.close_all()
        self.players.clear()
        for handle in list(self.recorders):
            self.close_media(handle)
        if self.account is not None and self.setup.account and self.setup.account.registrar:
            self._unregister(end)
        # Something in the SWIG director layer keeps one reference to each Call, so
        # its C++ destructor would otherwise run after libDestroy and assert there.
        for call in self.calls.values():
            if call.thisown:
                pj.Call.__swig_destroy__(call)
        self.calls.clear()
        self.account = None  # deleting the last reference removes the account
        self.ep.libDestroy()
