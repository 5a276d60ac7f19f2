"""The ``adapter:`` section of a profile for ``type: http``, read into an ``HttpPlatform``.

The schema (``schema.yaml``) has already checked the shapes when the profile
was loaded, with file and line; this reads the values and checks what ties
them together (each template's placeholders, the secret each auth kind
needs), for profiles built in code too.  Problems are ``TargetError`` s
naming the profile and the field; a secret is never quoted.
"""

from __future__ import annotations

import re
from typing import Any, cast
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from harness.errors import TargetError
from harness.targets.generic_http import Auth, AuthKind, Endpoints, HttpPlatform
from harness.targets.http_originate import read_spec
from harness.targets.model import Secret, Target
from harness.targets.recording_fields import FIELDS, FieldMap, TimeUnit
from harness.targets.reference import DEFAULT_TIMEOUT

PLACEHOLDERS = {  # template -> (placeholders it may hold, the one it must hold)
    "list": ({"since", "until"}, None),
    "search": ({"call_id", "since", "until"}, "call_id"),
    "metadata": ({"name"}, "name"),
    "download": ({"name"}, "name"),
}
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_AUTH_SECRET = {"basic": "password", "bearer": "token", "api_key": "api_key"}


def http_platform(target: Target) -> HttpPlatform:
    """The ``HttpPlatform`` the profile's ``adapter:`` describes."""
    spec, where = target.adapter, f"target profile {target.path}"
    url = _http_url(spec.get("url"), where, "adapter.url")
    timeout = spec.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise TargetError(f"{where}: adapter.timeout must be a positive number of seconds, "
                          f"not {timeout!r}")
    recordings = spec.get("recordings")
    if not isinstance(recordings, dict):
        raise TargetError(f"{where}: adapter.recordings must say how to list, read and download "
                          f"recordings, e.g. {{list: \"/recordings?from={{since}}&to={{until}}\", "
                          f"metadata: \"/recordings/{{name}}\", fields: {{name: id}}}}")
    return HttpPlatform(url, _auth(spec.get("auth"), where), _endpoints(recordings, where),
                        _fields(recordings, where), _retention(spec.get("retention"), where),
                        target.path, float(timeout), read_spec(spec.get("originate"), where))


def _http_url(value: Any, where: str, field: str) -> str:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise TargetError(f"{where}: {field} must be an http(s) URL, not {value!r} "
                          f"(e.g. https://recorder.example.com/api/v2)")
    if urlsplit(value).password is not None:
        raise TargetError(f"{where}: {field} holds a password (user:password@host): put the "
                          f"credentials under adapter.auth, as ${{ENV:NAME}}")
    return value


def _template(value: Any, where: str, field: str) -> str:
    allowed, needed = PLACEHOLDERS[field]
    at = f"{where}: adapter.recordings.{field}"
    if not isinstance(value, str) or not value:
        raise TargetError(f"{at} must be a URL or a path under adapter.url, not {value!r}")
    if value.startswith(("http://", "https://")):
        _http_url(value, where, f"adapter.recordings.{field}")
    used = set(_PLACEHOLDER.findall(value))
    unknown = sorted(used - allowed)
    if unknown:
        raise TargetError(f"{at}: {{{unknown[0]}}} is not a placeholder here (it may use "
                          f"{', '.join('{' + p + '}' for p in sorted(allowed))})")
    if needed is not None and needed not in used:
        raise TargetError(f"{at} must hold {{{needed}}}")
    return value


def _endpoints(spec: dict[str, Any], where: str) -> Endpoints:
    paths = {key: spec.get(key) for key in ("items", "item", "next")}
    for key, path in paths.items():
        if path is not None and not isinstance(path, str):
            raise TargetError(f"{where}: adapter.recordings.{key} must be a dotted path, e.g. "
                              f"result.records, not {path!r}")
    return Endpoints(
        list=_template(spec.get("list"), where, "list"),
        metadata=_template(spec.get("metadata"), where, "metadata"),
        search=_template(spec["search"], where, "search") if spec.get("search") else None,
        download=_template(spec["download"], where, "download") if spec.get("download") else None,
        items=paths["items"] or "", item=paths["item"] or "", next=paths["next"])


def _fields(spec: dict[str, Any], where: str) -> FieldMap:
    fields = spec.get("fields")
    if not isinstance(fields, dict) or not isinstance(fields.get("name"), str):
        raise TargetError(f"{where}: adapter.recordings.fields must map at least name: to the "
                          f"recording's identifier in the API's JSON, e.g. {{name: id}}")
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise TargetError(f"{where}: adapter.recordings.fields.{unknown[0]} is not a field "
                          f"(known: {', '.join(FIELDS)})")
    times = spec.get("times", "iso")
    if times not in ("iso", "epoch", "epoch_ms"):
        raise TargetError(f"{where}: adapter.recordings.times must be iso, epoch or epoch_ms, "
                          f"not {times!r}")
    zone_name = spec.get("timezone", "UTC")
    try:
        zone = ZoneInfo(str(zone_name))
    except (ZoneInfoNotFoundError, ValueError):
        raise TargetError(f"{where}: adapter.recordings.timezone {zone_name!r} is not a time "
                          f"zone (e.g. UTC or Asia/Shanghai)") from None
    return FieldMap({k: str(v) for k, v in fields.items()}, cast(TimeUnit, times), zone,
                    str(spec.get("default_format") or "wav"))


def _auth(spec: Any, where: str) -> Auth:
    if spec is None:
        return Auth()
    kind = spec.get("kind") if isinstance(spec, dict) else None
    if kind not in _AUTH_SECRET:
        raise TargetError(f"{where}: adapter.auth.kind must be basic, bearer or api_key, not "
                          f"{kind!r}")
    assert isinstance(spec, dict)
    secret_key = _AUTH_SECRET[str(kind)]
    secret = spec.get(secret_key)
    if not isinstance(secret, Secret):
        raise TargetError(f"{where}: adapter.auth.{secret_key} must be ${{ENV:NAME}} for "
                          f"kind {kind}")
    username, header = spec.get("username"), spec.get("header")
    if kind == "basic" and username in (None, ""):
        raise TargetError(f"{where}: adapter.auth.username is needed for kind basic")
    if kind == "api_key" and not (isinstance(header, str) and re.fullmatch(r"[-\w]+", header)):
        raise TargetError(f"{where}: adapter.auth.header must name the API key's header, e.g. "
                          f"X-Api-Key, not {header!r}")
    return Auth(cast(AuthKind, kind), str(username or ""), secret, str(header or ""))


def _retention(spec: Any, where: str) -> tuple[str, str] | None:
    if spec is None:
        return None
    if not isinstance(spec, dict) or not isinstance(spec.get("url"), str) or \
            not isinstance(spec.get("days"), str):
        raise TargetError(f"{where}: adapter.retention needs url: (where the policy is read) and "
                          f"days: (the dotted path to the days in its answer)")
    url = spec["url"]
    if url.startswith(("http://", "https://")):
        _http_url(url, where, "adapter.retention.url")
    return url, spec["days"]
