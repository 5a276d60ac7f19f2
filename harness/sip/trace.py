"""SIP message trace: parse PJSIP's message log and redact secrets (no pjsua2 here).

PJSIP logs every message it sends or receives when ``msgLogging`` is on, as::

    TX 512 bytes Request msg INVITE/cseq=1 (tdta0x..) to UDP 127.0.0.1:5060:
    INVITE sip:100@127.0.0.1 SIP/2.0
    ...
    --end msg--
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEAD = re.compile(
    r"(?P<dir>TX|RX) (?P<size>\d+) bytes (?P<what>Request|Response) msg \S+ \([^)]*\) "
    r"(?:to|from) (?P<proto>\w+) (?P<peer>\S+?):\s*$",
    re.MULTILINE,
)
_END = "--end msg--"
_CREDENTIAL_HEADERS = re.compile(
    r"^((?:Proxy-)?Authorization|Authentication-Info)\s*:\s*(\S+)?.*$",
    re.IGNORECASE | re.MULTILINE,
)
# SDES (RFC 4568) puts the SRTP master key in the SDP: with it a recorded capture decrypts.
_SDES_KEY = re.compile(r"^(a=crypto:\S+\s+\S+\s+inline:)[A-Za-z0-9+/=]+", re.IGNORECASE | re.MULTILINE)
_CALL_ID = re.compile(r"^(?:Call-ID|i)\s*:\s*(\S+)", re.IGNORECASE | re.MULTILINE)
_X_HEADER = re.compile(r"^(X-[A-Za-z0-9.!%*_+`'~-]+)[ \t]*:[ \t]*(.*?)\s*$",
                       re.IGNORECASE | re.MULTILINE)
_HEADER_LINE = re.compile(r"^([A-Za-z0-9.!%*_+`'~-]+)[ \t]*:[ \t]*(.*?)\s*$")
# Never kept with a message's headers: the digest credentials (RFC 3261 22.2, 22.3).
_CREDENTIALS = frozenset({"authorization", "proxy-authorization"})
REDACTED = "[redacted]"


@dataclass(frozen=True)
class SipMessage:
    direction: str  # TX or RX
    peer: str  # transport and address, e.g. "UDP 127.0.0.1:5060"
    first_line: str
    call_id: str | None
    text: str  # redacted


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Blank credential headers, SRTP master keys and any known secret value wherever it appears."""
    text = _CREDENTIAL_HEADERS.sub(
        lambda m: f"{m.group(1)}: {m.group(2) or ''} {REDACTED}".replace("  ", " "), text
    )
    text = _SDES_KEY.sub(lambda m: m.group(1) + REDACTED, text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def x_headers(message: str, secrets: tuple[str, ...] = ()) -> dict[str, str]:
    """The ``X-`` headers of a SIP message's head (the first of each name), values redacted.

    A platform may name the caller's call on the INVITE it sends an agent
    (e.g. ``X-Caller-Call-ID``): that ties an agent leg to the call.
    """
    head = re.split(r"\r?\n\r?\n", message, maxsplit=1)[0]
    found: dict[str, str] = {}
    for match in _X_HEADER.finditer(head):
        found.setdefault(match[1], redact(match[2], secrets))
    return found


def message_headers(message: str, secrets: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """Every header of a SIP message's head, in order, as sent: ``[(name, value), ...]``.

    Folded lines are joined (RFC 3261 7.3.1); names keep their spelling (``f`` stays
    ``f``); Authorization and Proxy-Authorization are left out whole, and known
    secrets are redacted from the values.
    """
    head = re.split(r"\r?\n\r?\n", message, maxsplit=1)[0]
    lines: list[str] = []
    for line in re.split(r"\r?\n", head)[1:]:
        if line[:1] in (" ", "\t") and lines:
            lines[-1] += " " + line.strip()
        elif line:
            lines.append(line)
    found = []
    for line in lines:
        match = _HEADER_LINE.match(line)
        if match and match[1].lower() not in _CREDENTIALS:
            found.append((match[1], redact(match[2], secrets)))
    return found


def request_uri(message: str) -> str:
    """The request URI of a SIP request (``INVITE sip:9138...@host SIP/2.0``); "" for a response."""
    first = message.lstrip().split("\n", 1)[0].split()
    return first[1] if len(first) == 3 and first[2].startswith("SIP/") else ""


def parse_log_entry(entry: str, secrets: tuple[str, ...] = ()) -> SipMessage | None:
    """Turn one PJSIP log entry into a message, or None if it is not a message log."""
    head = _HEAD.search(entry)
    if head is None:
        return None
    body = entry[head.end() :].lstrip("\r\n")
    end = body.find(_END)
    if end >= 0:
        body = body[:end]
    body = redact(body.rstrip(), secrets)
    call_id = _CALL_ID.search(body)
    return SipMessage(
        direction=head["dir"],
        peer=f"{head['proto']} {head['peer']}",
        first_line=body.splitlines()[0] if body else "",
        call_id=call_id.group(1) if call_id else None,
        text=body,
    )
