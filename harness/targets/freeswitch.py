"""The adapter for FreeSWITCH with mod_callcenter (``adapter: {type: freeswitch}``).

Queue state comes from ``mod_callcenter`` over the event socket
(``adapter.esl``: ``callcenter_config`` listings, read by
``harness.targets.callcenter``), mapped to the SIP usernames the harness's
phones register as.

FreeSWITCH has no API for its recordings: ``record_session`` writes files
(by default under ``$${recordings_dir}``), and whatever serves them is the
site's own.  So ``adapter.recordings`` is a recording source of its own kind
-- a folder the files are on (``type: directory``) or a recording API
(``type: http``) -- written exactly as that adapter's ``adapter:`` section
would be, and recordings are found, fetched and tested through it.  Its
messages name its fields under ``adapter.recordings``.

The retention policy is the recording source's when it can say (an HTTP API
with ``retention:``); otherwise ``retention_days`` is None and the checks take
the profile's ``adapter.retention_days``, saying so.  FreeSWITCH cannot move
its clock or purge on demand (``NotSupported``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from harness.errors import TargetError
from harness.targets.adapter import NotSupported, Platform, RecordingInfo
from harness.targets.callcenter import (
    AGENT_LIST,
    QUEUE_LIST,
    TIER_LIST,
    ListingError,
    Row,
    members_command,
    parse_listing,
    queue_state,
    require,
)
from harness.targets.capability import Capability
from harness.targets.esl import DEFAULT_PORT, EslSession
from harness.targets.model import Secret, Target
from harness.targets.pbx_originate import PbxOriginate, pbx_originate
from harness.targets.reference import DEFAULT_TIMEOUT

if TYPE_CHECKING:
    from harness.targets.directory import DirectoryPlatform
    from harness.targets.generic_http import HttpPlatform
    from harness.targets.sftp import SftpPlatform

SOURCES = ("directory", "sftp", "http")  # the kinds of adapter.recordings
MOD_HINT = ("is mod_callcenter loaded? fs_cli -x 'load mod_callcenter', and list it in "
            "modules.conf.xml so it loads at start")
# the fields a source's own messages name as adapter.<field>, to be named adapter.recordings.<field>
_FIELD = re.compile(r"(?<![\w./-])adapter\.(?=(?:url|auth|recordings|retention|timeout|folder|"
                    r"extensions|recording_name|recording_timezone|retention_days|type|host|port|"
                    r"username|password|key_file|known_hosts|host_key|insecure_host_key)\b)")
RING_MARKS = ("ring-all", "ring-progressively")  # what a member's serving_agent holds while all ring
T = TypeVar("T")


class FreeswitchPlatform:
    """mod_callcenter through ``esl``; recordings through the platform ``recordings``."""

    def __init__(self, esl: EslSession, recordings: Platform,
                 usernames: dict[str, str] | None = None, profile: Path | None = None,
                 originating: PbxOriginate | None = None) -> None:
        self.esl, self.recordings, self.originating = esl, recordings, originating
        self.usernames, self.profile = dict(usernames or {}), profile
        self.description = (f"FreeSWITCH at {esl.host}:{esl.port} (event socket), recordings "
                            f"from {recordings.description}")

    @classmethod
    def from_target(cls, target: Target) -> FreeswitchPlatform:
        """Built from the profile's ``adapter:`` (esl, recordings, agent_usernames, timeout)."""
        spec, where = target.adapter, f"target profile {target.path}"
        timeout = spec.get("timeout", DEFAULT_TIMEOUT)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise TargetError(f"{where}: adapter.timeout must be a positive number of seconds, "
                              f"not {timeout!r}")
        return cls(_esl(spec.get("esl"), target, float(timeout)),
                   _source(spec.get("recordings"), target),
                   _usernames(spec.get("agent_usernames"), where), target.path,
                   pbx_originate(target, "user/{agent}"))

    @classmethod
    def capabilities(cls, target: Target) -> frozenset[Capability]:
        """What this adapter can do for ``target``, from its profile alone: queues, and what its
        recording source (``adapter.recordings``) can do."""
        spec = target.adapter.get("recordings")
        kind = spec.get("type") if isinstance(spec, dict) else None
        own = {Capability.QUEUE_STATE} | ({Capability.ORIGINATE} if target.adapter.get("originate") else set())
        if kind not in SOURCES:  # the adapter refuses such a profile when it is built
            return frozenset(own)
        assert isinstance(spec, dict)
        return _source_class(kind).capabilities(replace(target, adapter=dict(spec))) | own

    def __repr__(self) -> str:
        return (f"FreeswitchPlatform(esl={self.esl!r}, recordings={self.recordings!r}, "
                f"usernames={self.usernames!r})")

    # -- recordings: the source's ---------------------------------------------------------------
    def find_recordings(self, call_id: str | None, since: datetime, until: datetime,
                        identities: Mapping[str, str] | None = None) -> list[RecordingInfo]:
        return _renamed(self.recordings.find_recordings, call_id, since, until, identities)

    def get_recording(self, name: str) -> RecordingInfo | None:
        return _renamed(self.recordings.get_recording, name)

    def fetch(self, rec: RecordingInfo, dest: Path) -> Path:
        return _renamed(self.recordings.fetch, rec, dest)

    def fetch_unauthenticated(self, rec: RecordingInfo) -> int:
        return _renamed(self.recordings.fetch_unauthenticated, rec)

    def retention_days(self) -> int | None:
        """The recording source's policy, when it can say; else None (the checks then take
        ``adapter.retention_days`` and say the profile declared it)."""
        return _renamed(self.recordings.retention_days)

    def set_clock_offset(self, days: float) -> None:
        raise NotSupported(
            f"{self.description}: FreeSWITCH cannot move its clock, so keeping recordings for the "
            f"required days cannot be shown by moving time on it; the retention canaries "
            f"(verify_canaries) show it as the days really pass")

    def purge(self) -> list[str]:
        raise NotSupported(
            f"{self.description}: FreeSWITCH has no retention policy of its own to apply on "
            f"demand; whatever deletes old recordings on this site (a cron job, a storage "
            f"policy) runs outside it")

    # -- outbound --------------------------------------------------------------------------------
    def originate(self, agent: str, number: str) -> str:
        """Click-to-call through the event socket: ``bgapi originate`` rings the agent's endpoint
        (showing the customer's number) and, once answered, runs ``extension`` in the XML dialplan
        ``context`` (``adapter.originate``). Returns FreeSWITCH's job id."""
        spec = self.originating
        if spec is None:
            raise TargetError(f"{self.description}: the profile gives no adapter.originate: {{context: ...}}, "
                              f"so the harness does not know where the agents' outbound calls run (or use dial_out)")
        caller = spec.filled("{number}", agent, number)
        variables = (f"origination_caller_id_number={caller},origination_caller_id_name={caller},"
                     f"originate_timeout={spec.ring_timeout}")
        command = (f"originate {{{variables}}}{spec.filled(spec.endpoint, agent, number)} "
                   f"{spec.filled(spec.extension, agent, number)} XML {spec.filled(spec.context, agent, number)}")
        with self.esl as session:
            return session.bgapi(command, "is the agent's endpoint registered (sofia status), and the "
                                          "context in adapter.originate an XML dialplan context?")

    # -- queues ----------------------------------------------------------------------------------
    def queue_state(self) -> dict[str, Any] | None:
        """Queues, agents, tiers and waiting callers from ``callcenter_config`` listings."""
        with self.esl as session:
            queues = self._listing(session, QUEUE_LIST, ("name", "strategy"))
            agents = self._listing(session, AGENT_LIST, ("name", "contact", "status", "state",
                                                         "calls_answered"))
            tiers = self._listing(session, TIER_LIST, ("queue", "agent"))
            names = {r["name"] for r in queues} | {r["queue"] for r in tiers}
            members = {q: _unmarked(self._listing(session, members_command(q), ("state",)))
                       for q in sorted(names) if q and not any(c.isspace() for c in q)}
        return queue_state(queues, agents, tiers, members, self.usernames)

    def _listing(self, session: EslSession, command: str, columns: tuple[str, ...]) -> list[Row]:
        body = session.api(command, MOD_HINT)
        try:
            rows = parse_listing(body)
            require(rows, columns)
        except ListingError as exc:
            raise TargetError(f"{session.where}: the answer to 'api {command}' is not a "
                              f"mod_callcenter listing: {exc} (hint: {MOD_HINT})") from None
        return rows


def _unmarked(members: list[Row]) -> list[Row]:
    """The member rows with the ring-all marks taken out of ``serving_agent``.

    mod_callcenter writes the strategy's name there, not an agent's, for a caller
    of a ``ring-all`` or ``ring-progressively`` queue: on joining, and while every
    agent rings (``state = 'Trying'``, mod_callcenter.c's agent dispatch); only an
    answer puts the agent's name in its place.
    """
    return [{**row, "serving_agent": ""} if row.get("serving_agent") in RING_MARKS else row
            for row in members]


def _renamed(call: Callable[..., T], *args: Any) -> T:
    """``call(*args)``, its errors naming the source's fields under ``adapter.recordings``."""
    try:
        return call(*args)
    except TargetError as exc:
        raise type(exc)(_FIELD.sub("adapter.recordings.", str(exc))) from None


def _esl(spec: Any, target: Target, timeout: float) -> EslSession:
    where = f"target profile {target.path}"
    if not isinstance(spec, dict):
        raise TargetError(f"{where}: adapter.esl must say where the event socket is, e.g. "
                          f"{{host: fs.example, port: {DEFAULT_PORT}, password: ${{ENV:NAME}}}}")
    port = spec.get("port", DEFAULT_PORT)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise TargetError(f"{where}: adapter.esl.port must be a TCP port, not {port!r}")
    password = spec.get("password")
    if not isinstance(password, Secret):
        raise TargetError(f"{where}: adapter.esl.password must be ${{ENV:NAME}} (the password "
                          f"param of event_socket.conf.xml)")
    host = str(spec.get("host") or target.host)
    return EslSession(host, port, password, timeout, target.path)


def _source(spec: Any, target: Target) -> Platform:
    """The recording source ``adapter.recordings`` describes, built as its own adapter would be."""
    where = f"target profile {target.path}"
    kind = spec.get("type") if isinstance(spec, dict) else None
    if kind not in SOURCES:
        raise TargetError(
            f"{where}: adapter.recordings must say where FreeSWITCH's recordings are, with type "
            f"directory (e.g. {{type: directory, folder: /var/lib/freeswitch/recordings}}), sftp "
            f"(the same folder on the FreeSWITCH host, over SFTP) or http (a recording API, "
            f"described as for adapter type http), not {kind!r}")
    assert isinstance(spec, dict)
    nested = replace(target, adapter=dict(spec))
    if kind == "directory":
        from harness.targets.directory import DirectoryPlatform

        return _renamed(DirectoryPlatform.from_target, nested)
    if kind == "sftp":
        from harness.targets.sftp import SftpPlatform

        return _renamed(SftpPlatform.from_target, nested)
    from harness.targets.http_profile import http_platform

    return _renamed(http_platform, nested)


def _source_class(kind: str) -> type[DirectoryPlatform | SftpPlatform | HttpPlatform]:
    """The adapter class of a recording source, imported only when named (sftp brings paramiko)."""
    if kind == "directory":
        from harness.targets.directory import DirectoryPlatform

        return DirectoryPlatform
    if kind == "sftp":
        from harness.targets.sftp import SftpPlatform

        return SftpPlatform
    from harness.targets.generic_http import HttpPlatform

    return HttpPlatform


def _usernames(spec: Any, where: str) -> dict[str, str]:
    if spec is None:
        return {}
    if not isinstance(spec, dict) or not all(isinstance(v, str | int) and not isinstance(v, bool)
                                             and str(v) for v in spec.values()):
        raise TargetError(f"{where}: adapter.agent_usernames must map mod_callcenter agent names "
                          f"to SIP usernames, e.g. {{agent-wei: \"1008\"}}, not {spec!r}")
    return {str(k): str(v) for k, v in spec.items()}
