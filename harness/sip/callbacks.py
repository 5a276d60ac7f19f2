"""The classes pjsua2 calls back into, for ``harness.sip.engine``: they only record events.

Every callback runs on the phone's main thread (the library has no worker threads) and
only appends an immutable record through ``Engine.emit``: it never decides, sleeps, does
I/O or raises -- an exception inside one is kept and reported as a ``fatal`` event
(``_guarded``).  With ``engine.py``, the only module that imports pjsua2.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pjsua2 as pj

from harness.sip import srtp
from harness.sip.trace import parse_log_entry

if TYPE_CHECKING:
    from harness.sip.engine import Engine

Record = dict[str, Any]
_STATES = {
    pj.PJSIP_INV_STATE_NULL: "NULL",
    pj.PJSIP_INV_STATE_CALLING: "CALLING",
    pj.PJSIP_INV_STATE_INCOMING: "INCOMING",
    pj.PJSIP_INV_STATE_EARLY: "EARLY",
    pj.PJSIP_INV_STATE_CONNECTING: "CONNECTING",
    pj.PJSIP_INV_STATE_CONFIRMED: "CONFIRMED",
    pj.PJSIP_INV_STATE_DISCONNECTED: "DISCONNECTED",
}
_TP_STATES = {pj.PJSIP_TP_STATE_CONNECTED: "CONNECTED", pj.PJSIP_TP_STATE_DISCONNECTED: "DISCONNECTED",
              pj.PJSIP_TP_STATE_SHUTDOWN: "SHUTDOWN", pj.PJSIP_TP_STATE_DESTROY: "DESTROY"}
_PROFILES = {pj.PJMEDIA_TP_PROTO_RTP_AVP: "RTP/AVP", pj.PJMEDIA_TP_PROTO_RTP_SAVP: "RTP/SAVP",
             pj.PJMEDIA_TP_PROTO_RTP_AVPF: "RTP/AVPF", pj.PJMEDIA_TP_PROTO_RTP_SAVPF: "RTP/SAVPF"}
_NAME_TYPES = {pj.PJ_SSL_CERT_NAME_DNS: "DNS", pj.PJ_SSL_CERT_NAME_IP: "IP",
               pj.PJ_SSL_CERT_NAME_URI: "URI", pj.PJ_SSL_CERT_NAME_RFC822: "email"}



def guarded(method: Callable[..., None]) -> Callable[..., None]:
    """Keep an exception raised inside a pjsua2 callback instead of letting it unwind into C."""

    def wrapper(self: Any, *args: Any) -> None:
        try:
            method(self, *args)
        except Exception:  # noqa: BLE001 -- reported, never swallowed
            self.engine.emit("fatal", error=f"in {method.__name__}: {traceback.format_exc()}")

    return wrapper


class LogWriter(pj.LogWriter):  # type: ignore[misc]
    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine

    @guarded
    def write(self, entry: Any) -> None:
        msg = parse_log_entry(entry.msg, self.engine.secrets)
        if msg is not None:
            self.engine.emit(
                "sip", dir=msg.direction, peer=msg.peer, first_line=msg.first_line,
                sip_call_id=msg.call_id, text=msg.text,
            )
        elif entry.level <= 2:
            self.engine.emit("log", level=entry.level, text=entry.msg.strip()[:500])


class Endpoint(pj.Endpoint):  # type: ignore[misc]
    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine

    @guarded
    def onTransportState(self, prm: Any) -> None:
        # Every TLS connection, made or accepted, with its handshake and certificate check.
        info = prm.tlsInfo
        if str(prm.type).upper() != "TLS" or info.isEmpty():
            return
        dialled = str(info.localAddr) != self.engine.address  # accepted ones share the listener's
        tls = self.engine.setup.tls
        self.engine.emit(
            "tls", state=_TP_STATES.get(prm.state, str(prm.state)), server_side=not dialled,
            error=self.utilStrError(prm.lastError) if prm.lastError else "",
            **_tls_record(info, tls.verify if dialled else tls.verify_client),
        )


def _tls_record(info: Any, verifying: bool) -> Record:
    cert = info.remoteCertInfo
    failed = info.verifyStatus != 0
    record: Record = {
        "remote": str(info.remoteAddr), "established": bool(info.established),
        "protocols": _tls_protocols(info.protocol), "cipher": str(info.cipherName),
        "verified": not failed and not cert.isEmpty(), "verify_failed": failed and verifying,
        "verify_msgs": [str(m) for m in info.verifyMsgs], "verify_status": int(info.verifyStatus),
        "peer_subject": "", "peer_issuer": "", "peer_names": [],
    }
    if not cert.isEmpty():
        record["peer_subject"] = str(cert.subjectInfo)
        record["peer_issuer"] = str(cert.issuerInfo)
        record["peer_names"] = [f"{_NAME_TYPES.get(n.type, n.type)}:{n.name}" for n in cert.subjectAltName]
    return record


def _tls_protocols(mask: int) -> list[str]:
    """The protocol versions the connection allowed (PJSIP reports the mask, not the one chosen)."""
    names = {pj.PJ_SSL_SOCK_PROTO_TLS1: "TLSv1", pj.PJ_SSL_SOCK_PROTO_TLS1_1: "TLSv1.1",
             pj.PJ_SSL_SOCK_PROTO_TLS1_2: "TLSv1.2", pj.PJ_SSL_SOCK_PROTO_TLS1_3: "TLSv1.3"}
    return [name for bit, name in names.items() if mask & bit]


class Account(pj.Account):  # type: ignore[misc]
    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine

    @guarded
    def onRegState(self, prm: Any) -> None:
        info = self.getInfo()
        self.engine.emit(
            "reg", code=int(prm.code), reason=str(prm.reason), expires=int(prm.expiration),
            active=bool(info.regIsActive),
        )

    @guarded
    def onIncomingCall(self, prm: Any) -> None:
        # pjsua2 hangs up an incoming call that has no Call object once this returns,
        # so the wrapper is made here; what to do with the call is decided later.
        self.engine.wrap_incoming(self, prm.callId, str(prm.rdata.wholeMsg))


class Call(pj.Call):  # type: ignore[misc]
    def __init__(self, engine: Engine, handle: str, acc: Account, call_id: int = -1) -> None:
        if call_id < 0:
            super().__init__(acc)
        else:
            super().__init__(acc, call_id)
        self.engine = engine
        self.handle = handle
        self.media_ready = False
        self.ended = False

    @guarded
    def onCallState(self, prm: Any) -> None:
        ci = self.getInfo()
        state = _STATES.get(ci.state, str(ci.state))
        self.engine.emit(
            "call", call=self.handle, state=state, code=int(ci.lastStatusCode),
            reason=str(ci.lastReason), sip_call_id=ci.callIdString, remote=ci.remoteUri,
        )
        if state == "DISCONNECTED":
            self.ended = True
            self.media_ready = False  # its conference port is gone: nothing may connect to it now

    @guarded
    def onCallMediaState(self, prm: Any) -> None:
        ci = self.getInfo()
        active = any(
            m.type == pj.PJMEDIA_TYPE_AUDIO and m.status == pj.PJSUA_CALL_MEDIA_ACTIVE
            for m in ci.media
        )
        self.engine.emit("media", call=self.handle, active=active, srtp=self._srtp(ci) if active else None)
        self.media_ready = active and not self.ended
        self.engine.forget_stream(self.handle)  # a re-INVITE may bring a new stream: read it again

    def _srtp(self, ci: Any) -> Record:
        """What the audio's media transport negotiated: SRTP on or off, suite, m-line profile."""
        state = srtp.from_dump(self.dump(True, ""))
        idx = next(m.index for m in ci.media if m.type == pj.PJMEDIA_TYPE_AUDIO)
        proto = self.getStreamInfo(idx).proto
        return {**state, "profile": _PROFILES.get(proto, str(proto))}

    @guarded
    def onDtmfDigit(self, prm: Any) -> None:
        method = "info" if prm.method == pj.PJSUA_DTMF_METHOD_SIP_INFO else "rfc4733"
        self.engine.emit("dtmf", call=self.handle, digit=str(prm.digit), method=method)
