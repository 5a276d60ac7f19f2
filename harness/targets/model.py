"""The typed model of a target profile: where the platform is and who calls it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.spec.hours import CallingRules

Transport = Literal["udp", "tcp", "tls"]
Managed = Literal["none", "peer", "reference"]
Srtp = Literal["off", "optional", "mandatory"]


@dataclass(frozen=True)
class Secret:
    """A secret named by reference (``${ENV:NAME}``); its value is read only when used.

    ``repr`` and ``str`` never show the value, so a secret that slips into a
    log or a report shows up as its reference.
    """

    env: str

    def reveal(self) -> str:
        value = os.environ.get(self.env)
        if value is None:
            from harness.errors import TargetError

            raise TargetError(f"environment variable {self.env} is not set (profile asks for ${{ENV:{self.env}}})")
        return value

    def __repr__(self) -> str:
        return f"${{ENV:{self.env}}}"

    __str__ = __repr__


@dataclass(frozen=True)
class Account:
    """A SIP identity the harness uses: the caller, or one agent's softphone."""

    name: str
    username: str
    domain: str | None = None  # defaults to the platform's domain
    auth_user: str | None = None  # defaults to ``username``
    password: Secret | None = None  # None: no digest credentials
    register: bool = True  # False: a static account that only listens and dials


@dataclass(frozen=True)
class AccountTemplate:
    """Accounts made from a seat number ``n``: ``username`` and the password's environment
    variable are Python format strings of ``n`` (``"20{n:02d}"`` is ``"2005"`` for seat 5)."""

    username: str
    password_env: str | None = None  # e.g. "CC_REF_PW_20{n:02d}"
    register: bool = True

    def account(self, name: str, n: int) -> Account:
        env = self.password_env.format(n=n) if self.password_env else None
        return Account(name=name, username=self.username.format(n=n),
                       password=Secret(env) if env else None, register=self.register)


@dataclass(frozen=True)
class SeatPool:
    """The accounts for seats 1, 2, ...: ``accounts`` (names under ``accounts:``) first, then
    ``more`` for every seat beyond them (None: no more seats than accounts listed)."""

    accounts: tuple[str, ...] = ()
    more: AccountTemplate | None = None


@dataclass(frozen=True)
class SeatAccounts:
    """``seat_accounts:``: who takes the seats when a scenario proves the declared seat count."""

    agents: SeatPool = field(default_factory=SeatPool)
    callers: SeatPool = field(default_factory=SeatPool)


@dataclass(frozen=True)
class Tls:
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    verify: bool = True


@dataclass(frozen=True)
class Peer:
    """The loopback peer the harness starts for ``managed: peer``: a phone that answers."""

    answer_after: float = 0.0
    prompt: str | None = None  # prompt id played on answer
    on_dtmf: Mapping[str, str] = field(default_factory=dict)  # digit -> prompt id
    cert_file: Path | None = None  # the certificate it presents with transport tls, resolved
    key_file: Path | None = None


@dataclass(frozen=True)
class DtmfProbe:
    """``doctor.dtmf_probe``: call ``did``, send ``digits``, and ``expect_prompt`` must follow."""

    did: str  # a name under the profile's dids
    digits: str
    expect_prompt: str  # prompt id the digits lead to
    within: float = 10.0  # seconds after the digits by which the prompt must start
    after_prompt: str | None = None  # heard out before the digits go (an IVR deaf to keys meanwhile)


@dataclass(frozen=True)
class RecordedCall:
    """``doctor.recorded_call``: call ``did``, answered by ``agent`` if named, held ``hold`` s."""

    did: str | None = None  # a name under the profile's dids (None: the doctor's DID)
    agent: str | None = None  # an account name: the doctor answers as this agent
    hold: float = 3.0


@dataclass(frozen=True)
class Doctor:
    """What ``ccharness doctor`` does beyond its standard checks (the profile's ``doctor:``)."""

    dtmf_probe: DtmfProbe | None = None
    recorded_call: RecordedCall = RecordedCall()


@dataclass(frozen=True)
class Network:
    """Where the harness's phones are on the network (the profile's ``network:``).

    ``local_address`` is the address phones bind SIP and RTP to: ``auto`` takes
    the interface the host routes the platform's address through.  Behind NAT,
    ``public_address`` is what phones write in Via, Contact and SDP, or ``stun``
    servers find it out."""

    local_address: str = "auto"
    public_address: str | None = None
    stun: tuple[str, ...] = ()


@dataclass(frozen=True)
class Licence:
    """What the run is evidence for: the licence kind and who applies (for the report's cover)."""

    kind: Literal["nationwide", "provincial"] = "nationwide"
    applicant: str = ""
    platform: str = ""
    seats: int | None = None


@dataclass(frozen=True)
class Trunk:
    """Where the platform's outbound trunk sends its calls: the harness's carrier listens there.

    ``auth``: for a platform that wants its trunk peer to register (a gateway registering to
    the PBX), the account the carrier registers with; None: the trunk is by address alone."""

    host: str
    port: int
    transport: Transport = "udp"
    auth: Account | None = None


@dataclass(frozen=True)
class Outbound:
    """``outbound:``: how the platform calls out (issue 16) -- its trunk to the carrier, the number
    it must present (the company's registered number), and the prefix its agents dial out with."""

    trunk: Trunk
    caller_id: str | None = None  # the registered number every outbound call must present
    dial_prefix: str = ""  # what an agent dials before the customer's number, e.g. "9"
    forbidden_hours: CallingRules | None = None  # the undertaking's forbidden calling hours
    move_clock: bool = True  # False: never move the platform's rule clock (a shared staging platform)
    do_not_call: DoNotCall | None = None  # the platform's do-not-call list and how customers refuse


@dataclass(frozen=True)
class DoNotCall:
    """``outbound.do_not_call``: numbers on the platform's list, and how a customer refuses further
    calls (the key they press, or hanging up within ``hangup_within`` s of answering) and for how long."""

    numbers: tuple[str, ...] = ()
    refusal_dtmf: str = "9"
    hangup_within: float = 5.0
    period_days: float = 180.0
    clause: str = ""


@dataclass(frozen=True)
class Target:
    name: str
    path: Path
    host: str
    port: int
    transport: Transport
    domain: str
    outbound_proxy: str | None
    managed: Managed
    dids: Mapping[str, str]
    accounts: Mapping[str, Account]
    prompts: Path | None  # prompt library file (prompts.yaml), resolved
    adapter: Mapping[str, Any] = field(default_factory=dict)  # for the platform adapters
    tls: Tls = field(default_factory=Tls)
    peer: Peer | None = None
    dtmf_method: Literal["rfc4733", "info", "inband"] = "rfc4733"
    codecs: tuple[str, ...] = ("PCMU/8000", "PCMA/8000")
    srtp: Srtp = "off"  # encrypted audio (SDES-SRTP): off, optional (best effort) or mandatory
    srtp_signaling: Literal["tls", "any"] = "tls"  # tls: offer SRTP keys only over TLS signalling
    licence: Licence = field(default_factory=Licence)
    doctor: Doctor = field(default_factory=Doctor)
    network: Network = field(default_factory=Network)
    seat_accounts: SeatAccounts = field(default_factory=SeatAccounts)
    outbound: Outbound | None = None  # None: the profile says nothing of outbound calls


@dataclass(frozen=True)
class PromptRef:
    """One reference prompt in a prompt library."""

    id: str
    file: Path
    text: str = ""
    lang: str = ""


@dataclass(frozen=True)
class PromptLibrary:
    path: Path
    prompts: Mapping[str, PromptRef]
