"""Check 6: the platform's API (the profile's adapter) is reachable and takes our credentials.

Through the adapter, as the recording checks use it: the retention policy and
the recordings of the last hour.  The adapter's own message says what went
wrong (connection refused, 401, ...); this check adds the fix when it has none.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from harness.doctor.checkup import Checkup
from harness.doctor.finding import Finding, fail, ok, skipped
from harness.errors import TargetError
from harness.targets.adapter import RecordingInfo

WINDOW = timedelta(hours=1)
_HINT = re.compile(r"\s*\(hint: (.*)\)\s*$", re.DOTALL)


def recordings(c: Checkup) -> Iterator[Finding]:
    from harness.targets.registry import adapter_for

    if "type" not in c.target.adapter:
        yield skipped(6, "recordings", "the profile has no adapter: section, so the recording API is "
                                       "not checked (add adapter: {type: ..., url: ..., username: ..., "
                                       "password: ${ENV:NAME}})")
        return
    try:
        platform = adapter_for(c.target)
        days = platform.retention_days()
        now = datetime.now(UTC)
        found = platform.find_recordings(None, now - WINDOW, now)
    except TargetError as exc:
        yield _refused(c, str(exc))
        return
    c.api_ok = True
    policy = f"retention {days} days" if days is not None else "it does not say its retention"
    yield ok(6, "recordings", f"{platform.description}: authenticated; {policy}; {listed(found)}")


def listed(found: list[RecordingInfo]) -> str:
    """How many recordings the last hour holds; those whose time nobody can tell are counted apart
    (names without a time, an API without dates: they fall in any window)."""
    untimed = sum(1 for r in found if r.started_utc is None and r.created_utc is None)
    timed = len(found) - untimed
    out = f"{timed} recording(s) in the last hour"
    if untimed:
        out += f", and {untimed} whose time neither the name nor the platform tells"
    return out


def _refused(c: Checkup, message: str) -> Finding:
    """A FAIL from the adapter's message, its hint split off, or one made for the case."""
    found = _HINT.search(message)
    detail = message[: found.start()] if found else message
    if found:
        return fail(6, "recordings", detail, found.group(1))
    adapter = c.target.adapter
    if " 403 " in message:
        hint = (f"the API knows user {adapter.get('username')!r} but does not let it read "
                "recordings: give that account the right on the platform")
    elif " 404 " in message:
        hint = f"the API has no such resource: is adapter.url ({adapter.get('url')}) the right service?"
    else:
        hint = f"check adapter: in {c.target.path} and the platform's API log"
    return fail(6, "recordings", detail, hint)
