"""Check 7: the platform's clock against ours, from an HTTP ``Date`` (the adapter's URL) or a SIP one.

``Date`` has whole seconds, and servers may cache it for up to a second more
(uvicorn does), so the platform's time lies in [Date, Date + 2 s); the skew
is taken from the middle of that span to the middle of our request, and
given with its uncertainty.  Recording times, searches by time
window and retention all count on the two clocks agreeing.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from harness.doctor.checkup import Checkup
from harness.doctor.finding import Finding, fail, ok, skipped, warn

WARN_S, FAIL_S = 2.0, 30.0
HTTP_TIMEOUT = 5.0


def skew(c: Checkup) -> Iterator[Finding]:
    measured = _http(c) or _sip(c)
    if measured is None:
        yield skipped(7, "clock", "no Date to compare: neither the adapter's url nor the SIP OPTIONS "
                                  "answer gave one")
        return
    yield judge(*measured)


def judge(offset: float, error: float, source: str) -> Finding:
    """The verdict on a platform clock ``offset`` s ahead of ours (negative: behind), ± ``error``."""
    said = f"the platform's clock is {offset:+.1f}s (±{error:.1f}s) from ours, by {source}"
    hint = (f"the platform's clock is {abs(offset):.0f}s {'ahead of' if offset > 0 else 'behind'} this "
            "machine's: recording times, searches by time window and retention count on them "
            "agreeing; sync both with NTP (timedatectl, chronyc tracking)")
    if abs(offset) > FAIL_S:
        return fail(7, "clock", said, hint)
    if abs(offset) > WARN_S:
        return warn(7, "clock", said, hint)
    return ok(7, "clock", said)


def _offset(date: str, before: float, after: float) -> tuple[float, float] | None:
    try:
        then = parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return then + 1.0 - (before + after) / 2, 1.0 + (after - before) / 2


def _http(c: Checkup) -> tuple[float, float, str] | None:
    import requests

    url = c.target.adapter.get("url")
    if not isinstance(url, str):
        return None
    session = requests.Session()
    session.trust_env = not _loopback(url)  # no proxy between us and a loopback API
    before = time.time()
    try:
        with session.get(url, timeout=HTTP_TIMEOUT, allow_redirects=False, stream=True) as answer:
            after = time.time()
            date = answer.headers.get("Date")
    except requests.RequestException:
        return None
    found = _offset(date, before, after) if date else None
    return (*found, f"the HTTP Date of {url}") if found else None


def _sip(c: Checkup) -> tuple[float, float, str] | None:
    reply = c.reply
    date = reply.header("date") if reply else None
    if reply is None or date is None:
        return None
    found = _offset(date, reply.received - reply.elapsed, reply.received)
    return (*found, "the Date of the SIP OPTIONS answer") if found else None


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
