"""Whether a call's audio was encrypted, as PJSIP negotiated it (no pjsua2 here).

SRTP with SDES keys (RFC 4568) is negotiated in the SDP: the offer lists
``a=crypto`` suites, on an ``RTP/SAVP`` m-line when SRTP is mandatory, or on
``RTP/AVP`` when it is optional (best effort); the answer picks one suite.
What counts is what the media transport ended up doing, which pjsua reports
in its call dump (``SRTP status: Active Crypto-suite: AES_CM_128_HMAC_SHA1_80``);
the m-line profile is kept beside it, so the evidence shows both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MODES = ("off", "optional", "mandatory")
_DUMP = re.compile(r"SRTP status:\s*(Active|Not active)\s+Crypto-suite:\s*(\S*)")


def from_dump(dump: str) -> dict[str, Any]:
    """``{"active": bool, "suite": str}`` from a pjsua call dump; inactive when it has no SRTP."""
    found = _DUMP.search(dump)
    if found is None:
        return {"active": False, "suite": ""}
    active = found.group(1) == "Active"
    return {"active": active, "suite": found.group(2) if active else ""}


def label(srtp: Mapping[str, Any] | None) -> str:
    """``SRTP AES_CM_128_HMAC_SHA1_80 RTP/SAVP``, or ``RTP`` for clear audio."""
    if not srtp or not srtp.get("active"):
        return "RTP"
    return f"SRTP {srtp.get('suite', '')} {srtp.get('profile', '')}".strip()
