"""What a phone process is told at start-up (plain data, sent over the control channel).

The password travels in this message, never on the command line, so it does
not show in ``ps`` output.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class AccountSetup:
    id_uri: str  # e.g. sip:1001@127.0.0.1
    registrar: str | None = None  # e.g. sip:127.0.0.1:5060;transport=udp; None: static account
    auth_user: str | None = None
    password: str | None = None
    proxies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Behaviour:
    """How the phone treats an incoming call."""

    mode: Literal["answer", "reject", "ring", "ignore"] = "answer"
    answer_after: float = 0.0
    code: int = 486  # with reject
    play: str | None = None  # WAV played once answered
    on_dtmf: dict[str, str] = field(default_factory=dict)  # digit -> WAV played on receipt


@dataclass(frozen=True)
class TlsSetup:
    ca_file: str | None = None  # None with verify: the system's CA bundle
    cert_file: str | None = None  # ours: the client certificate, and the server one when called
    key_file: str | None = None
    verify: bool = True  # verify the certificate of whoever we connect to
    verify_client: bool = False  # demand and verify a certificate from whoever connects to us


@dataclass(frozen=True)
class PhoneSetup:
    name: str
    capture_dir: str
    sip_host: str = "127.0.0.1"
    sip_port: int = 0  # 0: any free port
    transport: Literal["udp", "tcp", "tls"] = "udp"
    rtp_port: int = 20000
    rtp_range: int = 40
    account: AccountSetup | None = None
    behaviour: Behaviour = field(default_factory=Behaviour)
    tls: TlsSetup = field(default_factory=TlsSetup)
    srtp: Literal["off", "optional", "mandatory"] = "off"
    srtp_signaling: Literal["tls", "any"] = "tls"  # tls: SDES keys only over TLS signalling
    codecs: tuple[str, ...] = ("PCMU/8000", "PCMA/8000")
    user_agent: str = "ccharness"
    log_level: int = 3
    public_address: str | None = None  # written in Via, Contact and SDP instead of sip_host (NAT)
    stun: tuple[str, ...] = ()  # STUN servers to learn the public address from

    def to_wire(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_wire(cls, raw: dict[str, Any]) -> PhoneSetup:
        raw = dict(raw)
        acc = raw.pop("account")
        raw["account"] = AccountSetup(**{**acc, "proxies": tuple(acc["proxies"])}) if acc else None
        raw["behaviour"] = Behaviour(**raw.pop("behaviour"))
        raw["tls"] = TlsSetup(**raw.pop("tls"))
        raw["codecs"] = tuple(raw["codecs"])
        raw["stun"] = tuple(raw.get("stun", ()))
        return cls(**raw)

    def secrets(self) -> tuple[str, ...]:
        pw = self.account.password if self.account else None
        return (pw,) if pw else ()
