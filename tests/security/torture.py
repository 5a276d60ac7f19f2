"""The RFC 4475 torture messages of ``torture/``, read through their README index.

A message is sent only after :func:`localise`: the RFC's documentation and
example addresses become loopback ones, so whatever a target does in reply
(a response, a BYE to the Contact, RTP to the SDP's address, a DNS lookup of
a Route host) stays on 127.0.0.0/8.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

FOLDER = Path(__file__).with_name("torture")
_INDEX_LINE = re.compile(
    r"^- (?P<file>[\w-]+\.sip): §(?P<section>[\d.]+) (?P<title>.+) — "
    r"(?P<verdict>valid|invalid); (?P<transports>(?:udp|tcp)(?:, (?:udp|tcp))*)$"
)
# First octet of any dotted quad: ``192.0.2.4`` -> ``127.0.2.4`` (same length for three digits).
_IPV4 = re.compile(rb"(?<![\d.])\d{1,3}(?=\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\d.]))")
_HOST_NAME = re.compile(rb"(?<![\w.%-])(?:[A-Za-z0-9-]+\.)+(?:com|net|org|edu)(?![\w-])")
NAME_ADDRESS = b"127.0.2.1"
_REQUEST_LINE = re.compile(rb"[!-~]+ \S+ SIP/2\.0\r\n")


@dataclass(frozen=True)
class Torture:
    """One message: its file, where the RFC has it, and how the tests send it."""

    name: str
    section: str
    title: str
    verdict: str
    transports: tuple[str, ...]
    raw: bytes

    @property
    def wire(self) -> bytes:
        """The bytes sent: ``raw`` with every address on loopback."""
        return localise(self.raw)

    @property
    def is_response(self) -> bool:
        return self.raw.startswith(b"SIP/2.0 ")

    def __str__(self) -> str:
        return f"{self.name} (RFC 4475 §{self.section} {self.title})"


def index_lines(readme: Path = FOLDER / "README.md") -> list[re.Match[str]]:
    """The README's index lines, each matched against its one format."""
    lines = readme.read_text(encoding="utf-8").splitlines()
    return [m for line in lines if (m := _INDEX_LINE.match(line))]


def load() -> list[Torture]:
    """Every message the README lists, in its order."""
    found = []
    for m in index_lines():
        transports = tuple(t.strip() for t in m["transports"].split(","))
        found.append(Torture(m["file"].removesuffix(".sip"), m["section"], m["title"],
                             m["verdict"], transports, (FOLDER / m["file"]).read_bytes()))
    return found


def localise(message: bytes) -> bytes:
    """``message`` with its addresses moved to loopback.

    IPv4 addresses keep their length (so Content-Length stays as the RFC
    wrote it) and are rewritten everywhere; host names only in the header
    section (and in a second message trailing the first), since a body's
    length must not change.
    """
    head, sep, body = message.partition(b"\r\n\r\n")
    head = _HOST_NAME.sub(NAME_ADDRESS, _IPV4.sub(b"127", head))
    if _REQUEST_LINE.match(body):  # trailing octets that are a message of their own (dblreq)
        return head + sep + localise(body)
    return head + sep + _IPV4.sub(b"127", body)


def foreign_addresses(message: bytes) -> list[str]:
    """Dotted quads outside 127.0.0.0/8 and host names a target could look up."""
    quads = re.findall(rb"(?<![\d.])(\d{1,3})\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\d.])", message)
    names = _HOST_NAME.findall(message)
    return [q.decode() for q in quads if q != b"127"] + [n.decode() for n in names]
