"""Click-to-call through a platform's own HTTP API: ``adapter.originate`` of ``type: http`` (issue 16).

Many platforms start an outbound call from a CRM button or a campaign through
an API of their own: ring the agent, then the customer. The profile describes
that request, as it describes the recording API::

    adapter:
      type: http
      url: https://cc.example.com/api
      auth: {kind: bearer, token: "${ENV:CC_API_TOKEN}"}
      originate:
        url: /calls/click-to-call          # a path under adapter.url, or a URL; may hold {agent} {number}
        method: POST                       # POST (default) or PUT or GET
        body: {extension: "{agent}", callee: "{number}", source: harness}   # JSON; placeholders in strings
        id: data.callId                    # the dotted path to the request's id in the answer (optional)

``{agent}`` is the agent's extension (the account's user name), ``{number}`` the
customer's number. A 2xx answer means the platform took the request; the call
itself is judged where it arrives, at the carrier. Credentials go only to the
hosts the profile names; an answer that is not 2xx is an error naming the
status, what the API said (our secrets blanked) and the fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import requests

from harness.errors import TargetError
from harness.targets.recording_fields import pick


class ApiClient(Protocol):
    """What the request needs of the http adapter (``harness.targets.generic_http.HttpPlatform``)."""

    description: str
    profile: Path | None
    timeout: float
    session: requests.Session

    def full_url(self, template: str) -> str: ...

    def credentials_for(self, url: str) -> dict[str, str]: ...

    def explain(self, answer: requests.Response) -> str: ...

    def auth_described(self) -> str: ...

_PLACEHOLDER = re.compile(r"\{(agent|number)\}")
_ANY_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
METHODS = ("POST", "PUT", "GET")


@dataclass(frozen=True)
class OriginateSpec:
    url: str
    method: str = "POST"
    body: Any = None
    id: str = ""


def read_spec(value: Any, where: str) -> OriginateSpec | None:
    """``adapter.originate`` checked; None when the profile has none."""
    if value is None:
        return None
    at = f"{where}: adapter.originate"
    if not isinstance(value, dict) or not isinstance(value.get("url"), str) or not value["url"]:
        raise TargetError(f"{at} needs url: (a path under adapter.url or a URL, with {{agent}} and "
                          f"{{number}} where they go), e.g. {{url: /calls, body: {{agent: \"{{agent}}\", "
                          f"number: \"{{number}}\"}}}}")
    method = str(value.get("method", "POST")).upper()
    if method not in METHODS:
        raise TargetError(f"{at}.method must be one of {', '.join(METHODS)}, not {value.get('method')!r}")
    texts = [value["url"], *_strings(value.get("body"))]
    unknown = sorted({p for t in texts for p in _ANY_PLACEHOLDER.findall(t)} - {"agent", "number"})
    if unknown:
        raise TargetError(f"{at}: {{{unknown[0]}}} is not a placeholder here (it may use {{agent}} and "
                          f"{{number}})")
    if not any("{number}" in t for t in texts):
        raise TargetError(f"{at} never says which number to call: put {{number}} in its url or body")
    ident = value.get("id", "")
    if not isinstance(ident, str):
        raise TargetError(f"{at}.id must be a dotted path, e.g. data.callId, not {ident!r}")
    return OriginateSpec(value["url"], method, value.get("body"), ident)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def fill(value: Any, agent: str, number: str, url: bool = False) -> Any:
    """``value`` with ``{agent}`` and ``{number}`` put in (URL-encoded in a URL)."""
    def put(found: re.Match[str]) -> str:
        text = agent if found.group(1) == "agent" else number
        return quote(text, safe="") if url else text
    if isinstance(value, str):
        return _PLACEHOLDER.sub(put, value)
    if isinstance(value, dict):
        return {k: fill(v, agent, number) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, agent, number) for v in value]
    return value


def originate(platform: ApiClient, spec: OriginateSpec, agent: str, number: str) -> str:
    """Send the profile's originate request; the platform's id for it (or the status when the
    answer names none)."""
    url = fill(platform.full_url(spec.url), agent, number, url=True)
    body = fill(spec.body, agent, number) if spec.body is not None else None
    what = f"{spec.method} {url}"
    try:
        answer = platform.session.request(spec.method, url, json=body, headers=platform.credentials_for(url),
                                          timeout=platform.timeout, allow_redirects=False)
    except requests.exceptions.Timeout:
        raise TargetError(f"{platform.description}: {what} got no answer within {platform.timeout:g}s "
                          f"(hint: raise adapter.timeout in {platform.profile} if the API is only slow)") from None
    except requests.exceptions.ConnectionError:
        raise TargetError(f"{platform.description}: cannot connect for {what} (hint: is the API "
                          f"listening there? check adapter.url and adapter.originate.url in "
                          f"{platform.profile})") from None
    if not 200 <= answer.status_code < 300:
        said = platform.explain(answer)
        hint = (f" (hint: check {platform.auth_described()} and adapter.auth)" if answer.status_code in (401, 403)
                else " (hint: compare adapter.originate with the API's documentation)" if answer.status_code < 500
                else " (the platform's side failed)")
        raise TargetError(f"{platform.description} refused to start the call: {what} answered "
                          f"{answer.status_code} {answer.reason}{said}{hint}")
    if not spec.id:
        return str(answer.status_code)
    try:
        found = pick(answer.json(), spec.id, None)
    except ValueError:
        found = None
    return str(found) if found is not None else str(answer.status_code)
