"""What a phone's TLS connections showed, in words a reader can act on (no pjsua2 here).

A phone reports every TLS connection it makes or accepts as a ``tls`` event
(see ``engine._Endpoint.onTransportState``): the peer, the handshake's
protocol and cipher, the peer's certificate (subject, issuer, names) and the
verification result.  This module turns those into the error a run stops
with when verification fails, and the warning it gives when verification is
off.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

# Where Debian/Ubuntu, Fedora/RHEL, openSUSE and Alpine keep the system's trusted CAs.
# The OpenSSL inside the pjsua2 wheel was built on CentOS and looks under /etc/pki only,
# so the bundle is named to PJSIP explicitly.
SYSTEM_CA_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
)


def system_ca_bundle() -> str | None:
    """The first system CA bundle that exists, or None."""
    return next((p for p in SYSTEM_CA_BUNDLES if Path(p).is_file()), None)


def unverified_warning(where: str) -> str:
    """The loud line a run prints once when it will not verify the platform's certificate."""
    return (f"WARNING: TLS certificate verification is OFF for {where} (tls.verify: false): "
            "the SIP signalling is encrypted but the harness does not check who it talks to; "
            "the evidence records that verification was off")


def certificate(data: Mapping[str, Any]) -> str:
    """``CN=pbx.example issued by CN=Example CA, names DNS:pbx.example, IP:192.0.2.1``."""
    subject = _dn(data.get("peer_subject")) or "(no certificate)"
    text = f"{subject} issued by {_dn(data.get('peer_issuer')) or '(unknown issuer)'}"
    names = data.get("peer_names") or []
    return text + (f", names {', '.join(names)}" if names else "")


def _dn(name: str | None) -> str:
    """OpenSSL's one-line ``/O=Example/CN=pbx`` as ``O=Example, CN=pbx``."""
    if not name or not name.startswith("/"):
        return name or ""
    return ", ".join(part for part in name[1:].split("/") if part)


def verification_failure(events: Iterable[Mapping[str, Any]], ca_file: str | None) -> str | None:
    """Why this phone's TLS verification failed, from its ``tls`` event data; None if it did not.

    Names the step (the handshake with which peer, before any SIP was sent),
    what failed, the certificate presented and the CA bundle it was checked
    against.
    """
    failed = [d for d in events if d.get("verify_failed")]
    if not failed:
        return None
    d = failed[-1]
    side = "the client's" if d.get("server_side") else "the server's"
    reasons = "; ".join(d.get("verify_msgs") or []) or str(d.get("error") or "unknown reason")
    bundle = ca_file or "no CA bundle"
    return (f"TLS verification failed at the handshake with {d.get('remote', '?')}, before any SIP "
            f"was sent: {side} certificate was refused ({reasons}); it presented "
            f"{certificate(d)}; checked against {bundle} (hint: tls.ca_file must hold the CA that "
            "signed that certificate, and the certificate must name the host dialled; "
            "tls.verify: false tests without verification)")


def summary(data: Mapping[str, Any]) -> str:
    """One TLS connection in a line: ``TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384 with 127.0.0.1:5061: ..., verified``."""
    if not data.get("established"):
        return f"TLS with {data.get('remote', '?')} {str(data.get('state', '')).lower()}: {data.get('error', '')}"
    verdict = ("verified" if data.get("verified") else
               "NOT verified (" + ("; ".join(data.get("verify_msgs") or []) or "verification off") + ")")
    return (f"{'/'.join(data.get('protocols') or ['TLS'])} {data.get('cipher', '')} with {data.get('remote', '?')}: "
            f"{certificate(data)}, {verdict}")
