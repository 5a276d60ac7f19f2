"""The adapter for a platform's own recording API (``adapter: {type: http}``).

Most call-centre platforms have an HTTP API for their recordings, each in its
own shape.  The profile describes it (``adapter.recordings``): URL templates
to list recordings in a time window (``list``), to search by SIP Call-ID
(``search``, optional), to read one (``metadata``) and to download it
(``download``, or a link in each recording's JSON), the dotted path to the
list in an answer (``items``) and to each fact in a recording (``fields``,
see ``harness.targets.recording_fields``).  Placeholders ``{call_id}``,
``{since}``, ``{until}`` (written as ``times`` says) and ``{name}`` are filled
URL-encoded.  A template is relative to ``adapter.url`` unless absolute.

Credentials (``adapter.auth``: HTTP Basic, a bearer token or an API key in a
header) are ``Secret`` s, revealed only into a request's headers, and sent
only to the hosts the profile names: a link in an answer (a download link, the
next page, a redirect) to any other host is followed without them, as a
pre-signed storage URL expects.  Messages name the URL and the status, never a
secret; a platform that echoes one back has it blanked.

The retention policy is read from ``adapter.retention`` (a URL and the dotted
path of the days in its answer) when the API has one; otherwise
``retention_days`` is None and the checks take the profile's
``adapter.retention_days``, saying so.  The clock cannot be moved nor a purge
asked for (``NotSupported``); queue state is not read (None).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urljoin, urlsplit

import requests
import urllib3

from harness.errors import TargetError
from harness.targets import http_originate
from harness.targets.adapter import NotSupported, RecordingInfo
from harness.targets.capability import Capability
from harness.targets.http_originate import OriginateSpec
from harness.targets.model import Secret, Target
from harness.targets.recording_fields import AnswerError, FieldMap, pick, write_time
from harness.targets.reference import CHUNK, DEFAULT_TIMEOUT, _loopback, _reason

MAX_PAGES = 100  # pages of one listing followed through ``next`` before giving up
MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)
_SAFE_NAME = re.compile(r"[^-\w.@]")
AuthKind = Literal["none", "basic", "bearer", "api_key"]


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


@dataclass(frozen=True)
class Auth:
    """``adapter.auth``: how requests prove who we are; ``repr`` shows references only."""

    kind: AuthKind = "none"
    username: str = ""
    secret: Secret | None = None  # the password, token or API key
    header: str = ""  # the API key's header

    def headers(self) -> dict[str, str]:
        if self.secret is None or self.kind == "none":
            return {}
        value = self.secret.reveal()
        if self.kind == "basic":
            pair = base64.b64encode(f"{self.username}:{value}".encode()).decode()
            return {"Authorization": f"Basic {pair}"}
        if self.kind == "bearer":
            return {"Authorization": f"Bearer {value}"}
        return {self.header: value}

    def described(self) -> str:
        env = self.secret.env if self.secret else "?"
        return {"none": "no credentials (adapter.auth is not set)",
                "basic": f"user {self.username!r} with the password in environment variable {env}",
                "bearer": f"the bearer token in environment variable {env}",
                "api_key": f"the API key in header {self.header} from environment variable {env}",
                }[self.kind]


@dataclass(frozen=True)
class Endpoints:
    """``adapter.recordings``: the URL templates and where the recordings sit in answers."""

    list: str
    metadata: str
    search: str | None = None
    download: str | None = None
    items: str = ""  # dotted path to the list in a list or search answer
    item: str = ""  # dotted path to the recording in a metadata answer
    next: str | None = None  # dotted path to the next page's URL in a list answer


class HttpPlatform:
    """A recording API at ``url`` described by ``endpoints`` and ``fields``."""

    def __init__(self, url: str, auth: Auth, endpoints: Endpoints, fields: FieldMap,
                 retention: tuple[str, str] | None = None, profile: Path | None = None,
                 timeout: float = DEFAULT_TIMEOUT, originate_spec: OriginateSpec | None = None) -> None:
        self.url = url.rstrip("/")
        self.originate_spec = originate_spec
        self.auth, self.endpoints, self.fields = auth, endpoints, fields
        self.retention, self.profile, self.timeout = retention, profile, timeout
        self.description = f"HTTP recording API at {self.url}"
        named = [self.url, endpoints.list, endpoints.metadata, endpoints.search or "",
                 endpoints.download or "", retention[0] if retention else "",
                 originate_spec.url if originate_spec else ""]
        self._trusted = {_origin(self.full_url(t)) for t in named if t}  # hosts given credentials
        self._links: dict[str, str] = {}  # recording name -> its download link from an answer
        self.session = requests.Session()
        self.session.trust_env = not _loopback(self.url)  # no proxy between us and loopback

    @classmethod
    def capabilities(cls, target: Target) -> frozenset[Capability]:
        """What this adapter can do for ``target``, from its profile alone (nothing is asked of the
        platform)."""
        policy = {Capability.RETENTION_POLICY} if target.adapter.get("retention") is not None else set()
        calls = {Capability.ORIGINATE} if target.adapter.get("originate") is not None else set()
        return frozenset({Capability.RECORDINGS, Capability.UNAUTHENTICATED_FETCH, *policy, *calls})

    def __repr__(self) -> str:
        return (f"HttpPlatform({self.url!r}, auth={self.auth!r}, list={self.endpoints.list!r}, "
                f"retention={self.retention!r})")

    # -- outbound ----------------------------------------------------------------------------
    def originate(self, agent: str, number: str) -> str:
        """Click-to-call through the API the profile describes (``harness.targets.http_originate``)."""
        if self.originate_spec is None:
            raise NotSupported(f"{self.description}: the profile describes no adapter.originate request")
        return http_originate.originate(self, self.originate_spec, agent, number)

    def credentials_for(self, url: str) -> dict[str, str]:
        """The auth headers, for a host the profile names only."""
        return self.auth.headers() if _origin(url) in self._trusted else {}

    def explain(self, answer: requests.Response) -> str:
        """What an error answer said, our secrets blanked."""
        return self._redact(_explanation(answer))

    def auth_described(self) -> str:
        return self.auth.described()

    # -- HTTP ------------------------------------------------------------------------------
    def full_url(self, template: str) -> str:
        if template.startswith(("http://", "https://")):
            return template
        return f"{self.url}/{template.lstrip('/')}"

    def _url(self, template: str, **values: str) -> str:
        def fill(found: re.Match[str]) -> str:
            return quote(values[found.group(1)], safe="")
        return re.sub(r"\{(call_id|since|until|name)\}", fill, self.full_url(template))

    def _redact(self, text: str) -> str:
        """``text`` with our credentials blanked -- the secret, and the header values made of it
        (Basic's base64 too) -- should the platform have echoed them back."""
        try:
            sent = list(self.auth.headers().values())
            forms = [self.auth.secret.reveal() if self.auth.secret else ""] + sent + \
                [v.split(" ", 1)[-1] for v in sent]
        except TargetError:
            return text
        for form in sorted(forms, key=len, reverse=True):
            text = text.replace(form, "***") if len(form) >= 4 else text
        return text

    def _get(self, url: str, *, authenticated: bool = True, stream: bool = False
             ) -> tuple[requests.Response, str]:
        """The answer to GET ``url`` (redirects followed), and the URL that gave it."""
        for _ in range(MAX_REDIRECTS + 1):
            trusted = authenticated and _origin(url) in self._trusted
            answer = self._send(url, self.auth.headers() if trusted else {}, stream)
            location = answer.headers.get("Location")
            if answer.status_code not in _REDIRECTS or not location:
                return answer, url
            answer.close()
            url = urljoin(url, location)
        raise TargetError(f"{self.description}: more than {MAX_REDIRECTS} redirects, the last "
                          f"to {url}")

    def _send(self, url: str, headers: dict[str, str], stream: bool) -> requests.Response:
        try:
            return self.session.get(url, headers=headers, timeout=self.timeout, stream=stream,
                                     allow_redirects=False)
        except requests.exceptions.ConnectTimeout:
            raise TargetError(f"{self.description}: connecting to {url} timed out after "
                              f"{self.timeout:g}s (hint: {self._where_hint()})") from None
        except requests.exceptions.ReadTimeout:
            raise TargetError(f"{self.description}: GET {url} got no answer within "
                              f"{self.timeout:g}s (hint: the API is up but stuck; raise "
                              f"adapter.timeout in {self.profile} if it is only slow)") from None
        except requests.exceptions.ConnectionError as exc:
            raise TargetError(f"{self.description}: cannot connect to {url}: {_reason(exc)} "
                              f"(hint: {self._where_hint()})") from None

    def _where_hint(self) -> str:
        return f"is the API running and listening there? check adapter.url in {self.profile}"

    def _check(self, answer: requests.Response, url: str) -> requests.Response:
        status = answer.status_code
        if status == 200:
            return answer
        said = self._redact(_explanation(answer))
        if status == 401:
            raise TargetError(f"{self.description} refused {self.auth.described()}: GET {url} "
                              f"answered {status} {answer.reason}{said} (hint: check that "
                              f"variable and adapter.auth in {self.profile})")
        if status == 403:
            raise TargetError(f"{self.description} took {self.auth.described()} but forbids "
                              f"this: GET {url} answered {status} {answer.reason}{said} (hint: "
                              f"give that account the right to read recordings)")
        side = " (the platform's side failed)" if status >= 500 else ""
        raise TargetError(f"{self.description}: GET {url} answered {status} {answer.reason}"
                          f"{said}{side}")

    def _json(self, url: str) -> tuple[Any, str]:
        answer, final = self._get(url)
        return self._parse(self._check(answer, final), final), final

    def _parse(self, answer: requests.Response, url: str) -> Any:
        try:
            return answer.json()
        except (ValueError, requests.exceptions.RequestException):
            body = answer.content[:80]
            raise TargetError(f"{self.description}: the answer to GET {url} is not JSON "
                              f"({answer.headers.get('Content-Type', 'no Content-Type')}: "
                              f"{self._redact(repr(body))})") from None

    def _read(self, what: str, url: str, read: Any, *args: Any) -> Any:
        """``read(*args)``, an ``AnswerError`` turned into a TargetError naming ``url``."""
        try:
            return read(*args)
        except AnswerError as bad:
            raise TargetError(f"{self.description}: the answer to GET {url} {bad} (hint: check "
                              f"{what} in {self.profile})") from None

    # -- recordings ------------------------------------------------------------------------
    def _listing(self, url: str) -> list[tuple[RecordingInfo, str | None]]:
        """Every recording of a listing, page after page, with its download link if any."""
        found: list[tuple[RecordingInfo, str | None]] = []
        for _ in range(MAX_PAGES):
            body, final = self._json(url)
            items = self._read("adapter.recordings.items", final, pick, body, self.endpoints.items)
            if not isinstance(items, list):
                raise TargetError(f"{self.description}: the answer to GET {final} has "
                                  f"{type(items).__name__} at {self.endpoints.items or 'its top'}, "
                                  f"not a list of recordings (hint: check adapter.recordings.items "
                                  f"in {self.profile})")
            for item in items:
                info = self._read("adapter.recordings.fields", final, self.fields.info, item)
                link = self.fields.download_url(item)
                found.append((info, urljoin(final, link) if link else None))
            more = pick(body, self.endpoints.next, None) if self.endpoints.next else None
            if not more:
                return found
            url = urljoin(final, str(more))
        raise TargetError(f"{self.description}: the listing ran past {MAX_PAGES} pages "
                          f"(the last {url}); narrow it with {{since}} and {{until}}")

    def find_recordings(self, call_id: str | None, since: datetime, until: datetime,
                        identities: Mapping[str, str] | None = None) -> list[RecordingInfo]:
        """The recordings the API ties to ``call_id``; without one, all of [since, until).
        (``identities`` are not used: the API's fields, not names, tie recordings to calls.)

        When ``fields`` maps no ``call_id``, the API cannot tie a recording to
        a call: every recording of the window comes back with no Call-ID, and
        the recording check tells the call's by its audio markers.
        """
        times = {k: write_time(v, self.fields.unit, self.fields.zone)
                 for k, v in (("since", since), ("until", until))}
        searching = call_id is not None and self.endpoints.search is not None
        template = self.endpoints.search if searching else self.endpoints.list
        url = self._url(str(template), call_id=call_id or "", **times)
        rows = [(info, link) for info, link in self._listing(url)
                if info.started_utc is None or since <= info.started_utc < until]
        for info, link in rows:
            if link:
                self._links[info.name] = link
        infos = sorted((info for info, _ in rows), key=lambda i: (i.started_utc or since, i.name))
        if call_id is not None and "call_id" in self.fields.paths:
            return [info for info in infos if info.call_id == call_id]
        return infos

    def get_recording(self, name: str) -> RecordingInfo | None:
        url = self._url(self.endpoints.metadata, name=name)
        answer, final = self._get(url)
        if answer.status_code == 404:
            answer.close()
            return None
        body = self._parse(self._check(answer, final), final)
        item = self._read("adapter.recordings.item", final, pick, body, self.endpoints.item)
        info: RecordingInfo = self._read("adapter.recordings.fields", final, self.fields.info, item)
        link = self.fields.download_url(item)
        if link:
            self._links[info.name] = urljoin(final, link)
        return info

    def _download_url(self, rec: RecordingInfo) -> str:
        link = self._links.get(rec.name)
        if link is None and self.endpoints.download is not None:
            return self._url(self.endpoints.download, name=rec.name)
        if link is None and self.get_recording(rec.name) is not None:
            link = self._links.get(rec.name)
        if link is None:
            raise TargetError(f"{self.description}: no way to download recording {rec.name}: "
                              f"no download link in its JSON and no adapter.recordings.download "
                              f"template in {self.profile}")
        return link

    def fetch(self, rec: RecordingInfo, dest: Path) -> Path:
        answer, final = self._get(self._download_url(rec), stream=True)
        self._check(answer, final)
        target = Path(dest) / f"{_SAFE_NAME.sub('_', rec.name).lstrip('.') or 'recording'}.{rec.format}"
        expected, got = answer.headers.get("Content-Length"), 0
        try:
            with answer, open(target, "wb") as out:
                # read1 hands over what has arrived, so a cut body is counted to the byte
                while chunk := answer.raw.read1(CHUNK, decode_content=True):
                    out.write(chunk)
                    got += len(chunk)
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as exc:
            target.unlink(missing_ok=True)
            raise TargetError(f"{self.description}: the download of recording {rec.name} from "
                              f"{final} broke off after {got} of {expected or '?'} bytes: "
                              f"{_reason(exc)}") from None
        if expected is not None and expected.isdigit() and got != int(expected):
            target.unlink(missing_ok=True)
            raise TargetError(f"{self.description}: the download of recording {rec.name} from "
                              f"{final} broke off after {got} of {expected} bytes")
        return target

    def fetch_unauthenticated(self, rec: RecordingInfo) -> int:
        """The status of the download without credentials, redirects followed.

        A file served from another host by a signed link (pre-signed storage)
        can be fetched by whoever holds the link; what must refuse a caller
        without credentials is then the API call that hands the link out, so
        that is what is asked for (``metadata``).
        """
        url = self._download_url(rec)
        if _origin(url) not in self._trusted:
            url = self._url(self.endpoints.metadata, name=rec.name)
        answer, _ = self._get(url, authenticated=False, stream=True)
        with answer:
            return answer.status_code

    # -- retention, clock, queues ------------------------------------------------------------
    def retention_days(self) -> int | None:
        """The days at ``adapter.retention``'s path; None when the profile gives no URL."""
        if self.retention is None:
            return None
        template, path = self.retention
        body, final = self._json(self._url(template))
        days = self._read("adapter.retention.days", final, pick, body, path)
        if isinstance(days, str) and days.isdigit():
            days = int(days)
        if isinstance(days, bool) or not isinstance(days, int | float) or days < 0:
            raise TargetError(f"{self.description}: the answer to GET {final} has {days!r} at "
                              f"{path!r}, not a number of days (hint: check adapter.retention.days "
                              f"in {self.profile})")
        return int(days)

    def set_clock_offset(self, days: float) -> None:
        raise NotSupported(
            f"{self.description}: the platform's API cannot move its clock, so keeping recordings "
            f"for the required days cannot be shown by moving time on it; the retention canaries "
            f"(verify_canaries) show it as the days really pass")

    def purge(self) -> list[str]:
        raise NotSupported(
            f"{self.description}: the harness knows no API call that applies the platform's "
            f"retention policy on demand")

    def queue_state(self) -> dict[str, Any] | None:
        return None


def _explanation(answer: requests.Response) -> str:
    """The API's own words on a refusal (``message``, ``error``, ``detail``...), if any."""
    try:
        body = answer.json()
    except (ValueError, requests.exceptions.RequestException):
        return ""
    if isinstance(body, dict):
        for key in ("message", "error_description", "error", "detail", "msg"):
            if isinstance(body.get(key), str | int) and str(body[key]):
                return f": {str(body[key])[:200]}"
    return ""
