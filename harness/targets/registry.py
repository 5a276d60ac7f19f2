"""The platform adapters by ``adapter.type``: the one place that knows them all.

Each adapter module imports ``harness.targets.adapter`` (the protocol and its records)
and nothing here; this module imports every adapter, so no adapter imports another
through it.
"""

from __future__ import annotations

from collections.abc import Callable

from harness.errors import TargetError
from harness.targets.adapter import Platform, profile_retention_days, profile_storage
from harness.targets.asterisk import AsteriskPlatform
from harness.targets.capability import Capability
from harness.targets.directory import DirectoryPlatform
from harness.targets.freeswitch import FreeswitchPlatform
from harness.targets.generic_http import HttpPlatform
from harness.targets.http_profile import http_platform
from harness.targets.model import Target
from harness.targets.reference import ReferencePlatform
from harness.targets.sftp import SftpPlatform

AdapterFactory = Callable[[Target], Platform]


def _reference(target: Target) -> Platform:
    return ReferencePlatform.from_target(target)


def _asterisk(target: Target) -> Platform:
    return AsteriskPlatform.from_target(target)


def _http(target: Target) -> Platform:
    return http_platform(target)


def _directory(target: Target) -> Platform:
    return DirectoryPlatform.from_target(target)


def _freeswitch(target: Target) -> Platform:
    return FreeswitchPlatform.from_target(target)


def _sftp(target: Target) -> Platform:
    return SftpPlatform.from_target(target)


ADAPTERS: dict[str, AdapterFactory] = {"reference": _reference, "asterisk": _asterisk,
                                       "freeswitch": _freeswitch,
                                       "sftp": _sftp,
                                       "http": _http, "directory": _directory}
"""Adapter factories by ``adapter.type``."""

CAPABLE: dict[str, Callable[[Target], frozenset[Capability]]] = {
    "reference": ReferencePlatform.capabilities, "asterisk": AsteriskPlatform.capabilities,
    "freeswitch": FreeswitchPlatform.capabilities, "sftp": SftpPlatform.capabilities,
    "http": HttpPlatform.capabilities, "directory": DirectoryPlatform.capabilities}
"""What each adapter can do for a profile, by ``adapter.type``; answered from the profile alone."""


def capabilities(target: Target) -> frozenset[Capability]:
    """What the target can do beyond SIP: its adapter's capabilities and what its profile declares.

    Reads the profile only: nothing is asked of the platform.  A profile without an
    ``adapter:`` section (or naming no known adapter) has none.
    """
    kind = target.adapter.get("type")
    if kind not in CAPABLE:
        return frozenset()
    return CAPABLE[kind](target) | _declared(target)


def _declared(target: Target) -> set[Capability]:
    """``adapter.retention_days`` stands in for a policy the platform cannot say; ``adapter.storage``
    is the traffic and capacity ``expect_storage`` projects against."""
    declared = set()
    try:
        if profile_retention_days(target) is not None:
            declared.add(Capability.RETENTION_POLICY)
        if profile_storage(target) is not None:
            declared.add(Capability.STORAGE)
    except TargetError:
        pass  # a malformed value: the step that reads it says what is wrong with it
    return declared


def adapter_for(target: Target) -> Platform:
    """The platform adapter named by the profile's ``adapter.type``.

    Raises ``TargetError`` when the profile has no adapter section or names
    an adapter that does not exist.
    """
    kind = target.adapter.get("type")
    if kind is None:
        raise TargetError(
            f"target profile {target.path} has no adapter: section, so recordings and retention "
            f"cannot be checked (hint: add adapter: {{type: reference, url: ..., username: ..., "
            f"password: ${{ENV:NAME}}}})"
        )
    if kind not in ADAPTERS:
        raise TargetError(
            f"target profile {target.path}: adapter type {kind!r} is not available "
            f"(available: {', '.join(sorted(ADAPTERS))})"
        )
    return ADAPTERS[kind](target)


