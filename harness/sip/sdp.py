"""The audio stream an SDP body describes (RFC 4566): where it is sent from and with which codecs.

Pure text in, facts out; no pjsua2.  Enough for a pre-flight check to say
which codec the platform chose and which address its audio comes from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# RFC 3551's static payload types that carry telephone audio
STATIC = {0: "PCMU/8000", 3: "GSM/8000", 4: "G723/8000", 8: "PCMA/8000", 9: "G722/8000",
          18: "G729/8000"}
_RTPMAP = re.compile(r"^a=rtpmap:(\d+)\s+([^\s/]+/\d+(?:/\d+)?)", re.IGNORECASE)
_CRYPTO = re.compile(r"^a=crypto:\d+\s+(\S+)", re.IGNORECASE)  # RFC 4568: tag, suite, key params


@dataclass(frozen=True)
class AudioStream:
    """The first audio m= line of an SDP body."""

    address: str  # the connection address (media-level c= over session-level)
    port: int  # 0: the stream is refused
    codecs: tuple[str, ...]  # NAME/RATE in the order listed, telephone-event included
    profile: str = "RTP/AVP"  # the m-line's transport: RTP/SAVP when SRTP is required
    crypto: tuple[str, ...] = ()  # the SRTP suites of its a=crypto lines (SDES keys), in order

    @property
    def codec(self) -> str | None:
        """The first real codec listed (the one used for sending; RFC 3264), not telephone-event."""
        return next((c for c in self.codecs if not c.lower().startswith("telephone-event")), None)


def audio_stream(sdp: str) -> AudioStream | None:
    """The audio stream of ``sdp``, or None when it has no ``m=audio`` line."""
    lines = [line.strip() for line in sdp.replace("\r\n", "\n").split("\n")]
    session_c = next((_address(line) for line in lines if line.startswith("c=")), "")
    start = next((i for i, line in enumerate(lines) if line.startswith("m=audio ")), None)
    if start is None:
        return None
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("m=")), len(lines))
    media = lines[start:end]
    fields = media[0].split()
    port = int(fields[1].split("/")[0]) if len(fields) > 1 and fields[1].split("/")[0].isdigit() else 0
    rtpmap = {int(m[1]): m[2] for line in media if (m := _RTPMAP.match(line))}
    codecs = tuple(rtpmap.get(int(pt), STATIC.get(int(pt), f"payload {pt}"))
                   for pt in fields[3:] if pt.isdigit())
    media_c = next((_address(line) for line in media if line.startswith("c=")), "")
    crypto = tuple(m[1] for line in media if (m := _CRYPTO.match(line)))
    profile = fields[2] if len(fields) > 2 else ""
    return AudioStream(media_c or session_c, port, codecs, profile, crypto)


def _address(line: str) -> str:
    parts = line[2:].split()
    return parts[2].split("/")[0] if len(parts) >= 3 else ""
