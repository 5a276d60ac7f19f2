"""The far end of a torture message: the UAC a phone answers when it takes one as a call.

Localised messages name 127.0.2.1 wherever the RFC named a host, with no
port (so 5060). A peer bound to 127.0.2.1:5060 that sends them therefore
gets what the phone sends back: its responses (to the Via's sent-by, or to
``received`` = the peer's own address) and its requests (to the Contact).
It plays the caller the RFC leaves out: a 2xx to an INVITE is ACKed and the
call ended with a BYE at once, and a BYE is answered, so a valid torture
INVITE the phone answered does not hold one of the phone's four call slots
for the 32 s a 2xx waits for its ACK (four such calls make it answer the
platform's own calls 486 Busy Here).
"""

from __future__ import annotations

import re
import secrets
import socket
import time

from tests.security.sipwire import Reply, loopback
from tests.security.torture import NAME_ADDRESS

ADDRESS = (NAME_ADDRESS.decode(), 5060)
_INVITE_CSEQ = re.compile(r"^\s*(\d+)\s+INVITE\s*$")


class Peer:
    """A UDP socket on 127.0.2.1:5060 (or, if that is taken, any port, which then sees little)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.sock.bind(ADDRESS)
        except OSError:
            self.sock.bind((ADDRESS[0], 0))
        self.address: tuple[str, int] = self.sock.getsockname()

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes, to: tuple[str, int]) -> None:
        self.sock.sendto(data, (loopback(to[0]), to[1]))

    def settle(self, window: float, party: tuple[str, int]) -> list[str]:
        """Take part in what ``party`` sends for ``window`` seconds (longer while it talks):
        ACK and end answered INVITEs, answer BYEs. The first lines seen, in order; anything
        from elsewhere (Kamailio relaying a torture message here, say) is dropped."""
        seen: list[str] = []
        deadline = time.monotonic() + window
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                data, source = self.sock.recvfrom(65535)
            except (TimeoutError, ConnectionRefusedError):
                break
            if source != party:
                continue
            message = Reply(data)
            seen.append(message.first_line)
            self._answer(message, source)
            deadline = max(deadline, time.monotonic() + 0.3)
        return seen

    def _answer(self, message: Reply, source: tuple[str, int]) -> None:
        cseq = _INVITE_CSEQ.match(message.header("CSeq") or "")
        if message.status is not None and 200 <= message.status < 300 and cseq:
            number = int(cseq.group(1))
            self.send(self._in_dialog("ACK", message, number), source)
            self.send(self._in_dialog("BYE", message, number + 1), source)
        elif message.first_line.startswith("BYE "):
            self.send(_ok(message), source)

    def _in_dialog(self, method: str, answer: Reply, cseq: int) -> bytes:
        """A request in the dialog a 2xx set up, sent straight back to the phone."""
        target = re.search(r"<([^>]+)>", answer.header("Contact") or "")
        branch = f"z9hG4bK{secrets.token_hex(8)}"
        lines = [
            f"{method} {target.group(1) if target else 'sip:phone@127.0.0.1'} SIP/2.0",
            f"Via: SIP/2.0/UDP {self.address[0]}:{self.address[1]};branch={branch};rport",
            "Max-Forwards: 70",
            f"From: {answer.header('From')}",
            f"To: {answer.header('To')}",
            f"Call-ID: {answer.header('Call-ID')}",
            f"CSeq: {cseq} {method}",
            "Content-Length: 0",
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _ok(request: Reply) -> bytes:
    """200 OK to ``request``, echoing its dialog headers (every Via, in order)."""
    head = request.data.partition(b"\r\n\r\n")[0].decode("utf-8", "replace")
    keep = [line for line in head.split("\r\n")[1:]
            if re.match(r"(?i)(via|v|from|f|to|t|call-id|i|cseq)\s*:", line)]
    return ("\r\n".join(["SIP/2.0 200 OK", *keep, "Content-Length: 0"]) + "\r\n\r\n").encode()
