"""What the checks need from a platform beyond SIP: its recordings, retention and queues.

Checks talk to a platform only through a ``Platform``: one implementation per
kind of platform API (the reference platform's ARI-shaped API, Asterisk 22
through ARI and AMI, FreeSWITCH's mod_callcenter through the event socket, a
platform's own recording API described in the profile, and a folder of
recording files, mounted here or on an SFTP server),
chosen by the target profile's ``adapter.type`` and built by
:func:`adapter_for`.  Capabilities a platform may lack -- moving its clock,
purging on demand -- raise ``NotSupported``, which a check turns into "not
shown on this platform" rather than a failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from harness.errors import TargetError
from harness.targets.model import Target


class NotSupported(TargetError):
    """The platform (or its adapter) cannot do this: e.g. move its clock or purge on demand."""


@dataclass(frozen=True)
class RecordingInfo:
    """One recording as the platform describes it; unknown facts are None."""

    name: str  # the platform's identifier, used to fetch it
    call_id: str | None  # the SIP Call-ID of the call it recorded, if the platform says
    started_utc: datetime | None
    duration_s: float | None
    sha256: str | None  # the hash the platform keeps for it (hex), if any
    size: int | None  # bytes
    format: str  # file format, e.g. wav
    created_utc: datetime | None = None  # when it was stored (retention counts from this)


@runtime_checkable
class Platform(Protocol):
    """A platform's API, as the recording, retention and ACD checks use it."""

    description: str  # where it is, for messages: "reference API at http://127.0.0.1:8188"

    def find_recordings(
        self, call_id: str | None, since: datetime, until: datetime,
        identities: Mapping[str, str] | None = None,
    ) -> list[RecordingInfo]:
        """Recordings of the call with this SIP Call-ID (if given) started within [since, until).

        ``identities`` are the call's other names (``caller``, ``did``, ``header:X-Name``): a
        platform whose recording names carry them (``recording_name``) lists only that call's."""

    def get_recording(self, name: str) -> RecordingInfo | None:
        """The recording called ``name``, or None when the platform no longer has it."""

    def fetch(self, rec: RecordingInfo, dest: Path) -> Path:
        """Download the recording's file into the folder ``dest``; return the file's path."""

    def fetch_unauthenticated(self, rec: RecordingInfo) -> int:
        """The HTTP status when the file is asked for without credentials."""

    def retention_days(self) -> int | None:
        """The declared retention policy in days; None if the platform cannot say."""

    def set_clock_offset(self, days: float) -> None:
        """Move the platform's clock ``days`` ahead of real time (``NotSupported`` if it cannot)."""

    def purge(self) -> list[str]:
        """Apply the retention policy now; the names purged (``NotSupported`` if it cannot)."""

    def queue_state(self) -> dict[str, Any] | None:
        """Queues and agents as the platform reports them; None if it cannot."""


@runtime_checkable
class Originating(Protocol):
    """A platform that starts outbound calls through its API (``Capability.ORIGINATE``): a
    campaign or click-to-call -- ring the agent first, then, once they answer, the customer."""

    def originate(self, agent: str, number: str) -> str:
        """Ring ``agent`` (an extension: the account's user name), then dial ``number`` for them.

        Returns the platform's name for the request; raises ``TargetError`` if it is refused."""


@runtime_checkable
class OutboundClock(Protocol):
    """A platform whose outbound rules read a clock the harness may move
    (``Capability.OUTBOUND_CLOCK``): both sides of the forbidden hours are shown at any hour."""

    def set_outbound_clock(self, offset_s: int) -> None:
        """Move that clock ``offset_s`` seconds from real time (0: back to real time)."""


@runtime_checkable
class DoNotCallList(Protocol):
    """A platform whose do-not-call list the harness can add to (``Capability.DNC_LIST``)."""

    def add_do_not_call(self, number: str) -> None:
        """Put ``number`` on the list: the platform must never dial it."""


@runtime_checkable
class Campaigning(Protocol):
    """A platform whose dialler the harness can give a campaign (``Capability.CAMPAIGN``)."""

    def start_campaign(self, queue: str, numbers: list[str]) -> str:
        """Have the dialler call ``numbers`` for ``queue``'s agents, as it paces them; returns the
        platform's name for the campaign, or raises ``TargetError`` if it is refused."""


def profile_retention_days(target: Target) -> int | None:
    """The retention the profile declares (``adapter.retention_days``), for platforms that cannot say."""
    days = target.adapter.get("retention_days")
    if days is None:
        return None
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise TargetError(
            f"target profile {target.path}: adapter.retention_days must be a positive whole "
            f"number of days, not {days!r}"
        )
    return days


@dataclass(frozen=True)
class StorageDeclared:
    """The recording storage and traffic a profile declares (``adapter.storage``)."""

    capacity_gb: float  # decimal gigabytes (10**9 bytes)
    calls_per_day: float
    minutes_per_call: float


def profile_storage(target: Target) -> StorageDeclared | None:
    """``adapter.storage: {capacity_gb, calls_per_day, minutes_per_call}``, or None if absent."""
    spec = target.adapter.get("storage")
    if spec is None:
        return None
    keys = ("capacity_gb", "calls_per_day", "minutes_per_call")
    values = [spec.get(k) if isinstance(spec, dict) else None for k in keys]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in values):
        raise TargetError(
            f"target profile {target.path}: adapter.storage needs positive numbers for "
            f"{', '.join(keys)}, e.g. {{capacity_gb: 2000, calls_per_day: 2000, minutes_per_call: 3}}"
        )
    return StorageDeclared(*(float(v) for v in values))  # type: ignore[arg-type]
