"""Checks 1 and 2: the platform's host resolves, its SIP port answers, and OPTIONS gets a reply."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator

from harness.doctor.checkup import Checkup
from harness.doctor.finding import Finding, fail, ok, skipped, warn
from harness.sip.options import NoAnswer, TlsFiles, options

DNS_TIMEOUT = 5.0
PROBE_TIMEOUT = 5.0  # for the whole OPTIONS exchange: UDP retransmissions, or connect + answer


def resolve(host: str, timeout: float) -> list[str]:
    """The addresses ``host`` resolves to, within ``timeout`` seconds (getaddrinfo has no timeout).

    Raises ``OSError`` when it does not resolve and ``TimeoutError`` when the
    resolver takes too long (its thread is left to finish on its own).
    """
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    found: dict[str, object] = {}

    def lookup() -> None:
        try:
            found["addresses"] = socket.getaddrinfo(host, None, type=socket.SOCK_DGRAM)
        except OSError as exc:
            found["error"] = exc

    worker = threading.Thread(target=lookup, name="doctor-dns", daemon=True)
    worker.start()
    worker.join(timeout)
    if "error" in found:
        raise found["error"]  # type: ignore[misc]
    if "addresses" not in found:
        raise TimeoutError(f"the resolver gave no answer within {timeout:g}s")
    infos = found["addresses"]
    return list(dict.fromkeys(str(info[4][0]) for info in infos))  # type: ignore[attr-defined]


def reach(c: Checkup) -> Iterator[Finding]:
    """1: resolve the host, then probe its SIP port (the OPTIONS exchange itself for UDP)."""
    t = c.target
    where = f"{t.host}:{t.port}/{t.transport}"
    settings = (f"check platform.host ({t.host}), platform.port ({t.port}) and platform.transport "
                f"({t.transport}) in {t.path}")
    try:
        addresses = resolve(t.host, DNS_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        yield fail(1, "reach", f"{t.host} does not resolve: {getattr(exc, 'strerror', None) or exc}",
                   f"a typo in platform.host in {t.path}, or a name only this network's DNS lacks? "
                   f"an IP address there avoids DNS")
        return
    c.address = addresses[0]
    named = "" if c.address == t.host else f"{t.host} resolves to {', '.join(addresses)}; "
    files = (t.tls.ca_file, t.tls.cert_file, t.tls.key_file)
    ca, cert, key = (str(p) if p else None for p in files)
    tls = TlsFiles(ca, cert, key, t.tls.verify)
    try:
        c.reply = options(c.address, t.port, t.transport, t.domain, PROBE_TIMEOUT, tls, t.host)
    except NoAnswer as exc:
        c.probe_error = exc
        if exc.connected:
            yield ok(1, "reach", f"{named}{where} takes connections")
            c.reachable = True
            return
        yield fail(1, "reach", f"{named}{exc}", _unreachable_hint(exc, t.transport, settings))
        return
    c.reachable = True
    took = (f"connected in {c.reply.connect_s * 1000:.0f} ms" if c.reply.connect_s is not None
            else f"answered OPTIONS in {c.reply.elapsed * 1000:.0f} ms")
    yield ok(1, "reach", f"{named}{where} {took}")


def _unreachable_hint(exc: NoAnswer, transport: str, settings: str) -> str:
    if exc.reason == "tls":
        return "check tls.ca_file (the CA that signed the platform's certificate) and tls.verify " + \
            f"in the profile, and that the port speaks TLS; {settings}"
    if exc.reason == "refused":
        return f"is the platform running and listening there? {settings}"
    return (f"nothing answered: is the platform running, and does a firewall on the way drop "
            f"{transport.upper()} to that port? {settings}")


def answer(c: Checkup) -> Iterator[Finding]:
    """2: OPTIONS got a final response; any status shows a live SIP service."""
    if not c.reachable:
        yield skipped(2, "options", "the platform is not reachable (check 1)")
        return
    if c.reply is None:
        exc = c.probe_error
        yield fail(2, "options", f"{exc}",
                   "the port is open but does not answer SIP there: is it the SIP port, and the "
                   f"right transport? check platform.port and platform.transport in {c.target.path}")
        return
    r = c.reply
    agent = r.header("server") or r.header("user-agent")
    said = f"answered {r.status} {r.reason}".rstrip() + (f" (Server: {agent})" if agent else "")
    if r.status >= 500 and r.status != 501:  # 501: it does not implement OPTIONS, and says so
        yield warn(2, "options", f"{said}: alive, but says it cannot serve",
                   "the platform is up but refuses service (overload, or still starting?): "
                   "look at its own status and logs")
    elif r.status >= 400:
        yield ok(2, "options", f"{said}: alive (a refusal of OPTIONS is still an answer)")
    else:
        yield ok(2, "options", f"{said}: alive")
