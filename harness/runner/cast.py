"""The cast of a scenario: which phones to start for its callers and agents, and how to dial.

Turns the scenario's parties and the target profile's accounts into
``PhoneSetup``s, and a scenario ``Destination`` into a request URI.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from harness.errors import TargetError
from harness.scenario.model import AgentSpec, Scenario
from harness.sip.config import AccountSetup, Behaviour, PhoneSetup, TlsSetup
from harness.spec.values import Destination
from harness.targets.model import Account, Target


@dataclass(frozen=True)
class Cast:
    callers: dict[str, PhoneSetup]  # caller name -> its phone
    agents: dict[str, PhoneSetup]  # agent name -> its phone

    def all(self) -> list[PhoneSetup]:
        return list(self.callers.values()) + list(self.agents.values())


def _proxy(target: Target) -> str:
    return f"sip:{target.host}:{target.port};lr;transport={target.transport}"


def _direct(target: Target) -> bool:
    """True when requests can name the platform's address in the URI itself."""
    return target.domain == target.host and target.outbound_proxy is None


def account_setup(target: Target, account: Account, register: bool) -> AccountSetup:
    domain = account.domain or target.domain
    proxies: tuple[str, ...] = ()
    if target.outbound_proxy:
        proxies = (target.outbound_proxy,)
    elif not _direct(target):
        proxies = (_proxy(target),)
    registrar = None
    if register and account.register:
        registrar = f"sip:{domain}" if proxies else f"sip:{target.host}:{target.port};transport={target.transport}"
    return AccountSetup(
        id_uri=f"sip:{account.username}@{domain}",
        registrar=registrar,
        auth_user=account.auth_user or account.username,
        password=account.password.reveal() if account.password else None,
        proxies=proxies,
    )


RESOLVE_TIMEOUT = 5.0  # seconds for the platform's name to resolve


def _next_hop(target: Target) -> tuple[str, int]:
    """The host and port the phones send to first: the outbound proxy if any, else the platform."""
    proxy = target.outbound_proxy
    if proxy:
        hostport = proxy.split(":", 1)[1].split(";", 1)[0].split("@")[-1]
        host, _, port = hostport.rpartition(":") if hostport.count(":") == 1 else (hostport, "", "")
        return host.strip("[]"), int(port) if port.isdigit() else target.port
    return target.host, target.port


def local_address(target: Target) -> str:
    """The address the phones bind to: ``network.local_address``, or the one the route to the platform takes.

    No packet is sent: a UDP socket *connected* to the platform only asks the
    kernel's routing table which local address it would use."""
    chosen = target.network.local_address
    if chosen != "auto":
        return chosen
    host, port = _next_hop(target)
    return _route_source(_resolve(host, target), port)


def _bind_address(target: Target) -> str:
    """What the phones bind to; "" (every interface) under STUN, which PJSIP only asks for
    sockets not bound to one address -- the mapped address then goes in Via, Contact and SDP."""
    net = target.network
    if net.stun and net.local_address == "auto" and not net.public_address:
        return ""
    return local_address(target)


@cache
def _route_source(address: str, port: int) -> str:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((address, port))
        except OSError as exc:
            raise TargetError(f"no route from this host to {address}:{port} ({exc.strerror}); set "
                              f"network.local_address to the address the phones should use") from None
        return str(probe.getsockname()[0])


def _resolve(host: str, target: Target) -> str:
    """``host``'s first address, within RESOLVE_TIMEOUT (getaddrinfo itself has no deadline)."""
    found: list[str] = []
    failed: list[str] = []

    def look() -> None:
        try:
            found.append(str(socket.getaddrinfo(host, None, type=socket.SOCK_DGRAM)[0][4][0]))
        except OSError as exc:
            failed.append(str(exc.strerror or exc))

    worker = threading.Thread(target=look, name=f"resolve-{host}", daemon=True)
    worker.start()
    worker.join(RESOLVE_TIMEOUT)
    if found:
        return found[0]
    why = failed[0] if failed else f"no answer within {RESOLVE_TIMEOUT:g}s"
    raise TargetError(f"target profile {target.path}: platform.host {host!r} does not resolve ({why}); "
                      f"check the name, or give the IP address")


def agent_behaviour(agent: AgentSpec, audio_path: str | None) -> Behaviour:
    if agent.behaviour == "reject":
        return Behaviour(mode="reject", code=agent.reject_code)
    if agent.behaviour == "ring":
        return Behaviour(mode="ring")
    return Behaviour(mode="answer", answer_after=agent.answer_after, play=audio_path)


def phone_setup(name: str, target: Target, account: Account, register: bool, work: Path,
                behaviour: Behaviour | None = None) -> PhoneSetup:
    """The phone ``name`` for ``account``: registering when ``register`` and the account does."""
    t = target.tls
    return PhoneSetup(
        name=name,
        capture_dir=str(work),
        sip_host=_bind_address(target),
        transport=target.transport,
        account=account_setup(target, account, register),
        behaviour=behaviour or Behaviour(mode="reject", code=486),
        tls=TlsSetup(
            ca_file=str(t.ca_file) if t.ca_file else None,
            cert_file=str(t.cert_file) if t.cert_file else None,
            key_file=str(t.key_file) if t.key_file else None,
            verify=t.verify,
        ),
        srtp=target.srtp,
        srtp_signaling=target.srtp_signaling,
        codecs=target.codecs,
        public_address=target.network.public_address,
        stun=target.network.stun,
    )


def _account(target: Target, name: str, party: str) -> Account:
    try:
        return target.accounts[name]
    except KeyError:
        known = ", ".join(sorted(target.accounts)) or "none"
        raise TargetError(
            f"{party} uses account {name!r}, which target profile {target.path} does not define "
            f"(it defines: {known})"
        ) from None


def cast(scenario: Scenario, target: Target, work: Path, agent_audio: dict[str, str | None]) -> Cast:
    """Phones for every caller and agent of ``scenario`` against ``target``."""
    callers = {
        c.name: phone_setup(f"caller-{c.name}", target,
                            _account(target, c.account, f"caller {c.name}"), True, work)
        for c in scenario.callers
    }
    agents = {
        a.name: phone_setup(
            f"agent-{a.name}", target, _account(target, a.account, f"agent {a.name}"),
            a.behaviour != "unregistered", work, agent_behaviour(a, agent_audio.get(a.name)),
        )
        for a in scenario.agents
    }
    return Cast(callers, agents)


def request_uri(dest: Destination, target: Target, agent_address: dict[str, str],
                agent_user: dict[str, str]) -> str:
    """The request URI for a scenario destination."""
    if dest.kind == "uri":
        return dest.value
    if dest.kind == "agent" and dest.value in agent_address and not _registers(target, agent_user):
        return f"sip:{agent_user[dest.value]}@{agent_address[dest.value]}"
    if dest.kind == "did":
        user = target.dids[dest.value]
    elif dest.kind == "agent":
        user = agent_user[dest.value]
    else:
        user = dest.value
    if _direct(target):
        return f"sip:{user}@{target.host}:{target.port};transport={target.transport}"
    return f"sip:{user}@{target.domain}"


def _registers(target: Target, agent_user: dict[str, str]) -> bool:
    """Agents are reached through the platform when their accounts register with it."""
    return any(a.register for a in target.accounts.values() if a.username in agent_user.values())
