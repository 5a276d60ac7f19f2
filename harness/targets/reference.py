"""The adapter for the reference platform's HTTP API (``adapter: {type: reference}``).

Recordings are listed and downloaded through the ARI-shaped resource
(``/ari/recordings/stored...``, as Asterisk ARI has it); searching by SIP
Call-ID, the retention policy, the clock and purging are the platform's own
``/reference/...`` endpoints.  Every request carries HTTP Basic credentials
(except :meth:`ReferencePlatform.fetch_unauthenticated`, whose point is to
go without) and a timeout.  The password is a ``Secret``: it is revealed only
into the request's ``auth`` and never appears in a message.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests
import urllib3

from harness.errors import TargetError
from harness.targets.adapter import RecordingInfo
from harness.targets.capability import Capability
from harness.targets.model import Secret, Target

DEFAULT_TIMEOUT = 10.0  # seconds for connecting and for each read
CHUNK = 64 * 1024


def _utc(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def recording_info(row: dict[str, Any]) -> RecordingInfo:
    """A row of ``/reference/recordings`` as a ``RecordingInfo``."""
    return RecordingInfo(
        name=str(row["name"]),
        call_id=row.get("sip_call_id"),
        started_utc=_utc(row.get("started_utc")),
        duration_s=float(row["duration_s"]) if row.get("duration_s") is not None else None,
        sha256=row.get("sha256"),
        size=int(row["bytes"]) if row.get("bytes") is not None else None,
        format=str(row.get("format") or "wav"),
        created_utc=_utc(row.get("created_utc")),
    )


class ReferencePlatform:
    """The reference platform's API at ``url``, as the account ``username``."""

    def __init__(self, url: str, username: str, password: Secret | None, profile: Path | None = None,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = url.rstrip("/")
        self.username = username
        self.password = password
        self.profile = profile
        self.timeout = timeout
        self.description = f"reference API at {self.url}"
        self._session = requests.Session()
        self._session.trust_env = not _loopback(self.url)  # no proxy between us and loopback

    @classmethod
    def from_target(cls, target: Target) -> ReferencePlatform:
        """Built from the profile's ``adapter:`` (url, username, password, timeout)."""
        spec = target.adapter
        url = spec.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise TargetError(f"target profile {target.path}: adapter.url must be an http(s) URL, "
                              f"not {url!r} (e.g. url: http://127.0.0.1:8188)")
        password = spec.get("password")
        if password is not None and not isinstance(password, Secret):
            raise TargetError(f"target profile {target.path}: adapter.password must be ${{ENV:NAME}}")
        timeout = spec.get("timeout", DEFAULT_TIMEOUT)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise TargetError(f"target profile {target.path}: adapter.timeout must be a positive "
                              f"number of seconds, not {timeout!r}")
        return cls(url, str(spec.get("username") or ""), password, target.path, float(timeout))

    @classmethod
    def capabilities(cls, target: Target) -> frozenset[Capability]:
        """What this adapter can do for ``target``, from its profile alone (nothing is asked of the
        platform)."""
        return frozenset({Capability.RECORDINGS, Capability.UNAUTHENTICATED_FETCH,
                          Capability.RETENTION_POLICY, Capability.CLOCK, Capability.PURGE,
                          Capability.QUEUE_STATE, Capability.ORIGINATE, Capability.OUTBOUND_CLOCK,
                          Capability.DNC_LIST, Capability.CAMPAIGN})

    def __repr__(self) -> str:
        return f"ReferencePlatform({self.url!r}, user={self.username!r}, password={self.password!r})"

    # -- HTTP ------------------------------------------------------------------------------
    def _auth(self) -> tuple[str, str] | None:
        if self.password is None:
            return None
        return self.username, self.password.reveal()

    def _request(self, method: str, path: str, *, authenticated: bool = True,
                 stream: bool = False, **kwargs: Any) -> requests.Response:
        url = f"{self.url}{path}"
        try:
            answer = self._session.request(
                method, url, auth=self._auth() if authenticated else None,
                timeout=self.timeout, stream=stream, allow_redirects=False, **kwargs)
        except requests.exceptions.ConnectTimeout:
            raise TargetError(f"{self.description}: connecting to {url} timed out after "
                              f"{self.timeout:g}s (hint: {self._where_hint()})") from None
        except requests.exceptions.ReadTimeout:
            raise TargetError(f"{self.description}: {method} {path} got no answer within "
                              f"{self.timeout:g}s (hint: the platform is up but stuck; "
                              f"raise adapter.timeout in {self.profile} if it is only slow)") from None
        except requests.exceptions.ConnectionError as exc:
            raise TargetError(f"{self.description}: cannot connect to {url}: {_reason(exc)} "
                              f"(hint: {self._where_hint()})") from None
        return answer

    def _where_hint(self) -> str:
        return (f"is the platform running and its API listening there? for the reference, "
                f"`python -m fixtures.reference status`; check adapter.url in {self.profile}")

    def _check(self, answer: requests.Response, method: str, path: str, ok: tuple[int, ...] = (200,)
               ) -> requests.Response:
        status = answer.status_code
        if status in ok:
            return answer
        message = _message(answer)
        if status == 401:
            env = self.password.env if self.password else None
            where = (f"the password in environment variable {env}" if env
                     else "adapter.password (none is set)")
            raise TargetError(f"{self.description} refused user {self.username!r}: 401 wrong "
                              f"credentials for {method} {path} (hint: check {where} and "
                              f"adapter.username in {self.profile})")
        if status >= 500:
            raise TargetError(f"{self.description}: {method} {path} failed on the platform's side: "
                              f"{status} {answer.reason}{message}")
        raise TargetError(f"{self.description}: {method} {path} answered {status} {answer.reason}"
                          f"{message}")

    def _json(self, method: str, path: str, ok: tuple[int, ...] = (200,), **kwargs: Any) -> Any:
        return self._json_of(self._check(self._request(method, path, **kwargs), method, path, ok), method, path)

    def _json_of(self, answer: requests.Response, method: str, path: str) -> Any:
        """The JSON body of an accepted answer (None when empty), or an error naming the request."""
        try:
            body = answer.content
        except requests.exceptions.RequestException as exc:
            raise TargetError(f"{self.description}: the answer to {method} {path} broke off: "
                              f"{_reason(exc)}") from None
        try:
            return answer.json() if body else None
        except ValueError:
            raise TargetError(f"{self.description}: the answer to {method} {path} is not JSON "
                              f"({len(body)} bytes: {body[:80]!r})") from None

    # -- outbound ----------------------------------------------------------------------------
    def originate(self, agent: str, number: str) -> str:
        """Click-to-call: ``POST /reference/originate`` rings ``agent``, then ``number`` for them."""
        body = self._json("POST", "/reference/originate", ok=(202,), json={"agent": agent, "number": number})
        return str((body or {}).get("id", ""))

    def start_campaign(self, queue: str, numbers: list[str]) -> str:
        """``POST /reference/campaigns``: the reference's dialler calls ``numbers`` for ``queue``."""
        body = self._json("POST", "/reference/campaigns", ok=(202,), json={"queue": queue, "numbers": numbers})
        return str((body or {}).get("id", ""))

    def add_do_not_call(self, number: str) -> None:
        """``POST /reference/outbound/dnc``: the platform never dials ``number`` again."""
        self._json("POST", "/reference/outbound/dnc", ok=(201,), json={"number": number})

    def set_outbound_clock(self, offset_s: int) -> None:
        """Move the clock the platform's forbidden-hours rule reads ``offset_s`` from real time."""
        if offset_s:
            self._json("PUT", "/reference/outbound/clock", json={"offset_s": int(offset_s)})
        else:
            self._json("DELETE", "/reference/outbound/clock")

    # -- recordings ------------------------------------------------------------------------
    def find_recordings(self, call_id: str | None, since: datetime, until: datetime,
                        identities: Mapping[str, str] | None = None) -> list[RecordingInfo]:
        """The API ties recordings to Call-IDs itself: ``identities`` are not needed."""
        params = {"since": _iso(since), "until": _iso(until)}
        if call_id is not None:
            params["call_id"] = call_id
        rows = self._json("GET", "/reference/recordings", params=params)
        if not isinstance(rows, list):
            raise TargetError(f"{self.description}: /reference/recordings answered "
                              f"{type(rows).__name__}, not a list")
        return [recording_info(row) for row in rows]

    def get_recording(self, name: str) -> RecordingInfo | None:
        path = f"/reference/recordings/{quote(name, safe='')}"
        answer = self._request("GET", path)
        if answer.status_code == 404:
            return None
        self._check(answer, "GET", path)
        return recording_info(answer.json())

    def _file_path(self, rec: RecordingInfo) -> str:
        return f"/ari/recordings/stored/{quote(rec.name, safe='')}/file"

    def fetch(self, rec: RecordingInfo, dest: Path) -> Path:
        path = self._file_path(rec)
        answer = self._check(self._request("GET", path, stream=True), "GET", path)
        target = Path(dest) / f"{rec.name}.{rec.format}"
        expected = answer.headers.get("Content-Length")
        got = 0
        try:
            with answer, open(target, "wb") as out:
                # read1 hands over what has arrived, so a cut body is counted to the byte
                while chunk := answer.raw.read1(CHUNK, decode_content=True):
                    out.write(chunk)
                    got += len(chunk)
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as exc:
            target.unlink(missing_ok=True)
            raise TargetError(f"{self.description}: the download of recording {rec.name} broke off "
                              f"after {got} of {expected or '?'} bytes: {_reason(exc)}") from None
        if expected is not None and expected.isdigit() and got != int(expected):
            target.unlink(missing_ok=True)
            raise TargetError(f"{self.description}: the download of recording {rec.name} broke off "
                              f"after {got} of {expected} bytes")
        return target

    def fetch_unauthenticated(self, rec: RecordingInfo) -> int:
        path = self._file_path(rec)
        with self._request("GET", path, authenticated=False, stream=True) as answer:
            return answer.status_code

    # -- retention -------------------------------------------------------------------------
    def retention_days(self) -> int | None:
        body = self._json("GET", "/reference/retention")
        days = body.get("days") if isinstance(body, dict) else None
        return int(days) if isinstance(days, int | float) and not isinstance(days, bool) else None

    def set_clock_offset(self, days: float) -> None:
        self._json("PUT", "/reference/clock", json={"offset_days": days})

    def purge(self) -> list[str]:
        body = self._json("POST", "/reference/purge")
        return [str(n) for n in body.get("purged", [])] if isinstance(body, dict) else []

    # -- queues ------------------------------------------------------------------------------
    def queue_state(self) -> dict[str, Any] | None:
        answer = self._request("GET", "/reference/queues")
        if answer.status_code == 404:
            return None
        self._check(answer, "GET", "/reference/queues")
        body = answer.json()
        return body if isinstance(body, dict) else None


def _message(answer: requests.Response) -> str:
    """The platform's own explanation (ARI's ``{"message": ...}``), if it gave one."""
    try:
        body = answer.json()
    except (ValueError, requests.exceptions.RequestException):
        return ""
    text = body.get("message") if isinstance(body, dict) else None
    return f": {str(text)[:200]}" if text else ""


def _reason(exc: BaseException) -> str:
    """The innermost cause of a requests error, e.g. 'Connection refused'."""
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "IncompleteRead",
                   "Connection reset", "timed out"):
        if marker in text:
            return marker.lower() if marker != "IncompleteRead" else "the body ended early"
    inner = exc
    while inner.__cause__ is not None or inner.__context__ is not None:
        inner = inner.__cause__ or inner.__context__  # type: ignore[assignment]
    return str(inner) or type(inner).__name__
