"""The adapter for Asterisk 22 (``adapter: {type: asterisk}``): ARI recordings, AMI queues.

Recordings are ARI's stored recordings (``GET /ari/recordings/stored``,
``.../{recordingName}`` and ``.../{recordingName}/file``, HTTP Basic auth with
an ``ari.conf`` user).  The reference platform's API copies exactly this
resource, so the HTTP side -- credentials, timeouts, errors naming the URL and
status, downloads counted to the byte -- is the reference adapter's.

Asterisk keeps only a name and a format per recording, so a call's recording
is found by its name: ``adapter.recording_name`` says how the dialplan builds
names (see ``harness.targets.recording_name``).  A name holding the call's
SIP Call-ID identifies it; otherwise the adapter lists what it cannot tell
apart -- the recordings whose names fit, narrowed to the call's time window
when names carry a time -- with no Call-ID, and the recording check proves
which one is the call's by its per-call audio markers.

Queue state comes from AMI (``adapter.ami``), when the profile gives it.
Asterisk cannot report its retention policy (``retention_days`` is None, and
the checks take the profile's ``adapter.retention_days``, saying so), move its
clock or purge on demand (``NotSupported``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from harness.errors import TargetError
from harness.targets.adapter import NotSupported, RecordingInfo
from harness.targets.ami import DEFAULT_PORT, AmiSession, queue_state
from harness.targets.capability import Capability
from harness.targets.model import Secret, Target
from harness.targets.pbx_originate import PbxOriginate, pbx_originate
from harness.targets.recording_name import AnyName, Names, Reading, names_from_profile
from harness.targets.reference import DEFAULT_TIMEOUT, ReferencePlatform, _message

STORED = "/ari/recordings/stored"


class AsteriskPlatform(ReferencePlatform):
    """Asterisk's ARI at ``url`` (its http.conf server) as ``username``; AMI through ``ami``."""

    def __init__(self, url: str, username: str, password: Secret | None, names: Names,
                 ami: AmiSession | None = None, profile: Path | None = None,
                 timeout: float = DEFAULT_TIMEOUT, originating: PbxOriginate | None = None) -> None:
        base = url.rstrip("/").removesuffix("/ari")  # the paths carry /ari
        super().__init__(base, username, password, profile, timeout)
        self.names, self.ami, self.originating = names, ami, originating
        self.description = f"Asterisk ARI at {self.url}"

    @classmethod
    def from_target(cls, target: Target) -> AsteriskPlatform:
        """Built from the profile's ``adapter:`` (url, username, password, recording_name,
        recording_timezone, ami, timeout)."""
        spec = target.adapter
        where = f"target profile {target.path}"
        url = spec.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise TargetError(f"{where}: adapter.url must be Asterisk's ARI http(s) URL, not "
                              f"{url!r} (e.g. url: http://pbx.example:8088)")
        timeout = _timeout(spec.get("timeout", DEFAULT_TIMEOUT), where)
        ami = _ami(spec.get("ami"), urlsplit(url).hostname or "", timeout, target)
        return cls(url, str(spec.get("username") or ""), _secret(spec.get("password"), where,
                   "adapter.password"), names_from_profile(spec, where), ami, target.path, timeout,
                   pbx_originate(target, "PJSIP/{agent}"))

    @classmethod
    def capabilities(cls, target: Target) -> frozenset[Capability]:
        """What this adapter can do for ``target``, from its profile alone (nothing is asked of the
        platform)."""
        queues = {Capability.QUEUE_STATE} if target.adapter.get("ami") is not None else set()
        calls = {Capability.ORIGINATE} if target.adapter.get("originate") is not None else set()
        return frozenset({Capability.RECORDINGS, Capability.UNAUTHENTICATED_FETCH, *queues, *calls})

    def originate(self, agent: str, number: str) -> str:
        """Click-to-call through ARI: ``POST /ari/channels`` rings the agent's endpoint and, once the
        agent answers, runs ``extension`` in ``context`` (``adapter.originate``); the agent's screen
        shows the customer's number. Returns the new channel's id."""
        spec = self.originating
        if spec is None:
            raise NotSupported(f"{self.description}: the profile gives no adapter.originate: {{context: ...}}, "
                               f"so the harness does not know where the agents' outbound calls run (or use dial_out)")
        path = "/ari/channels"
        params = {"endpoint": spec.filled(spec.endpoint, agent, number),
                  "extension": spec.filled(spec.extension, agent, number), "context": spec.context,
                  "priority": "1", "timeout": str(spec.ring_timeout), "callerId": f'"{number}" <{number}>'}
        answer = self._request("POST", path, params=params)
        if answer.status_code == 403:
            raise TargetError(f"{self.description} refused POST {path} for user {self.username!r}: 403 "
                              f"Forbidden{_message(answer)} (hint: a click-to-call needs an ari.conf user "
                              f"with read_only = no)")
        body = self._json_of(self._check(answer, "POST", path), "POST", path)
        if not isinstance(body, dict) or not body.get("id"):
            raise TargetError(f"{self.description}: POST {path} answered without a channel id: {str(body)[:120]!r}")
        return str(body["id"])

    # What the reference's API does and ARI does not (inherited, so said here): no outbound rule
    # clock, no dialler, no do-not-call list through this adapter (issue 16).
    def set_outbound_clock(self, offset_s: int) -> None:
        raise NotSupported(f"{self.description}: Asterisk has no outbound rule clock the harness can move")

    def start_campaign(self, queue: str, numbers: list[str]) -> str:
        raise NotSupported(f"{self.description}: Asterisk has no dialler of its own to give a campaign")

    def add_do_not_call(self, number: str) -> None:
        raise NotSupported(f"{self.description}: this adapter cannot add to a do-not-call list (name the "
                           "numbers in outbound.do_not_call.numbers)")

    def __repr__(self) -> str:
        return (f"AsteriskPlatform({self.url!r}, user={self.username!r}, password={self.password!r}, "
                f"names={self.names!r}, ami={self.ami!r})")

    def _where_hint(self) -> str:
        return (f"is Asterisk running with ARI on (http.conf enabled = yes with its bindaddr and "
                f"bindport, ari.conf enabled = yes)? check adapter.url in {self.profile}")

    # -- recordings ------------------------------------------------------------------------
    def _stored(self) -> list[tuple[str, str]]:
        """``GET /ari/recordings/stored`` as (name, format), one per name (wav preferred)."""
        rows = self._json("GET", STORED)
        if not isinstance(rows, list):
            raise TargetError(f"{self.description}: GET {STORED} answered {type(rows).__name__}, "
                              f"not a list of stored recordings")
        formats: dict[str, str] = {}
        for row in rows:
            if isinstance(row, dict) and isinstance(row.get("name"), str):
                fmt = str(row.get("format") or "wav")
                if formats.get(row["name"]) != "wav":
                    formats[row["name"]] = fmt
        return sorted(formats.items())

    def find_recordings(self, call_id: str | None, since: datetime, until: datetime,
                        identities: Mapping[str, str] | None = None) -> list[RecordingInfo]:
        """The call's recording when its name holds ``call_id``; else the candidates.

        With a template that names the Call-ID, only that call's recordings
        are returned (none yet: ``[]``, and the caller may ask again).
        Otherwise every recording whose name fits and whose time (if it
        carries one) falls in [since, until), oldest first, with no Call-ID:
        only the audio can tell which is the call's.
        """
        read = [(name, fmt, r) for name, fmt in self._stored()
                if (r := self.names.read(name, call_id, identities)) is not None]
        if call_id is not None:
            mine = [_info(n, f, r) for n, f, r in read if r.matched and r.in_window(since, until)]
            if mine or self.names.carries_call_id:
                return mine
        fits = [(n, f, r) for n, f, r in read if r.in_window(since, until)]
        fits.sort(key=lambda x: (x[2].started_utc is not None, x[2].started_utc or since, x[0]))
        return [_info(n, f, r) for n, f, r in fits]

    def get_recording(self, name: str) -> RecordingInfo | None:
        path = f"{STORED}/{quote(name, safe='')}"
        answer = self._request("GET", path)
        if answer.status_code == 404:
            self._only_missing(answer, name, path)
            return None
        row = self._check(answer, "GET", path).json()
        if not isinstance(row, dict) or row.get("name") != name:
            raise TargetError(f"{self.description}: GET {path} answered {str(row)[:80]!r}, not "
                              f"the stored recording {name!r}")
        reading = self.names.read(name) or AnyName(self.names.zone).read(name)
        return _info(name, str(row.get("format") or "wav"), reading)

    def _only_missing(self, answer: requests.Response, name: str, path: str) -> None:
        """Returns for ARI's 404 of a recording it does not have; raises for any other 404.

        Asterisk 22 answers an unknown recording ``{"message": "Recording not found"}``,
        a path ARI does not serve ``{"message": "Resource not found"}`` and a path
        outside its prefix an HTML page: those two mean the URL is wrong, not that
        the recording is missing, and must not read as "no recording yet".
        """
        said = _message(answer)
        if said == ": Recording not found":
            return
        folders = (f"; ARI names a recording by one path segment, and {name!r} has folders"
                   if "/" in name else "")
        raise TargetError(
            f"{self.description}: GET {path} answered 404 {answer.reason}{said}, not ARI's answer "
            f"for a recording it does not have (\"Recording not found\") (hint: is the http.conf "
            f"prefix in adapter.url, and only it? ARI's paths start at /ari; check adapter.url in "
            f"{self.profile}{folders})")

    def fetch(self, rec: RecordingInfo, dest: Path) -> Path:
        """As the reference's; a name with folders (``2024/05/rec-x``) keeps them under ``dest``,
        which is made if missing."""
        parts = PurePosixPath(rec.name).parts
        if rec.name.startswith("/") or ".." in parts:
            raise TargetError(f"{self.description}: refusing to store recording {rec.name!r} "
                              f"outside {dest}")
        Path(dest, *parts[:-1]).mkdir(parents=True, exist_ok=True)
        return super().fetch(rec, dest)

    # -- retention -------------------------------------------------------------------------
    def retention_days(self) -> int | None:
        """None: Asterisk has no retention policy to report.

        The checks then take the profile's ``adapter.retention_days`` and say
        so in the evidence ("declared by adapter.retention_days in ..."), so
        the adapter does not pass the profile's word off as the platform's.
        """
        return None

    def set_clock_offset(self, days: float) -> None:
        raise NotSupported(
            f"{self.description}: Asterisk cannot move its clock, so keeping recordings for the "
            f"required days cannot be shown by moving time on it; the retention canaries "
            f"(verify_canaries) show it as the days really pass")

    def purge(self) -> list[str]:
        raise NotSupported(
            f"{self.description}: Asterisk has no retention policy of its own to apply on demand; "
            f"whatever deletes old recordings on this site (a cron job, a storage policy) runs "
            f"outside it")

    # -- queues ----------------------------------------------------------------------------
    def queue_state(self) -> dict[str, Any] | None:
        """Queues and agents from AMI ``QueueStatus`` and ``QueueSummary``; None without ``ami``."""
        if self.ami is None:
            return None
        with self.ami as session:
            status = session.event_list("QueueStatus", "QueueStatusComplete")
            summary = session.event_list("QueueSummary", "QueueSummaryComplete")
        return queue_state(status, summary)


def _info(name: str, fmt: str, reading: Reading) -> RecordingInfo:
    return RecordingInfo(name=name, call_id=reading.call_id, started_utc=reading.started_utc,
                         duration_s=None, sha256=None, size=None, format=fmt)


def _ami(spec: Any, ari_host: str, timeout: float, target: Target) -> AmiSession | None:
    if spec is None:
        return None
    where = f"target profile {target.path}"
    if not isinstance(spec, dict):
        raise TargetError(f"{where}: adapter.ami must be a mapping, e.g. {{host: pbx.example, "
                          f"port: 5038, username: harness, secret: ${{ENV:NAME}}}}")
    port = spec.get("port", DEFAULT_PORT)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise TargetError(f"{where}: adapter.ami.port must be a TCP port, not {port!r}")
    return AmiSession(str(spec.get("host") or ari_host), port, str(spec.get("username") or ""),
                      _secret(spec.get("secret"), where, "adapter.ami.secret"), timeout, target.path)


def _secret(value: Any, where: str, field: str) -> Secret | None:
    if value is not None and not isinstance(value, Secret):
        raise TargetError(f"{where}: {field} must be ${{ENV:NAME}}")
    return value


def _timeout(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise TargetError(f"{where}: adapter.timeout must be a positive number of seconds, "
                          f"not {value!r}")
    return float(value)
